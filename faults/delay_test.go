package faults

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/scenario"
)

// The proxy ports of the link delays that may overlap on one node differ,
// stay in their range, and are the same in every process (a heal re-made
// from the ledger removes what the inject set up).
func TestProxyPortsOfOverlappingLinkDelaysDiffer(t *testing.T) {
	l := &lab.Lab{Name: "unit", Nodes: []lab.Node{{Name: lab.Primary1}, {Name: lab.Primary2}}}
	seen := map[int]string{}
	for _, dir := range []string{scenario.DirBoth, scenario.DirOneToTwo, scenario.DirTwoToOne} {
		f, err := New(l, scenario.Fault{Kind: scenario.FaultDelay, Between: []string{lab.Primary1, lab.Primary2}, Direction: dir, Delay: 1})
		if err != nil {
			t.Fatal(err)
		}
		d := f.(*Delay)
		port := proxyPort(d.tag())
		if port < 15400 || port >= 15900 || port == 5432 {
			t.Errorf("%s: proxy port %d outside 15400-15899", d, port)
		}
		if other, ok := seen[port]; ok {
			t.Errorf("%s and %s share proxy port %d", d, other, port)
		}
		seen[port] = d.String()
	}
}

func TestNoNetemIsErrNoNetemAndPointsToTheLinkDelay(t *testing.T) {
	tests := []struct {
		in      error
		noNetem bool
	}{
		{fmt.Errorf("helper exited with 2: Error: Specified qdisc kind is unknown."), true},
		{errors.New("helper exited with 1: no interface holds 10.0.0.2"), false},
		{nil, false},
	}
	for _, tc := range tests {
		got := netemErr(tc.in)
		if errors.Is(got, ErrNoNetem) != tc.noNetem {
			t.Errorf("netemErr(%v) = %v, want ErrNoNetem: %v", tc.in, got, tc.noNetem)
		}
	}
	if !strings.Contains(ErrNoNetem.Error(), "between:") {
		t.Errorf("ErrNoNetem = %q, want it to name the link delay (between:) as the way without netem", ErrNoNetem)
	}
}

// The link proxy neither listens on every address nor forwards to
// 127.0.0.1 (which the official image trusts without a password): both
// are the publisher's lab address.
func TestProxyCmdUsesThePublishersLabAddress(t *testing.T) {
	got := proxyCmd("172.30.0.2", 15411, 5432, 50*time.Millisecond, 5*time.Millisecond)
	want := []string{"pgchaos-linkproxy", "--listen", "172.30.0.2:15411", "--upstream", "172.30.0.2:5432", "--delay", "50ms", "--jitter", "5ms"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("proxyCmd = %q, want %q", got, want)
	}
}

// On a target whose subscription reaches the publisher on another port,
// the proxy forwards to that port and the redirect catches that port.
func TestLinkDelayFollowsTheSubscriptionsPort(t *testing.T) {
	got := proxyCmd("10.0.0.5", 15411, 6432, time.Second, 0)
	if got[4] != "10.0.0.5:6432" {
		t.Errorf("upstream = %q, want 10.0.0.5:6432", got[4])
	}
	rule := redirectAdd("pgchaos-delay-x", "10.0.0.6", 15411, 6432)
	if !strings.Contains(rule, "-s 10.0.0.6/32 -p tcp --dport 6432 -m comment --comment pgchaos-delay-x -j REDIRECT --to-ports 15411") {
		t.Errorf("redirect rule does not catch port 6432:\n%s", rule)
	}
}
