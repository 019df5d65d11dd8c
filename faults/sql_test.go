package faults_test

import (
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// TestKillSessionsFindsTheWorkloadsByName pins the naming kill-sessions
// relies on: every workload session carries the prefix, and the
// observer's name does not.
func TestKillSessionsFindsTheWorkloadsByName(t *testing.T) {
	for _, target := range []string{lab.Primary1, lab.Primary2, "haproxy"} {
		if name := workload.ApplicationName(target); !strings.HasPrefix(name, faults.WorkloadAppPrefix) {
			t.Errorf("workload.ApplicationName(%q) = %q: kill-sessions ends sessions named %s… only", target, name, faults.WorkloadAppPrefix)
		}
	}
	if strings.HasPrefix("pgchaos-observer", faults.WorkloadAppPrefix) {
		t.Errorf("the observer's sessions would be ended by kill-sessions")
	}
}

// TestSQLFaultsRoundTripTheLedgerSpec pins that an SQL fault re-created
// from its ledger spec alone is the same fault: kind, node, table, mode.
func TestSQLFaultsRoundTripTheLedgerSpec(t *testing.T) {
	specs := []scenario.Fault{
		{Kind: scenario.FaultDisableSubscription, Node: lab.Primary1},
		{Kind: scenario.FaultKillWalsender, Node: lab.Primary2},
		{Kind: scenario.FaultKillApplyWorker, Node: lab.Primary1},
		{Kind: scenario.FaultKillSessions, Node: lab.Primary2},
		{Kind: scenario.FaultLockRows, Node: lab.Primary1, Table: "pgchaos_counter", Mode: scenario.LockTable},
	}
	for _, sp := range specs {
		f, err := faults.NewSQL(nil, faults.SpecOf(sp).Fault())
		if err != nil {
			t.Fatalf("%s: %v", sp.Kind, err)
		}
		got := f.(faults.Specced).Spec()
		if got.Kind != sp.Kind || got.Node != sp.Node || got.Table != sp.Table || got.Mode != sp.Mode {
			t.Errorf("re-created %+v, want %+v", got, sp)
		}
	}
	if f, err := faults.NewSQL(nil, scenario.Fault{Kind: scenario.FaultLockRows, Node: lab.Primary1}); err == nil {
		t.Errorf("lock-rows without a table made %v, want an error", f)
	}
	if f, err := faults.NewSQL(nil, scenario.Fault{Kind: scenario.FaultStop, Node: lab.Primary1}); err == nil {
		t.Errorf("NewSQL made %v of a stop, want an error", f)
	}
}
