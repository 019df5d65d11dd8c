// Package target is the user's own PostgreSQL nodes as pgchaos sees them: a
// target file names each node (a DSN, optionally the container it runs in
// and the Docker engine that runs it) and the HAProxy in front of them.
// Preflight connects to each node with read-only queries, detects the
// replication in place and its topology, and says what pgchaos can measure
// and which faults it can inject there, and why not when it cannot.
//
// Nothing here writes to a node except Setup and Clean, which touch only
// the schema pgchaos owns (SchemaName) and only when asked to.
package target

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Target is a parsed target file: the user's nodes and their load balancer.
type Target struct {
	File    string   // the path it was read from, for messages
	Nodes   []Node   // in file order; names are unique
	HAProxy *HAProxy // nil when the file names none
	// Setup is SetupAllow when pgchaos run may apply SetupPlan itself
	// (setup: allow); otherwise a run that lacks the heartbeat stops and
	// prints the SQL.
	Setup string
}

// The values of a target's setup: key.
const (
	SetupAsk   = "ask"   // the default: print the setup SQL and stop
	SetupAllow = "allow" // pgchaos run applies the setup SQL first
)

// Node is one of the user's PostgreSQL primaries.
type Node struct {
	Name       string // the user's name for it; workloads and faults use it
	Container  string // the container it runs in, for container faults; "" = none named
	DockerHost string // the Docker engine running Container ("unix://…", "tcp://…", "ssh://…"); "" = the local one
	Pos        Pos    // where the node starts in the file

	dsn    string // as written: never shown, it may hold a password
	config *pgx.ConnConfig
}

// HAProxy is the load balancer in front of the nodes.
type HAProxy struct {
	Address string // host:port clients connect to; "" = not named
	Admin   string // host:port of the runtime API (stats socket level admin); "" = none, so no failover
	// Backend is the HAProxy backend whose servers are the nodes; "" =
	// detected by preflight (DetectServers).
	Backend string
	// Servers maps a node's name to its HAProxy server's name, for the
	// nodes the file names one for; the others are detected by preflight.
	Servers map[string]string
}

// Config returns a copy of the node's connection settings, password
// included (from the DSN, PGPASSWORD or .pgpass), for connecting. Do not
// print it: show the node with String or Endpoint.
func (n Node) Config() *pgx.ConnConfig {
	if n.config == nil {
		return nil
	}
	return n.config.Copy()
}

// ConnString is the node's connection string as written, for handing to a
// driver only: it may hold a password. Never print it (String, Endpoint).
func (n Node) ConnString() string { return n.dsn }

// Endpoint is where the node is, without secrets: user@host:port/database.
func (n Node) Endpoint() string {
	if n.config == nil {
		return ""
	}
	c := n.config
	return fmt.Sprintf("%s@%s/%s", c.User, net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))), c.Database)
}

// String shows the node as reports do: its name and endpoint, never the
// password.
func (n Node) String() string {
	return n.Name + " (" + n.Endpoint() + ")"
}

// GoString keeps %#v from printing the DSN and the parsed config, which
// hold the password.
func (n Node) GoString() string {
	return fmt.Sprintf("target.Node{Name:%q, Endpoint:%q, Container:%q, DockerHost:%q}", n.Name, n.Endpoint(), n.Container, n.DockerHost)
}

// Format makes every verb (%v, %+v, %s, %q) print String, so no formatting
// of a Node or a struct holding one reveals its secrets.
func (n Node) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, n.GoString())
			return
		}
		fmt.Fprint(f, n.String())
	case 'q':
		fmt.Fprintf(f, "%q", n.String())
	default:
		fmt.Fprint(f, n.String())
	}
}

// Node returns the node named name.
func (t *Target) Node(name string) (Node, bool) {
	for _, n := range t.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// Scrub replaces every password the target's nodes carry with "***" in s:
// the last guard on text that leaves pgchaos (errors from servers and
// drivers can quote a connection string).
func (t *Target) Scrub(s string) string {
	for _, n := range t.Nodes {
		if n.config != nil {
			s = scrubSecret(s, n.config.Password)
		}
		if n.dsn != "" {
			s = strings.ReplaceAll(s, n.dsn, RedactConnString(n.dsn))
		}
	}
	return s
}
