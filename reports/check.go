package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxDuration is the largest duration a report may hold: a run is never
// longer than a year, and anything larger would overflow on the way to a
// time.Duration (int64 nanoseconds) and print as garbage.
const MaxDuration = 365 * 24 * time.Hour

// timeFields are the JSON fields of time.Time values (docs/report.md:
// "Times are RFC 3339 strings"). TestCheckRulesMatchModel keeps this list
// and the _ms rule in step with the model.
var timeFields = map[string]bool{"started_at": true, "ended_at": true, "time": true, "since": true}

// fieldError is a problem with one field of a report file, where it is.
type fieldError struct {
	Path      string // workloads[0].latency.p99_ms
	Line, Col int
	Msg       string
}

func (e *fieldError) Error() string {
	return fmt.Sprintf("field %s at line %d, column %d: %s", e.Path, e.Line, e.Col, e.Msg)
}

// checkFields walks a report's JSON once, before it is decoded into the
// model, and returns the first field whose value the model would take
// wrongly or not name: a duration that is not a number of milliseconds
// from 0 to MaxDuration, a time that is not an RFC 3339 string, a verdict
// that is none of pass, fail or none. Malformed JSON is left to the
// decoder, which says where it is.
func checkFields(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	w := walker{b: b, dec: dec}
	err := w.value("")
	if fe := (*fieldError)(nil); errors.As(err, &fe) {
		return fe
	}
	return nil
}

type walker struct {
	b   []byte
	dec *json.Decoder
}

// value reads the value at path (its key last) and everything in it.
func (w *walker) value(path string) error {
	start := w.valueStart()
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '{' {
			for w.dec.More() {
				k, err := w.dec.Token()
				if err != nil {
					return err
				}
				if err := w.value(join(path, k.(string))); err != nil {
					return err
				}
			}
		} else {
			for i := 0; w.dec.More(); i++ {
				if err := w.value(path + "[" + strconv.Itoa(i) + "]"); err != nil {
					return err
				}
			}
		}
		_, err := w.dec.Token() // the closing delimiter
		return err
	default:
		if msg := checkScalar(path, tok); msg != "" {
			line, col := lineCol(w.b, int64(start)+1)
			return &fieldError{Path: path, Line: line, Col: col, Msg: msg}
		}
	}
	return nil
}

// valueStart is the offset of the next value: the decoder's offset is
// just past the previous token, before the separators.
func (w *walker) valueStart() int {
	i := int(w.dec.InputOffset())
	for i < len(w.b) && strings.IndexByte(" \t\r\n:,", w.b[i]) >= 0 {
		i++
	}
	return i
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// checkScalar says what is wrong with a scalar at path, or "".
func checkScalar(path string, tok json.Token) string {
	key := path[strings.LastIndexByte(path, '.')+1:]
	switch {
	case strings.HasSuffix(key, "_ms"):
		if tok == nil {
			return "" // an optional duration (healed_at_ms: null)
		}
		n, ok := tok.(json.Number)
		if !ok {
			return fmt.Sprintf("want a duration in milliseconds (a number), got %s", describe(tok))
		}
		ms, err := n.Float64()
		max := float64(MaxDuration / time.Millisecond)
		if err != nil || math.IsInf(ms, 0) || ms < 0 || ms > max {
			return fmt.Sprintf("%s ms is out of range: a duration is from 0 to %.0f ms (%s)", n, max, MaxDuration)
		}
	case timeFields[key]:
		s, ok := tok.(string)
		if !ok {
			return fmt.Sprintf("want a time (an RFC 3339 string such as \"2026-11-26T14:00:00Z\"), got %s", describe(tok))
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Sprintf("%q is not an RFC 3339 time such as \"2026-11-26T14:00:00Z\"", s)
		}
	case path == "verdict":
		switch tok {
		case VerdictPass, VerdictFail, VerdictNone:
		default:
			return fmt.Sprintf("%s is not a verdict: want \"pass\", \"fail\" or \"none\"", describe(tok))
		}
	}
	return ""
}

// describe names a JSON scalar for a message: the string "x", the number 5.
func describe(tok json.Token) string {
	switch tok := tok.(type) {
	case string:
		return "the string " + strconv.Quote(tok)
	case json.Number:
		return "the number " + tok.String()
	case bool:
		return "the boolean " + strconv.FormatBool(tok)
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}

// checkDivergence checks what the divergence section's fields say about
// each other, which no single field shows: with more than two nodes
// (divergence.nodes), every table names those nodes in order, each row's
// kind is different or missing_on_ some of them, and its versions put
// every node in exactly one version, the one without a row being the
// nodes its kind says lack it; with two, kinds are the two-node ones and
// no N-node field appears. It returns the first field that breaks one.
func checkDivergence(d *Divergence) error {
	if d == nil {
		return nil
	}
	bad := func(path, format string, args ...any) error {
		return fmt.Errorf("field divergence.%s: %s", path, fmt.Sprintf(format, args...))
	}
	if d.Nodes != nil {
		if len(d.Nodes) < 3 {
			return bad("nodes", "%d nodes listed: the list is for more than two nodes (two are named by the _primary1 and _primary2 fields)", len(d.Nodes))
		}
		seen := map[string]bool{}
		for i, n := range d.Nodes {
			if n == "" || strings.Contains(n, ",") || seen[n] {
				return bad(fmt.Sprintf("nodes[%d]", i), "%q is empty, holds a comma or is listed twice: each node once, by name", n)
			}
			seen[n] = true
		}
	}
	for i, nc := range d.NotCompared {
		if nc.Table == "" || nc.Reason == "" {
			return bad(fmt.Sprintf("not_compared[%d]", i), "a table not compared needs its name and the reason")
		}
	}
	for i, t := range d.Tables {
		path := fmt.Sprintf("tables[%d]", i)
		if d.Nodes == nil {
			if t.Nodes != nil {
				return bad(path+".nodes", "per-node counts in a two-node divergence (no divergence.nodes)")
			}
		} else {
			if len(t.Nodes) != len(d.Nodes) {
				return bad(path+".nodes", "%d nodes, want the %d of divergence.nodes", len(t.Nodes), len(d.Nodes))
			}
			for k, tn := range t.Nodes {
				if tn.Node != d.Nodes[k] {
					return bad(fmt.Sprintf("%s.nodes[%d].node", path, k), "%q, want %q (the order of divergence.nodes)", tn.Node, d.Nodes[k])
				}
			}
		}
		for j, r := range t.Rows {
			if err := checkRow(d.Nodes, r); err != "" {
				return bad(fmt.Sprintf("%s.rows[%d]", path, j), "%s", err)
			}
		}
	}
	return nil
}

// checkRow says what is wrong with a divergent row of a comparison of
// nodes (nil: two nodes), or "".
func checkRow(nodes []string, r DivergentRow) string {
	if nodes == nil {
		switch {
		case r.Kind != MissingOnPrimary1 && r.Kind != MissingOnPrimary2 && r.Kind != Different:
			return fmt.Sprintf("kind %q: want %q, %q or %q in a two-node divergence", r.Kind, MissingOnPrimary1, MissingOnPrimary2, Different)
		case r.Versions != nil:
			return "versions in a two-node divergence (no divergence.nodes)"
		}
		return ""
	}
	lack := MissingNodes(r.Kind)
	if r.Kind != Different {
		if lack == nil {
			return fmt.Sprintf("kind %q: want %q or missing_on_ and the nodes that lack the row", r.Kind, Different)
		}
		for _, n := range lack {
			if !slices.Contains(nodes, n) {
				return fmt.Sprintf("kind %q names %q, not a node compared (%s)", r.Kind, n, strings.Join(nodes, ", "))
			}
		}
	}
	seen := map[string]bool{}
	var absent []string
	rows := 0
	for _, v := range r.Versions {
		for _, n := range v.Nodes {
			if !slices.Contains(nodes, n) || seen[n] {
				return fmt.Sprintf("versions name %q twice or a node not compared: each node of divergence.nodes belongs to one version", n)
			}
			seen[n] = true
			if v.Row == "" {
				absent = append(absent, n)
			}
		}
		if v.Row != "" {
			rows++
		}
	}
	switch {
	case len(seen) != len(nodes):
		return fmt.Sprintf("versions name %d of the %d nodes: each node belongs to one version", len(seen), len(nodes))
	case r.Kind == Different && rows < 2:
		return fmt.Sprintf("kind %q with %d version(s) of the row: different means two or more", Different, rows)
	case r.Kind != Different && (rows != 1 || !sameSet(absent, lack)):
		return fmt.Sprintf("kind %q, but the versions say %s lack the row in %d version(s)", r.Kind, strings.Join(absent, ", "), rows)
	}
	return ""
}

func sameSet(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(s string) bool { return !slices.Contains(b, s) })
}
