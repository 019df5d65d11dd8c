// Package node names the parts of a primary-primary setup once, for every
// package that speaks of them: the scenario file, the lab, the workloads,
// the analysis and the report. A lab's nodes are these names; they are
// also the hosts' names on the lab network and each server's cluster_name.
package node

// The names of a two-primary lab's nodes and of its load balancer.
const (
	Primary1 = "primary1"
	Primary2 = "primary2"
	HAProxy  = "haproxy"
)

// Primaries returns the primaries' names, in order.
func Primaries() []string { return []string{Primary1, Primary2} }

// Targets returns every name a workload can write through: the primaries,
// then the load balancer.
func Targets() []string { return []string{Primary1, Primary2, HAProxy} }

// Peer returns the other primary of a two-primary lab.
func Peer(n string) string {
	if n == Primary1 {
		return Primary2
	}
	return Primary1
}
