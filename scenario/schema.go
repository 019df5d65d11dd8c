package scenario

import (
	"bytes"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/pgchaos/pgchaos/internal/inputfile"
)

// Schema is the scenario's schema: a file of the user's own DDL (tables,
// indexes, functions …). The lab runs it on every node, before it sets up
// replication, so the user's tables replicate like the lab's own.
type Schema struct {
	File string // as written in the scenario
	Path string // resolved against the scenario file's directory
	SQL  string // the file's text
	Pos  Pos    // where schema: names it
}

// MaxSchemaSize bounds a schema file: DDL for hundreds of tables fits in
// far less, and the whole file is sent to each node as one string.
const MaxSchemaSize = 4 << 20

// schema reads schema: FILE, relative to the scenario file's directory.
// The SQL itself is checked by the server when the lab applies it; an
// error there is reported at the schema file's line (see lab).
func (r *reader) schema(n *yaml.Node) *Schema {
	file, ok := r.str(n, "schema", maxPathLen)
	if !ok {
		return nil
	}
	path := file
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(r.file), file)
	}
	data, err := inputfile.Read(path, "schema", MaxSchemaSize)
	if err != nil {
		r.errorf(n, "schema: %v", err)
		return nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		r.errorf(n, "schema: %s is empty: give a file of CREATE TABLE … statements, or leave schema: out", file)
		return nil
	}
	return &Schema{File: file, Path: path, SQL: string(data), Pos: posOf(n)}
}
