package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pgchaos/pgchaos/internal/inputfile"
)

// JSON writes r as indented JSON under schema pgchaos.report/v1, whatever
// r.Schema holds. It does not modify r. Lists the schema always carries
// (workloads, faults, assertions, …) are written as [] when empty, never
// null, so consumers can iterate them without a null check.
func JSON(w io.Writer, r *Report) error {
	if r == nil {
		return errors.New("write report JSON: no report (nil)")
	}
	c := normalized(r)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("write report JSON: %w", err)
	}
	return nil
}

// normalized returns a shallow copy of r with the schema set and the
// always-present lists non-nil; sections are copied before they change so
// the caller's report stays as it was.
func normalized(r *Report) *Report {
	c := *r
	c.Schema = Schema
	c.Workloads = nonNil(c.Workloads)
	c.Faults = nonNil(c.Faults)
	c.Assertions = nonNil(c.Assertions)
	if c.Lag != nil {
		l := *c.Lag
		l.Directions = nonNil(l.Directions)
		c.Lag = &l
	}
	if c.Divergence != nil {
		d := *c.Divergence
		d.Tables = nonNil(d.Tables)
		c.Divergence = &d
	}
	if c.Conflicts != nil {
		k := *c.Conflicts
		k.Counted = nonNil(k.Counted)
		k.Logged = nonNil(k.Logged)
		k.Stalls = nonNil(k.Stalls)
		c.Conflicts = &k
	}
	return &c
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// MaxReportSize is the largest report file Read takes. An hour's soak
// writes well under 1 MiB; a larger file is not a report.
const MaxReportSize = 64 << 20

// Read loads a report written by JSON. It refuses a file whose schema is
// not pgchaos.report/v1, naming the schema found and the one expected,
// and says where in the file malformed JSON is and which field holds a
// value the schema (docs/report.md) does not allow.
func Read(path string) (*Report, error) {
	b, err := readSchema(path, "report", Schema)
	if err != nil {
		return nil, err
	}
	if err := checkFields(b); err != nil {
		return nil, fmt.Errorf("read report %s: %w", path, err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("read report %s: %w", path, describeJSONError(b, err))
	}
	if err := checkDivergence(r.Divergence); err != nil {
		return nil, fmt.Errorf("read report %s: %w", path, err)
	}
	return &r, nil
}

// readSchema reads a JSON file of pgchaos's (what: "report",
// "comparison") and checks its schema field is want, saying what it found
// instead: another pgchaos schema (with the command that reads it), none,
// or an empty file.
func readSchema(path, what, want string) ([]byte, error) {
	b, err := inputfile.Read(path, what, MaxReportSize)
	if err != nil {
		return nil, err
	}
	// Editors on some systems start UTF-8 files with a byte order mark,
	// which JSON does not allow; it carries no meaning, so it is dropped.
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("read %s %s: the file is empty: expected a pgchaos %s (JSON, schema %q)", what, path, what, want)
	}
	var head struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("read %s %s: %w", what, path, describeJSONError(b, err))
	}
	switch {
	case head.Schema == nil:
		return nil, fmt.Errorf("read %s %s: no \"schema\" field: not a pgchaos %s (expected schema %q)", what, path, what, want)
	case *head.Schema != want:
		return nil, fmt.Errorf("read %s %s: schema is %q, expected %q: it was written by another pgchaos version; re-render it with that version", what, path, *head.Schema, want)
	}
	return b, nil
}

// SchemaOf is the schema field of a pgchaos JSON file, "" when it has
// none or is not JSON: report show picks the reader by it.
func SchemaOf(path string) string {
	b, err := inputfile.Read(path, "report", MaxReportSize)
	if err != nil {
		return ""
	}
	var head struct {
		Schema string `json:"schema"`
	}
	json.Unmarshal(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), &head)
	return head.Schema
}

// ReadComparison loads a compare.json written by CompareJSON, refusing
// another schema as Read does, and the variants' reports beside it (each
// variant's Dir, relative to the file's folder): nil for a variant whose
// report is missing (it did not run, or was interrupted before one).
func ReadComparison(path string) (*Comparison, []*Report, error) {
	b, err := readSchema(path, "comparison", CompareSchema)
	if err != nil {
		return nil, nil, err
	}
	var c Comparison
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, nil, fmt.Errorf("read comparison %s: %w", path, describeJSONError(b, err))
	}
	reps := make([]*Report, len(c.Variants))
	for i, v := range c.Variants {
		if v.Dir == "" || filepath.IsAbs(v.Dir) || strings.HasPrefix(filepath.Clean(v.Dir), "..") {
			continue
		}
		rp := filepath.Join(filepath.Dir(path), v.Dir, "report.json")
		if _, err := os.Stat(rp); err != nil {
			continue
		}
		r, err := Read(rp)
		if err != nil {
			return nil, nil, fmt.Errorf("read comparison %s: variant %s: %w", path, v.Variant, err)
		}
		reps[i] = r
	}
	return &c, reps, nil
}

// describeJSONError adds the line and column to encoding/json's errors,
// which only know a byte offset, and the field to type mismatches.
func describeJSONError(b []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		if syn.Offset >= int64(len(bytes.TrimRight(b, " \t\r\n"))) {
			return fmt.Errorf("the JSON ends early (truncated file?): %w", err)
		}
		line, col := lineCol(b, syn.Offset)
		return fmt.Errorf("invalid JSON at line %d, column %d: %w", line, col, err)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		if typ.Field == "" {
			return fmt.Errorf("the top level is a JSON %s, expected an object (a pgchaos report, schema %q)", typ.Value, Schema)
		}
		line, col := lineCol(b, typ.Offset)
		return fmt.Errorf("field %q at line %d, column %d: want %s, got JSON %s: %w", typ.Field, line, col, typ.Type, typ.Value, err)
	}
	return err
}

// lineCol turns encoding/json's offset, the count of bytes read up to and
// including the offending one, into that byte's 1-based line and column.
func lineCol(b []byte, off int64) (line, col int) {
	off = min(max(off-1, 0), int64(len(b)))
	line = 1 + bytes.Count(b[:off], []byte("\n"))
	col = int(off) - bytes.LastIndexByte(b[:off], '\n')
	return line, col
}
