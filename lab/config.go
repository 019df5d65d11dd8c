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

// Sequence strategies: how test_table hands out ids on the two nodes.
const (
	SeqInterleaved = "interleaved" // INCREMENT 2: odd ids on primary1, even on primary2
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
	Images   Images        // empty fields are resolved (see ResolveImages)
	Timeout  time.Duration // for each readiness wait (default 90s)
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
	HAProxy  int
	Stats    int
}

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
	if c.Ports.Primary1 == 0 {
		c.Ports.Primary1 = DefaultPortPrimary1
	}
	if c.Ports.Primary2 == 0 {
		c.Ports.Primary2 = DefaultPortPrimary2
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
	seen := map[int]string{}
	for _, p := range []struct {
		name string
		port int
	}{{node.Primary1, c.Ports.Primary1}, {node.Primary2, c.Ports.Primary2}, {node.HAProxy, c.Ports.HAProxy}, {"stats", c.Ports.Stats}} {
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

// FreePorts returns a port for each of the four on 127.0.0.1: the one in
// prefer when it is free now, else any free port, all four distinct. Every
// port picked stays bound until all are: ports picked one at a time can
// repeat, because a port closed is free again. A port can still be taken
// between this call and lab up, which then says so.
func FreePorts(prefer Ports) Ports {
	want := [4]int{prefer.Primary1, prefer.Primary2, prefer.HAProxy, prefer.Stats}
	var got [4]int
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
	return Ports{Primary1: got[0], Primary2: got[1], HAProxy: got[2], Stats: got[3]}
}
