package target

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/pgchaos/pgchaos/scenario"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"
	"go.yaml.in/yaml/v3"

	"github.com/pgchaos/pgchaos/dockerhost"
	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/internal/inputfile"
	"github.com/pgchaos/pgchaos/node"
)

// Limits on a target file. Each is far above a real cluster's and keeps a
// wrong file from costing more than a glance.
const (
	// MaxNodes bounds nodes: primary-primary setups past a handful of
	// nodes are rare, and preflight connects to each one.
	MaxNodes = 16
	// MaxFileSize is the largest target file Load reads.
	MaxFileSize = 1 << 20
	maxDSNLen   = 4096
	maxNameLen  = 32
	maxHostLen  = 512
	maxErrors   = 50
)

var (
	topKeys     = []string{"nodes", "haproxy", "setup"}
	setupModes  = []string{SetupAsk, SetupAllow}
	nodeKeys    = []string{"name", "dsn", "container", "docker_host"}
	haproxyKeys = []string{"address", "admin", "backend", "servers"}

	// nameRE keeps node names safe in every place they end up: SQL
	// identifiers (slot and subscription names), file names, terminals.
	nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	// proxyNameRE is what HAProxy takes as a backend or server name.
	proxyNameRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)
	// containerRE is Docker's own rule for container names.
	containerRE = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
)

// Pos, Error and Errors are the scenario's: a target file's problems read
// like a scenario's (file:line:col: message), and a target: section is
// part of a scenario file.
type (
	Pos    = scenario.Pos
	Error  = scenario.Error
	Errors = scenario.Errors
)

// Load reads the target file at path: either a file of its own (nodes:,
// haproxy: at the top) or a scenario whose target: section holds the same
// keys (the scenario's other keys are left to the scenario parser). Every
// error is marked exitcode.BadInput.
func Load(path string) (*Target, error) {
	data, err := inputfile.Read(path, "target", MaxFileSize)
	if err != nil {
		return nil, exitcode.BadInputErr(err)
	}
	return Parse(path, data)
}

// LoadSection reads the target: section of the scenario at path; found is
// false (and the target nil) when the scenario has none.
func LoadSection(path string) (t *Target, found bool, err error) {
	data, err := inputfile.Read(path, "scenario", MaxFileSize)
	if err != nil {
		return nil, false, exitcode.BadInputErr(err)
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, false, nil // the scenario parser says what is wrong
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "target" {
			t, err := Parse(path, data)
			return t, true, err
		}
	}
	return nil, false, nil
}

// Parse parses a target from data; file names it in messages. On failure
// the error is marked exitcode.BadInput and wraps Errors.
func Parse(file string, data []byte) (*Target, error) {
	p := &parser{file: file}
	t := p.parse(data)
	if len(p.errs) > 0 {
		return nil, exitcode.BadInputErr(p.errs)
	}
	return t, nil
}

type parser struct {
	file string
	errs Errors
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	if len(p.errs) >= maxErrors {
		return
	}
	pos := Pos{Line: 1}
	if n != nil {
		pos = Pos{Line: n.Line, Col: n.Column}
	}
	p.errs = append(p.errs, &Error{File: p.file, Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

func (p *parser) parse(data []byte) *Target {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorf(nil, "the file is empty: a target needs nodes: (a list of name: and dsn:)")
			return nil
		}
		line, msg := 1, err.Error()
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			if n, convErr := strconv.Atoi(m[1]); convErr == nil {
				line = n
			}
			msg = m[2]
		}
		p.errs = append(p.errs, &Error{File: p.file, Pos: Pos{Line: line}, Msg: "not valid YAML: " + msg})
		return nil
	}
	top := &doc
	if top.Kind == yaml.DocumentNode && len(top.Content) > 0 {
		top = top.Content[0]
	}
	if top.Kind != yaml.MappingNode {
		p.errorf(top, "the top level must be a mapping with nodes: (or a scenario's target:), not %s", scenario.DescribeNode(top))
		return nil
	}
	// A scenario names its target in a target: section; take only that.
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "target" {
			sec := top.Content[i+1]
			if sec.Kind != yaml.MappingNode {
				p.errorf(sec, "target: must be a mapping with nodes: and optionally haproxy:, not %s", scenario.DescribeNode(sec))
				return nil
			}
			return p.target(sec)
		}
	}
	return p.target(top)
}

func (p *parser) target(n *yaml.Node) *Target {
	t := &Target{File: p.file}
	f := p.mapping(n, "the target", topKeys)
	nodes, ok := f["nodes"]
	if !ok {
		p.errorf(n, "nodes: is required: a list of the nodes, each with name: and dsn:")
	} else if nodes.Kind != yaml.SequenceNode {
		p.errorf(nodes, "nodes: must be a list (e.g. [{name: east, dsn: \"postgres://app@db-east:5432/app\"}]), not %s", scenario.DescribeNode(nodes))
	} else if len(nodes.Content) == 0 {
		p.errorf(nodes, "nodes: is empty: name at least one node")
	} else if len(nodes.Content) > MaxNodes {
		p.errorf(nodes, "nodes: has %d entries: at most %d are allowed", len(nodes.Content), MaxNodes)
	} else {
		seen := map[string]int{}
		for i, c := range nodes.Content {
			nd, ok := p.node(i, c)
			if !ok {
				continue
			}
			if line, dup := seen[nd.Name]; dup {
				p.errorf(c, "nodes[%d]: name %q is already the name of the node at line %d: names must be unique", i, nd.Name, line)
				continue
			}
			seen[nd.Name] = c.Line
			t.Nodes = append(t.Nodes, nd)
		}
	}
	if h, ok := f["haproxy"]; ok && h.Tag != "!!null" {
		t.HAProxy = p.haproxy(h, t.Nodes)
	}
	if v, ok := f["setup"]; ok {
		if s, ok := p.str(v, "setup", 16); ok {
			if contains(setupModes, s) {
				t.Setup = s
			} else {
				p.errorf(v, "setup: %q is not one of %s (allow: pgchaos run may create its own schema pgchaos and heartbeat first)", s, strings.Join(setupModes, ", "))
			}
		}
	}
	return t
}

func (p *parser) node(i int, n *yaml.Node) (Node, bool) {
	where := fmt.Sprintf("nodes[%d]", i)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping of %s, not %s", where, strings.Join(nodeKeys, ", "), scenario.DescribeNode(n))
		return Node{}, false
	}
	before := len(p.errs)
	f := p.mapping(n, where, nodeKeys)
	nd := Node{Pos: Pos{Line: n.Line, Col: n.Column}}
	if v, ok := f["name"]; ok {
		if s, ok := p.str(v, where+".name", maxNameLen); ok {
			switch {
			case !nameRE.MatchString(s):
				p.errorf(v, "%s.name %q: use lower-case letters, digits, - and _, starting with a letter", where, s)
			case s == node.HAProxy:
				p.errorf(v, "%s.name %q is the name workloads use for the load balancer: pick another", where, s)
			default:
				nd.Name = s
			}
		}
	} else {
		p.errorf(n, "%s: name: is required (the name workloads and faults use for this node)", where)
	}
	if v, ok := f["dsn"]; ok {
		// The DSN is never quoted back: it may hold a password.
		if s, ok := p.secretStr(v, where+".dsn", maxDSNLen); ok {
			cfg, err := pgx.ParseConfig(s)
			if err != nil {
				p.errorf(v, "%s.dsn does not parse as a connection string (postgres://user@host:port/db or host=… port=… user=… dbname=…); it is not shown here because it may hold a password", where)
			} else {
				nd.dsn, nd.config = s, cfg
			}
		}
	} else {
		p.errorf(n, "%s: dsn: is required (e.g. dsn: \"postgres://app@db-east:5432/app\"; the password comes from PGPASSWORD or ~/.pgpass)", where)
	}
	if v, ok := f["container"]; ok {
		if s, ok := p.str(v, where+".container", 128); ok {
			if containerRE.MatchString(s) {
				nd.Container = strings.TrimPrefix(s, "/")
			} else {
				p.errorf(v, "%s.container %q is not a Docker container name (letters, digits, _ . -)", where, s)
			}
		}
	}
	if v, ok := f["docker_host"]; ok {
		if s, ok := p.str(v, where+".docker_host", maxHostLen); ok {
			_, err := dockerhost.Parse(s)
			switch {
			case !strings.HasPrefix(s, "unix://") && !strings.HasPrefix(s, "tcp://") && !strings.HasPrefix(s, "ssh://"):
				p.errorf(v, "%s.docker_host %q: use unix://PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes", where, s)
			case strings.Contains(s, "@") && strings.Contains(strings.SplitN(strings.TrimPrefix(s, "ssh://"), "@", 2)[0], ":"):
				p.errorf(v, "%s.docker_host holds a password: use an SSH key or agent instead (the value is not shown)", where)
			case err != nil:
				p.errorf(v, "%s.docker_host %q: %v", where, s, err)
			default:
				nd.DockerHost = s
			}
			if _, has := f["container"]; !has && nd.DockerHost != "" {
				p.errorf(v, "%s.docker_host names an engine but no container: add container: (the node's container on that engine)", where)
			}
		}
	}
	return nd, len(p.errs) == before
}

func (p *parser) haproxy(n *yaml.Node, nodes []Node) *HAProxy {
	f := p.mapping(n, "haproxy", haproxyKeys)
	h := &HAProxy{}
	for _, k := range []string{"address", "admin"} {
		v, ok := f[k]
		if !ok {
			continue
		}
		s, ok := p.str(v, "haproxy."+k, maxHostLen)
		if !ok {
			continue
		}
		host, port, err := net.SplitHostPort(s)
		pn, perr := strconv.Atoi(port)
		if err != nil || host == "" || perr != nil || pn < 1 || pn > 65535 {
			p.errorf(v, "haproxy.%s %q is not host:port (e.g. lb:5000)", k, s)
			continue
		}
		if k == "address" {
			h.Address = s
		} else {
			h.Admin = s
		}
	}
	if v, ok := f["backend"]; ok {
		if s, ok := p.str(v, "haproxy.backend", maxNameLen*4); ok {
			if proxyNameRE.MatchString(s) {
				h.Backend = s
			} else {
				p.errorf(v, "haproxy.backend %q is not an HAProxy backend name (letters, digits, _ . : -)", s)
			}
		}
	}
	if v, ok := f["servers"]; ok {
		h.Servers = p.servers(v, nodes)
	}
	if (h.Backend != "" || h.Servers != nil) && h.Admin == "" {
		p.errorf(n, "haproxy: backend: and servers: are for failover, which needs admin: (the runtime API's host:port, stats socket … level admin)")
	}
	return h
}

// servers reads haproxy.servers: node name → HAProxy server name, each
// node of the target at most once and each server for one node only.
func (p *parser) servers(n *yaml.Node, nodes []Node) map[string]string {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "haproxy.servers must be a mapping of node name to HAProxy server name (e.g. {east: srv1, west: srv2}), not %s", scenario.DescribeNode(n))
		return nil
	}
	known := make([]string, 0, len(nodes))
	for _, nd := range nodes {
		known = append(known, nd.Name)
	}
	out := map[string]string{}
	byServer := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "a key in haproxy.servers must be a node name (%s)", strings.Join(known, ", "))
			continue
		}
		if !contains(known, k.Value) {
			p.errorf(k, "haproxy.servers: %q is not a node of the target (nodes: %s)", clip(k.Value), strings.Join(known, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.errorf(k, "haproxy.servers: node %s appears twice: keep one", k.Value)
			continue
		}
		s, ok := p.str(v, "haproxy.servers."+k.Value, maxNameLen*4)
		if !ok {
			continue
		}
		if !proxyNameRE.MatchString(s) {
			p.errorf(v, "haproxy.servers.%s %q is not an HAProxy server name (letters, digits, _ . : -)", k.Value, s)
			continue
		}
		if other, dup := byServer[s]; dup {
			p.errorf(v, "haproxy.servers: server %q is already %s's: each node needs a server of its own", s, other)
			continue
		}
		byServer[s] = k.Value
		out[k.Value] = s
	}
	return out
}

// mapping returns n's pairs by key, reporting unknown and repeated keys.
func (p *parser) mapping(n *yaml.Node, what string, allowed []string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping of %s, not %s", what, strings.Join(allowed, ", "), scenario.DescribeNode(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "a key in %s must be a plain name (allowed: %s)", what, strings.Join(allowed, ", "))
			continue
		}
		if !contains(allowed, k.Value) {
			p.errorf(k, "unknown key %q in %s (allowed: %s)", clip(k.Value), what, strings.Join(allowed, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.errorf(k, "key %q appears twice in %s: keep one", k.Value, what)
			continue
		}
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		out[k.Value] = v
	}
	return out
}

// str reads a non-empty scalar of at most maxLen bytes with no control
// characters (names end up in terminals and reports).
func (p *parser) str(n *yaml.Node, what string, maxLen int) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Value == "" {
		p.errorf(n, "%s must be a non-empty value, not %s", what, scenario.DescribeNode(n))
		return "", false
	}
	if len(n.Value) > maxLen {
		p.errorf(n, "%s is %d bytes long: at most %d are allowed", what, len(n.Value), maxLen)
		return "", false
	}
	if strings.IndexFunc(n.Value, unicode.IsControl) >= 0 {
		p.errorf(n, "%s holds a control character: use printable characters only", what)
		return "", false
	}
	return n.Value, true
}

// secretStr is str for a value that may hold a password: no message
// quotes it.
func (p *parser) secretStr(n *yaml.Node, what string, maxLen int) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Value == "" {
		kind := "empty"
		if n.Kind != yaml.ScalarNode {
			kind = scenario.DescribeNode(n)
		}
		p.errorf(n, "%s must be a connection string, not %s", what, kind)
		return "", false
	}
	return p.str(n, what, maxLen)
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
