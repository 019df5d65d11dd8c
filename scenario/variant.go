package scenario

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pgchaos/pgchaos/node"
)

// Variant is one way to build the lab that `pgchaos compare` runs a
// scenario on: a few lab settings that override the scenario's lab:
// section. A setting the variant does not name keeps the scenario's value.
//
// A variant is written as terms joined by "+" (docs/compare.md):
//
//	native                  native logical replication
//	pglogical               pglogical, its default resolver
//	pglogical:<resolver>    pglogical with last_update_wins, first_update_wins, apply_remote, keep_local or error
//	nodes=<n>               n primaries (2 to 5)
//	postgres=<major>        PostgreSQL 18, 17 or 19 (19: no pglogical)
//	sequences=<mode>        interleaved, serial or uuid
//	retain_dead_tuples=<b>  true or false: native subscriptions WITH (retain_dead_tuples) (PostgreSQL 19)
//
// e.g. "pglogical:keep_local+nodes=3".
type Variant struct {
	Name      string // as written (spaces trimmed): the variant's label in every view
	Engine    string // "native" or "pglogical"; "" keeps the scenario's engine and resolver
	Resolver  string // with Engine "pglogical": the resolver asked for; "" its default
	Nodes     int    // 0 keeps the scenario's
	Postgres  string // "" keeps the scenario's
	Sequences string // "" keeps the scenario's
	// Retain is "true" or "false" for lab.retain_dead_tuples; "" keeps the
	// scenario's.
	Retain string
}

// MaxVariants bounds how many variants one comparison runs: each builds a
// lab and runs the whole scenario, one after another.
const MaxVariants = 16

// maxVariantLen bounds a variant's text, in bytes; the longest useful one
// ("pglogical:first_update_wins+nodes=5+postgres=17+sequences=interleaved")
// is 70.
const maxVariantLen = 128

// variantTerms is what a term can start with, in the order messages list them.
var variantTerms = []string{"native", "pglogical", "pglogical:<resolver>", "nodes=<n>", "postgres=<major>", "sequences=<mode>", "retain_dead_tuples=<true|false>"}

// ParseVariant reads one variant such as "pglogical:keep_local+nodes=3".
// Its error says what is wrong and what is allowed; it does not name a
// place (the caller knows whether the text came from a flag or a file).
func ParseVariant(s string) (Variant, error) {
	s = strings.TrimSpace(s)
	v := Variant{Name: s}
	switch {
	case s == "":
		return v, errors.New("empty variant: name one, e.g. native, pglogical:keep_local or nodes=3")
	case len(s) > maxVariantLen:
		return v, fmt.Errorf("variant %.20q… is %d bytes long: at most %d are allowed", s, len(s), maxVariantLen)
	}
	seen := map[string]string{} // setting -> the term that set it
	for _, raw := range strings.Split(s, "+") {
		term := strings.TrimSpace(raw)
		if term == "" {
			return v, fmt.Errorf("variant %q: an empty term (two + in a row, or + at an end): join terms with one +, e.g. pglogical:keep_local+nodes=3", s)
		}
		setting, err := v.term(term)
		if err != nil {
			return v, fmt.Errorf("variant %q: %w", s, err)
		}
		if prev, dup := seen[setting]; dup {
			return v, fmt.Errorf("variant %q: %s and %s both set the %s: keep one", s, prev, term, setting)
		}
		seen[setting] = term
	}
	return v, nil
}

// term applies one term to v and returns the setting it sets.
func (v *Variant) term(t string) (string, error) {
	if key, val, ok := strings.Cut(t, "="); ok {
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "nodes":
			n, err := strconv.Atoi(val)
			if err != nil {
				return "", fmt.Errorf("%s: %q is not a whole number: write nodes=%d to nodes=%d", t, val, node.MinPrimaries, node.MaxPrimaries)
			}
			if n < node.MinPrimaries || n > node.MaxPrimaries {
				return "", fmt.Errorf("%s: a lab has %d to %d primaries", t, node.MinPrimaries, node.MaxPrimaries)
			}
			v.Nodes = n
			return "number of nodes", nil
		case "postgres":
			if !contains(postgresVers, val) {
				return "", fmt.Errorf("%s: %q is not a supported PostgreSQL major version (allowed: %s)", t, val, strings.Join(postgresVers, ", "))
			}
			v.Postgres = val
			return "PostgreSQL version", nil
		case "sequences":
			if !contains(sequenceKinds, val) {
				return "", fmt.Errorf("%s: %q is not a sequence mode (allowed: %s)", t, val, strings.Join(sequenceKinds, ", "))
			}
			v.Sequences = val
			return "sequence mode", nil
		case "retain_dead_tuples":
			if val != "true" && val != "false" {
				return "", fmt.Errorf("%s: %q is not true or false", t, val)
			}
			v.Retain = val
			return "retain_dead_tuples option", nil
		case "engine", "resolver":
			return "", fmt.Errorf("%s: name the engine as a term of its own: native, pglogical or pglogical:<resolver>", t)
		}
		return "", fmt.Errorf("%s: unknown setting %q (a term is one of: %s)", t, key, strings.Join(variantTerms, ", "))
	}
	engine, resolver, hasResolver := strings.Cut(t, ":")
	switch engine {
	case "native":
		if hasResolver {
			return "", fmt.Errorf("%s: native replication has no resolver (resolvers are pglogical's: pglogical:%s)", t, strings.Join(resolverKinds, ", pglogical:"))
		}
	case "pglogical":
		if hasResolver && !contains(resolverKinds, resolver) {
			return "", fmt.Errorf("%s: %q is not a pglogical conflict resolver (allowed: %s)", t, resolver, strings.Join(resolverKinds, ", "))
		}
		v.Resolver = resolver
	default:
		return "", fmt.Errorf("%s: unknown term (a term is one of: %s)", t, strings.Join(variantTerms, ", "))
	}
	v.Engine = engine
	return "replication engine", nil
}

// ParseVariants reads a comma-separated list of variants, as --variants
// takes it. Every variant must parse and none may repeat another.
func ParseVariants(list string) ([]Variant, error) {
	var out []Variant
	for _, s := range strings.Split(list, ",") {
		v, err := ParseVariant(s)
		if err != nil {
			return nil, err
		}
		if err := distinct(out, v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := countVariants(len(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// distinct checks that v asks for something no variant in vs asks for.
func distinct(vs []Variant, v Variant) error {
	for _, o := range vs {
		if o.settings() == v.settings() {
			if o.Name == v.Name {
				return fmt.Errorf("variant %q is listed twice", v.Name)
			}
			return fmt.Errorf("variants %q and %q ask for the same lab: keep one", o.Name, v.Name)
		}
	}
	return nil
}

func countVariants(n int) error {
	switch {
	case n < 2:
		return fmt.Errorf("a comparison needs at least two variants, %d given (e.g. native,pglogical:keep_local)", n)
	case n > MaxVariants:
		return fmt.Errorf("%d variants: at most %d are allowed (each builds a lab and runs the whole scenario)", n, MaxVariants)
	}
	return nil
}

// settings is v without its name, for spotting two spellings of one lab.
func (v Variant) settings() Variant {
	v.Name = ""
	return v
}

// Apply returns l with v's settings in place of the scenario's. Naming an
// engine sets the resolver with it: "native" drops a pglogical resolver the
// scenario named, "pglogical" alone asks for pglogical's default.
func (v Variant) Apply(l LabSpec) LabSpec {
	if v.Engine != "" {
		l.Engine, l.Resolver = v.Engine, v.Resolver
	}
	if v.Nodes != 0 {
		l.Nodes = v.Nodes
	}
	if v.Postgres != "" {
		l.Postgres = v.Postgres
	}
	if v.Sequences != "" {
		l.Sequences = v.Sequences
	}
	if v.Retain != "" {
		l.RetainDeadTuples = v.Retain == "true"
	}
	return l
}

// retainConflict says why a lab that retains dead tuples cannot be built
// as v leaves it (PostgreSQL 19 and native replication only), or "".
func (v Variant) retainConflict(l LabSpec) string {
	if !l.RetainDeadTuples {
		return ""
	}
	switch {
	case l.Engine == "pglogical":
		return fmt.Sprintf("variant %q: retain_dead_tuples is an option of native subscriptions, and this variant runs pglogical (add retain_dead_tuples=false to it, or drop pglogical)", v.Name)
	case l.Postgres != "19":
		return fmt.Sprintf("variant %q: retain_dead_tuples needs PostgreSQL 19, and this variant runs %s (add postgres=19, or retain_dead_tuples=false)", v.Name, cmp.Or(l.Postgres, "18, the default"))
	}
	return ""
}

// WithVariant returns a copy of s whose lab is v applied to s's lab.
func (s *Scenario) WithVariant(v Variant) *Scenario {
	c := *s
	c.Lab = v.Apply(s.Lab)
	return &c
}

// variants reads variants: a list of variant strings, each checked as
// --variants checks it, each error at its entry.
func (r *reader) variants(n *yaml.Node) []Variant {
	items, ok := r.list(n, "variants", "[native, pglogical:keep_local]", MaxVariants)
	if !ok {
		return nil
	}
	var out []Variant
	for i, it := range items {
		what := fmt.Sprintf("variants[%d]", i)
		text, ok := r.str(it, what, maxVariantLen)
		if !ok {
			continue
		}
		v, err := ParseVariant(text)
		if err == nil {
			err = distinct(out, v)
		}
		if err != nil {
			r.errorf(it, "%s: %v", what, err)
			continue
		}
		out = append(out, v)
	}
	if len(items) < 2 {
		r.errorf(n, "variants: %v", countVariants(len(items)))
	}
	return out
}
