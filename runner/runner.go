// Package runner carries out one scenario: it gets a lab, prepares and runs
// the workloads, injects and heals the faults on schedule, samples the
// servers while it runs, then waits for the nodes to converge and analyses
// what happened into one reports.Report.
package runner

import (
	"cmp"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/pgchaos/pgchaos/analysis"
	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/target"
	"github.com/pgchaos/pgchaos/workload"
)

// Options say how to run a scenario; the zero value is usable.
type Options struct {
	// LabName is the lab to use: reused when it is up, created (with the
	// scenario's lab settings) when not. Empty: a fresh lab named after the
	// run, removed at the end unless KeepLab.
	LabName string
	// KeepLab keeps a lab this run created.
	KeepLab bool
	// ReportDir receives report.json and history.jsonl (created if needed).
	ReportDir string
	// Seed, when set, overrides the scenario's seed.
	Seed *int64
	// ConvergeTimeout bounds the wait for the nodes to converge after the
	// workloads stop and every fault is healed (default 60s).
	ConvergeTimeout time.Duration
	// LedgerDir is where the fault ledger lives (default: faults' state dir).
	LedgerDir string
	// Log receives progress lines; Progress receives live snapshots.
	Log      func(format string, args ...any)
	Progress func(p Progress)
	// Version is written into the report.
	Version string
	// Client, when set, is written into the report: the GOMAXPROCS the
	// caller settled on for this run, and why.
	Client *reports.Client
	// Target, when set, runs the scenario on the user's nodes instead of
	// a lab (LabName and KeepLab are then ignored): see acquireTarget.
	Target *target.Target
	// AllowSetup lets a target run create pgchaos's own schema and
	// heartbeat when they are missing (else it prints the SQL and stops).
	AllowSetup bool
}

// Progress is a live view of a run, about once a second.
type Progress struct {
	Elapsed, Total time.Duration
	Workload       workload.Progress
	ActiveFaults   []string
}

// Run carries out sc. It returns the report whenever it got far enough to
// write one (also when interrupted: Interrupted set, err wraps
// context.Canceled); every fault injected is healed before it returns.
func Run(ctx context.Context, sc *scenario.Scenario, opt Options) (*reports.Report, error) {
	if opt.Log == nil {
		opt.Log = func(string, ...any) {}
	}
	if opt.ConvergeTimeout == 0 {
		opt.ConvergeTimeout = 60 * time.Second
	}
	seed := sc.Seed
	if opt.Seed != nil {
		seed = *opt.Seed
	} else if !sc.SeedSet {
		seed = randomSeed()
	}
	if err := os.MkdirAll(opt.ReportDir, 0o755); err != nil {
		return nil, exitcode.BadInputErr(fmt.Errorf("report dir: %w", err))
	}

	var l *lab.Lab
	var created bool
	var err error
	if opt.Target != nil {
		l, err = acquireTarget(ctx, sc, opt)
	} else {
		l, created, err = acquireLab(ctx, sc, opt)
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		if l.IsExternal() {
			l.Close()
			return
		}
		if created && !opt.KeepLab {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			if derr := lab.Down(dctx, l.Name); derr != nil {
				opt.Log("removing lab %s failed: %v (remove it with `pgchaos lab down --name %s`)", l.Name, derr, l.Name)
			} else {
				opt.Log("lab %s removed", l.Name)
			}
		} else {
			opt.Log("lab %s kept: `pgchaos lab status --name %s`, `pgchaos lab down --name %s`", l.Name, l.Name, l.Name)
		}
		l.Close()
	}()

	r := &run{sc: sc, opt: opt, lab: l, seed: seed}
	return r.do(ctx)
}

func randomSeed() int64 {
	var b [8]byte
	crand.Read(b[:])
	return int64(binary.LittleEndian.Uint64(b[:]) >> 1)
}

// acquireLab opens --lab when it is up, else builds a lab from the
// scenario's settings.
func acquireLab(ctx context.Context, sc *scenario.Scenario, opt Options) (*lab.Lab, bool, error) {
	name := opt.LabName
	if name != "" {
		l, err := lab.Open(ctx, name)
		if err == nil {
			if err := l.SchemaMismatch(labSchema(sc)); err != nil {
				l.Close()
				return nil, false, err
			}
			opt.Log("using lab %s (PostgreSQL %s, sequences %s)", name, l.Postgres, l.Sequences)
			return l, false, nil
		}
		if !errors.Is(err, lab.ErrNotFound) {
			return nil, false, err
		}
	} else {
		var b [3]byte
		crand.Read(b[:])
		name = fmt.Sprintf("run-%x", b)
	}
	cfg := lab.Config{
		Name: name, Postgres: sc.Lab.Postgres, Sequences: sc.Lab.Sequences, Nodes: sc.Lab.NodeCount(),
		Engine: sc.Lab.Engine, Resolver: sc.Lab.Resolver, Schema: labSchema(sc),
		Ports: portsFor(lab.Ports(sc.Lab.Ports), lab.Ports{
			Primary1: lab.DefaultPortPrimary1, Primary2: lab.DefaultPortPrimary2,
			HAProxy: lab.DefaultPortHAProxy, Stats: lab.DefaultPortStats,
		}, sc.Lab.NodeCount()),
		Log: opt.Log,
	}
	cfg.RetainDeadTuples = sc.Lab.RetainDeadTuples
	opt.Log("building lab %s", name)
	l, err := lab.Up(ctx, cfg)
	if err != nil {
		return nil, false, err
	}
	return l, true, nil
}

// labSchema is the scenario's schema: as the lab takes it; nil for none.
func labSchema(sc *scenario.Scenario) *lab.Schema {
	if sc.Schema == nil {
		return nil
	}
	return &lab.Schema{File: sc.Schema.File, SQL: sc.Schema.SQL}
}

// portsFor picks the host ports (each of n primaries, haproxy, stats) of
// a lab the run builds: the scenario's when it names one (then it must be
// free, and lab up says so when it is not), else the tutorial's default
// when free (primary3 on 5444 and so on), else any free port (a lab the
// user left up may hold the defaults).
func portsFor(asked, defs lab.Ports, n int) lab.Ports {
	rest := func(p lab.Ports, i int) int {
		if i < len(p.Rest) {
			return p.Rest[i]
		}
		return 0
	}
	want := lab.Ports{
		Primary1: cmp.Or(asked.Primary1, defs.Primary1),
		Primary2: cmp.Or(asked.Primary2, defs.Primary2),
		HAProxy:  cmp.Or(asked.HAProxy, defs.HAProxy),
		Stats:    cmp.Or(asked.Stats, defs.Stats),
	}
	for i := 0; i < n-2; i++ {
		// The default of primary3 … is the tutorial's sequence on, 5444 …
		want.Rest = append(want.Rest, cmp.Or(rest(asked, i), rest(defs, i), lab.Ports{}.Primary(i+3)))
	}
	// An asked port is held while the others are picked, so none repeats it.
	p := lab.FreePortsFor(want, n)
	out := lab.Ports{
		Primary1: cmp.Or(asked.Primary1, p.Primary1),
		Primary2: cmp.Or(asked.Primary2, p.Primary2),
		HAProxy:  cmp.Or(asked.HAProxy, p.HAProxy),
		Stats:    cmp.Or(asked.Stats, p.Stats),
	}
	for i := 0; i < n-2; i++ {
		out.Rest = append(out.Rest, cmp.Or(rest(asked, i), rest(p, i)))
	}
	return out
}

// run is the state of one run.
type run struct {
	sc   *scenario.Scenario
	opt  Options
	lab  *lab.Lab
	seed int64

	pools   map[string]*pgxpool.Pool // primary1, primary2: samplers and analysis
	rec     *workload.Recorder
	ledger  *faults.Ledger
	start   time.Time // second 0: the workers started
	workEnd time.Time // the last worker returned

	samplers     *samplers
	stopSamplers context.CancelFunc
	stopOnce     sync.Once

	mu         sync.Mutex
	active     map[int]faults.Fault          // injected, not yet healed, by fault index
	strandedAt map[string]*analysis.Stranded // old primary → what its failback found
	warnings   []string
}

func (r *run) do(ctx context.Context) (*reports.Report, error) {
	sc, l := r.sc, r.lab
	rep := &reports.Report{
		Schema: reports.Schema, Version: r.opt.Version, StartedAt: time.Now(),
		Scenario: reports.Scenario{Name: sc.Name, File: sc.File, Seed: r.seed, Duration: reports.Duration(sc.Duration)},
		Lab:      labInfo(ctx, l),
		Client:   r.opt.Client,
	}
	if l.IsExternal() {
		// The scenario's lab: settings describe a lab pgchaos builds.
	} else if sc.Lab.Postgres != "" && l.Postgres != sc.Lab.Postgres {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the scenario asks for PostgreSQL %s but lab %s runs %s", sc.Lab.Postgres, l.Name, l.Postgres))
	}
	if !l.IsExternal() && sc.Lab.Engine != "" && l.Replication().Name() != sc.Lab.Engine {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the scenario asks for engine %s but lab %s uses %s", sc.Lab.Engine, l.Name, l.Replication().Name()))
	}
	if !l.IsExternal() && sc.Lab.Resolver != "" && l.Resolver != sc.Lab.Resolver {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the scenario asks for resolver %s but lab %s uses %q", sc.Lab.Resolver, l.Name, l.Resolver))
	}
	if !l.IsExternal() && sc.Lab.RetainDeadTuples && !l.RetainDeadTuples {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the scenario asks for retain_dead_tuples but lab %s's subscriptions do not retain dead tuples", l.Name))
	}
	if !l.IsExternal() && sc.Lab.Nodes != 0 && len(l.Nodes) != sc.Lab.Nodes {
		return nil, exitcode.BadInputErr(fmt.Errorf("%s:%d:%d: lab.nodes: the scenario asks for %d primaries but lab %s has %d (%s): run it without --lab to build one, or change lab.nodes",
			sc.File, sc.Lab.NodesPos.Line, sc.Lab.NodesPos.Col, sc.Lab.Nodes, l.Name, len(l.Nodes), strings.Join(l.Primaries(), ", ")))
	}
	if !l.IsExternal() && sc.Lab.Sequences != "" && l.Sequences != sc.Lab.Sequences {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the scenario asks for sequences %s but lab %s uses %s", sc.Lab.Sequences, l.Name, l.Sequences))
	}

	var err error
	if r.pools, err = openPools(ctx, l); err != nil {
		return nil, exitcode.InfraErr(err)
	}
	defer closePools(r.pools)

	var lopts []faults.LedgerOption
	if r.opt.LedgerDir != "" {
		lopts = append(lopts, faults.WithStateDir(r.opt.LedgerDir))
	}
	if r.ledger, err = faults.OpenLedger(l, lopts...); err != nil {
		return nil, exitcode.InfraErr(fmt.Errorf("fault ledger: %w", err))
	}
	// A run that was killed may have left faults behind: heal them first.
	if un := r.ledger.Unhealed(); len(un) > 0 {
		r.opt.Log("healing %d fault(s) an earlier run left in lab %s", len(un), l.Name)
		hctx, cancel := faults.HealContext(ctx)
		err := r.ledger.HealAll(hctx)
		cancel()
		if err != nil {
			return nil, exitcode.InfraErr(fmt.Errorf("heal faults left by an earlier run: %w (%s)", err, healHint(l)))
		}
	}

	historyPath := filepath.Join(r.opt.ReportDir, "history.jsonl")
	if r.rec, err = workload.NewRecorder(historyPath); err != nil {
		return nil, exitcode.InfraErr(err)
	}
	runErr := r.execute(ctx)
	defer r.stopSampling() // on every path, before the pools close
	if cerr := r.rec.Close(); cerr != nil && runErr == nil {
		runErr = cerr
	}
	// ops/s is over the workload phase: from the first op to the last one
	// drained, not the heal and analysis after it.
	var elapsed time.Duration
	if !r.start.IsZero() {
		elapsed = r.workEnd.Sub(r.start)
	}
	rep.Workloads, rep.Throughput = r.rec.Summary(elapsed)
	rep.Faults = r.faultRecords()
	interrupted := errors.Is(runErr, context.Canceled) || ctx.Err() != nil
	rep.Interrupted = interrupted
	if runErr != nil && !interrupted {
		rep.EndedAt = time.Now()
		return rep, runErr
	}
	if !interrupted {
		r.analyse(ctx, rep, historyPath)
	} else {
		rep.Warnings = append(rep.Warnings, "interrupted: the workloads were stopped and every fault healed; lag, divergence and conflicts were not analysed")
	}
	rep.EndedAt = time.Now()
	reports.Evaluate(rep, sc.Assert)
	if interrupted {
		return rep, exitcode.With(exitcode.Interrupted, context.Canceled)
	}
	return rep, nil
}

// healHint says how to heal what a run could not.
func healHint(l *lab.Lab) string {
	if l.IsExternal() {
		return "run the scenario on this target again: a run heals what an earlier one left first"
	}
	return fmt.Sprintf("run `pgchaos lab heal --name %s`", l.Name)
}

func labInfo(ctx context.Context, l *lab.Lab) reports.Lab {
	info := reports.Lab{Name: l.Name, Postgres: l.Postgres, Sequences: l.Sequences,
		Engine: l.Replication().Name(), Resolver: l.Resolver,
		HAProxy: fmt.Sprintf("%s:%d", hostOf(l.Proxy.Host), l.Proxy.Port)}
	if l.IsExternal() {
		info.Target = true
		if l.Proxy.Port == 0 {
			info.HAProxy = ""
		}
	}
	for _, n := range l.Nodes {
		// Host, port and user only: never a connection string.
		node := reports.Node{Name: n.Name, Address: fmt.Sprintf("%s:%d", hostOf(n.Host), n.Port), Image: l.Images.Postgres}
		if l.IsExternal() {
			node.User, node.Container = n.User, n.Container
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if c, err := l.Connect(cctx, n.Name); err == nil {
			_ = c.QueryRow(cctx, "SHOW server_version").Scan(&node.ServerVersion)
			c.Close(cctx)
		}
		cancel()
		info.Nodes = append(info.Nodes, node)
	}
	return info
}

func hostOf(h string) string {
	if h == "" || h == "0.0.0.0" {
		return "127.0.0.1"
	}
	return h
}

func openPools(ctx context.Context, l *lab.Lab) (map[string]*pgxpool.Pool, error) {
	pools := map[string]*pgxpool.Pool{}
	for _, n := range l.Nodes {
		cfg, err := pgxpool.ParseConfig(l.MustDSN(n.Name))
		if err != nil {
			closePools(pools)
			return nil, err
		}
		cfg.MaxConns = 4
		cfg.ConnConfig.RuntimeParams["application_name"] = "pgchaos-observer"
		if l.IsExternal() {
			// The heartbeat is pgchaos.pgchaos_heartbeat on a target, and
			// public.pgchaos_heartbeat in a lab: the observer's queries
			// name it unqualified. Only the observer's sessions: the
			// workloads keep the user's own search_path.
			cfg.ConnConfig.RuntimeParams["search_path"] = target.SchemaName
		}
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			closePools(pools)
			return nil, fmt.Errorf("connect %s: %w", n.Name, err)
		}
		pools[n.Name] = p
	}
	return pools, nil
}

func closePools(pools map[string]*pgxpool.Pool) {
	for _, p := range pools {
		p.Close()
	}
}

// execute runs the workloads, the samplers and the fault schedule, and
// heals every fault at the end, however it ends.
func (r *run) execute(ctx context.Context) error {
	cfg := r.workloadConfig()
	started := make(chan time.Time, 1)
	cfg.OnStart = func(t time.Time) { started <- t }
	// At the end of the duration the workloads drain (no new ops, in-flight
	// ones finish); Ctrl-C cancels ctx and cuts them short.
	stop := make(chan struct{})
	var stopOnce sync.Once
	stopWorkloads := func() { stopOnce.Do(func() { close(stop) }) }
	cfg.Stop = stop
	wctx, cancelWorkloads := context.WithCancel(ctx)
	defer cancelWorkloads()
	// Samplers and heartbeats outlive the workloads: they watch the
	// convergence after the faults heal too; analyse stops them.
	sctx, stopSamplers := context.WithCancel(context.WithoutCancel(ctx))
	r.stopSamplers = stopSamplers

	var g errgroup.Group
	workloadsDone := make(chan struct{})
	g.Go(func() error {
		defer close(workloadsDone)
		err := workload.Run(wctx, cfg, r.rec)
		r.workEnd = time.Now()
		return err
	})
	var timelineErr error
	g.Go(func() error {
		var t0 time.Time
		select {
		case t0 = <-started:
		case <-wctx.Done():
			return nil
		case <-workloadsDone:
			return nil // setup failed
		}
		timelineErr = r.schedule(wctx, sctx, t0)
		stopWorkloads()
		return nil
	})
	runErr := g.Wait()

	healErr := r.healAtEnd(ctx)
	if ctx.Err() != nil {
		return errors.Join(context.Canceled, healErr)
	}
	if runErr != nil && exitcode.Of(runErr) == exitcode.BadInput {
		// A statement of a sql script the server refused before second 0.
		return errors.Join(runErr, healErr)
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return errors.Join(exitcode.InfraErr(fmt.Errorf("workloads: %w", runErr)), healErr)
	}
	if timelineErr != nil {
		r.warn("some fault steps failed: %v", timelineErr)
	}
	return healErr
}

// workloadConfig is the scenario's workloads, aimed at the lab's targets.
func (r *run) workloadConfig() workload.Config {
	cfg := workload.Config{DSN: map[string]string{}, Seed: r.seed, Log: r.opt.Log, TxnDir: r.opt.ReportDir}
	if r.lab.IsExternal() {
		// A target: the built-in kinds write pgchaos's own tables, which
		// target setup made in schema pgchaos.
		cfg.Schema = target.SchemaName
	}
	cfg.Nodes = r.lab.Primaries()
	for _, n := range cfg.Nodes {
		cfg.DSN[n] = r.lab.MustDSN(n)
	}
	// A target without haproxy.address has no load balancer to write through.
	if dsn, err := r.lab.DSN(lab.HAProxy); err == nil {
		cfg.DSN[lab.HAProxy] = dsn
	}
	for _, w := range r.sc.Workloads {
		var scripts []workload.Script
		for _, s := range w.Scripts {
			scripts = append(scripts, workload.Script{Name: s.File, Script: s.Parsed, Weight: s.Weight})
		}
		cfg.Workloads = append(cfg.Workloads, workload.Spec{Name: w.Name, Kind: w.Kind, Targets: w.Targets,
			Concurrency: w.Concurrency, Rate: w.Rate, Rows: w.Rows, Keys: w.Keys, Isolation: w.Isolation, Scripts: scripts})
	}
	return cfg
}

// schedule runs from second 0 (t0, when the workers started) to the end of
// the scenario's duration: it starts the samplers (under sctx, which
// outlives the workloads) and the progress line, and steps through the
// fault timeline. It returns when the duration is over or wctx ends, with
// the error of a fault step that failed.
func (r *run) schedule(wctx, sctx context.Context, t0 time.Time) error {
	r.start = t0
	r.rec.SetOrigin(t0)
	r.samplers = startSamplers(sctx, r.pools, r.lab, t0, hotTable(r.sc))
	r.opt.Log("workloads running for %s", r.sc.Duration)
	tctx, endTimeline := context.WithDeadline(wctx, t0.Add(r.sc.Duration))
	defer endTimeline()
	go r.progressLoop(tctx, t0)
	err := scenario.RunTimeline(tctx, t0, r.sc.Timeline(), r.step)
	// The schedule may end early (or be empty): the run lasts its duration.
	<-tctx.Done()
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// healAtEnd heals every fault still in the ledger, also on Ctrl-C: under
// a context the interrupt does not cancel. Failovers held to the end fail
// back now, so what they stranded is measured first.
func (r *run) healAtEnd(ctx context.Context) error {
	hctx, cancel := faults.HealContext(ctx)
	defer cancel()
	if ctx.Err() == nil {
		for _, f := range r.activeSpecs() {
			if f.Kind == scenario.FaultFailover {
				r.recordStranded(hctx, f.From)
			}
		}
	}
	healErr := r.ledger.HealAll(hctx)
	r.mu.Lock()
	r.active = nil
	r.mu.Unlock()
	if healErr != nil {
		return exitcode.InfraErr(fmt.Errorf("healing faults: %w (%s)", healErr, healHint(r.lab)))
	}
	return nil
}

// step injects or heals one fault of the timeline.
func (r *run) step(ctx context.Context, s scenario.Step) error {
	if s.Heal {
		r.mu.Lock()
		f := r.active[s.Index]
		delete(r.active, s.Index)
		r.mu.Unlock()
		if f == nil {
			return nil
		}
		hctx, cancel := faults.HealContext(ctx)
		defer cancel()
		if s.Fault.Kind == scenario.FaultFailover {
			r.recordStranded(hctx, s.Fault.From)
		}
		r.opt.Log("+%.1fs heal %s", time.Since(r.start).Seconds(), f)
		return r.ledger.Heal(hctx, f)
	}
	f, err := faults.New(r.lab, s.Fault)
	if err != nil {
		return fmt.Errorf("faults[%d]: %w", s.Index, err)
	}
	r.mu.Lock()
	if r.active == nil {
		r.active = map[int]faults.Fault{}
	}
	r.active[s.Index] = f
	r.mu.Unlock()
	r.opt.Log("+%.1fs inject %s", time.Since(r.start).Seconds(), f)
	if err := r.ledger.Inject(ctx, f); err != nil {
		return fmt.Errorf("inject %s: %w", f, err)
	}
	if s.Fault.Instant() {
		// A restart is over when its inject returns (the node is back), a
		// kill-walsender or kill-apply-worker when the server has a new
		// process streaming (its heal waits for that and measures it):
		// close the window now, not at the end of the run.
		r.mu.Lock()
		delete(r.active, s.Index)
		r.mu.Unlock()
		hctx, cancel := faults.HealContext(ctx)
		defer cancel()
		return r.ledger.Heal(hctx, f)
	}
	return nil
}

func (r *run) activeSpecs() []scenario.Fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []scenario.Fault
	for _, f := range r.active {
		if s, ok := f.(faults.Specced); ok {
			out = append(out, s.Spec())
		}
	}
	return out
}

func (r *run) activeFaults() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, f := range r.active {
		out = append(out, f.String())
	}
	return out
}

func (r *run) progressLoop(ctx context.Context, t0 time.Time) {
	if r.opt.Progress == nil {
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			r.opt.Progress(Progress{Elapsed: time.Since(t0), Total: r.sc.Duration, Workload: r.rec.Snapshot(), ActiveFaults: r.activeFaults()})
		}
	}
}

// stopSampling stops the samplers and waits for them; safe to call twice.
func (r *run) stopSampling() {
	r.stopOnce.Do(func() {
		if r.stopSamplers != nil {
			r.stopSamplers()
		}
		if r.samplers != nil {
			r.samplers.wait()
		}
	})
}

func (r *run) warn(format string, args ...any) {
	r.mu.Lock()
	r.warnings = append(r.warnings, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// faultRecords maps the ledger's records of this run to the report.
func (r *run) faultRecords() []reports.Fault {
	var out []reports.Fault
	for _, rec := range r.ledger.Records() {
		if rec.InjectedAt.Before(r.start) {
			continue
		}
		f := reports.Fault{Kind: rec.Kind, Target: rec.Target, Params: rec.Params,
			Injected: reports.Duration(rec.InjectedAt.Sub(r.start)), HealError: rec.HealError}
		if rec.InjectError != "" {
			f.Effects = append(f.Effects, "inject failed: "+rec.InjectError)
		}
		f.Effects = append(f.Effects, rec.Effects...)
		if rec.HealedAt != nil {
			d := reports.Duration(rec.HealedAt.Sub(r.start))
			f.Healed = &d
		}
		out = append(out, f)
	}
	return out
}

// trimErr shortens an error for a one-line warning.
func trimErr(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i > 0 {
		s = s[:i]
	}
	return s
}
