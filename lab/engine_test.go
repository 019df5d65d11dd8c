package lab

import (
	"slices"
	"strings"
	"testing"
)

func TestConfigValidatesEngineAndResolver(t *testing.T) {
	for _, tc := range []struct {
		engine, resolver, wantErr, wantResolver string
	}{
		{"", "", "", ""},
		{"native", "", "", ""},
		{"pglogical", "", "", ResolverLastUpdateWins},
		{"pglogical", "error", "", "error"},
		{"x", "", `engine "x" is not known: use native or pglogical`, ""},
		{"pglogical", "newest", `resolver "newest" is not known: use one of last_update_wins, first_update_wins, apply_remote, keep_local, error`, ""},
		{"native", "keep_local", `resolver "keep_local" is a pglogical setting: it needs engine pglogical`, ""},
		{"", "keep_local", `resolver "keep_local" is a pglogical setting`, ""},
	} {
		c := New(WithEngine(tc.engine, tc.resolver))
		err := c.Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q/%q: %v", tc.engine, tc.resolver, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%q/%q: error %v, want %q", tc.engine, tc.resolver, err, tc.wantErr)
		case tc.wantErr == "" && c.Resolver != tc.wantResolver:
			t.Errorf("%q/%q: resolver %q, want %q", tc.engine, tc.resolver, c.Resolver, tc.wantResolver)
		}
	}
}

// pglogical must be preloaded and log its conflicts; the resolver is not
// on the command line, where it would outrank ALTER SYSTEM.
func TestPglogicalServerSettings(t *testing.T) {
	args := pgArgs("primary1", pglogical{}.Settings(ResolverKeepLocal)...)
	for _, want := range []string{"shared_preload_libraries=pglogical", "pglogical.conflict_log_level=LOG", "track_commit_timestamp=on"} {
		if !slices.Contains(args, want) {
			t.Errorf("server args lack %s: %v", want, args)
		}
	}
	for _, a := range args {
		if strings.HasPrefix(a, "pglogical.conflict_resolution") {
			t.Errorf("resolver on the command line: %s", a)
		}
	}
	if len(native{}.Settings("")) != 0 {
		t.Error("native needs no extra settings")
	}
}

func TestConfigValidatesPostgres19Settings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []Option
		wantErr string
	}{
		{"native 19", []Option{WithPostgres("19")}, ""},
		{"retain on 19", []Option{WithPostgres("19"), WithRetainDeadTuples(true)}, ""},
		{"pglogical on 19", []Option{WithPostgres("19"), WithEngine(EnginePglogical, "")}, "there is no pglogical for 19"},
		{"retain on 18", []Option{WithRetainDeadTuples(true)}, "retain_dead_tuples needs PostgreSQL 19"},
		{"retain on 17", []Option{WithPostgres("17"), WithRetainDeadTuples(true)}, "this lab asks for 17"},
		{"retain with pglogical", []Option{WithPostgres("19"), WithEngine(EnginePglogical, ""), WithRetainDeadTuples(true)}, "no pglogical for 19"},
		{"retain with pglogical on 18", []Option{WithEngine(EnginePglogical, ""), WithRetainDeadTuples(true)}, "it needs engine native"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(tc.opts...)
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
