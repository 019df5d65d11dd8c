package main

import (
	"context"
	"fmt"
	"time"

	"github.com/olekukonko/tablewriter"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/internal/term"
	"github.com/pgchaos/pgchaos/lab"
)

var labStatusCmd = command{
	summary: "show a lab's nodes, replication and HAProxy backends",
	usage: `Usage: pgchaos lab status [flags]

Shows each node's container state, address, PostgreSQL version, its
subscriptions, one per peer (enabled, worker running, last message), bytes
behind in each direction between every two nodes, HAProxy's backend states, every fault the fault ledger still
holds unhealed (with when it was injected: a pgchaos killed mid-fault leaves
them in force; "pgchaos lab heal" heals them), and a warning in plain words
when a subscription is failing (with the error and the LSN to skip).

Examples:
  pgchaos lab status
  pgchaos lab status --name demo17 --format json`,
	run: func(ctx context.Context, e *env, usage string, args []string) error {
		fs := flags(e, "lab status", usage)
		name := labNameFlag(fs)
		format := fs.String("format", "table", "output: table or json")
		if err := parse(fs, args); err != nil {
			return err
		}
		if err := noArgs(fs, "lab status"); err != nil {
			return err
		}
		if err := checkLabName("name", *name); err != nil {
			return err
		}
		if err := oneOf("format", *format, "table", "json"); err != nil {
			return err
		}
		l, err := lab.Open(ctx, *name)
		if err != nil {
			return err
		}
		defer l.Close()
		st := l.Status(ctx)
		faults.AddToStatus(&st, l, "")
		if *format == "json" {
			return writeJSON(e.stdout, st)
		}
		return renderStatus(e, st)
	},
}

// renderStatus prints st as tables. Every text that came from a server or
// a container (states, errors, names) is escaped: a subscription error
// quoting a row could otherwise hold escape sequences.
func renderStatus(e *env, st lab.Status) error {
	esc := term.Escape
	fmt.Fprintf(e.stdout, "lab %s (PostgreSQL %s, sequences %s%s)\n\n", esc(st.Name), esc(st.Postgres), esc(st.Sequences), esc(engineNote(st.Engine, st.Resolver)))
	t := tablewriter.NewTable(e.stdout)
	t.Header("node", "container", "state", "address", "version", "subscription", "enabled", "worker", "last message", "apply errors")
	for _, n := range st.Nodes {
		// One line per subscription; the node's own cells on its first.
		node := []any{esc(n.Name), esc(n.Container), esc(n.State), esc(n.Address), esc(n.ServerVersion)}
		if len(n.Subscriptions) == 0 {
			if err := t.Append(append(node, "-", "-", "-", "-", "-")...); err != nil {
				return err
			}
		}
		for i, s := range n.Subscriptions {
			last := "-"
			if s.LastMessage != nil {
				last = fmt.Sprintf("%s ago", time.Since(*s.LastMessage).Round(time.Millisecond))
			}
			worker := map[bool]string{true: "running", false: "NOT RUNNING"}[s.WorkerRunning]
			if s.State != "" {
				worker += " (" + s.State + ")"
			}
			var applyErrors any = s.ApplyErrors
			if s.ApplyErrorsUnknown != "" {
				applyErrors = "- (" + s.ApplyErrorsUnknown + ")"
			}
			row := node
			if i > 0 {
				row = []any{"", "", "", "", ""}
			}
			if err := t.Append(append(row, esc(s.Name), yesNo(s.Enabled), esc(worker), last, applyErrors)...); err != nil {
				return err
			}
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	t = tablewriter.NewTable(e.stdout)
	t.Header("replication", "bytes behind", "slot active", "wal status")
	for _, d := range st.Directions {
		behind := "unknown"
		if d.BytesBehind != nil {
			behind = fmt.Sprint(*d.BytesBehind)
		}
		t.Append(esc(d.From+" -> "+d.To), behind, yesNo(d.SlotActive), esc(d.WALStatus))
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	t = tablewriter.NewTable(e.stdout)
	t.Header("haproxy backend", "status", "check", "sessions")
	for _, b := range st.Proxy.Backends {
		t.Append(esc(b.Server), esc(b.Status), esc(b.Check), b.Sessions)
	}
	if err := t.Render(); err != nil {
		return err
	}
	if st.Proxy.Error != "" {
		fmt.Fprintf(e.stdout, "haproxy runtime API: %s\n", esc(st.Proxy.Error))
	}
	fmt.Fprintf(e.stdout, "haproxy %s (%s), stats %s\n", esc(st.Proxy.Address), esc(st.Proxy.State), esc(st.Proxy.StatsURL))
	if len(st.FaultsInForce) > 0 {
		fmt.Fprintln(e.stdout)
		if err := lab.WriteFaultsInForce(e.stdout, st, time.Now()); err != nil {
			return err
		}
	}
	if len(st.Warnings) > 0 {
		fmt.Fprintln(e.stdout)
		for _, w := range st.Warnings {
			fmt.Fprintln(e.stdout, "WARNING:", esc(w))
		}
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
