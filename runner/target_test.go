package runner

import (
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/target"
)

// Refusals decides from the preflight alone, before anything is written:
// each workload or fault a target cannot take is named at its
// file:line:col with the reason, and the error is exit code 2.
func TestRefusalsNameEachEntryATargetCannotTake(t *testing.T) {
	tg, err := target.Parse("cluster.yaml", []byte(`nodes:
  - {name: east, dsn: "host=10.0.0.1 user=app dbname=app", container: pg-east}
  - {name: west, dsn: "host=10.0.0.2 user=app dbname=app"}
`))
	if err != nil {
		t.Fatal(err)
	}
	facts := target.Facts{}
	for _, n := range []struct{ name, peer, container string }{{"east", "west", "pg-east"}, {"west", "east", ""}} {
		nf := target.NodeFacts{Name: n.name, Reached: true, Superuser: true, Engines: []string{target.EngineNative},
			Subscriptions: []target.Subscription{{Engine: target.EngineNative, Name: "from_" + n.peer, Enabled: true, Owned: true, Slot: "from_" + n.peer}},
			Slots:         []string{"from_" + n.name}, Container: target.ContainerFacts{State: target.ContainerNone}}
		if n.container != "" {
			nf.Container = target.ContainerFacts{Name: n.container, State: target.ContainerRunning}
		}
		facts.Nodes = append(facts.Nodes, nf)
	}
	topology := []target.Edge{
		{Subscriber: "east", Publisher: "west", Engine: target.EngineNative, Subscription: "from_west", Enabled: true},
		{Subscriber: "west", Publisher: "east", Engine: target.EngineNative, Subscription: "from_east", Enabled: true},
	}
	withHAProxy := func(f *target.Facts) {
		f.HAProxy = target.HAProxyFacts{Address: "lb:5000", Admin: "lb:9999", AddressOK: true, AdminOK: true,
			Servers: target.ServerMap{Backend: "pg", Servers: map[string]string{"west": "srv2"},
				Missing: []target.NodeReason{{Node: "east", Reason: "no server of backend pg points at east: name it under haproxy.servers"}}}}
	}
	parse := func(t *testing.T, body string) *scenario.Scenario {
		t.Helper()
		sc, err := scenario.ParseFor("s.yaml", []byte("duration: 20s\n"+body), scenario.Nodes{Primaries: []string{"east", "west"}})
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	for _, tc := range []struct {
		name    string
		body    string
		network string   // the network the containers share
		want    []string // in the error, in order; none: accepted
		change  func(f *target.Facts)
	}{
		{"sql workload, sql fault and a pause on the node with a container", `workloads: [{kind: sql, script: x.sql}]
faults:
  - {at: 1s, kind: disable-subscription, node: west, for: 2s}
  - {at: 5s, kind: pause, node: east, for: 2s}
`, "", nil, nil},
		{"stop on the node without a container", `workloads: [{kind: sql, script: x.sql}]
faults:
  - {at: 1s, kind: stop, node: west, for: 2s}
`, "", []string{"s.yaml:4:5: faults[0] (kind: stop): cannot be done on west: no container named"}, nil},
		{"partition with no shared network", `workloads: [{kind: sql, script: x.sql}]
faults:
  - {at: 1s, kind: partition, for: 2s}
`, "", []string{"s.yaml:4:5: faults[0] (kind: partition): link and network faults find a node's peer on the Docker network"}, nil},
		{"partition to the node without a container", `workloads: [{kind: sql, script: x.sql}]
faults:
  - {at: 1s, kind: loss, between: [east, west], loss: 10%, for: 2s}
`, "net", []string{"s.yaml:4:5: faults[0] (kind: loss): cannot be done on west: no container named"}, nil},
		{"node-wide delay, and a link delay to the node without a container", `workloads: [{kind: sql, script: x.sql}]
faults:
  - {at: 1s, kind: delay, node: east, delay: 100ms, for: 2s}
  - {at: 5s, kind: delay, between: [east, west], delay: 100ms, for: 2s}
`, "net", []string{"s.yaml:4:5: faults[0] (kind: delay): a node-wide delay needs sch_netem", "s.yaml:5:5: faults[1] (kind: delay): cannot be done on west: no container named"}, nil},
		{"built-in workloads and lock-rows on pgchaos's own tables, before setup made them", `workloads: [{kind: insert}, {kind: update-hot}, {kind: bank}]
faults:
  - {at: 1s, kind: lock-rows, node: east, table: pgchaos_counter, for: 2s}
  - {at: 5s, kind: lock-rows, node: west, table: pgchaos_insert, mode: table, for: 2s}
`, "", nil, nil},
		{"lock-rows on a table of the user's, named schema.table (looked up on the node after)", `workloads: [{kind: sql, script: x.sql}]
faults:
  - {at: 1s, kind: lock-rows, node: west, table: public.orders, mode: table, for: 2s}
`, "", nil, nil},
		{"schema, tutorial workload, network fault, failover and lock-rows on test_table", `workloads: [{kind: insert}, {kind: tutorial}]
schema: ../scenarios/shop.sql
faults:
  - {at: 1s, kind: isolate, node: east, for: 2s}
  - {at: 5s, kind: failover, from: east, for: 2s}
  - {at: 9s, kind: lock-rows, node: east, table: test_table, for: 2s}
`, "net", []string{"s.yaml:2:29: workloads[1] (kind: tutorial): it writes test_table, which on a target is yours", "s.yaml:3:9: schema: is for labs", "s.yaml:6:5: faults[1] (kind: failover): cannot be done on east: no haproxy: in the target", "s.yaml:7:5: faults[2] (kind: lock-rows): on a target a bare table name is one of pgchaos's own workload tables", "test_table is yours: name it schema.table (e.g. public.test_table)"}, nil},
		{"failover from a node HAProxy has a server for, isolate of a container on one network", `workloads: [{kind: sql, script: x.sql}]
faults:
  - {at: 1s, kind: failover, from: west, for: 2s}
  - {at: 5s, kind: isolate, node: east, for: 2s}
`, "", nil, func(f *target.Facts) {
			withHAProxy(f)
			f.Nodes[0].Container.Networks = map[string]string{"app": "10.0.0.5"}
		}},
		{"failover from a node without a server, isolate of a container on two networks and of one without", `workloads: [{kind: sql, script: x.sql}]
faults:
  - {at: 1s, kind: failover, from: east, for: 2s}
  - {at: 5s, kind: isolate, node: east, for: 2s}
  - {at: 9s, kind: isolate, node: west, for: 2s}
`, "", []string{"s.yaml:4:5: faults[0] (kind: failover): cannot be done on east: no server of backend pg points at east: name it under haproxy.servers",
			"s.yaml:5:5: faults[1] (kind: isolate): cannot be done on east: container pg-east is on 2 Docker networks (app, backup)",
			"s.yaml:6:5: faults[2] (kind: isolate): cannot be done on west: no container named"}, func(f *target.Facts) {
			withHAProxy(f)
			f.Nodes[0].Container.Networks = map[string]string{"app": "10.0.0.5", "backup": "10.1.0.5"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := parse(t, strings.ReplaceAll(tc.body, "x.sql", "../scenarios/orders.sql"))
			f := facts
			f.Nodes = append([]target.NodeFacts(nil), facts.Nodes...)
			if tc.change != nil {
				tc.change(&f)
			}
			pre := target.Report{Facts: f, Capabilities: target.Capabilities(f), Topology: topology}
			err := Refusals(sc, tg, pre, tc.network)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || exitcode.Of(err) != exitcode.BadInput {
				t.Fatalf("err = %v (exit %d), want exit 2", err, exitcode.Of(err))
			}
			msg, at := err.Error(), 0
			for _, w := range tc.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("error lacks %q (in order):\n%s", w, msg)
				}
				at += i + len(w)
			}
		})
	}
}

// A link delay on a target forwards to the port the subscription connects
// on, which preflight read from its connection string.
func TestPortOfTheSubscription(t *testing.T) {
	for _, tc := range []struct {
		addrs []string
		want  int
	}{
		{[]string{"postgres-primary2:5432"}, 5432},
		{[]string{"db-west:6432"}, 6432},
		{[]string{"/var/run/postgresql", "db:7000"}, 7000},
		{nil, 0},
	} {
		if got := portOf(target.Subscription{Addresses: tc.addrs}); got != tc.want {
			t.Errorf("portOf(%q) = %d, want %d", tc.addrs, got, tc.want)
		}
	}
}

// A run of sql workloads needs only the heartbeat; built-in kinds and
// lock-rows need the workloads' tables too.
func TestNeedsTablesForBuiltInKindsAndLockRows(t *testing.T) {
	for _, tc := range []struct {
		body string
		want bool
	}{
		{"workloads: [{kind: sql, script: ../scenarios/orders.sql}]\n", false},
		{"workloads: [{kind: sql, script: ../scenarios/orders.sql}]\nfaults: [{at: 1s, kind: lock-rows, node: east, table: pgchaos_bank, for: 1s}]\n", true},
		{"workloads: [{kind: update-hot}]\n", true},
		{"workloads: [{kind: sql, script: ../scenarios/orders.sql}]\nfaults: [{at: 1s, kind: lock-rows, node: east, table: public.orders, for: 1s}]\n", false},
	} {
		sc, err := scenario.ParseFor("s.yaml", []byte("duration: 20s\n"+tc.body), scenario.Nodes{Primaries: []string{"east", "west"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := needsTables(sc); got != tc.want {
			t.Errorf("%s: needsTables = %v, want %v", tc.body, got, tc.want)
		}
	}
}

// A target replicating with pglogical, or not in a full mesh, is taken:
// links are the subscriptions that exist. Refused are a node whose
// replication pgchaos does not read, two engines at once, and no link.
func TestRefusalsTakePglogicalAndPartialMeshes(t *testing.T) {
	tg, err := target.Parse("cluster.yaml", []byte(`nodes:
  - {name: east, dsn: "host=10.0.0.1 user=app dbname=app"}
  - {name: west, dsn: "host=10.0.0.2 user=app dbname=app"}
  - {name: north, dsn: "host=10.0.0.3 user=app dbname=app"}
`))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.ParseFor("s.yaml", []byte("duration: 20s\nworkloads: [{kind: sql, script: ../scenarios/orders.sql}]\n"), scenario.Nodes{Primaries: []string{"east", "west", "north"}})
	if err != nil {
		t.Fatal(err)
	}
	edge := func(sub, pub, engine string) target.Edge {
		return target.Edge{Subscriber: sub, Publisher: pub, Engine: engine, Subscription: "sub_" + pub + "_" + sub, Enabled: true}
	}
	report := func(engine string, nodeEngines [3]string, edges ...target.Edge) target.Report {
		var f target.Facts
		for i, name := range []string{"east", "west", "north"} {
			nf := target.NodeFacts{Name: name, Reached: true, Superuser: true, Engines: []string{nodeEngines[i]}}
			for _, e := range edges {
				if e.Subscriber == name {
					nf.Subscriptions = append(nf.Subscriptions, target.Subscription{Engine: e.Engine, Name: e.Subscription, Slot: "pgl_app_" + e.Publisher + "_" + e.Subscriber})
				}
			}
			f.Nodes = append(f.Nodes, nf)
		}
		return target.Report{Facts: f, Capabilities: target.Capabilities(f), Topology: edges}
	}
	pgl, nat := target.EnginePglogical, target.EngineNative
	partial := []target.Edge{edge("east", "west", pgl), edge("west", "east", pgl), edge("north", "east", pgl)}
	for _, tc := range []struct {
		name string
		pre  target.Report
		want string // "": accepted
	}{
		{"pglogical, north subscribing to east only", report(pgl, [3]string{pgl, pgl, pgl}, partial...), ""},
		{"native partial mesh", report(nat, [3]string{nat, nat, nat}, edge("east", "west", nat), edge("north", "east", nat)), ""},
		{"two engines", report(pgl, [3]string{pgl, pgl, nat}, append(partial, edge("north", "west", nat))...), "cluster.yaml:2:5: the nodes replicate with native and pglogical subscriptions at once"},
		{"no link", report(nat, [3]string{nat, nat, nat}, target.Edge{Subscriber: "east", Engine: nat, Subscription: "outside"}), "cluster.yaml:2:5: no subscription of one node of the target to another was matched"},
		{"spock node", report(pgl, [3]string{pgl, pgl, target.EngineSpock}, partial[:2]...), "cluster.yaml:4:5: node north: run --target measures native logical replication and pglogical, and found spock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Refusals(sc, tg, tc.pre, "")
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// An SQL fault on a link names it with peer:, and the link must exist:
	// north subscribes to east only.
	withPeer, err := scenario.ParseFor("s.yaml", []byte("duration: 20s\nworkloads: [{kind: sql, script: ../scenarios/orders.sql}]\nfaults:\n  - {at: 1s, kind: kill-apply-worker, node: north, peer: west}\n  - {at: 5s, kind: kill-apply-worker, node: north, peer: east}\n"), scenario.Nodes{Primaries: []string{"east", "west", "north"}})
	if err != nil {
		t.Fatal(err)
	}
	err = Refusals(withPeer, tg, report(pgl, [3]string{pgl, pgl, pgl}, partial...), "")
	if err == nil || !strings.Contains(err.Error(), "s.yaml:4:5: faults[0] (kind: kill-apply-worker): north does not subscribe to west") || strings.Contains(err.Error(), "faults[1]") {
		t.Errorf("peer without a link: %v", err)
	}
	// A link delay rides its direction's subscription: east's stream to
	// north exists, west's does not.
	delays, err := scenario.ParseFor("s.yaml", []byte("duration: 20s\nworkloads: [{kind: sql, script: ../scenarios/orders.sql}]\nfaults:\n  - {at: 1s, kind: delay, between: [west, north], direction: west->north, delay: 100ms, for: 2s}\n"), scenario.Nodes{Primaries: []string{"east", "west", "north"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := Refusals(delays, tg, report(pgl, [3]string{pgl, pgl, pgl}, partial...), "net"); err == nil || !strings.Contains(err.Error(), "s.yaml:4:5: faults[0] (kind: delay): north does not subscribe to west, so there is no west->north stream to delay") {
		t.Errorf("delay of a missing stream: %v", err)
	}
	// The lab value: pglogical, a link per subscription with its slot as
	// preflight read it (sub_slot_name), none for the missing pairs.
	cfg := externalConfig(tg, report(pgl, [3]string{pgl, pgl, pgl}, partial...))
	if cfg.Engine != lab.EnginePglogical || len(cfg.Links) != 3 {
		t.Fatalf("config engine %q, links %+v: want pglogical with 3 links", cfg.Engine, cfg.Links)
	}
	if k := cfg.Links[2]; k.Subscriber != "north" || k.Publisher != "east" || k.Name != "sub_east_north" || k.Slot != "pgl_app_east_north" {
		t.Errorf("link %+v: want north <- east through sub_east_north, slot pgl_app_east_north", k)
	}
}

// A pglogical target node without a container: its conflicts cannot be
// counted (no statistics view) nor read (no log), so the report says they
// are unknown and why, never an empty count that reads as none.
func TestConflictsOnPglogicalWithoutContainersAreUnknown(t *testing.T) {
	l, err := lab.External(t.Context(), lab.ExternalConfig{Name: "target-x", Engine: lab.EnginePglogical, Nodes: []lab.ExternalNode{
		{Name: "east", ConnString: "host=10.0.0.1 user=app dbname=app"}, {Name: "west", ConnString: "host=10.0.0.2 user=app dbname=app"}}})
	if err != nil {
		t.Fatal(err)
	}
	r := &run{lab: l}
	c, _ := r.conflicts(t.Context())
	if !strings.Contains(c.CountedUnknown, "pglogical keeps no conflict counters") {
		t.Errorf("counted unknown %q: want pglogical's reason", c.CountedUnknown)
	}
	for _, want := range []string{"log of east not read: the target names no container for it", "the conflicts applied and the stalls on west are unknown"} {
		if !strings.Contains(c.LoggedUnknown, want) {
			t.Errorf("logged unknown %q: want %q", c.LoggedUnknown, want)
		}
	}
}
