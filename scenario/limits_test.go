package scenario

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestParseRefusesOverlapsAndOutOfBounds pins the overlap rules for
// container-state and node netem faults, the bounds on every number and
// size, and the schedule arithmetic that must not wrap.
func TestParseRefusesOverlapsAndOutOfBounds(t *testing.T) {
	const head = "duration: 1m\nworkloads: [{kind: insert}]\nfaults:\n"
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"at plus for overflows instead of ending in the past",
			"duration: 30s\nworkloads: [{kind: insert}]\nfaults:\n  - {kind: failover, from: primary1, at: 5s, for: 2562047h47m16s}\n  - {kind: failover, from: primary2, at: 10s, for: 5s}\n",
			[]string{`f.yaml:4:51: faults[0].for: "2562047h47m16s" is more than 168h, the most allowed`}},
		{"two stops on one node", head + "  - {kind: stop, node: primary1, at: 10s, for: 20s}\n  - {kind: stop, node: primary1, at: 20s, for: 5s}\n",
			[]string{`f.yaml:5:5: faults[1] (kind: stop, node: primary1) overlaps faults[0] (kind: stop, node: primary1) (at f.yaml:4:5) from 20s to 25s: both change the state of the container primary1, and the heal of one would undo the other; end one before the other starts`}},
		{"stop then kill, the kill without for", head + "  - {kind: kill, node: primary2, at: 40s}\n  - {kind: stop, node: primary2, at: 10s, for: 35s}\n",
			[]string{`f.yaml:5:5: faults[1] (kind: stop, node: primary2) overlaps faults[0] (kind: kill, node: primary2) (at f.yaml:4:5) from 40s to 45s: both change the state of the container primary2, and the heal of one would undo the other; end one before the other starts`}},
		{"restart inside a pause", head + "  - {kind: pause, node: haproxy, at: 10s, for: 20s}\n  - {kind: restart, node: haproxy, at: 15s}\n",
			[]string{`f.yaml:5:5: faults[1] (kind: restart, node: haproxy) overlaps faults[0] (kind: pause, node: haproxy) (at f.yaml:4:5) at 15s: both change the state of the container haproxy, and a restart inside another fault's window would undo it; move the restart outside that window`}},
		{"two restarts at the same instant", head + "  - {kind: restart, node: primary1, at: 10s}\n  - {kind: restart, node: primary1, at: 10s}\n",
			[]string{`f.yaml:5:5: faults[1] (kind: restart, node: primary1) overlaps faults[0] (kind: restart, node: primary1) (at f.yaml:4:5) at 10s: both change the state of the container primary1, and a restart inside another fault's window would undo it; move the restart outside that window`}},
		{"two node-wide netem faults on one node", head + "  - {kind: delay, node: primary1, delay: 100ms, at: 10s, for: 20s}\n  - {kind: loss, node: primary1, loss: 5%, at: 29s}\n",
			[]string{`f.yaml:5:5: faults[1] (kind: loss, node: primary1) overlaps faults[0] (kind: delay, node: primary1) (at f.yaml:4:5) from 29s to 30s: a node has one netem queue, so the second would replace the first and either heal would remove both; end one before the other starts, or put delay and loss on the link (between: [primary1, primary2])`}},
		{"many overlapping failovers: one message per fault, capped", head + strings.Repeat("  - {kind: failover, from: primary1, at: 1s}\n", 60), nil},
		{"rows that would fill the disk", "duration: 1m\nworkloads: [{kind: bank, rows: 2147483647}]\n",
			[]string{`f.yaml:2:32: workloads[0].rows: 2147483647 is too large (must be at most 1000000)`}},
		{"week-long bounds", "duration: 169h\nworkloads: [{kind: insert}]\nassert: {lag_p99: 200h, errors: 1000000000001}\n", []string{
			`f.yaml:1:11: duration: "169h" is more than the longest run allowed, 168h (7 days): split the soak into several runs`,
			`f.yaml:3:19: assert.lag_p99: "200h" is more than 168h (7 days), the longest a run may last`,
			`f.yaml:3:33: assert.errors: 1000000000001 is too large (must be at most 1000000000000)`,
		}},
		{"rate, delay and jitter bounds", "duration: 1m\nworkloads: [{kind: insert, rate: 2000000/s}]\nfaults: [{kind: delay, node: primary1, delay: 2m, jitter: 61s, at: 1s}]\n", []string{
			`f.yaml:2:34: workloads[0].rate: "2000000/s" is more than 1e+06/s, the most allowed (omit rate to run as fast as possible)`,
			`f.yaml:3:47: faults[0].delay: "2m" is more than 1m, the most allowed`,
			`f.yaml:3:59: faults[0].jitter: "61s" is more than 1m, the most allowed`,
		}},
		{"names: length and control characters", "name: \"a\\e[31mred\"\nduration: 1m\nworkloads: [{kind: insert, name: " + strings.Repeat("w", 129) + "}]\n", []string{
			`f.yaml:1:7: name: "a\x1b[31mred" holds a control character: use printable characters only`,
			`f.yaml:3:34: workloads[0].name is 129 bytes long: at most 128 are allowed`,
		}},
		{"too many workloads", "duration: 1m\nworkloads:\n" + strings.Repeat("  - {kind: insert}\n", 101), []string{
			`f.yaml:3:3: workloads has 101 entries: at most 100 are allowed`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.yaml))
			if tt.want != nil {
				checkErrors(t, err, tt.want)
				return
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("want errors, got %v", err)
			}
			// 60 open-ended failovers of one backend: each one after the
			// first clashes, so 59 problems, 50 shown and a count.
			if len(es) != MaxErrors+1 {
				t.Fatalf("%d errors, want %d", len(es), MaxErrors+1)
			}
			if last := es[MaxErrors].Msg; last != "and 9 more problems: fix the ones above first" {
				t.Errorf("last line %q", last)
			}
			if !strings.HasPrefix(es[0].Error(), "f.yaml:5:5: faults[1] (kind: failover, from: primary1) overlaps faults[0]") {
				t.Errorf("first error %q", es[0].Error())
			}
		})
	}
}

// TestParseAllowsNetworkFaultOverlaps pins what the faults package makes
// per fault instance, so it may overlap: link faults with each other, a
// partition with a pause, and a network fault that ends as its node comes
// back (scenarios/failover-failback.yaml's partition and kill).
func TestParseAllowsNetworkFaultOverlaps(t *testing.T) {
	y := "duration: 1m\nworkloads: [{kind: insert}]\nfaults:\n" +
		"  - {kind: partition, at: 1s, for: 20s}\n" +
		"  - {kind: partition, direction: primary1->primary2, at: 5s, for: 5s}\n" +
		"  - {kind: delay, between: [primary1, primary2], delay: 50ms, at: 22s, for: 5s}\n" +
		"  - {kind: loss, between: [primary1, primary2], loss: 1%, at: 3s, for: 18s}\n" +
		"  - {kind: pause, node: primary2, at: 14s, for: 1s}\n" +
		"  - {kind: kill, node: primary1, at: 15s, for: 6s}\n" +
		"  - {kind: isolate, node: primary1, at: 30s, for: 3s}\n" +
		"  - {kind: delay, node: primary2, delay: 10ms, at: 30s, for: 10s}\n" +
		"  - {kind: loss, node: primary2, loss: 1%, at: 41s, for: 4s}\n" +
		"  - {kind: stop, node: primary2, at: 45s, for: 5s}\n" +
		"  - {kind: restart, node: primary2, at: 55s}\n"
	s, err := Parse("f.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Faults) != 11 {
		t.Fatalf("%d faults", len(s.Faults))
	}
}

// TestParseRefusesFaultsThatWouldEndEachOtherSilently pins the overlaps
// docs/faults.md explains by mechanism: each pair here would leave the
// report saying a fault held when it did not.
func TestParseRefusesFaultsThatWouldEndEachOtherSilently(t *testing.T) {
	head := "duration: 1m\nworkloads: [{kind: insert}]\nfaults:\n"
	cases := []struct{ name, faults, want string }{
		{"node comes back inside a partition", "  - {kind: partition, at: 1s, for: 20s}\n  - {kind: stop, node: primary1, at: 5s, for: 5s}\n",
			`f.yaml:5:5: faults[1] (kind: stop, node: primary1) and faults[0] (kind: partition) (at f.yaml:4:5): primary1 comes back at 10s, inside faults[0] (kind: partition)'s window`},
		{"restart inside a link loss", "  - {kind: loss, between: [primary1, primary2], loss: 5%, at: 1s}\n  - {kind: restart, node: primary2, at: 30s}\n",
			`f.yaml:5:5: faults[1] (kind: restart, node: primary2) and faults[0] (kind: loss) (at f.yaml:4:5): primary2 comes back at 30s`},
		{"partition starts while the node is down", "  - {kind: kill, node: primary2, at: 1s, for: 10s}\n  - {kind: partition, at: 5s, for: 10s}\n",
			`f.yaml:5:5: faults[1] (kind: partition) and faults[0] (kind: kill, node: primary2) (at f.yaml:4:5): faults[1] (kind: partition) starts at 5s while primary2 is down`},
		{"isolate and stop of one node", "  - {kind: isolate, node: primary1, at: 1s, for: 10s}\n  - {kind: stop, node: primary1, at: 5s, for: 1s}\n",
			`f.yaml:5:5: faults[1] (kind: stop, node: primary1) overlaps faults[0] (kind: isolate, node: primary1) (at f.yaml:4:5) from 5s to 6s: both change the container primary1 (isolate detaches it from the lab network)`},
		{"two link delays on one direction", "  - {kind: delay, between: [primary1, primary2], delay: 50ms, at: 1s, for: 10s}\n  - {kind: delay, between: [primary1, primary2], direction: primary2->primary1, delay: 9ms, at: 5s, for: 1s}\n",
			`f.yaml:5:5: faults[1] (kind: delay) overlaps faults[0] (kind: delay) (at f.yaml:4:5) from 5s to 6s on primary2->primary1: only the first delay's redirect catches the subscriber's connection`},
		{"link delay and a pause", "  - {kind: delay, between: [primary1, primary2], delay: 50ms, at: 1s, for: 10s}\n  - {kind: pause, node: primary2, at: 5s, for: 1s}\n",
			`f.yaml:5:5: faults[1] (kind: pause, node: primary2) overlaps faults[0] (kind: delay) (at f.yaml:4:5) from 5s to 6s: a link delay's inject and heal wait for the subscription to reconnect, which the paused primary2 never does`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(head+c.faults))
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("error:\n%v\nwant it to start with:\n%s", err, c.want)
			}
		})
	}
}

// TestErrorsCappedAcrossChecks pins that the cap keeps the first errors in
// file order whatever check found them, and counts the rest.
func TestErrorsCappedAcrossChecks(t *testing.T) {
	var b strings.Builder
	b.WriteString("duration: 1m\nworkloads: [{kind: insert}]\nfaults:\n")
	for i := range 80 {
		fmt.Fprintf(&b, "  - {kind: stop, node: primary1, at: %ds, for: 10s, bogus: 1}\n", i%50)
	}
	_, err := Parse("f.yaml", []byte(b.String()))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("want errors, got %v", err)
	}
	if len(es) != MaxErrors+1 {
		t.Fatalf("%d errors, want %d", len(es), MaxErrors+1)
	}
	for i := 1; i < len(es); i++ {
		if a, b := es[i-1].Pos, es[i].Pos; a.Line > b.Line || (a.Line == b.Line && a.Col > b.Col) {
			t.Fatalf("errors out of order at %d: %v then %v", i, es[i-1], es[i])
		}
	}
	if !strings.Contains(es[0].Msg, `unknown key "bogus"`) || es[0].Pos.Line != 4 {
		t.Errorf("first error %v", es[0])
	}
	if !strings.HasPrefix(es[MaxErrors].Msg, "and ") {
		t.Errorf("last error %v", es[MaxErrors])
	}
}
