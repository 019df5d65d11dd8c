package faults

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"

	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/scenario"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		name       string
		spec       scenario.Fault
		target     string
		params     map[string]string
		str        string
		tag        string // "" for non-network faults
		wantNewErr string
	}{
		{name: "stop", spec: scenario.Fault{Kind: "stop", Node: "primary1", For: 10 * time.Second},
			target: "primary1", params: map[string]string{"for": "10s"}, str: "stop primary1"},
		{name: "partition default both", spec: scenario.Fault{Kind: "partition", Between: []string{"primary2", "primary1"}},
			target: "primary1<->primary2", str: "partition primary1<->primary2", tag: "pgchaos-partition-primary1-and-primary2"},
		{name: "partition without between", spec: scenario.Fault{Kind: "partition"},
			target: "primary1<->primary2", str: "partition primary1<->primary2", tag: "pgchaos-partition-primary1-and-primary2"},
		{name: "partition one way", spec: scenario.Fault{Kind: "partition", Between: []string{"primary1", "primary2"}, Direction: scenario.DirTwoToOne},
			target: "primary2->primary1", str: "partition primary2->primary1", tag: "pgchaos-partition-primary2-to-primary1"},
		{name: "node delay with jitter", spec: scenario.Fault{Kind: "delay", Node: "primary2", Delay: 200 * time.Millisecond, Jitter: 20 * time.Millisecond},
			target: "primary2", params: map[string]string{"delay": "200ms", "jitter": "20ms"}, str: "delay primary2 delay=200ms jitter=20ms", tag: "pgchaos-delay-primary2"},
		{name: "link loss", spec: scenario.Fault{Kind: "loss", Between: []string{"primary1", "primary2"}, Direction: scenario.DirOneToTwo, Loss: 12.5},
			target: "primary1->primary2", params: map[string]string{"loss": "12.5%"}, str: "loss primary1->primary2 loss=12.5%", tag: "pgchaos-loss-primary1-to-primary2"},
		{name: "failover", spec: scenario.Fault{Kind: "failover", From: "primary1"},
			target: "haproxy/primary1", str: "failover haproxy/primary1"},
		{name: "unknown node", spec: scenario.Fault{Kind: "kill", Node: "primary3"}, target: "primary3", str: "kill primary3",
			wantNewErr: `node "primary3" is not in lab`},
		{name: "loss out of range", spec: scenario.Fault{Kind: "loss", Node: "primary1", Loss: 150}, target: "primary1",
			params: map[string]string{"loss": "150%"}, str: "loss primary1 loss=150%", wantNewErr: "loss must be in (0, 100]"},
		{name: "delay zero", spec: scenario.Fault{Kind: "delay", Node: "primary1"}, target: "primary1",
			params: map[string]string{"delay": "0s"}, str: "delay primary1 delay=0s", wantNewErr: "delay must be > 0"},
		{name: "link to itself", spec: scenario.Fault{Kind: "partition", Between: []string{"primary1", "primary1"}}, target: "primary1<->primary1",
			str: "partition primary1<->primary1", wantNewErr: "two different nodes"},
		{name: "unknown kind", spec: scenario.Fault{Kind: "meteor", Node: "primary1"}, target: "primary1", str: "meteor primary1",
			wantNewErr: `fault kind "meteor" is unknown`},
	}
	l := &lab.Lab{Name: "unit", Network: "pgchaos-unit", Nodes: []lab.Node{{Name: "primary1"}, {Name: "primary2"}}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kind, target, params := Describe(tc.spec)
			if kind != tc.spec.Kind || target != tc.target || !reflect.DeepEqual(params, tc.params) {
				t.Errorf("Describe = %q %q %v, want %q %q %v", kind, target, params, tc.spec.Kind, tc.target, tc.params)
			}
			if s := describeString(tc.spec); s != tc.str {
				t.Errorf("describeString = %q, want %q", s, tc.str)
			}
			f, err := New(l, tc.spec)
			if tc.wantNewErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantNewErr) {
					t.Fatalf("New error = %v, want one containing %q", err, tc.wantNewErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if f.String() != tc.str {
				t.Errorf("String() = %q, want %q", f.String(), tc.str)
			}
			if got := f.(Specced).Spec(); !reflect.DeepEqual(got, tc.spec) {
				t.Errorf("Spec() = %+v, want %+v", got, tc.spec)
			}
			var nf *netFault
			switch x := f.(type) {
			case *Partition:
				nf = &x.netFault
			case *Delay:
				nf = &x.netFault
			case *Loss:
				nf = &x.netFault
			}
			if (nf != nil) != (tc.tag != "") {
				t.Fatalf("network fault = %v, want tag %q", nf != nil, tc.tag)
			}
			if nf != nil && nf.tag() != tc.tag {
				t.Errorf("tag = %q, want %q", nf.tag(), tc.tag)
			}
		})
	}
}

func TestHops(t *testing.T) {
	l := &lab.Lab{Name: "unit", Nodes: []lab.Node{{Name: "primary1", ID: "id1"}, {Name: "primary2", ID: "id2"}}}
	tests := []struct {
		dir  string
		want [][2]string // receiver, sender
	}{
		{scenario.DirBoth, [][2]string{{"id2", "id1"}, {"id1", "id2"}}},
		{scenario.DirOneToTwo, [][2]string{{"id2", "id1"}}},
		{scenario.DirTwoToOne, [][2]string{{"id1", "id2"}}},
	}
	for _, tc := range tests {
		f, err := New(l, scenario.Fault{Kind: "partition", Between: []string{"primary1", "primary2"}, Direction: tc.dir})
		if err != nil {
			t.Fatal(err)
		}
		var got [][2]string
		for _, h := range f.(*Partition).hops() {
			got = append(got, [2]string{h[0].ID, h[1].ID})
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: hops = %v, want %v", tc.dir, got, tc.want)
		}
	}
}

func TestNetemArgs(t *testing.T) {
	tests := []struct {
		delay, jitter time.Duration
		want          string
	}{
		{200 * time.Millisecond, 0, "delay 200000us"},
		{1500 * time.Microsecond, 250 * time.Microsecond, "delay 1500us 250us"},
	}
	for _, tc := range tests {
		if got := netemArgs(tc.delay, tc.jitter); got != tc.want {
			t.Errorf("netemArgs(%s, %s) = %q, want %q", tc.delay, tc.jitter, got, tc.want)
		}
	}
}

func TestHealContextOutlivesParent(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	cancel()
	ctx, hcancel := HealContext(parent)
	defer hcancel()
	if ctx.Err() != nil {
		t.Fatalf("heal context is done although only its parent was cancelled: %v", ctx.Err())
	}
	dl, ok := ctx.Deadline()
	if !ok || time.Until(dl) > HealTimeout || time.Until(dl) < HealTimeout-time.Minute/2 {
		t.Fatalf("heal context deadline %v, want about %s from now", dl, HealTimeout)
	}
}

// fakeFault records calls; it is a stand-in only for the ledger's own
// bookkeeping, which does not depend on what a fault does.
type fakeFault struct {
	spec               scenario.Fault
	injects, heals     int
	injectErr, healErr error
	onInject           func()
}

func (f *fakeFault) Inject(context.Context) error {
	f.injects++
	if f.onInject != nil {
		f.onInject()
	}
	return f.injectErr
}
func (f *fakeFault) Heal(context.Context) error { f.heals++; return f.healErr }
func (f *fakeFault) String() string             { return describeString(f.spec) }
func (f *fakeFault) Spec() scenario.Fault       { return f.spec }

func readLedger(t *testing.T, path string) ledgerFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read ledger: %v", err)
	}
	var lf ledgerFile
	if err := json.Unmarshal(b, &lf); err != nil {
		t.Fatalf("ledger file is not JSON: %v", err)
	}
	return lf
}

func TestLedgerWritesBeforeInjectAndHeals(t *testing.T) {
	dir := t.TempDir()
	l := &lab.Lab{Name: "unit", Nodes: []lab.Node{{Name: "primary1"}, {Name: "primary2"}}}
	clock := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	g, err := OpenLedger(l, WithStateDir(dir), WithClock(func() time.Time { clock = clock.Add(time.Second); return clock }))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "unit.ledger.json")
	if g.Path() != path {
		t.Fatalf("Path = %s, want %s", g.Path(), path)
	}
	part := &fakeFault{spec: scenario.Fault{Kind: "partition", Between: []string{"primary1", "primary2"}}}
	part.onInject = func() {
		lf := readLedger(t, path)
		if len(lf.Records) != 1 || lf.Records[0].HealedAt != nil || lf.Records[0].Spec.Kind != "partition" {
			t.Errorf("during inject the ledger holds %+v, want the unhealed partition", lf.Records)
		}
	}
	if err := g.Inject(context.Background(), part); err != nil {
		t.Fatal(err)
	}
	stop := &fakeFault{spec: scenario.Fault{Kind: "stop", Node: "primary2"}, healErr: errors.New("docker said no")}
	if err := g.Inject(context.Background(), stop); err != nil {
		t.Fatal(err)
	}
	bad := &fakeFault{spec: scenario.Fault{Kind: "pause", Node: "primary1"}, injectErr: errors.New("half applied")}
	if err := g.Inject(context.Background(), bad); err == nil {
		t.Fatal("inject error was swallowed")
	}
	if err := g.Heal(context.Background(), part); err != nil {
		t.Fatal(err)
	}
	if err := g.Heal(context.Background(), &fakeFault{}); err == nil {
		t.Error("healing a fault the ledger never saw did not fail")
	}
	if lf := readLedger(t, path); lf.Records[0].HealedAt == nil || lf.Records[1].HealedAt != nil {
		t.Fatalf("after one heal the file holds %+v", lf.Records)
	}

	err = g.HealAll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "docker said no") {
		t.Fatalf("HealAll error = %v, want the stop's heal error", err)
	}
	if part.heals != 1 || stop.heals != 1 || bad.heals != 1 {
		t.Errorf("heals: partition %d, stop %d, pause %d; want 1 each (healed records are not healed twice)", part.heals, stop.heals, bad.heals)
	}
	rs := g.Records()
	if len(rs) != 3 {
		t.Fatalf("Records = %d, want 3", len(rs))
	}
	want := []struct {
		kind, target string
		healed       bool
		injectErr    string
		healErr      string
	}{
		{"partition", "primary1<->primary2", true, "", ""},
		{"stop", "primary2", false, "", "docker said no"},
		{"pause", "primary1", true, "half applied", ""},
	}
	for i, w := range want {
		r := rs[i]
		if r.Kind != w.kind || r.Target != w.target || (r.HealedAt != nil) != w.healed || r.InjectError != w.injectErr || r.HealError != w.healErr {
			t.Errorf("record %d = %+v, want %+v", i, r, w)
		}
		if r.HealedAt != nil && !r.HealedAt.After(r.InjectedAt) {
			t.Errorf("record %d healed at %v, not after injected at %v", i, r.HealedAt, r.InjectedAt)
		}
	}
	// Only the unhealed stop stays in the file, for `pgchaos lab heal`.
	lf := readLedger(t, path)
	if len(lf.Records) != 1 || lf.Records[0].Kind != "stop" || lf.Schema != ledgerVersion || lf.Lab != "unit" {
		t.Fatalf("after HealAll the file holds %+v", lf)
	}
	stop.healErr = nil
	if err := g.HealAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ledger file still there after everything healed: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestLedgerReopenRecreatesFaultsFromSpecs(t *testing.T) {
	dir := t.TempDir()
	l := &lab.Lab{Name: "unit", Nodes: []lab.Node{{Name: "primary1"}, {Name: "primary2"}}}
	g, err := OpenLedger(l, WithStateDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	spec := scenario.Fault{Kind: "failover", From: "primary1"}
	if err := g.Inject(context.Background(), &fakeFault{spec: spec}); err != nil {
		t.Fatal(err)
	}
	// A new process: the live fault is gone, the spec is read back.
	g2, err := OpenLedger(l, WithStateDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	un := g2.Unhealed()
	if len(un) != 1 || !reflect.DeepEqual(un[0].Spec.Fault(), spec) {
		t.Fatalf("reopened ledger holds %+v, want the failover", un)
	}
	// This lab has no HAProxy admin address, so the re-created failover's
	// heal fails: proof that it was re-created and really tried.
	err = g2.HealAll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "runtime API address unknown") {
		t.Fatalf("HealAll = %v, want the re-created failover's heal error", err)
	}
	if g3, _ := OpenLedger(l, WithStateDir(dir)); len(g3.Unhealed()) != 1 {
		t.Fatal("a failed heal dropped the record from the file")
	}
}

func TestOpenLedgerRejectsGarbage(t *testing.T) {
	dir := t.TempDir()
	l := &lab.Lab{Name: "unit"}
	os.WriteFile(filepath.Join(dir, "unit.ledger.json"), []byte("{not json"), 0o644)
	if _, err := OpenLedger(l, WithStateDir(dir)); err == nil || !strings.Contains(err.Error(), "unreadable") {
		t.Fatalf("OpenLedger = %v, want an unreadable-ledger error", err)
	}
	os.WriteFile(filepath.Join(dir, "unit.ledger.json"), []byte(`{"schema":"pgchaos.ledger/v0"}`), 0o644)
	if _, err := OpenLedger(l, WithStateDir(dir)); err == nil || !strings.Contains(err.Error(), "schema") {
		t.Fatalf("OpenLedger = %v, want a schema error", err)
	}
}

func TestDefaultStateDir(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/x/state")
	if d, _ := DefaultStateDir(); d != "/x/state/pgchaos" {
		t.Errorf("with XDG_STATE_HOME: %s", d)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if d, _ := DefaultStateDir(); d != "/home/u/.local/state/pgchaos" {
		t.Errorf("without XDG_STATE_HOME: %s", d)
	}
}

// tagOnly is a real partition whose Inject only notes its tag: the ledger's
// bookkeeping of instances without Docker.
type tagOnly struct {
	*Partition
	tags *[]string
}

func (f tagOnly) Inject(context.Context) error { *f.tags = append(*f.tags, f.tag()); return nil }

// Two partitions of the same link get different tags through the ledger
// (so one's heal cannot remove the other's rules), and a fault re-created
// from the file by another process gets its own tag back.
func TestLedgerGivesEachNetworkFaultItsOwnTag(t *testing.T) {
	dir := t.TempDir()
	l := &lab.Lab{Name: "unit", Network: "pgchaos-unit", Nodes: []lab.Node{{Name: "primary1"}, {Name: "primary2"}}}
	g, err := OpenLedger(l, WithStateDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	spec := scenario.Fault{Kind: "partition", Between: []string{"primary1", "primary2"}}
	var tags []string
	for range 2 {
		f, err := New(l, spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Inject(context.Background(), tagOnly{f.(*Partition), &tags}); err != nil {
			t.Fatal(err)
		}
	}
	legacy := "pgchaos-partition-primary1-and-primary2"
	if len(tags) != 2 || tags[0] == tags[1] {
		t.Fatalf("tags = %q, want two different ones", tags)
	}
	for _, tag := range tags {
		if !strings.HasPrefix(tag, legacy+"-f") {
			t.Errorf("tag %q does not start with %q-f (kind, target, ledger ID)", tag, legacy)
		}
	}
	g2, err := OpenLedger(l, WithStateDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	un := g2.Unhealed()
	if len(un) != 2 {
		t.Fatalf("reopened ledger holds %d records, want 2", len(un))
	}
	for i, r := range un {
		f, err := recreate(l, r)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.(*Partition).tag(); got != tags[i] {
			t.Errorf("re-created fault %d has tag %q, want %q as injected", i, got, tags[i])
		}
	}
	// A ledger written before instances existed heals by kind and target.
	old := un[0]
	old.Spec.Instance = ""
	f, err := recreate(l, old)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.(*Partition).tag(); got != legacy {
		t.Errorf("fault from an old ledger has tag %q, want %q", got, legacy)
	}
}

// What a heal in another process needs is kept through the ledger's
// state: an isolated user's container's endpoint and a failover's server
// on a user's HAProxy round-trip through State and SetState; a lab's
// isolate and failover record nothing (their ledger entries are as before).
func TestStatefulFaultsRoundTripTheirState(t *testing.T) {
	ep := &endpointState{Network: "app_net", Aliases: []string{"db", "pg-east"}, Links: []string{"x:y"},
		IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: "10.5.0.7"}, DriverOpts: map[string]string{"k": "v"}}
	iso := &Isolate{external: true, endpoint: ep}
	back := &Isolate{external: true}
	if err := back.SetState(iso.State()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.endpoint, ep) || back.network != "app_net" {
		t.Errorf("isolate state: got %+v on %q, want %+v", back.endpoint, back.network, ep)
	}
	if err := back.SetState([]byte(`{"aliases":["db"]}`)); err == nil {
		t.Error("an endpoint without a network was taken")
	}
	fo := &Failover{spec: scenario.Fault{Kind: scenario.FaultFailover, From: "east"}, backend: "pg", srv: "primary1", recorded: true}
	fb := &Failover{spec: fo.spec, recorded: true}
	if err := fb.SetState(fo.State()); err != nil || fb.backend != "pg" || fb.srv != "primary1" || fb.server() != "pg/primary1" {
		t.Errorf("failover state: %v, backend %q server %q", err, fb.backend, fb.srv)
	}
	if s := (&Isolate{}).State(); s != nil {
		t.Errorf("a lab's isolate records %s, want nothing", s)
	}
	if s := (&Failover{backend: "pg", srv: "primary1"}).State(); s != nil {
		t.Errorf("a lab's failover records %s, want nothing", s)
	}
	if err := (&Failover{spec: fo.spec, recorded: true}).Heal(context.Background()); err == nil || !strings.Contains(err.Error(), "no HAProxy server is known for east") {
		t.Errorf("heal of a failover with no server: %v", err)
	}
}
