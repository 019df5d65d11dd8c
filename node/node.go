// Package node names the parts of a primary-primary setup once, for every
// package that speaks of them: the scenario file, the lab, the workloads,
// the analysis and the report. A lab's nodes are these names; they are
// also the hosts' names on the lab network and each server's cluster_name.
//
// A lab has two primaries by default (the tutorial's) and up to
// MaxPrimaries: primary1 … primaryN. A target's nodes carry its user's
// names instead; code that walks nodes takes the list it is given rather
// than assuming these.
package node

import (
	"strconv"
	"strings"
)

// The names of a two-primary lab's nodes and of its load balancer.
const (
	Primary1 = "primary1"
	Primary2 = "primary2"
	HAProxy  = "haproxy"
)

// How many primaries a lab can have, and how many it has by default.
const (
	MinPrimaries     = 2
	MaxPrimaries     = 5
	DefaultPrimaries = 2
)

// Primary returns the name of the i-th primary, counting from 1.
func Primary(i int) string { return "primary" + strconv.Itoa(i) }

// PrimaryIndex returns i for "primary<i>" (i ≥ 1), or 0 and false for any
// other name.
func PrimaryIndex(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, "primary")
	if !ok || s == "" || s[0] == '0' {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 1 {
		return 0, false
	}
	return i, true
}

// Primaries returns the names of a two-primary lab's primaries, in order.
func Primaries() []string { return PrimariesOf(DefaultPrimaries) }

// PrimariesOf returns the names of an n-primary lab's primaries, in order.
func PrimariesOf(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = Primary(i + 1)
	}
	return out
}

// Targets returns every name a workload can write through in a two-primary
// lab: the primaries, then the load balancer.
func Targets() []string { return TargetsOf(DefaultPrimaries) }

// TargetsOf returns every name a workload can write through in an
// n-primary lab: the primaries, then the load balancer.
func TargetsOf(n int) []string { return append(PrimariesOf(n), HAProxy) }

// Peer returns the other primary of a two-primary lab.
func Peer(n string) string {
	if n == Primary1 {
		return Primary2
	}
	return Primary1
}

// Others returns every name in nodes but n, in order: the peers n
// replicates with in a full mesh.
func Others(nodes []string, n string) []string {
	out := make([]string, 0, len(nodes))
	for _, m := range nodes {
		if m != n {
			out = append(out, m)
		}
	}
	return out
}
