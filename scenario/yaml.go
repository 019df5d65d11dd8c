package scenario

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// This file holds the small pieces for walking yaml.Node values with
// positioned errors. The schema itself lives in parse.go.

const (
	tagNull  = "!!null"
	tagStr   = "!!str"
	tagInt   = "!!int"
	tagFloat = "!!float"
	tagBool  = "!!bool"
	tagMerge = "!!merge"
)

// MaxErrors is the most problems Parse reports for one file; the rest are
// counted in a last "and N more" line. A generated file gone wrong can hold
// millions of problems, and a list longer than a screen helps nobody.
const MaxErrors = 50

// reader collects the errors of one file while it is walked. It keeps only
// the MaxErrors first in file order, so that memory stays flat however many
// problems a file has, and counts the others.
type reader struct {
	file    string
	nodes   int      // the lab's primaries, from lab.nodes (0 until read: two)
	variant *Variant // ParseAs: the lab settings that replace the file's
	target  *Nodes   // ParseFor: a target's nodes, by the user's names, replace the lab's
	errs    Errors   // at most MaxErrors, sorted by place, ties in the order found
	dropped int      // errors found beyond MaxErrors
}

func posOf(n *yaml.Node) Pos {
	if n == nil {
		return Pos{}
	}
	return Pos{Line: n.Line, Col: n.Column}
}

func (r *reader) errAt(p Pos, format string, args ...any) {
	r.insert(&Error{File: r.file, Pos: p, Msg: fmt.Sprintf(format, args...)}, p)
}

// errIn reports a problem in another file the scenario names (a sql
// script), at line of that file; it is listed where the scenario names
// the file (at).
func (r *reader) errIn(file string, line int, at Pos, msg string) {
	r.insert(&Error{File: file, Pos: Pos{Line: line}, Msg: msg, order: at}, at)
}

// insert keeps e among the first MaxErrors errors in the order of p.
func (r *reader) insert(e *Error, p Pos) {
	before := func(a, b Pos) bool { return a.Line < b.Line || (a.Line == b.Line && a.Col < b.Col) }
	// Insert after every error at the same place or earlier: the order
	// in which the checks found them breaks ties.
	i := sort.Search(len(r.errs), func(i int) bool { return before(p, r.errs[i].place()) })
	if len(r.errs) == MaxErrors {
		r.dropped++
		if i == MaxErrors {
			return
		}
		r.errs = r.errs[:MaxErrors-1]
	}
	r.errs = slices.Insert(r.errs, i, e)
}

// result is every error kept, with a last line counting those left out.
// That line stands at the place of the last error kept.
func (r *reader) result() Errors {
	if r.dropped == 0 {
		return r.errs
	}
	last := r.errs[len(r.errs)-1]
	return append(r.errs, &Error{File: r.file, Pos: last.place(),
		Msg: fmt.Sprintf("and %d more problems: fix the ones above first", r.dropped)})
}

func (r *reader) errorf(n *yaml.Node, format string, args ...any) {
	r.errAt(posOf(n), format, args...)
}

// deref follows aliases to the node they name. The bound keeps a
// pathological chain from looping; yaml itself rejects undefined anchors.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == tagNull)
}

// describe names what a node is, for "is X, not Y" messages.
// DescribeNode says what a YAML node is, for a message: "a mapping",
// "the number 5", "the string \"x\"" (clipped). The target file's parser
// uses it too, so both files word their errors alike.
func DescribeNode(n *yaml.Node) string { return describe(n) }

func describe(n *yaml.Node) string {
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.AliasNode:
		return "an alias"
	case n.Kind != yaml.ScalarNode:
		return "a document"
	}
	switch n.Tag {
	case tagNull:
		return "empty"
	case tagStr:
		return "the string " + strconv.Quote(clip(n.Value))
	case tagBool:
		return "the boolean " + n.Value
	case tagInt, tagFloat:
		return "the number " + clip(n.Value)
	}
	return strconv.Quote(clip(n.Value))
}

// maxShown is the most of a value a message quotes.
const maxShown = 64

// clip shortens a value for a message: quoting a megabyte-long scalar in
// each of fifty errors would bury the messages.
func clip(s string) string {
	if len(s) <= maxShown {
		return s
	}
	cut := maxShown
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// show quotes strings and leaves numbers and booleans bare, so the user
// sees the value the way they wrote it.
func show(n *yaml.Node) string {
	if n.Tag == tagStr || n.Tag == "" {
		return strconv.Quote(clip(n.Value))
	}
	v := clip(n.Value)
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return strconv.Quote(v)
	}
	return v
}

// field is one key: value pair of a mapping.
type field struct {
	key, val *yaml.Node
}

// mapping checks that n is a mapping with string keys, each at most once
// and each in allowed, and returns its pairs by key. where names the mapping
// in messages ("in workloads[0]"). Keys that are not allowed are reported
// and left out; ok is false when n is not a mapping at all.
func (r *reader) mapping(n *yaml.Node, what, where string, allowed []string) (map[string]field, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		r.errorf(n, "%s must be a mapping of keys (%s), not %s", what, strings.Join(allowed, ", "), describe(n))
		return nil, false
	}
	out := make(map[string]field, len(allowed))
	// A mapping takes each allowed key once; past that many pairs, plus as
	// many as could each be reported, the rest are only counted, so an
	// aliased mapping of a million keys costs no more than a small one.
	limit := 2 * (len(allowed) + MaxErrors)
	if len(n.Content) > limit {
		r.errorf(n.Content[limit], "%s has %d keys, far more than the %d it takes: only the first %d were read (allowed: %s)",
			what, len(n.Content)/2, len(allowed), limit/2, strings.Join(allowed, ", "))
	}
	for i := 0; i+1 < len(n.Content) && i < limit; i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == tagMerge {
			r.errorf(k, "merge keys (<<) are not supported %s: write the keys out", where)
			continue
		}
		kd := deref(k)
		if kd == nil || kd.Kind != yaml.ScalarNode {
			r.errorf(k, "a key %s must be a plain name, not %s (allowed: %s)", where, describe(kd), strings.Join(allowed, ", "))
			continue
		}
		name := kd.Value
		if prev, dup := out[name]; dup {
			r.errorf(k, "key %q appears twice %s (first at line %d): keep one", name, where, prev.key.Line)
			continue
		}
		if !contains(allowed, name) {
			r.errorf(k, "unknown key %q %s (allowed: %s)", name, where, strings.Join(allowed, ", "))
			continue
		}
		out[name] = field{key: k, val: deref(v)}
	}
	return out, true
}

// list checks that n is a sequence of at most maxItems and returns its
// items, aliases followed. A longer list is reported with its bound and
// not read at all: through aliases, reading it could cost far more than
// the file's size.
func (r *reader) list(n *yaml.Node, what, example string, maxItems int) ([]*yaml.Node, bool) {
	if n == nil || n.Kind != yaml.SequenceNode {
		r.errorf(n, "%s must be a list (e.g. %s), not %s", what, example, describe(n))
		return nil, false
	}
	if len(n.Content) > maxItems {
		r.errorf(n, "%s has %d entries: at most %d are allowed", what, len(n.Content), maxItems)
		return nil, false
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		items[i] = deref(c)
	}
	return items, true
}

// scalar checks that n is a non-empty scalar.
func (r *reader) scalar(n *yaml.Node, what string) bool {
	if n == nil || n.Kind != yaml.ScalarNode {
		r.errorf(n, "%s must be a single value, not %s", what, describe(n))
		return false
	}
	if n.Tag == tagNull {
		r.errorf(n, "%s has no value: give it one or remove the key", what)
		return false
	}
	return true
}

// str reads any scalar as text of at most maxLen bytes: a name such as
// 2024 is still a name. Control characters are refused: names end up in
// terminals, logs and reports, where an escape sequence would act rather
// than show.
func (r *reader) str(n *yaml.Node, what string, maxLen int) (string, bool) {
	if !r.scalar(n, what) {
		return "", false
	}
	switch {
	case n.Value == "":
		r.errorf(n, "%s is empty: give it a value or remove the key", what)
		return "", false
	case len(n.Value) > maxLen:
		r.errorf(n, "%s is %d bytes long: at most %d are allowed", what, len(n.Value), maxLen)
		return "", false
	case strings.IndexFunc(n.Value, unicode.IsControl) >= 0:
		r.errorf(n, "%s: %s holds a control character: use printable characters only", what, show(n))
		return "", false
	}
	return n.Value, true
}

// enum reads a scalar that must be one of allowed; noun says what the
// values are ("a workload kind").
func (r *reader) enum(n *yaml.Node, what, noun string, allowed []string) (string, bool) {
	if !r.scalar(n, what) {
		return "", false
	}
	if !contains(allowed, n.Value) {
		r.errorf(n, "%s: %s is not %s (allowed: %s)", what, show(n), noun, strings.Join(allowed, ", "))
		return "", false
	}
	return n.Value, true
}

// integer reads a whole number between lo and hi.
func (r *reader) integer(n *yaml.Node, what string, lo, hi int64) (int64, bool) {
	if !r.scalar(n, what) {
		return 0, false
	}
	var v int64
	if n.Tag != tagInt || n.Decode(&v) != nil {
		r.errorf(n, "%s: %s is not a whole number", what, show(n))
		return 0, false
	}
	if v < lo || v > hi {
		// A narrow range reads best whole; of a wide one, the bound that
		// was crossed says more.
		switch {
		case hi <= math.MaxUint16:
			r.errorf(n, "%s: %d is out of range (must be %d to %d)", what, v, lo, hi)
		case v < lo:
			r.errorf(n, "%s: %d is too small (must be at least %d)", what, v, lo)
		default:
			r.errorf(n, "%s: %d is too large (must be at most %d)", what, v, hi)
		}
		return 0, false
	}
	return v, true
}

// boolean reads true or false; YAML 1.1's yes/no/on/off are strings in
// YAML 1.2 and are refused rather than guessed at.
func (r *reader) boolean(n *yaml.Node, what string) (bool, bool) {
	if !r.scalar(n, what) {
		return false, false
	}
	var v bool
	if n.Tag != tagBool || n.Decode(&v) != nil {
		r.errorf(n, "%s: %s is not true or false", what, show(n))
		return false, false
	}
	return v, true
}

// duration reads Go duration syntax. A bare 0 is a duration (time.Duration
// parses it); any other bare number is refused because its unit would be a
// guess.
func (r *reader) duration(n *yaml.Node, what string) (time.Duration, bool) {
	if !r.scalar(n, what) {
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		hint := ""
		if n.Tag == tagInt || n.Tag == tagFloat {
			hint = ": a number needs a unit"
		}
		r.errorf(n, "%s: %s is not a duration%s (use e.g. 30s, 2m, 1h30m)", what, show(n), hint)
		return 0, false
	}
	return d, true
}

var rateRE = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?:/\s*(s|m|h))?\s*$`)

// rate reads operations per second from "500/s", "30/m", "2/h" or a bare
// number (per second), at most maxPerSec.
func (r *reader) rate(n *yaml.Node, what string, maxPerSec float64) (float64, bool) {
	if !r.scalar(n, what) {
		return 0, false
	}
	m := rateRE.FindStringSubmatch(n.Value)
	var v float64
	var err error
	if m != nil {
		v, err = strconv.ParseFloat(m[1], 64)
	}
	if m == nil || err != nil || math.IsInf(v, 0) {
		r.errorf(n, "%s: %s is not a rate (use e.g. 500/s, 30/m, or 500 for per second)", what, show(n))
		return 0, false
	}
	switch m[2] {
	case "m":
		v /= 60
	case "h":
		v /= 3600
	}
	if v <= 0 {
		r.errorf(n, "%s: %s must be more than 0 (omit rate to run as fast as possible)", what, show(n))
		return 0, false
	}
	if v > maxPerSec {
		r.errorf(n, "%s: %s is more than %g/s, the most allowed (omit rate to run as fast as possible)", what, show(n), maxPerSec)
		return 0, false
	}
	return v, true
}

var percentRE = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*%?\s*$`)

// percent reads a share of packets: "10%", 10 or 0.5 (all percent).
func (r *reader) percent(n *yaml.Node, what string) (float64, bool) {
	if !r.scalar(n, what) {
		return 0, false
	}
	m := percentRE.FindStringSubmatch(n.Value)
	var v float64
	var err error
	if m != nil {
		v, err = strconv.ParseFloat(m[1], 64)
	}
	if m == nil || err != nil {
		r.errorf(n, "%s: %s is not a percentage (use e.g. 10%% or 0.5%%)", what, show(n))
		return 0, false
	}
	if v <= 0 || v > 100 {
		r.errorf(n, "%s: %s is out of range (must be more than 0%% and at most 100%%)", what, show(n))
		return 0, false
	}
	return v, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fmtDur prints a duration the way a user writes one: 1m rather than
// time.Duration's 1m0s.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
