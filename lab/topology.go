package lab

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/docker/docker/client"

	"github.com/pgchaos/pgchaos/node"
)

// Node names inside a lab, from package node (defined there once): also
// the hosts' names on the lab network and each server's cluster_name.
const (
	Primary1 = node.Primary1
	Primary2 = node.Primary2
	HAProxy  = node.HAProxy
)

// The lab's credentials, as in the tutorial.
const (
	User     = "postgres"
	Password = "postgres"
	Database = "postgres"
)

// Names of the replication objects on each node.
const (
	Publication = "pgchaos_pub"
)

// SubscriptionOn is the name of the subscription that node holds to its
// peer in a two-node lab, on either engine. With more nodes each node holds
// one per peer: see Engine.SubscriptionName.
func SubscriptionOn(node string) string { return SubscriptionFrom(Peer(node)) }

// SubscriptionFrom is the tutorial's name for a subscription to publisher:
// sub_from_<publisher>.
func SubscriptionFrom(publisher string) string { return "sub_from_" + publisher }

// Peer returns the other primary of a two-node lab.
func Peer(n string) string { return node.Peer(n) }

// Primaries returns the names of the lab's primaries, in order.
func (l *Lab) Primaries() []string {
	out := make([]string, len(l.Nodes))
	for i, n := range l.Nodes {
		out[i] = n.Name
	}
	return out
}

// Link is one subscription of a lab: Subscriber applies what Publisher
// sends, through the subscription Name on Subscriber and the slot Slot on
// Publisher.
type Link struct {
	Subscriber, Publisher, Name, Slot string
	// Port is the port the subscriber reaches the publisher's PostgreSQL
	// on, inside their network: 0 means 5432, as in a lab. On a target it
	// is read from the subscription's connection string.
	Port int
}

// PeerPort is the port subscriber's subscription connects to publisher's
// PostgreSQL on, in the network they share: the user's, as the preflight
// read it, on an external lab, and 5432 (the image's) on a lab pgchaos
// built. A link delay redirects and forwards that port.
func (l *Lab) PeerPort(subscriber, publisher string) int {
	if l.external {
		for _, k := range l.links {
			if k.Subscriber == subscriber && k.Publisher == publisher && k.Port > 0 {
				return k.Port
			}
		}
	}
	return 5432
}

// Links returns every subscription of the lab's full mesh, ordered by
// subscriber then publisher: n·(n-1) of them.
func (l *Lab) Links() []Link {
	if l.external {
		return append([]Link(nil), l.links...)
	}
	e := l.Replication()
	var out []Link
	for _, sub := range l.Primaries() {
		for _, pub := range node.Others(l.Primaries(), sub) {
			out = append(out, Link{Subscriber: sub, Publisher: pub, Name: e.SubscriptionName(sub, pub), Slot: e.SlotOn(sub, pub)})
		}
	}
	return out
}

// HasLink reports whether subscriber subscribes to publisher: any two
// distinct nodes of a lab pgchaos built (a full mesh); on a user's nodes
// (External), when the preflight matched such a subscription.
func (l *Lab) HasLink(subscriber, publisher string) bool {
	if l.external {
		for _, k := range l.links {
			if k.Subscriber == subscriber && k.Publisher == publisher {
				return true
			}
		}
		return false
	}
	_, okS := l.Node(subscriber)
	_, okP := l.Node(publisher)
	return okS && okP && subscriber != publisher
}

// Lab is a running (or partly running) lab: what it is called, where its
// parts listen, and the Docker objects that make it up. Find it again with
// Open; every Docker object carries the label pgchaos.lab=<Name>.
type Lab struct {
	Name      string
	Postgres  string // major version, "18"
	Sequences string // interleaved, serial or uuid
	Engine    string // replication engine: native ("" means native) or pglogical
	Resolver  string // pglogical's conflict resolver; empty for native
	Network   string // Docker network name
	Nodes     []Node // primary1 … primaryN, in order
	Proxy     Proxy
	Images    Images
	// Password is the superuser's; "" means the default, Password.
	Password string
	// RetainDeadTuples: the native subscriptions retain dead tuples for
	// update_deleted detection (PostgreSQL 19).
	RetainDeadTuples bool
	// Schema names the user's DDL the lab was built with (file and digest,
	// see Schema.Label); "" for none.
	Schema string

	schema *Schema // the DDL itself, while the lab is being built

	docker *client.Client
	// engines are a user's nodes' Docker clients (External), one per
	// engine (dockerhost.Key); docker is among them when a node is on the
	// local engine.
	engines map[string]*client.Client

	// A user's nodes (External): never built, changed or removed by
	// pgchaos. conns holds each target's connection string (it may carry
	// a password: never shown), links the user's subscriptions.
	external bool
	conns    map[string]string
	links    []Link
}

// SuperuserPassword is the password of the lab's superuser.
func (l *Lab) SuperuserPassword() string {
	if l.Password == "" {
		return Password
	}
	return l.Password
}

// Node is one PostgreSQL primary of the lab.
type Node struct {
	Name      string // primary1 … primaryN
	Container string // Docker container name
	ID        string // Docker container ID
	Volume    string // Docker volume with its data directory
	Host      string // address on the host, e.g. 127.0.0.1
	Port      int    // port on the host, e.g. 5442
	State     string // Docker state when last read: running, exited, paused, …
	User      string // the user pgchaos connects as, on a user's node (External); "" = the lab's superuser
	// ClusterName is the node's cluster_name, which ops record as who
	// served them; "" = the node's Name (a lab sets cluster_name to it).
	ClusterName string
	// DockerHost is the engine running the container on a user's node
	// (External): "" for the local one, else unix://, tcp:// or ssh://.
	// Reach it through Lab.DockerFor.
	DockerHost string
}

// Proxy is the lab's HAProxy.
type Proxy struct {
	Container string
	ID        string
	Host      string
	Port      int    // PostgreSQL through the load balancer, e.g. 5020
	StatsPort int    // HTTP stats page, e.g. 7020
	AdminAddr string // runtime API (host:port on 127.0.0.1), admin level
	Backend   string // the backend name in haproxy.cfg, "pg"
	State     string
	// Servers maps a node to its HAProxy server's name where they differ
	// (a user's HAProxy, lab.External); a lab's servers are its nodes'
	// names, and nil.
	Servers map[string]string
}

// Server is the name of node's server in the backend: the node's own name
// unless Servers says otherwise.
func (p Proxy) Server(node string) string {
	if s, ok := p.Servers[node]; ok {
		return s
	}
	return node
}

// Images are the images the lab runs.
type Images struct {
	Postgres string
	HAProxy  string
	NetTools string // for network faults
}

// Node returns the node called name, or false.
func (l *Lab) Node(name string) (Node, bool) {
	for _, n := range l.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// DSN returns a libpq-style URL for a target: a primary or haproxy.
func (l *Lab) DSN(target string) (string, error) {
	if l.external {
		if c, ok := l.conns[target]; ok {
			return c, nil
		}
		return "", fmt.Errorf("%s has no node or load balancer called %q", l.Name, target)
	}
	if target == HAProxy {
		return dsn(l.Proxy.Host, l.Proxy.Port, l.SuperuserPassword()), nil
	}
	n, ok := l.Node(target)
	if !ok {
		return "", fmt.Errorf("lab %q has no target %q (targets: %s)", l.Name, target, strings.Join(append(l.Primaries(), HAProxy), ", "))
	}
	return dsn(n.Host, n.Port, l.SuperuserPassword()), nil
}

// MustDSN is DSN for the targets every lab has; it panics on any other name.
func (l *Lab) MustDSN(target string) string {
	d, err := l.DSN(target)
	if err != nil {
		panic(err)
	}
	return d
}

// StatsURL is the HAProxy stats page.
func (l *Lab) StatsURL() string {
	return "http://" + net.JoinHostPort(connectHost(l.Proxy.Host), strconv.Itoa(l.Proxy.StatsPort)) + "/"
}

func dsn(host string, port int, password string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(User, password),
		Host:     net.JoinHostPort(connectHost(host), strconv.Itoa(port)),
		Path:     "/" + Database,
		RawQuery: "sslmode=disable&connect_timeout=5",
	}
	return u.String()
}

// connectHost turns a wildcard listen address into one a client can dial.
func connectHost(h string) string {
	switch h {
	case "", "0.0.0.0":
		return "127.0.0.1"
	case "::":
		return "::1"
	}
	return h
}
