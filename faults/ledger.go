package faults

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/scenario"
)

// ledgerVersion names the file layout; a file with another is not read.
const ledgerVersion = "pgchaos.ledger/v1"

// Record is one fault of a ledger: what it was, when it was injected and
// healed, and what went wrong. The runner maps it to reports.Fault.
type Record struct {
	ID          int               `json:"id"`
	Kind        string            `json:"kind"`
	Target      string            `json:"target"` // "primary1", "primary1<->primary2", "haproxy/primary1"
	Params      map[string]string `json:"params,omitempty"`
	Name        string            `json:"name"` // the fault's String()
	Spec        Spec              `json:"spec"`
	InjectedAt  time.Time         `json:"injected_at"` // when Inject was called (the record is written first)
	InjectError string            `json:"inject_error,omitempty"`
	HealedAt    *time.Time        `json:"healed_at,omitempty"` // nil: not healed (yet)
	HealError   string            `json:"heal_error,omitempty"`
	// Effects is what the fault measured itself (see Measured), in plain
	// words: a killed walsender's time to come back.
	Effects []string `json:"effects,omitempty"`
}

// Spec is the part of a scenario fault needed to re-create it, in a
// stable JSON form (independent of the scenario package's field names).
type Spec struct {
	Kind      string        `json:"kind"`
	Node      string        `json:"node,omitempty"`
	Between   []string      `json:"between,omitempty"`
	Direction string        `json:"direction,omitempty"`
	From      string        `json:"from,omitempty"`
	Delay     time.Duration `json:"delay_ns,omitempty"`
	Jitter    time.Duration `json:"jitter_ns,omitempty"`
	Loss      float64       `json:"loss_percent,omitempty"`
	For       time.Duration `json:"for_ns,omitempty"`
	// Instance tells the fault's rules and proxies apart from those of
	// another fault of the same kind on the same target (see Instanced).
	// Empty in ledgers written before it existed: such a fault is healed
	// by kind and target, as it was injected.
	Instance string `json:"instance,omitempty"`
	Table    string `json:"table,omitempty"`
	Mode     string `json:"mode,omitempty"`
	Peer     string `json:"peer,omitempty"`
	// State is what a Stateful fault read before it acted and its heal
	// restores (an isolated container's endpoint settings).
	State json.RawMessage `json:"state,omitempty"`
}

// SpecOf keeps what re-creating a fault needs from a scenario entry.
func SpecOf(f scenario.Fault) Spec {
	return Spec{Kind: f.Kind, Node: f.Node, Between: f.Between, Direction: f.Direction,
		From: f.From, Delay: f.Delay, Jitter: f.Jitter, Loss: f.Loss, For: f.For, Table: f.Table, Mode: f.Mode, Peer: f.Peer}
}

// Fault turns the spec back into a scenario entry.
func (s Spec) Fault() scenario.Fault {
	return scenario.Fault{Kind: s.Kind, Node: s.Node, Between: s.Between, Direction: s.Direction,
		From: s.From, Delay: s.Delay, Jitter: s.Jitter, Loss: s.Loss, For: s.For, Table: s.Table, Mode: s.Mode, Peer: s.Peer}
}

type ledgerFile struct {
	Schema  string   `json:"schema"`
	Lab     string   `json:"lab"`
	Records []Record `json:"records"`
}

// Ledger records every fault injected on one lab before it is applied, and
// its heal after; it persists to <state dir>/<lab>.ledger.json so a
// pgchaos that was killed can be healed by another (`pgchaos lab heal`).
// Its methods are safe for concurrent use.
type Ledger struct {
	lab  *lab.Lab
	path string
	now  func() time.Time

	mu      sync.Mutex
	records []Record
	live    map[int]Fault // faults of this process, by record ID
	healing map[int]bool
}

// LedgerOption changes how a ledger is opened.
type LedgerOption func(*Ledger)

// WithStateDir keeps the ledger file in dir instead of the default state
// directory (see DefaultStateDir).
func WithStateDir(dir string) LedgerOption {
	return func(g *Ledger) {
		if dir != "" {
			g.path = filepath.Join(dir, g.lab.Name+".ledger.json")
		}
	}
}

// WithClock sets the clock that stamps injected-at and healed-at.
func WithClock(now func() time.Time) LedgerOption { return func(g *Ledger) { g.now = now } }

// DefaultStateDir is $XDG_STATE_HOME/pgchaos, or ~/.local/state/pgchaos.
func DefaultStateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "pgchaos"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the state directory for the fault ledger: %w (set XDG_STATE_HOME)", err)
	}
	return filepath.Join(home, ".local", "state", "pgchaos"), nil
}

// OpenLedger opens lab l's ledger, reading the records a previous process
// left (their faults are re-created from their specs when healed).
func OpenLedger(l *lab.Lab, opts ...LedgerOption) (*Ledger, error) {
	g := &Ledger{lab: l, now: time.Now, live: map[int]Fault{}, healing: map[int]bool{}}
	dir, err := DefaultStateDir()
	if err == nil {
		g.path = filepath.Join(dir, l.Name+".ledger.json")
	}
	for _, o := range opts {
		o(g)
	}
	if g.path == "" {
		return nil, err
	}
	b, err := os.ReadFile(g.path)
	if errors.Is(err, os.ErrNotExist) {
		return g, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read fault ledger %s: %w", g.path, err)
	}
	var f ledgerFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("fault ledger %s is unreadable (%v): heal the lab without it with `pgchaos lab heal --name %s`, which also sweeps the lab, after moving the file away", g.path, err, l.Name)
	}
	if f.Schema != ledgerVersion {
		return nil, fmt.Errorf("fault ledger %s has schema %q, this pgchaos reads %q", g.path, f.Schema, ledgerVersion)
	}
	g.records = f.Records
	return g, nil
}

// Path is the ledger's file.
func (g *Ledger) Path() string { return g.path }

// Inject records f (persisted first), then injects it. A fault whose
// inject failed stays in the ledger unhealed: it may be half applied.
func (g *Ledger) Inject(ctx context.Context, f Fault) error {
	var spec scenario.Fault
	if s, ok := f.(Specced); ok {
		spec = s.Spec()
	}
	kind, target, params := Describe(spec)
	if kind == "" {
		kind, target = f.String(), f.String()
	}
	var state json.RawMessage
	if st, ok := f.(Stateful); ok {
		if err := st.Prepare(ctx); err != nil {
			return fmt.Errorf("inject %s: not injected: %w", f, err)
		}
		state = st.State()
	}
	g.mu.Lock()
	id := 1
	for _, r := range g.records {
		id = max(id, r.ID+1)
	}
	rs := SpecOf(spec)
	rs.State = state
	if in, ok := f.(Instanced); ok {
		if in.Instance() == "" {
			in.SetInstance(newInstance(id))
		}
		rs.Instance = in.Instance()
	}
	g.records = append(g.records, Record{ID: id, Kind: kind, Target: target, Params: params,
		Name: f.String(), Spec: rs, InjectedAt: g.now()})
	g.live[id] = f
	err := g.saveLocked()
	g.mu.Unlock()
	if err != nil {
		return fmt.Errorf("inject %s: not injected, because the ledger could not be written: %w", f, err)
	}
	ierr := f.Inject(ctx)
	if ierr != nil || isMeasured(f) {
		if serr := g.update(id, func(r *Record) {
			if ierr != nil {
				r.InjectError = ierr.Error()
			}
			r.Effects = effectsOf(f)
		}); serr != nil && ierr == nil {
			return fmt.Errorf("inject %s: injected, but the ledger could not be updated: %w", f, serr)
		}
	}
	return ierr
}

// Heal heals f (injected through this ledger) and records the outcome.
func (g *Ledger) Heal(ctx context.Context, f Fault) error {
	g.mu.Lock()
	id := 0
	for i, lf := range g.live {
		if lf == f {
			id = i
		}
	}
	g.mu.Unlock()
	if id == 0 {
		return fmt.Errorf("heal %s: it was not injected through this ledger", f)
	}
	return g.healRecord(ctx, id, f)
}

func (g *Ledger) healRecord(ctx context.Context, id int, f Fault) error {
	err := f.Heal(ctx)
	at := g.now()
	if serr := g.update(id, func(r *Record) {
		if m := effectsOf(f); m != nil {
			r.Effects = m
		}
		if err != nil {
			r.HealError = err.Error()
			return
		}
		r.HealedAt, r.HealError = &at, ""
	}); serr != nil && err == nil {
		err = fmt.Errorf("heal %s: healed, but the ledger could not be updated: %w", f, serr)
	}
	return err
}

// HealAll heals every unhealed record (faults of another process are
// re-created from their specs), joins the errors, then drops the healed
// records from the file. Records keeps them all.
func (g *Ledger) HealAll(ctx context.Context) error {
	g.mu.Lock()
	type todo struct {
		id int
		f  Fault
	}
	var ts []todo
	var errs []error
	for _, r := range g.records {
		if r.HealedAt != nil {
			continue
		}
		f, ok := g.live[r.ID]
		if !ok {
			var err error
			if f, err = recreate(g.lab, r); err != nil {
				errs = append(errs, fmt.Errorf("heal ledger entry %d (%s): %w", r.ID, r.Name, err))
				continue
			}
		}
		ts = append(ts, todo{r.ID, f})
	}
	g.mu.Unlock()
	// Heal the latest first: a partition injected on a node stopped later
	// is removed once that node runs again.
	for i := len(ts) - 1; i >= 0; i-- {
		if err := g.healRecord(ctx, ts[i].id, ts[i].f); err != nil {
			errs = append(errs, err)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.pruneLocked(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// recreate makes the fault of a record written by another process, with the
// instance it was injected under.
func recreate(l *lab.Lab, r Record) (Fault, error) {
	f, err := New(l, r.Spec.Fault())
	if err != nil {
		return nil, err
	}
	if in, ok := f.(Instanced); ok {
		in.SetInstance(r.Spec.Instance)
	}
	if st, ok := f.(Stateful); ok && len(r.Spec.State) > 0 {
		if err := st.SetState(r.Spec.State); err != nil {
			return nil, fmt.Errorf("its recorded state is unreadable: %w", err)
		}
	}
	return f, nil
}

func isMeasured(f Fault) bool { _, ok := f.(Measured); return ok }

// effectsOf is what f measured, nil for a fault that measures nothing.
func effectsOf(f Fault) []string {
	if m, ok := f.(Measured); ok {
		return m.Effects()
	}
	return nil
}

// Records returns a copy of every record, in injection order.
func (g *Ledger) Records() []Record {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Record, len(g.records))
	for i, r := range g.records {
		if r.HealedAt != nil {
			t := *r.HealedAt
			r.HealedAt = &t
		}
		out[i] = r
	}
	return out
}

// Unhealed returns the records not healed yet.
func (g *Ledger) Unhealed() []Record {
	var out []Record
	for _, r := range g.Records() {
		if r.HealedAt == nil {
			out = append(out, r)
		}
	}
	return out
}

// newInstance names a fault's instance: the ledger entry's ID (for people
// reading iptables -S or docker ps) and random bits, so that two processes
// that each opened an empty ledger (or a ledger pruned in between) never
// hand out the same tag.
func newInstance(id int) string {
	var b [3]byte
	rand.Read(b[:])
	return fmt.Sprintf("f%d-%s", id, hex.EncodeToString(b[:]))
}

func (g *Ledger) update(id int, fn func(*Record)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range g.records {
		if g.records[i].ID == id {
			fn(&g.records[i])
		}
	}
	return g.saveLocked()
}

// pruneLocked rewrites the file with the unhealed records only, removing it
// when none are left.
func (g *Ledger) pruneLocked() error {
	var keep []Record
	for _, r := range g.records {
		if r.HealedAt == nil {
			keep = append(keep, r)
		}
	}
	if len(keep) == 0 {
		if err := os.Remove(g.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove healed fault ledger %s: %w", g.path, err)
		}
		return nil
	}
	return g.write(keep)
}

func (g *Ledger) saveLocked() error { return g.write(g.records) }

// write replaces the file atomically (temp file in the same directory,
// synced, renamed), so a crash leaves the old or the new ledger, never half.
func (g *Ledger) write(rs []Record) error {
	b, err := json.MarshalIndent(ledgerFile{Schema: ledgerVersion, Lab: g.lab.Name, Records: rs}, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(g.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create state directory %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(g.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write fault ledger in %s: %w", dir, err)
	}
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), g.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write fault ledger %s: %w", g.path, err)
	}
	return nil
}
