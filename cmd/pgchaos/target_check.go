package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/internal/term"
	"github.com/pgchaos/pgchaos/runner"
	"github.com/pgchaos/pgchaos/target"
)

var targetCheckCmd = command{
	summary: "preflight a target: replication, topology, what can be measured and done",
	usage: `Usage: pgchaos target check [flags] FILE

Connects to each node of the target file (read-only sessions, read-only
queries: nothing is written), detects the replication in place (native
publications and subscriptions, pglogical; spock and pgactive are detected,
not measured), who subscribes to whom, the server versions and privileges,
asks the Docker engines about the named containers (the local engine, or
each node's docker_host: unix://PATH, tcp://HOST:PORT, or
ssh://[USER@]HOST[:PORT] through ssh -o BatchMode=yes … docker system
dial-stdio) and whether they have the network-tools image, asks the
HAProxy admin address whether it answers, and prints what a run would
measure and which faults it could inject, and why not.

FILE is a target file (nodes:, haproxy:) or a scenario with a target:
section. Passwords come from the DSN, PGPASSWORD or ~/.pgpass, and are
never shown: nodes appear as user@host:port/db.

Exits 0 when every node answered, 3 when one could not be reached, 2 for a
bad file.

Examples:
  pgchaos target check cluster.yaml
  PGPASSWORD=… pgchaos target check --format json cluster.yaml | jq .topology`,
	run: func(ctx context.Context, e *env, usage string, args []string) error {
		fs := flags(e, "target check", usage)
		format := fs.String("format", "table", "output format: table or json")
		if err := parse(fs, args); err != nil {
			return err
		}
		if err := oneOf("format", *format, "table", "json"); err != nil {
			return err
		}
		t, err := loadTarget(fs.Args())
		if err != nil {
			return err
		}
		r := runner.Preflight(ctx, t)
		if *format == "json" {
			if err := writeJSON(e.stdout, r); err != nil {
				return err
			}
		} else {
			writePreflight(e.stdout, r)
		}
		return unreached(r)
	},
}

// loadTarget reads the one target file a target command takes.
func loadTarget(args []string) (*target.Target, error) {
	if len(args) != 1 {
		return nil, exitcode.BadInputErr(fmt.Errorf("name one target file (got %d arguments)", len(args)))
	}
	return target.Load(args[0])
}

// unreached is the infrastructure error for nodes that did not answer.
func unreached(r target.Report) error {
	var names []string
	for _, n := range r.Facts.Nodes {
		if !n.Reached {
			names = append(names, n.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	return exitcode.InfraErr(fmt.Errorf("target check: %s not reached: check the DSN, the network and the password source (PGPASSWORD, ~/.pgpass)", strings.Join(names, ", ")))
}

// writePreflight prints the report for a person: the nodes, the topology,
// the faults and the measures, each "no" with its reason.
func writePreflight(w io.Writer, r target.Report) {
	esc := term.Escape
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tENDPOINT\tVERSION\tREPLICATION\tUSER\tCONTAINER")
	for _, n := range r.Facts.Nodes {
		if !n.Reached {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\n", esc(n.Name), esc(n.Endpoint))
			continue
		}
		engines := "none"
		if len(n.Engines) > 0 {
			engines = strings.Join(n.Engines, ", ")
		}
		priv := "not superuser"
		if n.Superuser {
			priv = "superuser"
		}
		ctr := n.Container.State
		if n.Container.Name != "" {
			ctr = n.Container.Name + ": " + ctr
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s (%s)\t%s\n", esc(n.Name), esc(n.Endpoint), esc(n.Version), engines, esc(n.User), priv, esc(ctr))
	}
	tw.Flush()
	for _, n := range r.Facts.Nodes {
		if n.Error != "" {
			fmt.Fprintf(w, "  %s: %s\n", esc(n.Name), esc(n.Error))
		}
		for _, p := range n.Problems {
			fmt.Fprintf(w, "  %s: %s\n", esc(n.Name), esc(p))
		}
		if n.ConninfoHidden {
			fmt.Fprintf(w, "  %s: may not read subscriptions' connection strings: matched by slot name only\n", esc(n.Name))
		}
	}

	fmt.Fprintln(w, "\nTopology (who subscribes to whom):")
	if len(r.Topology) == 0 {
		fmt.Fprintln(w, "  no subscriptions found")
	}
	for _, e := range r.Topology {
		state := "enabled"
		if !e.Enabled {
			state = "disabled"
		}
		if e.Publisher == "" {
			fmt.Fprintf(w, "  %s <- ?  (%s %s, %s): %s\n", esc(e.Subscriber), e.Engine, esc(e.Subscription), state, esc(e.MatchedBy))
			continue
		}
		fmt.Fprintf(w, "  %s <- %s  (%s subscription %s, %s; matched by %s)\n", esc(e.Subscriber), esc(e.Publisher), e.Engine, esc(e.Subscription), state, e.MatchedBy)
	}
	if h := r.Facts.HAProxy; h.Address != "" || h.Admin != "" {
		fmt.Fprintf(w, "\nHAProxy: address %s %s, admin %s %s\n", esc(orDash(h.Address)), answered(h.Address, h.AddressOK, h.AddressError),
			esc(orDash(h.Admin)), answered(h.Admin, h.AdminOK, h.AdminError))
		if d := target.DescribeServers(h); d != "" {
			fmt.Fprintf(w, "  %s\n", esc(d))
		}
	}

	fmt.Fprintln(w, "\nFaults:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range r.Capabilities {
		line := c.Status()
		if len(c.Can) > 0 && len(c.Cannot) > 0 {
			line += " (on " + strings.Join(c.Can, ", ") + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.Fault, line, esc(reasons(c.Cannot)))
	}
	tw.Flush()

	fmt.Fprintln(w, "\nMeasured:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, m := range r.Measures {
		line := m.Status
		if len(m.Nodes) > 0 && len(m.Reasons) > 0 {
			line += " (on " + strings.Join(m.Nodes, ", ") + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", m.Name, line, esc(reasons(m.Reasons)))
	}
	tw.Flush()
}

// reasons joins per-node reasons, one reason once: "east, west: no container named".
func reasons(rs []target.NodeReason) string {
	var order []string
	by := map[string][]string{}
	for _, r := range rs {
		if _, ok := by[r.Reason]; !ok {
			order = append(order, r.Reason)
		}
		by[r.Reason] = append(by[r.Reason], r.Node)
	}
	parts := make([]string, len(order))
	for i, why := range order {
		parts[i] = strings.Join(by[why], ", ") + ": " + why
	}
	return strings.Join(parts, "; ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func answered(addr string, ok bool, why string) string {
	switch {
	case addr == "":
		return ""
	case ok:
		return "(answers)"
	}
	return "(no answer: " + why + ")"
}
