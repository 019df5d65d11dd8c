package runner

import (
	"testing"

	"github.com/pgchaos/pgchaos/reports"
)

func TestLogsNameConflictsFromPostgres18(t *testing.T) {
	cases := []struct {
		lab  reports.Lab
		want bool
	}{
		{reports.Lab{Postgres: "18", Nodes: []reports.Node{{ServerVersion: "18.6 (Debian 18.6-3)"}, {ServerVersion: "18.6"}}}, true},
		{reports.Lab{Postgres: "18", Nodes: []reports.Node{{ServerVersion: "18.6"}, {ServerVersion: "17.12"}}}, false},
		{reports.Lab{Postgres: "17", Nodes: []reports.Node{{}, {}}}, false},
		{reports.Lab{Postgres: "18", Nodes: []reports.Node{{}, {ServerVersion: "19rc1"}}}, false}, // unreadable: not assumed
		{reports.Lab{Postgres: "18"}, true},
		{reports.Lab{}, false},
	}
	for _, c := range cases {
		if got := logsNameConflicts(c.lab); got != c.want {
			t.Errorf("logsNameConflicts(%+v) = %v, want %v", c.lab, got, c.want)
		}
	}
}
