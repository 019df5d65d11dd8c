package main

import (
	"context"
	"fmt"
	"time"

	"github.com/olekukonko/tablewriter"

	"github.com/pgchaos/pgchaos/lab"
)

var labStatusCmd = command{
	summary: "show a lab's nodes, replication and HAProxy backends",
	usage: `Usage: pgchaos lab status [flags]

Shows each node's container state, address, PostgreSQL version, its
subscription (enabled, worker running, last message), bytes behind in each
direction, HAProxy's backend states, and a warning in plain words when a
subscription is failing (with the error and the LSN to skip).

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
		if err := oneOf("format", *format, "table", "json"); err != nil {
			return err
		}
		l, err := lab.Open(ctx, *name)
		if err != nil {
			return err
		}
		defer l.Close()
		st := l.Status(ctx)
		if *format == "json" {
			return writeJSON(e.stdout, st)
		}
		return renderStatus(e, st)
	},
}

func renderStatus(e *env, st lab.Status) error {
	fmt.Fprintf(e.stdout, "lab %s (PostgreSQL %s, sequences %s%s)\n\n", st.Name, st.Postgres, st.Sequences, engineNote(st.Engine, st.Resolver))
	t := tablewriter.NewTable(e.stdout)
	t.Header("node", "container", "state", "address", "version", "subscription", "enabled", "worker", "last message", "apply errors")
	for _, n := range st.Nodes {
		row := []any{n.Name, n.Container, n.State, n.Address, n.ServerVersion}
		if s := n.Subscription; s != nil {
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
			row = append(row, s.Name, yesNo(s.Enabled), worker, last, applyErrors)
		} else {
			row = append(row, "-", "-", "-", "-", "-")
		}
		if err := t.Append(row...); err != nil {
			return err
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
		t.Append(d.From+" -> "+d.To, behind, yesNo(d.SlotActive), d.WALStatus)
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	t = tablewriter.NewTable(e.stdout)
	t.Header("haproxy backend", "status", "check", "sessions")
	for _, b := range st.Proxy.Backends {
		t.Append(b.Server, b.Status, b.Check, b.Sessions)
	}
	if err := t.Render(); err != nil {
		return err
	}
	if st.Proxy.Error != "" {
		fmt.Fprintf(e.stdout, "haproxy runtime API: %s\n", st.Proxy.Error)
	}
	fmt.Fprintf(e.stdout, "haproxy %s (%s), stats %s\n", st.Proxy.Address, st.Proxy.State, st.Proxy.StatsURL)
	if len(st.Warnings) > 0 {
		fmt.Fprintln(e.stdout)
		for _, w := range st.Warnings {
			fmt.Fprintln(e.stdout, "WARNING:", w)
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
