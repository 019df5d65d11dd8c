// Package lab builds, finds and removes pgchaos labs: two PostgreSQL primaries
// replicating to each other with native logical replication, behind
// HAProxy, on one Docker engine.
//
// It owns everything that touches the Docker Engine API for a lab (pgchaos
// never shells out to the docker CLI): images (the official ones, or the
// pgchaos-local builds of `make images` when no registry answers), the
// lab's private network, its containers and volumes, the replication setup
// on each node (the compose/ SQL files: test_table, sequences, heartbeat,
// publications, then subscriptions with origin = none), health (a lab is
// ready only once a marker row has crossed both ways), and the topology:
// node names, ports, DSNs and the HAProxy stats and runtime API. It knows
// nothing of workloads or faults; those act on a *Lab.
//
// Every Docker object carries the label pgchaos.lab=NAME (LabelLab), and
// labels, never name patterns, decide what belongs to a lab.
//
// Entry points:
//   - Up builds a lab from a Config (New and the With… options make one)
//     and returns it once replication works both ways.
//   - Open finds a running lab by name; Refresh re-reads its containers.
//   - Down and DownCount remove everything a lab made; safe on a half-built
//     or already-removed lab.
//   - On a *Lab: DSN and Connect reach a node or HAProxy, Status reports
//     containers, subscriptions, bytes behind and backends, Backends and
//     AdminCommand talk to HAProxy's runtime API, Logs and LogsSince read a
//     container's server log.
package lab
