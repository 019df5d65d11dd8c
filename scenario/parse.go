package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/internal/inputfile"
	"github.com/pgchaos/pgchaos/node"
)

// Allowed values, in the order messages list them.
var (
	topKeys       = []string{"name", "lab", "schema", "target", "duration", "seed", "workloads", "faults", "assert", "variants"}
	labKeys       = []string{"nodes", "postgres", "sequences", "ports", "engine", "resolver", "retain_dead_tuples"}
	portKeys      = append(node.PrimariesOf(node.MaxPrimaries), node.HAProxy, "stats")
	workloadKeys  = []string{"name", "kind", "targets", "concurrency", "rate", "rows", "keys", "isolation"}
	postgresVers  = []string{"18", "17", "19"}
	sequenceKinds = []string{"interleaved", "serial", "uuid"}
	workloadKinds = []string{KindInsert, KindUpdateHot, KindBank, KindTutorial, KindListAppend, KindRWRegister, KindSQL}
	isolations    = []string{ReadCommitted, RepeatableRead, Serializable}
	faultKinds    = []string{FaultStop, FaultKill, FaultRestart, FaultPause, FaultIsolate, FaultPartition, FaultDelay, FaultLoss, FaultFailover,
		FaultDisableSubscription, FaultKillWalsender, FaultKillApplyWorker, FaultKillSessions, FaultLockRows}
	assertKeys    = []string{"lag_p50", "lag_p95", "lag_p99", "lag_max", "unavailability", "divergent_rows", "unexplained_divergence", "lost_writes", "lost_updates", "stalls", "errors", "converged", "bank_invariant", "conflicts", "anomalies"}
	conflictKinds = []string{"total", "insert_exists", "update_origin_differs", "update_exists", "update_missing", "delete_origin_differs", "delete_missing", "multiple_unique_conflicts", "apply_error", "update_deleted"}
)

// faultKeys lists, per fault kind, the keys that kind takes.
func faultKeys(kind string) []string {
	if keys := sqlFaultKeys(kind); keys != nil {
		return keys
	}
	common := []string{"kind", "at", "for"}
	switch kind {
	case FaultStop, FaultKill, FaultPause, FaultIsolate:
		return append(common, "node")
	case FaultRestart:
		return []string{"kind", "at", "node"}
	case FaultPartition:
		return append(common, "between", "direction")
	case FaultDelay:
		return append(common, "node", "between", "direction", "delay", "jitter")
	case FaultLoss:
		return append(common, "node", "between", "direction", "loss")
	case FaultFailover:
		return append(common, "from")
	}
	return common
}

// anyFaultKeys is the union of faultKeys over all kinds, in a readable order.
var anyFaultKeys = []string{"kind", "at", "for", "node", "peer", "between", "direction", "delay", "jitter", "loss", "from", "table", "mode"}

// defaultRows is rows: for update-hot and bank when the file says nothing.
const defaultRows = 10

// Limits on what a scenario may ask for. Each is far above any useful
// run and far below what would exhaust the machine or overflow the
// arithmetic; docs/scenario.md lists them, and each message names its bound.
const (
	// maxConcurrency bounds concurrency: per target; more workers than
	// this measure the client machine rather than replication.
	maxConcurrency = 256
	// MaxDuration bounds duration:, at:, for: and every assert duration: a
	// week is a long soak, and with every offset and length at most this,
	// at + for cannot overflow.
	MaxDuration = 7 * 24 * time.Hour
	// maxNetemDelay bounds a delay's delay: and jitter:; a minute of
	// latency is already a partition with extra steps.
	maxNetemDelay = time.Minute
	// maxRate bounds rate: per target, in operations per second.
	maxRate = 1_000_000
	// maxRows bounds rows: (update-hot's hot rows, bank's accounts), which
	// the lab seeds in one INSERT before the run.
	maxRows = 1_000_000
	// maxKeys bounds keys: of list-append and rw-register. rw-register
	// seeds keys × 256 registers before the run (its retired registers),
	// so 4096 keys is about a million rows, like maxRows.
	maxKeys = 4096
	// maxWorkloads and maxFaults bound the lists; a fault a minute for a
	// week is about 10,000.
	maxWorkloads = 100
	maxFaults    = 10_000
	// maxNameLen bounds name: and a workload's name:, in bytes.
	maxNameLen = 128
	// maxCount bounds the counting thresholds of assert:.
	maxCount = 1_000_000_000_000
)

// MaxFileSize is the largest scenario file Load reads. The largest
// scenario the limits allow (100 workloads, 10,000 faults) is about 1 MB
// written out in block style with a comment per fault. Decoding YAML is
// most of the cost of a big file (BenchmarkParse): 2 MiB of dense flow
// style took 0.8 s of CPU and 89 MB (4 MiB took 1.2 s and 149 MB), so
// the cap keeps the answer to any file under a second.
const MaxFileSize = 2 << 20

// Load reads and parses the scenario file at path. Every error it returns
// is marked exitcode.BadInput; a problem in the file's content carries
// Errors (get them with errors.As).
func Load(path string) (*Scenario, error) {
	data, err := inputfile.Read(path, "scenario", MaxFileSize)
	if err != nil {
		return nil, exitcode.BadInputErr(err)
	}
	return Parse(path, data)
}

// Nodes are the names a scenario's workloads and faults may use when it
// runs on a target rather than on a lab: the target's nodes, in the
// user's names, and whether it has a load balancer (haproxy).
type Nodes struct {
	Primaries []string
	HAProxy   bool
}

// LoadFor is Load for a scenario that runs on the nodes ns names (a
// target): node:, between:, from: and targets: take those names instead
// of a lab's.
func LoadFor(path string, ns Nodes) (*Scenario, error) {
	data, err := inputfile.Read(path, "scenario", MaxFileSize)
	if err != nil {
		return nil, exitcode.BadInputErr(err)
	}
	return ParseFor(path, data, ns)
}

// ParseFor is Parse with the node names of LoadFor.
func ParseFor(file string, data []byte, ns Nodes) (*Scenario, error) {
	ns.Primaries = slices.Clone(ns.Primaries)
	r := &reader{file: file, target: &ns}
	s := r.parse(data)
	if len(r.errs) > 0 {
		return nil, exitcode.BadInputErr(r.result())
	}
	return s, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// Parse parses and validates a scenario from data; file names it in
// messages and gives the default name. On failure the error is marked
// exitcode.BadInput and wraps Errors holding every problem found, in file
// order.
func Parse(file string, data []byte) (*Scenario, error) {
	r := &reader{file: file}
	s := r.parse(data)
	if len(r.errs) > 0 {
		return nil, exitcode.BadInputErr(r.result())
	}
	return s, nil
}

// ParseAs parses and validates data as Parse does, with the lab settings
// of variant v in place of the file's: every check that depends on the
// lab (the node names workloads and faults use, lab.ports, engine
// options) is made against the lab v builds. Errors keep the file's
// line and column.
func ParseAs(file string, data []byte, v Variant) (*Scenario, error) {
	r := &reader{file: file, variant: &v}
	s := r.parse(data)
	if len(r.errs) > 0 {
		return nil, exitcode.BadInputErr(r.result())
	}
	return s, nil
}

func (r *reader) parse(data []byte) *Scenario {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			r.errAt(Pos{Line: 1, Col: 1}, "the file is empty: a scenario needs at least duration: and workloads:")
			return nil
		}
		r.yamlError(err)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		r.errAt(Pos{Line: extra.Line, Col: extra.Column}, "a second YAML document starts here: a scenario file holds one document (remove the extra ---)")
	} else if !errors.Is(err, io.EOF) {
		r.yamlError(err)
	}
	top := &doc
	if top.Kind == yaml.DocumentNode {
		if len(top.Content) == 0 {
			r.errAt(Pos{Line: 1, Col: 1}, "the file is empty: a scenario needs at least duration: and workloads:")
			return nil
		}
		top = deref(top.Content[0])
	}
	if isNull(top) {
		r.errAt(Pos{Line: 1, Col: 1}, "the file is empty: a scenario needs at least duration: and workloads:")
		return nil
	}
	if top.Kind != yaml.MappingNode {
		r.errorf(top, "the top level is %s, not a mapping of keys (allowed: %s)", describe(top), strings.Join(topKeys, ", "))
		return nil
	}
	return r.scenario(top)
}

// yamlError turns the yaml package's own error into a positioned Error.
// yaml reports a line but not a column, so the column is left out.
func (r *reader) yamlError(err error) {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, m := range te.Errors {
			r.errAt(Pos{Line: 1}, "not a valid scenario: %s", m)
		}
		return
	}
	msg := err.Error()
	line := 1
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		if m[1] != "" {
			if n, convErr := strconv.Atoi(m[1]); convErr == nil {
				line = n
			}
		}
		msg = m[2]
	}
	r.errAt(Pos{Line: line}, "not valid YAML: %s", msg)
}

func (r *reader) scenario(top *yaml.Node) *Scenario {
	s := &Scenario{File: r.file}
	base := filepath.Base(r.file)
	if r.file != "" {
		s.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	f, _ := r.mapping(top, "the top level", "at the top level", topKeys)

	if v, ok := f["name"]; ok {
		if name, ok := r.str(v.val, "name", maxNameLen); ok {
			s.Name = name
		}
	}
	if v, ok := f["lab"]; ok && !isNull(v.val) {
		s.Lab = r.lab(v.val)
	}
	if r.variant != nil {
		s.Lab = r.variant.Apply(s.Lab)
		r.nodes = s.Lab.NodeCount()
		if why := r.variant.retainConflict(s.Lab); why != "" {
			at := Pos{Line: 1, Col: 1}
			if v, ok := f["lab"]; ok {
				at = Pos{Line: v.key.Line, Col: v.key.Column}
			}
			r.errAt(at, "%s", why)
		}
	}
	if v, ok := f["schema"]; ok && !isNull(v.val) {
		s.Schema = r.schema(v.val)
	}
	durOK := false
	if v, ok := f["duration"]; ok {
		if d, ok := r.duration(v.val, "duration"); ok {
			if d <= 0 {
				r.errorf(v.val, "duration: %s must be more than 0", show(v.val))
			} else if d > MaxDuration {
				r.errorf(v.val, "duration: %s is more than the longest run allowed, %s (7 days): split the soak into several runs", show(v.val), fmtDur(MaxDuration))
			} else {
				s.Duration, durOK = d, true
			}
		}
	} else {
		r.errorf(top, "duration is required: how long the workloads run (e.g. duration: 60s)")
	}
	if v, ok := f["seed"]; ok {
		if seed, ok := r.integer(v.val, "seed", math.MinInt64, math.MaxInt64); ok {
			s.Seed, s.SeedSet = seed, true
		}
	}
	if v, ok := f["workloads"]; ok {
		s.Workloads = r.workloads(v.val)
	} else {
		r.errorf(top, "workloads is required: at least one workload (e.g. workloads: [{kind: insert}])")
	}
	var faultPos []faultKeyPos
	if v, ok := f["faults"]; ok && !isNull(v.val) {
		s.Faults, faultPos = r.faults(v.val)
	}
	if v, ok := f["assert"]; ok && !isNull(v.val) {
		s.Assert = r.assert(v.val)
	}
	if v, ok := f["variants"]; ok && !isNull(v.val) {
		s.Variants = r.variants(v.val)
	}
	if durOK {
		r.schedule(s, faultPos)
	}
	return s
}

func (r *reader) lab(n *yaml.Node) LabSpec {
	var l LabSpec
	f, ok := r.mapping(n, "lab", "in lab", labKeys)
	if !ok {
		return l
	}
	if v, ok := f["nodes"]; ok {
		if n, ok := r.integer(v.val, "lab.nodes", node.MinPrimaries, node.MaxPrimaries); ok {
			l.Nodes, l.NodesPos = int(n), posOf(v.val)
			r.nodes = l.Nodes
		}
	}
	if r.variant != nil && r.variant.Nodes != 0 {
		// lab.ports is checked against the variant's primaries.
		l.Nodes = r.variant.Nodes
		r.nodes = l.Nodes
	}
	if v, ok := f["postgres"]; ok {
		// 18 and "18" both mean the major version; a float such as 18.0 is
		// not accepted because 18.1 would look like a minor version.
		if ver, ok := r.enum(v.val, "lab.postgres", "a supported PostgreSQL major version", postgresVers); ok {
			l.Postgres = ver
		}
	}
	if v, ok := f["sequences"]; ok {
		if seq, ok := r.enum(v.val, "lab.sequences", "a sequence mode", sequenceKinds); ok {
			l.Sequences = seq
		}
	}
	r.engine(f, &l)
	r.retainDeadTuples(f, &l)
	if v, ok := f["ports"]; ok && !isNull(v.val) {
		pf, ok := r.mapping(v.val, "lab.ports", "in lab.ports", portKeys)
		if ok {
			dst := map[string]*int{node.Primary1: &l.Ports.Primary1, node.Primary2: &l.Ports.Primary2, node.HAProxy: &l.Ports.HAProxy, "stats": &l.Ports.Stats}
			if n := l.NodeCount(); n > 2 {
				l.Ports.Rest = make([]int, n-2)
				for i := range l.Ports.Rest {
					dst[node.Primary(i+3)] = &l.Ports.Rest[i]
				}
			}
			seen := map[int64]string{}
			for _, k := range portKeys {
				pv, ok := pf[k]
				if !ok {
					continue
				}
				if dst[k] == nil {
					r.errorf(pv.key, "lab.ports.%s: the lab has %d primaries (%s), so there is no %s: remove it or raise lab.nodes",
						k, l.NodeCount(), strings.Join(l.Primaries(), ", "), k)
					continue
				}
				p, ok := r.integer(pv.val, "lab.ports."+k, 1, 65535)
				if !ok {
					continue
				}
				if other, dup := seen[p]; dup {
					r.errorf(pv.val, "lab.ports.%s: port %d is already lab.ports.%s: each needs its own port", k, p, other)
					continue
				}
				seen[p] = k
				*dst[k] = int(p)
			}
		}
	}
	return l
}

// primaries are the names of the lab's primaries (lab.nodes of them), or
// a target's nodes.
func (r *reader) primaries() []string {
	if r.target != nil {
		return slices.Clone(r.target.Primaries)
	}
	return node.PrimariesOf(max(r.nodes, node.DefaultPrimaries))
}

// allTargets are the lab's primaries and haproxy: what a workload can
// write through and a container fault can act on. On a target: its nodes,
// and haproxy when it names one.
func (r *reader) allTargets() []string {
	if r.target != nil {
		out := slices.Clone(r.target.Primaries)
		if r.target.HAProxy {
			out = append(out, HAProxy)
		}
		return out
	}
	return node.TargetsOf(max(r.nodes, node.DefaultPrimaries))
}

func (r *reader) workloads(n *yaml.Node) []Workload {
	items, ok := r.list(n, "workloads", "[{kind: insert}]", maxWorkloads)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		r.errorf(n, "workloads is empty: a scenario needs at least one workload (kinds: %s)", strings.Join(workloadKinds, ", "))
		return nil
	}
	out := make([]Workload, 0, len(items))
	named := make(map[string]int) // explicit name -> index
	for i, it := range items {
		w, ok := r.workload(i, it)
		if !ok {
			continue
		}
		if w.Name != "" {
			if j, dup := named[w.Name]; dup {
				r.errorf(it, "workloads[%d]: name %q is already used by workloads[%d]: names must be unique", i, w.Name, j)
			} else {
				named[w.Name] = i
			}
		}
		out = append(out, w)
	}
	// Default names come second so that an explicit "insert-2" later in
	// the list is never taken by an unnamed workload before it.
	used := make(map[string]bool, len(out))
	for name := range named {
		used[name] = true
	}
	count := map[string]int{}
	for i := range out {
		if out[i].Kind == "" {
			continue
		}
		count[out[i].Kind]++
		if out[i].Name != "" {
			continue
		}
		for k := count[out[i].Kind]; ; k++ {
			name := out[i].Kind
			if k > 1 {
				name = fmt.Sprintf("%s-%d", out[i].Kind, k)
			}
			if !used[name] {
				out[i].Name, used[name] = name, true
				break
			}
		}
	}
	return out
}

func (r *reader) workload(i int, n *yaml.Node) (Workload, bool) {
	where := fmt.Sprintf("workloads[%d]", i)
	w := Workload{Pos: posOf(n), Concurrency: 1}
	allowed := workloadKeys
	if kind := peekKind(n); kind == KindSQL {
		allowed = sqlWorkloadKeys
	} else if contains(workloadKinds, kind) {
		n = r.withoutScriptKeys(n, where, kind)
	}
	f, ok := r.mapping(n, where, "in "+where, allowed)
	if !ok {
		return w, false
	}
	if v, ok := f["name"]; ok {
		w.Name, _ = r.str(v.val, where+".name", maxNameLen)
	}
	if v, ok := f["kind"]; ok {
		w.Kind, _ = r.enum(v.val, where+".kind", "a workload kind", workloadKinds)
	} else {
		r.errorf(n, "%s: kind is required (one of: %s)", where, strings.Join(workloadKinds, ", "))
	}
	w.Targets = r.allTargets()
	if v, ok := f["targets"]; ok {
		w.Targets = r.targets(v.val, where+".targets", r.allTargets(), true)
	}
	if v, ok := f["concurrency"]; ok {
		if c, ok := r.integer(v.val, where+".concurrency", 1, maxConcurrency); ok {
			w.Concurrency = int(c)
		}
	}
	if v, ok := f["rate"]; ok {
		w.Rate, _ = r.rate(v.val, where+".rate", maxRate)
	}
	switch w.Kind {
	case KindUpdateHot, KindBank:
		w.Rows = defaultRows
		lo := int64(1)
		if w.Kind == KindBank {
			lo = 2 // a transfer needs two accounts
		}
		if v, ok := f["rows"]; ok {
			if rows, ok := r.integer(v.val, where+".rows", lo, maxRows); ok {
				w.Rows = int(rows)
			}
		}
	case KindSQL:
		r.sqlScripts(&w, f, n, where)
	default:
		if v, ok := f["rows"]; ok && w.Kind != "" {
			r.errorf(v.key, "%s: rows is not used by a %s workload (only by %s and %s): remove it", where, w.Kind, KindUpdateHot, KindBank)
		}
	}
	r.txnOptions(&w, f, where)
	return w, true
}

// targets reads a list of distinct names from allowed. A list is required
// even for one target so that the file reads the same for one and many.
func (r *reader) targets(n *yaml.Node, what string, allowed []string, nonEmpty bool) []string {
	items, ok := r.list(n, what, "["+strings.Join(allowed, ", ")+"]", len(allowed)+MaxErrors)
	if !ok {
		return nil
	}
	if nonEmpty && len(items) == 0 {
		r.errorf(n, "%s is empty: name at least one of %s, or remove it for all of them", what, strings.Join(allowed, ", "))
		return nil
	}
	out := make([]string, 0, len(items))
	for j, it := range items {
		t, ok := r.enum(it, fmt.Sprintf("%s[%d]", what, j), "a target", allowed)
		if !ok {
			continue
		}
		if contains(out, t) {
			r.errorf(it, "%s: %s is listed twice", what, t)
			continue
		}
		out = append(out, t)
	}
	return out
}

// FaultKinds returns every fault kind a scenario can name, in the order
// messages list them.
func FaultKinds() []string { return slices.Clone(faultKinds) }
