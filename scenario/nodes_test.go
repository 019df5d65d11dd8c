package scenario

import (
	"slices"
	"strings"
	"testing"
)

// A scenario run on a target names the target's nodes: node:, from:,
// between: and targets: take those names, and a lab's names (or haproxy,
// when the target has none) are refused at their place.
func TestParseForTakesTheTargetsNodeNames(t *testing.T) {
	ns := Nodes{Primaries: []string{"east", "west"}}
	sc, err := ParseFor("s.yaml", []byte(`duration: 10s
target: {nodes: [{name: east, dsn: "host=a"}, {name: west, dsn: "host=b"}]}
workloads: [{kind: insert}]
faults:
  - {at: 1s, kind: disable-subscription, node: west, for: 2s}
  - {at: 1s, kind: pause, node: east, for: 2s}
  - {at: 4s, kind: partition, between: [west, east], for: 1s}
`), ns)
	if err != nil {
		t.Fatal(err)
	}
	{
		if got := sc.Workloads[0].Targets; !slices.Equal(got, []string{"east", "west"}) {
			t.Errorf("default targets %v, want the target's nodes and no haproxy", got)
		}
		if got := sc.Faults[2].Between; !slices.Equal(got, []string{"east", "west"}) {
			t.Errorf("between %v, want in the nodes' order", got)
		}
	}
	_, err = ParseFor("s.yaml", []byte(`duration: 10s
workloads: [{kind: insert, targets: [east, haproxy]}]
faults:
  - {at: 1s, kind: stop, node: primary1, for: 2s}
`), ns)
	if err == nil {
		t.Fatal("haproxy and primary1 accepted on a target without them")
	}
	for _, want := range []string{"s.yaml:2:", "haproxy", "s.yaml:4:", "primary1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
