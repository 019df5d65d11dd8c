package lab_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
)

// appSchema is a user's DDL: a table in a schema of its own, a public
// table without a primary key, and a function the table's default calls.
const appSchema = `CREATE SCHEMA app;
CREATE FUNCTION app.default_note() RETURNS text LANGUAGE sql AS $$ SELECT 'from ' || current_setting('cluster_name') $$;
CREATE TABLE app.orders (id bigint PRIMARY KEY, note text DEFAULT app.default_note());
CREATE TABLE audit_log (msg text);
`

// TestSchemaTablesReplicate builds a lab of each engine with the user's
// schema: its tables exist on both nodes before replication, and rows
// written to them on one node arrive on the other, in a schema other than
// public too.
func TestSchemaTablesReplicate(t *testing.T) {
	for _, engine := range []string{lab.EngineNative, lab.EnginePglogical} {
		t.Run(engine, func(t *testing.T) {
			l := labtest.Start(t, lab.WithEngine(engine, ""), lab.WithSchema(&lab.Schema{File: "app.sql", SQL: appSchema}))
			if !strings.HasPrefix(l.Schema, "app.sql@") {
				t.Errorf("lab.Schema = %q", l.Schema)
			}
			reopened, err := lab.Open(context.Background(), l.Name)
			if err != nil {
				t.Fatal(err)
			}
			defer reopened.Close()
			if reopened.Schema != l.Schema {
				t.Errorf("reopened lab's schema %q, built with %q", reopened.Schema, l.Schema)
			}
			p1, p2 := conn(t, l, lab.Primary1), conn(t, l, lab.Primary2)
			ctx := context.Background()
			if _, err := p1.Exec(ctx, "INSERT INTO app.orders (id) VALUES (1)"); err != nil {
				t.Fatal(err)
			}
			if _, err := p2.Exec(ctx, "INSERT INTO app.orders (id) VALUES (2)"); err != nil {
				t.Fatal(err)
			}
			waitCount(t, p2, 1, "SELECT count(*) FROM app.orders WHERE id = 1 AND note = 'from primary1'")
			waitCount(t, p1, 1, "SELECT count(*) FROM app.orders WHERE id = 2 AND note = 'from primary2'")
			// A table without a primary key replicates inserts (native: FOR
			// ALL TABLES; pglogical: its insert-only set).
			if _, err := p1.Exec(ctx, "INSERT INTO audit_log VALUES ('hello')"); err != nil {
				t.Fatal(err)
			}
			waitCount(t, p2, 1, "SELECT count(*) FROM audit_log WHERE msg = 'hello'")
		})
	}
}

// TestBadSchemaSaysWhereAndLeavesNothing: a schema the server refuses
// fails lab up with the file's line and column, exit 2, and no lab left.
func TestBadSchemaSaysWhereAndLeavesNothing(t *testing.T) {
	labtest.RequireDocker(t)
	cfg := labtest.Config(t)
	cfg.Schema = &lab.Schema{File: "bad.sql", SQL: "CREATE TABLE ok (id int PRIMARY KEY);\n\n  CREATE TABEL broken (id int);\n"}
	l, err := lab.Up(context.Background(), cfg)
	if err == nil {
		l.Close()
		labtest.Remove(t, cfg.Name)
		t.Fatal("lab up with a broken schema succeeded")
	}
	if !strings.Contains(err.Error(), `bad.sql:3:10: on primary1: syntax error at or near "TABEL"`) {
		t.Errorf("err = %v", err)
	}
	if exitcode.Of(err) != exitcode.BadInput {
		t.Errorf("exit code %d, want %d", exitcode.Of(err), exitcode.BadInput)
	}
	assertNothingLeft(t, cfg.Name)
}
