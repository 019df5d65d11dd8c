package lab

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/pgchaos/pgchaos/node"
)

// Sequence strategies: how test_table hands out ids on the nodes.
const (
	SeqInterleaved = "interleaved" // INCREMENT n: primary i hands out i, i+n, i+2n … (n nodes)
	SeqSerial      = "serial"      // the tutorial's: both nodes count 1, 2, 3 … and collide
	SeqUUID        = "uuid"        // uuid keys, never collide
)

// DefaultName is the lab's name when none is given.
const DefaultName = "pgchaos"

// Default host ports, as in the tutorial.
const (
	DefaultPortPrimary1 = 5442
	DefaultPortPrimary2 = 5443
	DefaultPortHAProxy  = 5020
	DefaultPortStats    = 7020
)

// Config says what lab to build. The zero value of every field means its
// default; build one with New and options, or fill it in directly.
type Config struct {
	Name      string // lab name (default DefaultName); labels every Docker object
	Postgres  string // PostgreSQL major version: "18" (default), "17" or "19"
	Sequences string // SeqInterleaved (default), SeqSerial or SeqUUID
	// Nodes is how many primaries the lab has, node.MinPrimaries to
	// node.MaxPrimaries (default node.DefaultPrimaries, the tutorial's
	// two): primary1 … primaryN, each subscribed to every other.
	Nodes int
	// Engine is the replication engine: EngineNative (default) or
	// EnginePglogical. Resolver is pglogical's conflict resolver (one of
	// Resolvers; default ResolverLastUpdateWins), only with pglogical.
	Engine   string
	Resolver string
	Listen   string // host address ports bind to (default 127.0.0.1)
	// Password is the superuser's (default Password, "postgres", as in the
	// tutorial). Off loopback the default is refused: the lab's ports
	// would give anyone on the network a superuser.
	Password string
	Ports    Ports
	// Schema is the user's own DDL, run on every node before replication
	// is set up; nil: none. See Schema.
	Schema  *Schema
	Images  Images        // empty fields are resolved (see ResolveImages)
	Timeout time.Duration // for each readiness wait (default 90s)
	// KeepOnError leaves a half-built lab in place when Up fails, for
	// debugging; by default Up removes what it made.
	KeepOnError bool
	// Log receives progress lines ("primary1 ready in 1.2s"); nil: silent.
	Log func(format string, args ...any)

	// RetainDeadTuples creates the native subscriptions WITH
	// (retain_dead_tuples = true): PostgreSQL 19 only (see retain.go).
	RetainDeadTuples bool
}

// Ports are the lab's host ports.
type Ports struct {
	Primary1 int
	Primary2 int
	// Rest are the ports of primary3 … primaryN, in order. A missing or
	// zero one is the previous primary's port + 1, so the default lab of
	// three listens on 5442, 5443 and 5444.
	Rest    []int
	HAProxy int
	Stats   int
}

// Primary returns the host port of the i-th primary (counting from 1), as
// the lab uses it: Primary1, Primary2, then Rest or the previous port + 1.
// Zero Primary1 or Primary2 fields are read as their defaults.
func (p Ports) Primary(i int) int {
	switch {
	case i <= 1:
		if p.Primary1 == 0 {
			return DefaultPortPrimary1
		}
		return p.Primary1
	case i == 2:
		if p.Primary2 == 0 {
			return DefaultPortPrimary2
		}
		return p.Primary2
	case i-3 < len(p.Rest) && p.Rest[i-3] != 0:
		return p.Rest[i-3]
	}
	return p.Primary(i-1) + 1
}

// PortFlag is the lab up flag that sets the i-th primary's port.
func PortFlag(i int) string { return "--port-" + node.Primary(i) }

// Option changes a Config.
type Option func(*Config)

// WithName names the lab.
func WithName(name string) Option { return func(c *Config) { c.Name = name } }

// WithPostgres picks the PostgreSQL major version ("18" or "17").
func WithPostgres(v string) Option { return func(c *Config) { c.Postgres = v } }

// WithSequences picks the id strategy of test_table.
func WithSequences(s string) Option { return func(c *Config) { c.Sequences = s } }

// WithEngine picks the replication engine and, for pglogical, its conflict
// resolver ("" for the default).
func WithEngine(engine, resolver string) Option {
	return func(c *Config) { c.Engine, c.Resolver = engine, resolver }
}

// WithSchema runs the user's DDL on every node before replication is set up.
func WithSchema(s *Schema) Option { return func(c *Config) { c.Schema = s } }

// WithNodes sets how many primaries the lab has (2 to 5).
func WithNodes(n int) Option { return func(c *Config) { c.Nodes = n } }

// WithRetainDeadTuples turns on retain_dead_tuples on the native
// subscriptions (PostgreSQL 19).
func WithRetainDeadTuples(on bool) Option { return func(c *Config) { c.RetainDeadTuples = on } }

// WithPorts sets the host ports (zero fields keep their defaults).
func WithPorts(p Ports) Option { return func(c *Config) { c.Ports = p } }

// WithLog sends progress lines to f.
func WithLog(f func(format string, args ...any)) Option { return func(c *Config) { c.Log = f } }

// New returns a Config with the options applied and defaults filled in.
func New(opts ...Option) Config {
	var c Config
	for _, o := range opts {
		o(&c)
	}
	c.defaults()
	return c
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,40}$`)

func (c *Config) defaults() {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Postgres == "" {
		c.Postgres = "18"
	}
	if c.Sequences == "" {
		c.Sequences = SeqInterleaved
	}
	if c.Nodes == 0 {
		c.Nodes = node.DefaultPrimaries
	}
	if c.Engine == "" {
		c.Engine = EngineNative
	}
	if c.Engine == EnginePglogical && c.Resolver == "" {
		c.Resolver = ResolverLastUpdateWins
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1"
	}
	if c.Password == "" {
		c.Password = Password
	}
	c.Ports.Primary1, c.Ports.Primary2 = c.Ports.Primary(1), c.Ports.Primary(2)
	if c.Nodes > 2 && c.Nodes <= node.MaxPrimaries {
		rest := make([]int, c.Nodes-2)
		for i := range rest {
			rest[i] = c.Ports.Primary(i + 3)
		}
		c.Ports.Rest = rest
	}
	if c.Ports.HAProxy == 0 {
		c.Ports.HAProxy = DefaultPortHAProxy
	}
	if c.Ports.Stats == 0 {
		c.Ports.Stats = DefaultPortStats
	}
	if c.Timeout == 0 {
		c.Timeout = 90 * time.Second
	}
	if c.Log == nil {
		c.Log = func(string, ...any) {}
	}
}

// CheckName reports whether name can name a lab: it goes into container,
// network and volume names and into a label filter.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("lab name %q: use lower-case letters, digits, '-', '_' or '.', starting with a letter or digit, at most 41 characters", name)
	}
	return nil
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	if err := CheckName(c.Name); err != nil {
		return err
	}
	switch c.Postgres {
	case "18", "17", "19":
	default:
		return fmt.Errorf("postgres version %q is not supported: use 18 (default), 17 or 19 (logical replication with origin = none needs 16+; pgchaos is tested on 17, 18 and 19)", c.Postgres)
	}
	if len(c.Password) > 100 || strings.IndexFunc(c.Password, unicode.IsControl) >= 0 {
		return fmt.Errorf("password: use at most 100 printable characters")
	}
	if ip := net.ParseIP(c.Listen); (ip == nil || !ip.IsLoopback()) && c.Password == Password {
		return fmt.Errorf("listen %s publishes the lab beyond this machine, so the default superuser password %q is refused there: choose one (lab up --password, or leave it out and lab up generates one)", c.Listen, Password)
	}
	switch c.Sequences {
	case SeqInterleaved, SeqSerial, SeqUUID:
	default:
		return fmt.Errorf("sequences %q: use interleaved (default), serial or uuid", c.Sequences)
	}
	if err := validateEngine(c.Engine, c.Resolver); err != nil {
		return err
	}
	if err := validatePG19(c.Postgres, c.Engine, c.RetainDeadTuples); err != nil {
		return err
	}
	if c.Nodes < node.MinPrimaries || c.Nodes > node.MaxPrimaries {
		return fmt.Errorf("nodes %d: a lab has %d to %d primaries (default %d)", c.Nodes, node.MinPrimaries, node.MaxPrimaries, node.DefaultPrimaries)
	}
	if len(c.Ports.Rest) > c.Nodes-2 {
		return fmt.Errorf("%d ports given for primary3 and beyond, but the lab has %d primaries: drop them or pass --nodes %d", len(c.Ports.Rest), c.Nodes, len(c.Ports.Rest)+2)
	}
	seen := map[int]string{}
	for _, p := range c.portList() {
		if p.port < 1 || p.port > 65535 {
			return fmt.Errorf("port %d for %s is out of range 1-65535", p.port, p.name)
		}
		if other, dup := seen[p.port]; dup {
			return fmt.Errorf("port %d is given to both %s and %s: give each its own", p.port, other, p.name)
		}
		seen[p.port] = p.name
	}
	return nil
}

// namedPort is one host port of a lab, with what it serves and the flag
// that sets it.
type namedPort struct {
	name, flag string
	port       int
}

// portList is every host port of the lab, primaries first.
func (c *Config) portList() []namedPort {
	var out []namedPort
	for i := 1; i <= max(c.Nodes, node.MinPrimaries); i++ {
		out = append(out, namedPort{node.Primary(i), PortFlag(i), c.Ports.Primary(i)})
	}
	return append(out, namedPort{node.HAProxy, "--port-haproxy", c.Ports.HAProxy}, namedPort{"the haproxy stats page", "--port-stats", c.Ports.Stats})
}

// FreePorts returns a port for each of a two-primary lab's four on
// 127.0.0.1; see FreePortsFor.
func FreePorts(prefer Ports) Ports { return FreePortsFor(prefer, node.DefaultPrimaries) }

// FreePortsFor returns a port for each primary of an n-primary lab, for
// HAProxy and for its stats page on 127.0.0.1: the one in prefer when it
// is free now, else (or when it is zero) any free port, all distinct. Every
// port picked stays bound until all are: ports picked one at a time can
// repeat, because a port closed is free again. A port can still be taken
// between this call and lab up, which then says so.
func FreePortsFor(prefer Ports, n int) Ports {
	n = max(n, node.MinPrimaries)
	want := make([]int, n, n+2)
	want[0], want[1] = prefer.Primary1, prefer.Primary2
	copy(want[2:], prefer.Rest)
	want = append(want, prefer.HAProxy, prefer.Stats)
	got := make([]int, len(want))
	for i := range got {
		got[i] = want[i]
		for _, p := range []int{want[i], 0} {
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err == nil {
				defer ln.Close()
				got[i] = ln.Addr().(*net.TCPAddr).Port
				break
			}
		}
	}
	p := Ports{Primary1: got[0], Primary2: got[1], HAProxy: got[n], Stats: got[n+1]}
	if n > 2 {
		p.Rest = got[2:n]
	}
	return p
}
