package lab

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// A fault left in the ledger shows in the table view (name, ledger ID, when
// injected, how long ago, what went wrong) and in the JSON, and both say to
// run `pgchaos lab heal`.
func TestFaultsInForceAreShownWithTheHealCommand(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	st := Status{Name: "demo"}
	st.SetFaultsInForce("/state/pgchaos/demo.ledger.json", []FaultInForce{
		{ID: 2, Kind: "stop", Target: "primary2", Name: "stop primary2", InjectedAt: at.Add(5 * time.Second), HealError: "docker said no"},
		{ID: 1, Kind: "partition", Target: "primary1<->primary2", Name: "partition primary1<->primary2", InjectedAt: at},
	})
	var b bytes.Buffer
	if err := WriteFaultsInForce(&b, st, at.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("table has %d lines, want header, 2 faults, heal line:\n%s", len(lines), out)
	}
	for i, want := range [][]string{
		{"FAULT IN FORCE", "INJECTED AT"},
		{"partition primary1<->primary2", " 1 ", "2026-12-03T10:00:00Z", "3m0s", " - "},
		{"stop primary2", " 2 ", "2026-12-03T10:00:05Z", "2m55s", "heal failed: docker said no"},
		{"pgchaos lab heal --name demo", "/state/pgchaos/demo.ledger.json"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i]+" ", w) {
				t.Errorf("line %d %q lacks %q", i, lines[i], w)
			}
		}
	}
	if len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "2 faults are still in force") ||
		!strings.Contains(st.Warnings[0], "partition primary1<->primary2 (injected 2026-12-03T10:00:00Z)") ||
		!strings.Contains(st.Warnings[0], "`pgchaos lab heal --name demo`") {
		t.Errorf("warnings = %q, want one naming both faults and the heal command", st.Warnings)
	}

	j, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Faults []struct {
			ID         int       `json:"id"`
			Name       string    `json:"name"`
			InjectedAt time.Time `json:"injected_at"`
		} `json:"faults_in_force"`
		Ledger   string   `json:"ledger"`
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Faults) != 2 || back.Faults[0].ID != 1 || !back.Faults[0].InjectedAt.Equal(at) || back.Faults[1].Name != "stop primary2" ||
		back.Ledger != "/state/pgchaos/demo.ledger.json" || len(back.Warnings) != 1 {
		t.Errorf("JSON = %s", j)
	}
}

// No fault in force: no table, no warning, and the JSON says [] (checked,
// none) rather than null (not checked).
func TestNoFaultsInForceShowsNothing(t *testing.T) {
	st := Status{Name: "demo"}
	st.SetFaultsInForce("/x.ledger.json", nil)
	var b bytes.Buffer
	if err := WriteFaultsInForce(&b, st, time.Now()); err != nil || b.Len() != 0 {
		t.Errorf("wrote %q (%v), want nothing", b.String(), err)
	}
	if len(st.Warnings) != 0 {
		t.Errorf("warnings = %q", st.Warnings)
	}
	if j, _ := json.Marshal(st); !strings.Contains(string(j), `"faults_in_force":[]`) {
		t.Errorf("JSON = %s, want faults_in_force: []", j)
	}
	var unchecked Status
	if j, _ := json.Marshal(unchecked); !strings.Contains(string(j), `"faults_in_force":null`) {
		t.Errorf("JSON of an unchecked status = %s, want faults_in_force: null", j)
	}
}
