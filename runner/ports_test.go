package runner

import (
	"net"
	"testing"

	"github.com/pgchaos/pgchaos/lab"
)

// ports puts four ports in the order primary1, primary2, haproxy, stats.
func ports(p [4]int) lab.Ports {
	return lab.Ports{Primary1: p[0], Primary2: p[1], HAProxy: p[2], Stats: p[3]}
}

// listen holds n ephemeral ports busy until the test ends.
func listen(t *testing.T, n int) [4]int {
	t.Helper()
	var ports [4]int
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports
}

func TestPortsForPicksDistinctFreePortsWhenTheDefaultsAreBusy(t *testing.T) {
	busy := listen(t, 4)
	for range 200 { // picked one at a time, about 1 in 2000 sets repeated a port here
		p := portsFor(lab.Ports{}, ports(busy), 2)
		got := []int{p.Primary1, p.Primary2, p.HAProxy, p.Stats}
		seen := map[int]bool{}
		for i, port := range got {
			if port == busy[i] || port == 0 {
				t.Fatalf("port %d of %v: %d is the busy default or none", i, got, port)
			}
			if seen[port] {
				t.Fatalf("ports %v repeat %d", got, port)
			}
			seen[port] = true
		}
	}
}

func TestPortsForKeepsAskedPortsAndFreeDefaults(t *testing.T) {
	busy := listen(t, 1)
	// A port that was free a moment ago stands in for a free default.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p := portsFor(ports([4]int{0, busy[0], 0, 0}), ports([4]int{free, 1, busy[0], busy[0]}), 2)
	if p.Primary1 != free {
		t.Errorf("primary1 %d, want the free default %d", p.Primary1, free)
	}
	if p.Primary2 != busy[0] {
		t.Errorf("primary2 %d, want the asked %d even though it is busy (lab up reports that)", p.Primary2, busy[0])
	}
	if p.HAProxy == busy[0] || p.Stats == busy[0] || p.HAProxy == p.Stats {
		t.Errorf("haproxy %d, stats %d: want two distinct free ports instead of busy default %d", p.HAProxy, p.Stats, busy[0])
	}
}

func TestPortsForGivesAThirdPrimaryAPortOfItsOwn(t *testing.T) {
	busy := listen(t, 1)
	p := portsFor(lab.Ports{Rest: []int{0, busy[0]}}, ports([4]int{}), 4)
	if len(p.Rest) != 2 || p.Rest[1] != busy[0] {
		t.Fatalf("rest %v: want two, the asked %d last", p.Rest, busy[0])
	}
	seen := map[int]bool{}
	for _, port := range []int{p.Primary1, p.Primary2, p.Rest[0], p.Rest[1], p.HAProxy, p.Stats} {
		if port == 0 || seen[port] {
			t.Fatalf("ports %+v: zero or repeated", p)
		}
		seen[port] = true
	}
}
