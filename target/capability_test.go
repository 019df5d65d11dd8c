package target

import (
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/scenario"
)

// tutorialNode is a node of the tutorial's lab as a superuser sees it.
func tutorialNode(name, peer string) NodeFacts {
	return NodeFacts{
		Name: name, Reached: true, User: "postgres", Version: "18.1", VersionNum: 180001,
		Superuser: true, CanCreateSchema: true, Engines: []string{EngineNative},
		Publications:  []Publication{{Name: "pgchaos_pub", AllTables: true}},
		Subscriptions: []Subscription{{Engine: EngineNative, Name: "sub_from_" + peer, Enabled: true, Owned: true, Slot: "sub_from_" + peer, Addresses: []string{peer + ":5432"}}},
		Slots:         []string{"sub_from_" + name},
		Container:     ContainerFacts{Name: "pg-" + name, State: ContainerRunning},
	}
}

func tutorial() Facts {
	return Facts{
		Nodes: []NodeFacts{tutorialNode("east", "west"), tutorialNode("west", "east")},
		HAProxy: HAProxyFacts{Address: "lb:5000", Admin: "lb:9999", AddressOK: true, AdminOK: true,
			Servers: ServerMap{Backend: "pg", Servers: map[string]string{"east": "srv1", "west": "srv2"}}},
	}
}

func TestCapabilities(t *testing.T) {
	cases := []struct {
		name   string
		change func(f *Facts)
		fault  string
		status string
		reason string // part of the first reason, when status is not yes
	}{
		{"container faults with a running container", nil, scenario.FaultKill, "yes", ""},
		{"no container named", func(f *Facts) { f.Nodes[1].Container = ContainerFacts{State: ContainerNone} }, scenario.FaultStop, "partly", "no container named"},
		{"container not found", func(f *Facts) {
			for i := range f.Nodes {
				f.Nodes[i].Container.State = ContainerNotFound
			}
		}, scenario.FaultPause, "no", "no container pg-east on the local Docker engine"},
		{"container on ssh engine unchecked", func(f *Facts) {
			f.Nodes[0].Container = ContainerFacts{Name: "c", DockerHost: "ssh://x", State: ContainerUnknown, Reason: "ssh:// engines are not checked"}
		}, scenario.FaultPartition, "partly", "could not be checked: ssh://"},
		{"failover with admin", nil, scenario.FaultFailover, "yes", ""},
		{"failover without haproxy", func(f *Facts) { f.HAProxy = HAProxyFacts{} }, scenario.FaultFailover, "no", "no haproxy: in the target"},
		{"failover without admin", func(f *Facts) { f.HAProxy.Admin, f.HAProxy.AdminOK = "", false }, scenario.FaultFailover, "no", "no HAProxy admin address"},
		{"failover without a server for a node", func(f *Facts) {
			f.HAProxy.Servers = ServerMap{Backend: "pg", Servers: map[string]string{"west": "srv2"},
				Missing: []NodeReason{{Node: "east", Reason: "no server of backend pg points at east: name it under haproxy.servers"}}}
		}, scenario.FaultFailover, "partly", "no server of backend pg points at east: name it under haproxy.servers"},
		{"isolate on one network", func(f *Facts) { f.Nodes[0].Container.Networks = map[string]string{"app": "10.0.0.2"} }, scenario.FaultIsolate, "yes", ""},
		{"isolate on two networks", func(f *Facts) {
			f.Nodes[0].Container.Networks = map[string]string{"app": "10.0.0.2", "backup": "10.1.0.2"}
		}, scenario.FaultIsolate, "partly", "container pg-east is on 2 Docker networks (app, backup)"},
		{"isolate on no network", func(f *Facts) { f.Nodes[0].Container.Networks = map[string]string{"none": ""} }, scenario.FaultIsolate, "partly", "on no Docker network"},
		{"failover admin silent", func(f *Facts) { f.HAProxy.AdminOK, f.HAProxy.AdminError = false, "refused" }, scenario.FaultFailover, "no", "did not answer: refused"},
		{"disable-subscription as superuser", nil, scenario.FaultDisableSubscription, "yes", ""},
		{"disable-subscription as owner", func(f *Facts) { f.Nodes[0].Superuser = false }, scenario.FaultDisableSubscription, "yes", ""},
		{"disable-subscription neither", func(f *Facts) {
			f.Nodes[0].Superuser = false
			f.Nodes[0].Subscriptions[0].Owned = false
		}, scenario.FaultDisableSubscription, "partly", "needs superuser or ownership"},
		{"disable-subscription no subscription", func(f *Facts) { f.Nodes[0].Subscriptions = nil }, scenario.FaultDisableSubscription, "partly", "no native subscription"},
		{"kill-walsender not superuser", func(f *Facts) { f.Nodes[0].Superuser = false }, scenario.FaultKillWalsender, "partly", "needs superuser"},
		{"kill-walsender no slot", func(f *Facts) { f.Nodes[1].Slots = nil }, scenario.FaultKillWalsender, "partly", "no logical slot"},
		{"kill-apply-worker on pglogical", func(f *Facts) {
			f.Nodes[0].Engines = []string{EnginePglogical}
			f.Nodes[0].Subscriptions[0].Engine = EnginePglogical
		}, scenario.FaultKillApplyWorker, "yes", ""},
		{"disable-subscription on pglogical, not superuser", func(f *Facts) {
			f.Nodes[0].Engines = []string{EnginePglogical}
			f.Nodes[0].Subscriptions[0].Engine = EnginePglogical
			f.Nodes[0].Superuser = false
		}, scenario.FaultDisableSubscription, "partly", "needs superuser to disable a pglogical subscription"},
		{"kill-walsender on pglogical", func(f *Facts) {
			for i := range f.Nodes {
				f.Nodes[i].Engines = []string{EnginePglogical}
				f.Nodes[i].Subscriptions[0].Engine = EnginePglogical
			}
		}, scenario.FaultKillWalsender, "yes", ""},
		{"kill-apply-worker on spock", func(f *Facts) {
			f.Nodes[0].Engines = []string{EngineSpock}
			f.Nodes[0].Subscriptions = nil
		}, scenario.FaultKillApplyWorker, "partly", "this node runs spock"},
		{"kill-sessions with pg_signal_backend", func(f *Facts) { f.Nodes[0].Superuser, f.Nodes[0].SignalBackend = false, true }, scenario.FaultKillSessions, "yes", ""},
		{"kill-sessions without", func(f *Facts) { f.Nodes[0].Superuser = false }, scenario.FaultKillSessions, "partly", "pg_signal_backend"},
		{"lock-rows before setup", nil, scenario.FaultLockRows, "no", "pgchaos target setup"},
		{"lock-rows after a heartbeat-only setup", func(f *Facts) {
			for i := range f.Nodes {
				f.Nodes[i].PgchaosSchema, f.Nodes[i].HeartbeatTable = true, true
			}
		}, scenario.FaultLockRows, "no", "pgchaos's own workload tables"},
		{"lock-rows after setup", func(f *Facts) {
			for i := range f.Nodes {
				f.Nodes[i].PgchaosSchema, f.Nodes[i].HeartbeatTable = true, true
				f.Nodes[i].PgchaosTables = setUpTables()
			}
		}, scenario.FaultLockRows, "yes", ""},
		{"lock-rows on a workload table someone else made", func(f *Facts) {
			for i := range f.Nodes {
				f.Nodes[i].PgchaosSchema, f.Nodes[i].HeartbeatTable = true, true
				f.Nodes[i].PgchaosTables = setUpTables()
			}
			f.Nodes[1].PgchaosTables[2].Marked = false
		}, scenario.FaultLockRows, "partly", "not set up here"},
		{"unreached node", func(f *Facts) { f.Nodes[1] = NodeFacts{Name: "west", Error: "connect: refused"} }, scenario.FaultKillSessions, "partly", "node not reached"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := tutorial()
			if c.change != nil {
				c.change(&f)
			}
			var got Capability
			for _, cp := range Capabilities(f) {
				if cp.Fault == c.fault {
					got = cp
				}
			}
			if got.Fault == "" {
				t.Fatalf("no capability for %s", c.fault)
			}
			if got.Status() != c.status {
				t.Fatalf("%s: status %s, want %s (can %v, cannot %+v)", c.fault, got.Status(), c.status, got.Can, got.Cannot)
			}
			if c.reason != "" && !strings.Contains(got.Cannot[0].Reason, c.reason) {
				t.Errorf("%s: reason %q, want it to contain %q", c.fault, got.Cannot[0].Reason, c.reason)
			}
		})
	}
}

func TestCapabilitiesCoverEveryScenarioFaultKind(t *testing.T) {
	caps := Capabilities(tutorial())
	if len(caps) != len(FaultKinds) {
		t.Fatalf("%d capabilities for %d kinds", len(caps), len(FaultKinds))
	}
	seen := map[string]bool{}
	for _, c := range caps {
		if seen[c.Fault] {
			t.Errorf("%s decided twice", c.Fault)
		}
		seen[c.Fault] = true
		if len(c.Can)+len(c.Cannot) != 2 {
			t.Errorf("%s: decided for %d nodes, want 2", c.Fault, len(c.Can)+len(c.Cannot))
		}
	}
}

func TestMeasures(t *testing.T) {
	edges := func(f Facts) []Edge { return Topology(f, nil) }
	cases := []struct {
		name    string
		change  func(f *Facts)
		measure string
		status  string
		reason  string
	}{
		{"lag before setup", nil, "lag (heartbeat", "needs setup", "run pgchaos target setup"},
		{"lag after setup", func(f *Facts) {
			for i := range f.Nodes {
				f.Nodes[i].PgchaosSchema, f.Nodes[i].HeartbeatTable = true, true
				f.Nodes[i].Publications[0].Heartbeat = true
			}
		}, "lag (heartbeat", "yes", ""},
		{"lag heartbeat not published", func(f *Facts) {
			for i := range f.Nodes {
				f.Nodes[i].PgchaosSchema, f.Nodes[i].HeartbeatTable = true, true
			}
		}, "lag (heartbeat", "needs setup", "no publication or replication set carries it"},
		{"lag without a matched peer", func(f *Facts) {
			for i := range f.Nodes {
				f.Nodes[i].Subscriptions[0].Addresses, f.Nodes[i].Subscriptions[0].Slot = []string{"elsewhere:5432"}, "nope"
				f.Nodes[i].HeartbeatTable = true
				f.Nodes[i].Publications[0].Heartbeat = true
			}
		}, "lag (heartbeat", "no", "no replication to or from another node"},
		{"conflicts on 18", nil, "conflicts by kind", "yes", ""},
		{"conflicts on 17", func(f *Facts) { f.Nodes[0].Version, f.Nodes[0].VersionNum = "17.6", 170006 }, "conflicts by kind", "partly", "PostgreSQL 17.6 counts apply errors only"},
		{"conflicts on pglogical", func(f *Facts) { f.Nodes[0].Engines = []string{EnginePglogical} }, "conflicts by kind", "partly", "no statistics view"},
		{"spock detected not measured", func(f *Facts) { f.Nodes[1].Engines = []string{EngineSpock} }, "lag (bytes", "partly", "spock detected, not measured"},
		{"bytes lag without stats role", func(f *Facts) { f.Nodes[0].Superuser = false }, "lag (bytes", "partly", "pg_read_all_stats"},
		{"bytes lag with pg_read_all_stats", func(f *Facts) { f.Nodes[0].Superuser, f.Nodes[0].ReadAllStats = false, true }, "lag (bytes", "yes", ""},
		{"log lines without container", func(f *Facts) { f.Nodes[0].Container = ContainerFacts{State: ContainerNone} }, "conflict log lines", "partly", "no container named"},
		{"pglogical stalls without container", func(f *Facts) {
			f.Nodes[0].Engines = []string{EnginePglogical}
			f.Nodes[0].Subscriptions[0].Engine = EnginePglogical
			f.Nodes[0].Container = ContainerFacts{State: ContainerNone}
		}, "stalls", "partly", "pglogical's stalls are read from the server log"},
		{"native stalls without container", func(f *Facts) { f.Nodes[0].Container = ContainerFacts{State: ContainerNone} }, "stalls", "yes", ""},
		{"failover cost without admin", func(f *Facts) { f.HAProxy.Admin = "" }, "failover cost", "no", "no HAProxy admin address"},
		{"divergence before setup", nil, "divergence", "needs setup", "pgchaos target setup"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := tutorial()
			if c.change != nil {
				c.change(&f)
			}
			var got *Measure
			for _, m := range Measures(f, edges(f)) {
				if strings.HasPrefix(m.Name, c.measure) {
					got = &m
				}
			}
			if got == nil {
				t.Fatalf("no measure %q", c.measure)
			}
			if got.Status != c.status {
				t.Fatalf("%s: status %q, want %q (%+v)", got.Name, got.Status, c.status, got.Reasons)
			}
			if c.reason != "" && !strings.Contains(got.Reasons[0].Reason, c.reason) {
				t.Errorf("%s: reason %q, want it to contain %q", got.Name, got.Reasons[0].Reason, c.reason)
			}
		})
	}
}

func TestTopologyMatchesByAddressThenSlot(t *testing.T) {
	f := tutorial()
	// east's subscription names west by its DSN address; west's names an
	// address no node has, and is matched by its slot on east.
	f.Nodes[0].Subscriptions[0].Addresses = []string{"10.0.0.2:5432"}
	f.Nodes[1].Subscriptions[0].Addresses = []string{"internal-east:5432"}
	f.Nodes = append(f.Nodes, NodeFacts{Name: "north", Reached: true,
		Subscriptions: []Subscription{{Engine: EngineNative, Name: "s", Slot: "missing"}}})
	edges := Topology(f, map[string][]string{"west": {"10.0.0.2:5432"}})
	want := []Edge{
		{Subscriber: "east", Publisher: "west", Engine: EngineNative, Subscription: "sub_from_west", Enabled: true, MatchedBy: "address"},
		{Subscriber: "west", Publisher: "east", Engine: EngineNative, Subscription: "sub_from_east", Enabled: true, MatchedBy: "slot"},
		{Subscriber: "north", Engine: EngineNative, Subscription: "s", MatchedBy: "no node of the target has slot missing (a publisher outside the target?)"},
	}
	if len(edges) != len(want) {
		t.Fatalf("edges = %+v", edges)
	}
	for i := range want {
		if edges[i] != want[i] {
			t.Errorf("edge %d = %+v, want %+v", i, edges[i], want[i])
		}
	}
}
