package lab

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// FaultInForce is a fault the lab's fault ledger holds unhealed: injected
// by a pgchaos that has not healed it (yet), e.g. one killed with SIGKILL in
// the middle of a partition. Docker's view of the lab cannot show it (a
// partition leaves both nodes "running" and both subscriptions "enabled"),
// so `pgchaos lab status` lists it from the ledger. The faults package
// fills it in (package lab knows nothing of faults).
type FaultInForce struct {
	ID         int               `json:"id"` // the ledger entry
	Kind       string            `json:"kind"`
	Target     string            `json:"target"`
	Params     map[string]string `json:"params,omitempty"`
	Name       string            `json:"name"`
	InjectedAt time.Time         `json:"injected_at"`
	// InjectError: the inject failed and may have been half applied.
	InjectError string `json:"inject_error,omitempty"`
	// HealError: a heal was tried and failed.
	HealError string `json:"heal_error,omitempty"`
}

// SetFaultsInForce records the faults a lab's ledger (at path) holds
// unhealed, and warns with the command that heals them. A running
// `pgchaos run` holds its current faults in the ledger too, so the warning
// says to heal only once no run uses the lab.
func (st *Status) SetFaultsInForce(path string, fs []FaultInForce) {
	st.Ledger = path
	st.FaultsInForce = append([]FaultInForce{}, fs...)
	sort.SliceStable(st.FaultsInForce, func(i, j int) bool { return st.FaultsInForce[i].InjectedAt.Before(st.FaultsInForce[j].InjectedAt) })
	if len(fs) == 0 {
		return
	}
	names := make([]string, len(st.FaultsInForce))
	for i, f := range st.FaultsInForce {
		names[i] = fmt.Sprintf("%s (injected %s)", f.Name, f.InjectedAt.Format(time.RFC3339))
	}
	noun := "fault is"
	if len(fs) > 1 {
		noun = "faults are"
	}
	st.Warnings = append(st.Warnings, fmt.Sprintf("%d %s still in force according to the fault ledger %s: %s. "+
		"Unless a pgchaos run is using this lab right now, the pgchaos that injected them did not heal them (was it killed?): "+
		"run `pgchaos lab heal --name %s`",
		len(fs), noun, path, strings.Join(names, "; "), st.Name))
}

// WriteFaultsInForce writes the table view of the faults in force (nothing
// when there are none); now dates them ("3m20s ago").
func WriteFaultsInForce(w io.Writer, st Status, now time.Time) error {
	if len(st.FaultsInForce) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FAULT IN FORCE\tLEDGER ID\tINJECTED AT\tAGO\tNOTE")
	for _, f := range st.FaultsInForce {
		note := "-"
		switch {
		case f.HealError != "":
			note = "heal failed: " + f.HealError
		case f.InjectError != "":
			note = "inject failed, may be half applied: " + f.InjectError
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", f.Name, f.ID, f.InjectedAt.Format(time.RFC3339), now.Sub(f.InjectedAt).Round(time.Second), note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "heal them with: pgchaos lab heal --name %s   (ledger %s)\n", st.Name, st.Ledger)
	return err
}
