package scenario

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseVariant(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Variant
	}{
		{"native", Variant{Name: "native", Engine: "native"}},
		{"pglogical", Variant{Name: "pglogical", Engine: "pglogical"}},
		{"pglogical:keep_local", Variant{Name: "pglogical:keep_local", Engine: "pglogical", Resolver: "keep_local"}},
		{" nodes=3 ", Variant{Name: "nodes=3", Nodes: 3}},
		{"pglogical:last_update_wins+nodes=5", Variant{Name: "pglogical:last_update_wins+nodes=5", Engine: "pglogical", Resolver: "last_update_wins", Nodes: 5}},
		{"postgres=17+native", Variant{Name: "postgres=17+native", Engine: "native", Postgres: "17"}},
		{"sequences=serial + pglogical:error", Variant{Name: "sequences=serial + pglogical:error", Engine: "pglogical", Resolver: "error", Sequences: "serial"}},
		{"postgres=19+retain_dead_tuples=true", Variant{Name: "postgres=19+retain_dead_tuples=true", Postgres: "19", Retain: "true"}},
		{"retain_dead_tuples=false", Variant{Name: "retain_dead_tuples=false", Retain: "false"}},
	} {
		got, err := ParseVariant(tc.in)
		if err != nil {
			t.Errorf("ParseVariant(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseVariant(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseVariantRejects(t *testing.T) {
	for _, tc := range []struct{ in, says string }{
		{"", "empty variant"},
		{"nodes=three", `"three" is not a whole number`},
		{"nodes=", `"" is not a whole number`},
		{"nodes=1", "2 to 5 primaries"},
		{"nodes=6", "2 to 5 primaries"},
		{"pglogical:keep_locl", `"keep_locl" is not a pglogical conflict resolver`},
		{"pglogical:", `"" is not a pglogical conflict resolver`},
		{"native:keep_local", "native replication has no resolver"},
		{"bdr", "unknown term"},
		{"native+pglogical", "both set the replication engine"},
		{"nodes=3+nodes=4", "both set the number of nodes"},
		{"native++nodes=3", "empty term"},
		{"native+", "empty term"},
		{"postgres=16", `"16" is not a supported PostgreSQL major version`},
		{"sequences=random", `"random" is not a sequence mode`},
		{"resolver=keep_local", "name the engine as a term of its own"},
		{"cpus=2", `unknown setting "cpus"`},
		{strings.Repeat("native+", 30), "bytes long"},
	} {
		_, err := ParseVariant(tc.in)
		if err == nil {
			t.Errorf("ParseVariant(%q) = nil error, want one saying %q", tc.in, tc.says)
			continue
		}
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ParseVariant(%q) = %q, want it to say %q", tc.in, err, tc.says)
		}
	}
}

func TestParseVariantsList(t *testing.T) {
	vs, err := ParseVariants("native,pglogical:last_update_wins,pglogical:keep_local,nodes=3")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range vs {
		names = append(names, v.Name)
	}
	if got := strings.Join(names, " "); got != "native pglogical:last_update_wins pglogical:keep_local nodes=3" {
		t.Errorf("names in order: %s", got)
	}
	for _, tc := range []struct{ in, says string }{
		{"native", "at least two variants, 1 given"},
		{"native,native", `variant "native" is listed twice`},
		{"native+nodes=3,nodes=3+native", "ask for the same lab"},
		{"native,,pglogical", "empty variant"},
		{"native,nodes=x", `"x" is not a whole number`},
		{strings.Repeat("native,", MaxVariants) + "pglogical", "listed twice"},
	} {
		if _, err := ParseVariants(tc.in); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ParseVariants(%q) = %v, want an error saying %q", tc.in, err, tc.says)
		}
	}
}

func TestVariantApplyKeepsWhatItDoesNotName(t *testing.T) {
	base := LabSpec{Postgres: "17", Sequences: "uuid", Engine: "pglogical", Resolver: "keep_local"}
	for _, tc := range []struct {
		variant string
		want    LabSpec
	}{
		{"nodes=3", LabSpec{Postgres: "17", Sequences: "uuid", Engine: "pglogical", Resolver: "keep_local", Nodes: 3}},
		{"native", LabSpec{Postgres: "17", Sequences: "uuid", Engine: "native"}},
		{"pglogical", LabSpec{Postgres: "17", Sequences: "uuid", Engine: "pglogical"}},
		{"postgres=18+sequences=serial", LabSpec{Postgres: "18", Sequences: "serial", Engine: "pglogical", Resolver: "keep_local"}},
	} {
		v, err := ParseVariant(tc.variant)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Apply(base); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s applied: %+v, want %+v", tc.variant, got, tc.want)
		}
	}
}

func TestScenarioVariants(t *testing.T) {
	sc, err := Parse("c.yaml", []byte(`duration: 10s
workloads: [{kind: insert}]
variants: [native, "pglogical:keep_local+nodes=3"]
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Variants) != 2 || sc.Variants[1].Resolver != "keep_local" || sc.Variants[1].Nodes != 3 {
		t.Fatalf("variants: %+v", sc.Variants)
	}
	if c := sc.WithVariant(sc.Variants[1]); c.Lab.Engine != "pglogical" || sc.Lab.Engine != "" {
		t.Errorf("WithVariant: copy %+v, original %+v", c.Lab, sc.Lab)
	}
}

// A bad variant in the file is reported at its entry, file:line:col, like
// every other scenario error.
func TestScenarioVariantErrorsArePlaced(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"duration: 10s\nworkloads: [{kind: insert}]\nvariants:\n  - native\n  - nodes=lots\n",
			`v.yaml:5:5: variants[1]: variant "nodes=lots": nodes=lots: "lots" is not a whole number`},
		{"duration: 10s\nworkloads: [{kind: insert}]\nvariants: [native, native]\n",
			`v.yaml:3:20: variants[1]: variant "native" is listed twice`},
		{"duration: 10s\nworkloads: [{kind: insert}]\nvariants: [native]\n",
			`v.yaml:3:11: variants: a comparison needs at least two variants, 1 given`},
		{"duration: 10s\nworkloads: [{kind: insert}]\nvariants: native\n",
			`v.yaml:3:11: variants must be a list`},
		{"duration: 10s\nworkloads: [{kind: insert}]\nvariants: [native, {engine: pglogical}]\n",
			`v.yaml:3:20: variants[1]`},
	} {
		_, err := Parse("v.yaml", []byte(tc.yaml))
		var es Errors
		if !errors.As(err, &es) {
			t.Fatalf("%q: error %v, want Errors", tc.yaml, err)
		}
		if !strings.HasPrefix(es[0].Error(), tc.want) {
			t.Errorf("got  %s\nwant %s…", es[0], tc.want)
		}
	}
}

// A variant may turn retain_dead_tuples on or off; the lab it leaves must
// still be one that can retain (PostgreSQL 19, native), else the file is
// refused at its lab: before any lab is built.
func TestVariantRetainDeadTuples(t *testing.T) {
	if _, err := ParseVariant("retain_dead_tuples=yes"); err == nil || !strings.Contains(err.Error(), `"yes" is not true or false`) {
		t.Errorf("retain_dead_tuples=yes: %v", err)
	}
	file := "duration: 10s\nlab: {postgres: \"19\", retain_dead_tuples: true}\nworkloads: [{kind: insert}]\n"
	for _, tc := range []struct {
		variant string
		retain  bool
		err     string
	}{
		{"native", true, ""},
		{"retain_dead_tuples=false", false, ""},
		{"postgres=18", false, `r.yaml:2:1: variant "postgres=18": retain_dead_tuples needs PostgreSQL 19, and this variant runs 18`},
		{"postgres=18+retain_dead_tuples=false", false, ""},
		{"pglogical", false, `r.yaml:2:1: variant "pglogical": retain_dead_tuples is an option of native subscriptions`},
	} {
		v, err := ParseVariant(tc.variant)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ParseAs("r.yaml", []byte(file), v)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.variant, err)
		case tc.err == "" && s.Lab.RetainDeadTuples != tc.retain:
			t.Errorf("%s: retain %v, want %v", tc.variant, s.Lab.RetainDeadTuples, tc.retain)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want %q", tc.variant, err, tc.err)
		}
	}
	// Turned on where the file has 18: refused the same way.
	v, _ := ParseVariant("retain_dead_tuples=true")
	if _, err := ParseAs("r.yaml", []byte("duration: 10s\nworkloads: [{kind: insert}]\n"), v); err == nil || !strings.Contains(err.Error(), "r.yaml:1:1: variant \"retain_dead_tuples=true\": retain_dead_tuples needs PostgreSQL 19") {
		t.Errorf("retain on 18: %v", err)
	}
}
