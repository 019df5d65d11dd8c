package reports

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestJSONRoundTrip(t *testing.T) {
	want := fixture()
	var b bytes.Buffer
	if err := JSON(&b, want); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		var g bytes.Buffer
		_ = JSON(&g, got)
		t.Errorf("round trip changed the report\n--- wrote\n%s\n--- read back\n%s", b.String(), g.String())
	}
}

func TestJSONSetsSchemaAndEmptyListsWithoutChangingTheReport(t *testing.T) {
	r := &Report{Schema: "something/else", Conflicts: &Conflicts{}}
	var b bytes.Buffer
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m["schema"] != Schema {
		t.Errorf("schema %v, want %q", m["schema"], Schema)
	}
	for _, k := range []string{"workloads", "faults", "assertions"} {
		if v, ok := m[k].([]any); !ok || len(v) != 0 {
			t.Errorf("%s = %#v, want []", k, m[k])
		}
	}
	c := m["conflicts"].(map[string]any)
	for _, k := range []string{"counted", "logged", "stalls"} {
		if v, ok := c[k].([]any); !ok || len(v) != 0 {
			t.Errorf("conflicts.%s = %#v, want []", k, c[k])
		}
	}
	if _, ok := m["lag"]; ok {
		t.Error("an absent lag section was written; it must be omitted")
	}
	if r.Schema != "something/else" || r.Workloads != nil || r.Conflicts.Counted != nil {
		t.Error("JSON modified the caller's report")
	}
	if !strings.Contains(b.String(), "\n  \"schema\"") {
		t.Error("output is not indented")
	}
}

func TestDurationJSONIsMillisecondsAndRoundTripsExactly(t *testing.T) {
	for _, d := range []time.Duration{0, 290 * time.Microsecond, 1240 * time.Microsecond, 3*time.Second + 100*time.Millisecond, 15*time.Minute + time.Microsecond} {
		b, err := json.Marshal(Duration(d))
		if err != nil {
			t.Fatal(err)
		}
		var back Duration
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.D() != d {
			t.Errorf("%v: wrote %s, read back %v", d, b, back.D())
		}
	}
	b, _ := json.Marshal(Duration(1500 * time.Microsecond))
	if string(b) != "1.5" {
		t.Errorf("1.5ms marshals as %s, want 1.5", b)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path string
		want       []string // each must appear in the error
	}{
		{"missing file", filepath.Join(dir, "nope.json"), []string{"nope.json", "no such file"}},
		{"empty file", write("empty.json", "  \n"), []string{"empty.json", "empty", Schema}},
		{"not JSON", write("bad.json", "{\n  \"schema\": \"pgchaos.report/v1\",\n  oops\n}"), []string{"bad.json", "line 3, column 3"}},
		{"truncated", write("cut.json", `{"schema": "pgchaos.report/v1", "workloads": [`), []string{"cut.json", "ends early"}},
		{"no schema", write("other.json", `{"name": "x"}`), []string{"other.json", `no "schema" field`, Schema}},
		{"other schema", write("v2.json", `{"schema": "pgchaos.report/v2"}`), []string{"v2.json", `schema is "pgchaos.report/v2"`, `expected "pgchaos.report/v1"`}},
		{"wrong type", write("type.json", "{\"schema\": \"pgchaos.report/v1\",\n \"scenario\": {\"seed\": \"forty-two\"}}"), []string{"type.json", "scenario.seed", "line 2"}},
		{"not an object", write("array.json", `[1, 2]`), []string{"array.json", "top level is a JSON array", Schema}},
		{"bad duration", write("dur.json", `{"schema": "pgchaos.report/v1", "scenario": {"duration_ms": "1s"}}`), []string{"dur.json", "milliseconds"}},
		{"huge duration", write("huge.json", "{\"schema\": \"pgchaos.report/v1\",\n \"scenario\": {\"duration_ms\": 1e300}}"), []string{"huge.json", "field scenario.duration_ms at line 2, column 30", "1e300 ms is out of range"}},
		{"negative duration", write("neg.json", `{"schema": "pgchaos.report/v1", "workloads": [{}, {"latency": {"p99_ms": -3}}]}`), []string{"field workloads[1].latency.p99_ms", "-3 ms is out of range", "from 0 to"}},
		{"verdict maybe", write("maybe.json", `{"schema": "pgchaos.report/v1", "verdict": "maybe"}`), []string{"field verdict at line 1, column 44", `the string "maybe" is not a verdict`, `"pass", "fail" or "none"`}},
		{"time of the wrong type", write("time.json", `{"schema": "pgchaos.report/v1", "started_at": 5}`), []string{"field started_at", "want a time", "got the number 5"}},
		{"time that does not parse", write("time2.json", `{"schema": "pgchaos.report/v1", "conflicts": {"samples": [{"time": "yesterday"}]}}`), []string{"field conflicts.samples[0].time", `"yesterday" is not an RFC 3339 time`}},
		{"duration of the wrong type", write("durtype.json", `{"schema": "pgchaos.report/v1", "faults": [{"injected_at_ms": true}]}`), []string{"field faults[0].injected_at_ms", "got the boolean true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Read(tt.path)
			if err == nil {
				t.Fatalf("Read succeeded: %+v", r)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestReadTakesAByteOrderMark(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, fixture()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bom.json")
	if err := os.WriteFile(path, append([]byte("\xef\xbb\xbf"), b.Bytes()...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path); err != nil {
		t.Fatalf("a report starting with a UTF-8 byte order mark: %v", err)
	}
}

// TestCheckRulesMatchModel pins checkFields's rules to the model: every
// Duration field's JSON name ends in _ms and every time.Time field's name
// is in timeFields, so no duration or time escapes the range checks; and
// no other field's name ends in _ms or is a time field name.
func TestCheckRulesMatchModel(t *testing.T) {
	durType, timeType := reflect.TypeOf(Duration(0)), reflect.TypeOf(time.Time{})
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == timeType || seen[typ] {
			return
		}
		seen[typ] = true
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			isDur, isTime := ft == durType, ft == timeType
			if isDur != strings.HasSuffix(name, "_ms") {
				t.Errorf("%s.%s (json %q): a field's name ends in _ms exactly when it is a Duration", typ.Name(), f.Name, name)
			}
			if isTime != timeFields[name] {
				t.Errorf("%s.%s (json %q): timeFields must list exactly the time.Time fields", typ.Name(), f.Name, name)
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(Report{}))
}
