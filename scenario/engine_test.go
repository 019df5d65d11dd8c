package scenario

import "testing"

// lab.engine and lab.resolver: the allowed values are listed, a resolver
// needs engine pglogical, and each error has its file:line:col.
func TestParseEngineAndResolver(t *testing.T) {
	bad := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown engine", "duration: 1s\nlab: {engine: bdr}\nworkloads: [{kind: insert}]\n", []string{
			`f.yaml:2:15: lab.engine: "bdr" is not a replication engine (allowed: native, pglogical)`,
		}},
		{"unknown resolver", "duration: 1s\nlab: {engine: pglogical, resolver: newest}\nworkloads: [{kind: insert}]\n", []string{
			`f.yaml:2:36: lab.resolver: "newest" is not a pglogical conflict resolver (allowed: last_update_wins, first_update_wins, apply_remote, keep_local, error)`,
		}},
		{"resolver without pglogical", "duration: 1s\nlab: {resolver: keep_local}\nworkloads: [{kind: insert}]\n", []string{
			`f.yaml:2:7: lab.resolver: keep_local is a pglogical setting and needs engine: pglogical (allowed engines: native, pglogical; native replication has no resolver)`,
		}},
		{"resolver with native", "duration: 1s\nlab:\n  engine: native\n  resolver: error\nworkloads: [{kind: insert}]\n", []string{
			`f.yaml:4:3: lab.resolver: error is a pglogical setting and needs engine: pglogical (allowed engines: native, pglogical; native replication has no resolver)`,
		}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.yaml))
			checkErrors(t, err, tt.want)
		})
	}
	good := []struct {
		yaml, engine, resolver string
	}{
		{"duration: 1s\nworkloads: [{kind: insert}]\n", "", ""},
		{"duration: 1s\nlab: {engine: native}\nworkloads: [{kind: insert}]\n", "native", ""},
		{"duration: 1s\nlab: {engine: pglogical}\nworkloads: [{kind: insert}]\n", "pglogical", ""},
		{"duration: 1s\nlab: {resolver: first_update_wins, engine: pglogical}\nworkloads: [{kind: insert}]\n", "pglogical", "first_update_wins"},
	}
	for _, tt := range good {
		s, err := Parse("f.yaml", []byte(tt.yaml))
		if err != nil {
			t.Errorf("%q: %v", tt.yaml, err)
			continue
		}
		if s.Lab.Engine != tt.engine || s.Lab.Resolver != tt.resolver {
			t.Errorf("%q: engine %q resolver %q, want %q %q", tt.yaml, s.Lab.Engine, s.Lab.Resolver, tt.engine, tt.resolver)
		}
	}
}

// lab.retain_dead_tuples: PostgreSQL 19's subscription option needs
// postgres "19" and the native engine; 19 has no pglogical. Each refusal
// points at the key with file:line:col.
func TestParseRetainDeadTuples(t *testing.T) {
	bad := []struct {
		name, yaml string
		want       []string
	}{
		{"on 18 by default", "duration: 1s\nlab: {retain_dead_tuples: true}\nworkloads: [{kind: insert}]\n", []string{
			`f.yaml:2:7: lab.retain_dead_tuples: needs postgres: "19" (the subscription option is new in PostgreSQL 19; this lab runs 18, the default)`,
		}},
		{"on 18", "duration: 1s\nlab:\n  postgres: 18\n  retain_dead_tuples: true\nworkloads: [{kind: insert}]\n", []string{
			`f.yaml:4:3: lab.retain_dead_tuples: needs postgres: "19" (the subscription option is new in PostgreSQL 19; this lab runs 18)`,
		}},
		{"with pglogical", "duration: 1s\nlab: {postgres: 18, engine: pglogical, retain_dead_tuples: true}\nworkloads: [{kind: insert}]\n", []string{
			`f.yaml:2:40: lab.retain_dead_tuples: an option of native subscriptions; it needs engine: native, not pglogical`,
		}},
		{"pglogical on 19", "duration: 1s\nlab: {postgres: \"19\", engine: pglogical}\nworkloads: [{kind: insert}]\n", []string{
			`f.yaml:2:7: lab.postgres: 19 has no pglogical (Debian has no postgresql-19-pglogical): use engine: native on 19, or postgres 18 or 17 with pglogical`,
		}},
		{"not a boolean", "duration: 1s\nlab: {postgres: 19, retain_dead_tuples: yes}\nworkloads: [{kind: insert}]\n", []string{
			`f.yaml:2:41: lab.retain_dead_tuples: "yes" is not true or false`,
		}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.yaml))
			checkErrors(t, err, tt.want)
		})
	}
	for _, tt := range []struct {
		yaml string
		want bool
	}{
		{"duration: 1s\nlab: {postgres: \"19\", retain_dead_tuples: true}\nworkloads: [{kind: insert}]\n", true},
		{"duration: 1s\nlab: {retain_dead_tuples: true, postgres: 19, engine: native}\nworkloads: [{kind: insert}]\n", true},
		{"duration: 1s\nlab: {postgres: 18, retain_dead_tuples: false}\nworkloads: [{kind: insert}]\n", false},
	} {
		s, err := Parse("f.yaml", []byte(tt.yaml))
		if err != nil {
			t.Errorf("%q: %v", tt.yaml, err)
			continue
		}
		if s.Lab.RetainDeadTuples != tt.want {
			t.Errorf("%q: RetainDeadTuples %v, want %v", tt.yaml, s.Lab.RetainDeadTuples, tt.want)
		}
	}
}
