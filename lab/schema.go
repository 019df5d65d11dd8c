package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgchaos/pgchaos/exitcode"
)

// Schema is the user's own DDL (a scenario's schema: file). The lab runs
// it, as written, on every node before it sets up replication: a native
// publication is FOR ALL TABLES, and pglogical's node step puts every
// table outside the system schemas into a replication set, so the user's
// tables replicate like the lab's own.
type Schema struct {
	File string // shown in messages and in the lab's label
	SQL  string
}

// Label identifies the schema on the lab's containers: the file's base
// name and the first 12 hex digits of its SHA-256, so a run that reuses a
// lab can tell whether it was built with the same DDL. "" for nil.
func (s *Schema) Label() string {
	if s == nil {
		return ""
	}
	sum := sha256.Sum256([]byte(s.SQL))
	return filepath.Base(s.File) + "@" + hex.EncodeToString(sum[:6])
}

// applySchema runs the user's DDL on one node, in one transaction (the
// simple protocol wraps a multi-statement string in one), so a failure
// leaves nothing half-made. The SQL is sent as written: no psql
// variables are substituted, unlike the lab's own files.
func (l *Lab) applySchema(ctx context.Context, node string) error {
	conn, err := l.Connect(ctx, node)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, l.schema.SQL); err != nil {
		return schemaError(l.schema, node, err)
	}
	return nil
}

// schemaError says where in the schema file the server stopped, as
// file:line:col when it gave a position, and makes it bad input (exit
// 2): the file is the user's to fix.
func schemaError(s *Schema, node string, err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return fmt.Errorf("schema %s on %s: %w", s.File, node, err)
	}
	where := s.File
	if pe.Position > 0 {
		line, col := lineCol(s.SQL, int(pe.Position))
		where = fmt.Sprintf("%s:%d:%d", s.File, line, col)
	}
	msg := fmt.Sprintf("%s: on %s: %s (SQLSTATE %s)", where, node, pe.Message, pe.Code)
	if pe.Hint != "" {
		msg += "; hint: " + pe.Hint
	}
	return exitcode.BadInputErr(errors.New(msg + ": fix the schema file; the lab applies it to every node before replication"))
}

// lineCol turns PostgreSQL's error position (1-based, in characters of
// the query string) into a 1-based line and column.
func lineCol(sql string, pos int) (line, col int) {
	line, col = 1, 1
	i := 1
	for _, r := range sql {
		if i == pos {
			return line, col
		}
		i++
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// SchemaMismatch says why a lab cannot serve a scenario with schema s: it
// was built with other DDL, or none. nil when it fits.
func (l *Lab) SchemaMismatch(s *Schema) error {
	want := s.Label()
	if l.Schema == want {
		return nil
	}
	have := l.Schema
	if have == "" {
		have = "no schema"
	}
	if want == "" {
		want = "no schema"
	}
	return exitcode.BadInputErr(fmt.Errorf("lab %s was built with %s, the scenario wants %s: run it on a fresh lab (leave --lab out) or rebuild this one (pgchaos lab down %s)", l.Name, have, want, l.Name))
}
