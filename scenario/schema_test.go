package scenario

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSchema(t *testing.T) {
	dir := sqlDir(t, map[string]string{
		"app.sql":   "CREATE SCHEMA app;\nCREATE TABLE app.orders (id bigint PRIMARY KEY, total numeric);\n",
		"empty.sql": " \n\t\n",
	})
	file := filepath.Join(dir, "s.yaml")
	s, err := Parse(file, []byte("schema: app.sql\nduration: 5s\nworkloads: [{kind: insert}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Schema == nil || s.Schema.File != "app.sql" || s.Schema.Path != filepath.Join(dir, "app.sql") ||
		!strings.Contains(s.Schema.SQL, "app.orders") || s.Schema.Pos != (Pos{Line: 1, Col: 9}) {
		t.Fatalf("Schema = %+v", s.Schema)
	}
	if s, err := Parse(file, []byte("duration: 5s\nworkloads: [{kind: insert}]\n")); err != nil || s.Schema != nil {
		t.Fatalf("no schema: %+v, %v", s.Schema, err)
	}
	for _, tt := range []struct{ yaml, want string }{
		{"schema: missing.sql", "s.yaml:1:9: schema: "},
		{"schema: empty.sql", "s.yaml:1:9: schema: empty.sql is empty"},
		{"schema: [a.sql]", "s.yaml:1:9: schema"},
	} {
		_, err := Parse(file, []byte(tt.yaml+"\nduration: 5s\nworkloads: [{kind: insert}]\n"))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.yaml, err, tt.want)
		}
	}
}
