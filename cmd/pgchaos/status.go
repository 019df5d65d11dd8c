package main

import (
	"fmt"
	"time"

	"github.com/olekukonko/tablewriter"

	"github.com/pgchaos/pgchaos/lab"
)

func renderStatus(e *env, st lab.Status) error {
	fmt.Fprintf(e.stdout, "lab %s (PostgreSQL %s, sequences %s)\n\n", st.Name, st.Postgres, st.Sequences)
	t := tablewriter.NewTable(e.stdout)
	t.Header("node", "container", "state", "address", "version", "subscription", "enabled", "worker", "last message", "apply errors")
	for _, n := range st.Nodes {
		row := []any{n.Name, n.Container, n.State, n.Address, n.ServerVersion}
		if s := n.Subscription; s != nil {
			last := "-"
			if s.LastMessage != nil {
				last = fmt.Sprintf("%s ago", time.Since(*s.LastMessage).Round(time.Millisecond))
			}
			row = append(row, s.Name, yesNo(s.Enabled), map[bool]string{true: "running", false: "NOT RUNNING"}[s.WorkerRunning], last, s.ApplyErrors)
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
	if len(st.FaultsInForce) > 0 {
		fmt.Fprintln(e.stdout)
		if err := lab.WriteFaultsInForce(e.stdout, st, time.Now()); err != nil {
			return err
		}
	}
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
