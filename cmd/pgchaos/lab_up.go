package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/internal/inputfile"
	"github.com/pgchaos/pgchaos/internal/term"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/node"
	"github.com/pgchaos/pgchaos/scenario"
)

// labFlags are the flags that describe a lab to build.
func labFlags(fs *pflag.FlagSet, cfg *lab.Config) {
	fs.StringVar(&cfg.Name, "name", lab.DefaultName, "lab name; every Docker object carries the label pgchaos.lab=NAME, so several labs can coexist")
	fs.StringVar(&cfg.Postgres, "postgres", "18", "PostgreSQL major version: 18, 17 or 19 (19: make images ARGS=postgres19)")
	fs.IntVar(&cfg.Nodes, "nodes", node.DefaultPrimaries, fmt.Sprintf("how many primaries, %d to %d: primary1 … primaryN, each subscribed to every other", node.MinPrimaries, node.MaxPrimaries))
	fs.StringVar(&cfg.Sequences, "sequences", lab.SeqInterleaved, "test_table ids: interleaved (primary i of n hands out i, i+n, …: odd on primary1, even on primary2), serial (the tutorial's; collides across nodes) or uuid")
	fs.StringVar(&cfg.Engine, "engine", lab.EngineNative, "replication engine: native (publications and subscriptions) or pglogical (needs an image with pglogical: make images)")
	fs.StringVar(&cfg.Resolver, "resolver", "", "pglogical's conflict resolver (engine pglogical only): "+strings.Join(lab.Resolvers, ", ")+" (default last_update_wins)")
	fs.BoolVar(&cfg.RetainDeadTuples, "retain-dead-tuples", false, "create the subscriptions WITH (retain_dead_tuples = true), so an update racing a delete counts as update_deleted (--postgres 19, engine native)")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1", "host address the lab's ports bind to; off loopback a password is required (see --password)")
	fs.StringVar(&cfg.Password, "password", "", "the superuser's password (default \"postgres\" on loopback; off loopback, one is generated and printed once unless given)")
	fs.IntVar(&cfg.Ports.Primary1, "port-primary1", lab.DefaultPortPrimary1, "host port of primary1")
	fs.IntVar(&cfg.Ports.Primary2, "port-primary2", lab.DefaultPortPrimary2, "host port of primary2")
	cfg.Ports.Rest = make([]int, node.MaxPrimaries-2)
	for i := 3; i <= node.MaxPrimaries; i++ {
		fs.IntVar(&cfg.Ports.Rest[i-3], "port-"+node.Primary(i), 0, fmt.Sprintf("host port of %s, with --nodes %d or more (default: the port of %s + 1)", node.Primary(i), i, node.Primary(i-1)))
	}
	fs.IntVar(&cfg.Ports.HAProxy, "port-haproxy", lab.DefaultPortHAProxy, "host port of HAProxy (PostgreSQL through the load balancer)")
	fs.IntVar(&cfg.Ports.Stats, "port-stats", lab.DefaultPortStats, "host port of the HAProxy stats page")
	fs.StringVar(&cfg.Images.Postgres, "postgres-image", "", "PostgreSQL image (default: postgres:VERSION if present or pullable, else pgchaos-local/postgres:VERSION from `make images`)")
	fs.StringVar(&cfg.Images.HAProxy, "haproxy-image", "", "HAProxy image (default: haproxy:3.2, else pgchaos-local/haproxy:3.2)")
	fs.DurationVar(&cfg.Timeout, "timeout", 90*time.Second, "how long to wait for each part to become ready")
	fs.BoolVar(&cfg.KeepOnError, "keep-on-error", false, "when up fails, keep the half-built lab for inspection instead of removing it")
}

var labUpCmd = command{
	summary: "build a lab: two (to five) primaries replicating with each other behind HAProxy",
	usage: `Usage: pgchaos lab up [flags]

Builds the lab through the Docker Engine API: a private network, primary1 and
primary2 (wal_level=logical, track_commit_timestamp=on; --nodes 3 to 5 adds
primary3 … primary5), HAProxy (round robin over every primary, PostgreSQL
health checks, stats page, admin runtime API), then a publication on each
node and on each a subscription to every other, sub_from_<peer> (origin =
none, copy_data = false: a full mesh, each change arrives straight from the
node that made it); with --engine pglogical, a pglogical node on each, the
tables in a replication set and a subscription to every other node
(forward_origins '{}'), resolving conflicts with --resolver. It says "ready"
only after a marker row has crossed in every direction. Ports default to
5442, 5443, 5444, … (each primary's port is the previous one's + 1 unless
given). The lab stays up until "pgchaos lab down"; if up fails it
removes what it made, unless --keep-on-error.

Examples:
  pgchaos lab up
  PGPASSWORD=postgres psql -h localhost -p 5442 -U postgres -d postgres -c "INSERT INTO test_table (name) VALUES ('test1');"
  pgchaos lab up --name demo17 --postgres 17 --port-primary1 6442 --port-primary2 6443 --port-haproxy 6020 --port-stats 8020
  pgchaos lab up --sequences serial      # the tutorial's ids: watch them collide
  pgchaos lab up --nodes 3               # primary3 on 5444: a conflict can come from two origins at once
  pgchaos lab up --engine pglogical --resolver keep_local
  pgchaos lab up --schema app.sql        # your tables on every node, replicating like test_table
  pgchaos lab up --listen 0.0.0.0        # beyond this machine: a password is generated and printed once`,
	run: func(ctx context.Context, e *env, usage string, args []string) error {
		var cfg lab.Config
		var schemaFile string
		fs := flags(e, "lab up", usage)
		labFlags(fs, &cfg)
		fs.StringVar(&schemaFile, "schema", "", "a file of your own DDL, run on every node before replication is set up (as a scenario's schema:)")
		if err := parse(fs, args); err != nil {
			return err
		}
		if schemaFile != "" {
			data, err := inputfile.Read(schemaFile, "schema", scenario.MaxSchemaSize)
			if err != nil {
				return exitcode.BadInputErr(fmt.Errorf("--schema: %w", err))
			}
			cfg.Schema = &lab.Schema{File: schemaFile, SQL: string(data)}
		}
		if err := errors.Join(noArgs(fs, "lab up"), checkLabName("name", cfg.Name), checkListen(cfg.Listen), checkNodes(fs, cfg.Nodes),
			checkPorts(fs, "port-primary1", "port-primary2", "port-haproxy", "port-stats"), notNegative("timeout", cfg.Timeout)); err != nil {
			return exitcode.BadInputErr(err)
		}
		cfg.Ports.Rest = cfg.Ports.Rest[:max(0, min(cfg.Nodes, node.MaxPrimaries)-2)]
		if err := offLoopback(e, &cfg); err != nil {
			return err
		}
		cfg.Log = logf(e)
		start := time.Now()
		l, err := lab.Up(ctx, cfg)
		if err != nil {
			return err
		}
		defer l.Close()
		fmt.Fprintf(e.stderr, "pgchaos: lab %q ready in %.1fs\n", l.Name, time.Since(start).Seconds())
		printEndpoints(e, l)
		return nil
	},
}

func printEndpoints(e *env, l *lab.Lab) {
	note := engineNote(l.Engine, l.Resolver)
	if l.RetainDeadTuples {
		note += ", retain_dead_tuples"
	}
	fmt.Fprintf(e.stdout, "lab %s (PostgreSQL %s, sequences %s%s)\n", l.Name, l.Postgres, l.Sequences, note)
	for _, n := range l.Nodes {
		fmt.Fprintf(e.stdout, "  %-9s PGPASSWORD=%s psql -h %s -p %d -U %s -d %s\n", n.Name, shellWord(l.SuperuserPassword()), hostFor(n.Host), n.Port, lab.User, lab.Database)
	}
	fmt.Fprintf(e.stdout, "  %-9s PGPASSWORD=%s psql -h %s -p %d -U %s -d %s\n", "haproxy", shellWord(l.SuperuserPassword()), hostFor(l.Proxy.Host), l.Proxy.Port, lab.User, lab.Database)
	fmt.Fprintf(e.stdout, "  %-9s %s\n", "stats", l.StatsURL())
	fmt.Fprintf(e.stdout, "remove it with: pgchaos lab down --name %s\n", l.Name)
}

func hostFor(listen string) string {
	if listen == "127.0.0.1" || listen == "0.0.0.0" || listen == "" {
		return "localhost"
	}
	return listen
}

// offLoopback warns when the lab's ports are published beyond this
// machine, and makes sure they are not guarded by the tutorial's
// well-known password: without --password it generates one and prints it
// once. On loopback nothing changes, so the tutorial's commands work.
func offLoopback(e *env, cfg *lab.Config) error {
	if ip := net.ParseIP(cfg.Listen); ip != nil && ip.IsLoopback() {
		return nil
	}
	if cfg.Password == "" {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			return exitcode.InfraErr(fmt.Errorf("generate a password: %w", err))
		}
		cfg.Password = hex.EncodeToString(b)
		fmt.Fprintf(e.stderr, "pgchaos: generated the superuser password %s (shown once; pass --password to choose one)\n", cfg.Password)
	} else if cfg.Password == lab.Password {
		return exitcode.BadInputErr(fmt.Errorf("--password %s is the tutorial's well-known password, refused with --listen %s: choose another, or leave --password out to have one generated", lab.Password, cfg.Listen))
	}
	fmt.Fprintf(e.stderr, "pgchaos: WARNING: --listen %s publishes %s and HAProxy beyond this machine, with superuser access to anyone who has the password\n",
		cfg.Listen, strings.Join(node.PrimariesOf(min(max(cfg.Nodes, node.MinPrimaries), node.MaxPrimaries)), ", "))
	return nil
}

// shellWord quotes s for a POSIX shell when it needs it, so the printed
// psql line can be pasted as it is.
func shellWord(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.,:/@%+=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(term.Escape(s), "'", `'\''`) + "'"

}

// engineNote names a lab's engine when it is not native, for the lab's
// title line: ", engine pglogical, resolver keep_local".
func engineNote(engine, resolver string) string {
	if engine == "" || engine == lab.EngineNative {
		return ""
	}
	s := ", engine " + engine
	if resolver != "" {
		s += ", resolver " + resolver
	}
	return s
}

// checkNodes refuses a node count a lab cannot have, and a port for a
// primary beyond it.
func checkNodes(fs *pflag.FlagSet, n int) error {
	if n < node.MinPrimaries || n > node.MaxPrimaries {
		return fmt.Errorf("--nodes %d: a lab has %d to %d primaries (default %d)", n, node.MinPrimaries, node.MaxPrimaries, node.DefaultPrimaries)
	}
	var errs []error
	for i := n + 1; i <= node.MaxPrimaries; i++ {
		flag := "port-" + node.Primary(i)
		if fs.Changed(flag) {
			errs = append(errs, fmt.Errorf("--%s: the lab has %d primaries, so there is no %s (pass --nodes %d)", flag, n, node.Primary(i), i))
		}
	}
	for i := 3; i <= n; i++ {
		if p, _ := fs.GetInt("port-" + node.Primary(i)); fs.Changed("port-"+node.Primary(i)) && (p < 1 || p > 65535) {
			errs = append(errs, fmt.Errorf("--port-%s %d is out of range: use a port from 1 to 65535", node.Primary(i), p))
		}
	}
	return errors.Join(errs...)
}
