package reports

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// jsonFields lists, for every struct type of this package reachable from
// Report, the JSON names of its fields.
func jsonFields(t reflect.Type, into map[string][]string) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeFor[Report]().PkgPath() {
		return
	}
	if _, seen := into[t.Name()]; seen {
		return
	}
	into[t.Name()] = []string{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		into[t.Name()] = append(into[t.Name()], name)
		jsonFields(f.Type, into)
	}
}

// docFields reads a document such as docs/report.md: for each "## Type: …"
// section (any heading level), the
// field names of its "| field | type | unit | meaning |" table.
func docFields(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the report documentation: %v", err)
	}
	out := map[string][]string{}
	section, inTable := "", false
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "#"):
			section, inTable = "", false
			h := strings.TrimSpace(strings.TrimLeft(line, "#"))
			if typ, _, ok := strings.Cut(h, ":"); ok && !strings.Contains(typ, " ") {
				section = typ
				out[section] = nil
			}
		case strings.HasPrefix(line, "| field | type | unit | meaning |"):
			inTable = true
		case !strings.HasPrefix(line, "|"):
			inTable = false
		case inTable && section != "" && !strings.HasPrefix(line, "| ---"):
			cell := strings.TrimSpace(strings.Split(line, "|")[1])
			name := strings.Trim(cell, "`")
			if cell != "`"+name+"`" {
				t.Errorf("%s, section %s: first cell %q is not one `field`", path, section, cell)
				continue
			}
			out[section] = append(out[section], name)
		}
	}
	return out
}

// TestDocsDescribeEveryJSONField pins docs/report.md to model.go: each JSON
// field must be described under its type's section, and each described
// field must still exist, so neither can drift from the other.
func TestDocsDescribeEveryJSONField(t *testing.T) {
	model := map[string][]string{}
	jsonFields(reflect.TypeFor[Report](), model)
	docs := docFields(t, "../docs/report.md")
	if len(model) < 20 {
		t.Fatalf("found only %d model types: the reflection walk is broken", len(model))
	}
	for typ, fields := range model {
		documented, ok := docs[typ]
		if !ok {
			t.Errorf("docs/report.md has no section \"### %s: …\"", typ)
			continue
		}
		for _, f := range fields {
			if !slices.Contains(documented, f) {
				t.Errorf("docs/report.md, section %s: JSON field %q is not documented", typ, f)
			}
		}
		for _, f := range documented {
			if !slices.Contains(fields, f) {
				t.Errorf("docs/report.md, section %s: documents %q, which %s does not have", typ, f, typ)
			}
		}
	}
	for typ := range docs {
		if _, ok := model[typ]; !ok {
			t.Errorf("docs/report.md has a section for %s, which is not a type of the report", typ)
		}
	}
}
