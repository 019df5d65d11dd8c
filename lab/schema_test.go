package lab

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgchaos/pgchaos/exitcode"
)

func TestSchemaLineCol(t *testing.T) {
	sql := "CREATE TABLE a (id int);\n-- é comment\nCREATE TABEL b;\n"
	// PostgreSQL counts characters, not bytes: "é" is one.
	before := len([]rune("CREATE TABLE a (id int);\n-- é comment\nCREATE "))
	line, col := lineCol(sql, before+1)
	if line != 3 || col != 8 {
		t.Errorf("lineCol = %d:%d, want 3:8", line, col)
	}
	if line, col := lineCol(sql, 1); line != 1 || col != 1 {
		t.Errorf("lineCol(1) = %d:%d", line, col)
	}
}

func TestSchemaError(t *testing.T) {
	s := &Schema{File: "app.sql", SQL: "CREATE TABLE a (id int);\nCREATE TABEL b;\n"}
	err := schemaError(s, Primary2, &pgconn.PgError{Code: "42601", Message: `syntax error at or near "TABEL"`, Position: 33})
	if got := err.Error(); !strings.HasPrefix(got, `app.sql:2:8: on primary2: syntax error at or near "TABEL" (SQLSTATE 42601)`) {
		t.Errorf("err = %q", got)
	}
	if exitcode.Of(err) != exitcode.BadInput {
		t.Errorf("exit code %d, want %d", exitcode.Of(err), exitcode.BadInput)
	}
	// Without a position, the file alone.
	err = schemaError(s, Primary1, &pgconn.PgError{Code: "42P07", Message: `relation "a" already exists`})
	if got := err.Error(); !strings.HasPrefix(got, `app.sql: on primary1: relation "a" already exists`) {
		t.Errorf("err = %q", got)
	}
	if err := schemaError(s, Primary1, errors.New("conn closed")); exitcode.Of(err) == exitcode.BadInput {
		t.Errorf("a lost connection is not the file's fault: %v", err)
	}
}

func TestSchemaLabel(t *testing.T) {
	a := &Schema{File: "dir/app.sql", SQL: "CREATE TABLE a (id int);"}
	b := &Schema{File: "other/app.sql", SQL: "CREATE TABLE b (id int);"}
	if a.Label() == b.Label() || !strings.HasPrefix(a.Label(), "app.sql@") || len(a.Label()) != len("app.sql@")+12 {
		t.Errorf("labels %q, %q", a.Label(), b.Label())
	}
	var none *Schema
	if none.Label() != "" {
		t.Errorf("nil label %q", none.Label())
	}
	l := &Lab{Name: "x", Schema: a.Label()}
	if err := l.SchemaMismatch(a); err != nil {
		t.Errorf("same schema: %v", err)
	}
	if err := l.SchemaMismatch(b); err == nil || !strings.Contains(err.Error(), "lab x was built with "+a.Label()) {
		t.Errorf("other schema: %v", err)
	}
	if err := l.SchemaMismatch(nil); err == nil || !strings.Contains(err.Error(), "wants no schema") {
		t.Errorf("no schema: %v", err)
	}
}
