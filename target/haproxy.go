package target

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ProxyServer is one server line of HAProxy's `show servers state`.
type ProxyServer struct {
	Backend string // be_name
	Name    string // srv_name
	Addr    string // srv_addr: the IP it connects to (after resolution)
	Port    int    // srv_port
	FQDN    string // srv_fqdn: the host name it resolves, "-" or "" for none
}

// ParseServersState reads the answer to `show servers state` (format 1: a
// version line, a "# be_id be_name …" header, then one line per server).
// Columns are found by name, so a later format that adds columns still
// reads.
func ParseServersState(out string) ([]ProxyServer, error) {
	var cols map[string]int
	var servers []ProxyServer
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			cols = map[string]int{}
			for i, f := range strings.Fields(strings.TrimPrefix(line, "#")) {
				cols[f] = i
			}
			continue
		}
		if cols == nil {
			continue // the format version line
		}
		f := strings.Fields(line)
		get := func(name string) string {
			if i, ok := cols[name]; ok && i < len(f) {
				return f[i]
			}
			return ""
		}
		s := ProxyServer{Backend: get("be_name"), Name: get("srv_name"), Addr: get("srv_addr"), FQDN: get("srv_fqdn")}
		s.Port, _ = strconv.Atoi(get("srv_port"))
		if s.Backend == "" || s.Name == "" {
			continue
		}
		servers = append(servers, s)
	}
	if cols == nil {
		return nil, fmt.Errorf("show servers state: no header line in the answer %q", clip(out))
	}
	for _, need := range []string{"be_name", "srv_name", "srv_addr", "srv_port"} {
		if _, ok := cols[need]; !ok {
			return nil, fmt.Errorf("show servers state: no %s column in the answer %q", need, clip(out))
		}
	}
	return servers, nil
}

// NodeAddrs is what can tell which HAProxy server points at a node.
type NodeAddrs struct {
	Name string
	// IPs are the node container's addresses on its Docker networks.
	IPs []string
	// DSN is the host:port the node's connection string names.
	DSN string
}

// ServerMap is which HAProxy server is which node, as the target file
// named it or preflight detected it.
type ServerMap struct {
	Backend string            `json:"backend,omitempty"`
	Servers map[string]string `json:"servers,omitempty"`    // node → server
	By      map[string]string `json:"matched_by,omitempty"` // node → how: "target file", "name", "address 172.18.0.2:5432", "dsn lb:5432"
	// Missing are the nodes no server of Backend points at, and why.
	Missing []NodeReason `json:"missing,omitempty"`
}

// Server is the HAProxy server of node, "" for none.
func (m ServerMap) Server(node string) string { return m.Servers[node] }

// DetectServers decides, from the servers HAProxy has (ParseServersState)
// and what identifies each node, which backend holds the nodes and which
// server is which node. A server named in given (the target file's
// haproxy.servers) is taken as named; otherwise a node's server is the
// one named like the node, else the one whose address is one of the
// node's container IPs, else the one at the node's DSN host:port. The
// backend is the one named (backend), or else the one whose servers
// match the most nodes. It is a pure function.
func DetectServers(servers []ProxyServer, nodes []NodeAddrs, backend string, given map[string]string) ServerMap {
	var backends []string
	for _, s := range servers {
		if !slices.Contains(backends, s.Backend) {
			backends = append(backends, s.Backend)
		}
	}
	all := func(why string) ServerMap {
		m := ServerMap{Backend: backend}
		for _, n := range nodes {
			m.Missing = append(m.Missing, NodeReason{Node: n.Name, Reason: why})
		}
		return m
	}
	if backend != "" {
		if !slices.Contains(backends, backend) {
			return all(fmt.Sprintf("HAProxy has no backend %q with servers (it has: %s): fix haproxy.backend", backend, listOr(backends, "none")))
		}
		return matchBackend(servers, nodes, backend, given)
	}
	if len(backends) == 0 {
		return all("HAProxy lists no backend with servers")
	}
	var best []ServerMap
	bestN := 0
	for _, b := range backends {
		m := matchBackend(servers, nodes, b, given)
		switch n := len(m.Servers); {
		case n > bestN:
			best, bestN = []ServerMap{m}, n
		case n == bestN && n > 0:
			best = append(best, m)
		}
	}
	switch {
	case bestN == 0:
		return all(fmt.Sprintf("no server of any HAProxy backend (%s) points at the node: name the backend under haproxy.backend and the node's server under haproxy.servers", strings.Join(backends, ", ")))
	case len(best) > 1:
		var names []string
		for _, m := range best {
			names = append(names, m.Backend)
		}
		return all(fmt.Sprintf("backends %s each have servers for %d of the nodes: name the right one under haproxy.backend", strings.Join(names, " and "), bestN))
	}
	return best[0]
}

// matchBackend maps the nodes to servers of one backend.
func matchBackend(servers []ProxyServer, nodes []NodeAddrs, backend string, given map[string]string) ServerMap {
	m := ServerMap{Backend: backend, Servers: map[string]string{}, By: map[string]string{}}
	var in []ProxyServer
	for _, s := range servers {
		if s.Backend == backend {
			in = append(in, s)
		}
	}
	taken := map[string]string{} // server → node
	for _, n := range nodes {
		if s, ok := given[n.Name]; ok {
			taken[s] = n.Name
		}
	}
	for _, n := range nodes {
		if s, ok := given[n.Name]; ok {
			if !slices.ContainsFunc(in, func(p ProxyServer) bool { return p.Name == s }) {
				m.Missing = append(m.Missing, NodeReason{Node: n.Name, Reason: fmt.Sprintf("haproxy.servers names server %q for %s, which backend %s does not have (it has: %s)", s, n.Name, backend, listOr(serverNames(in), "none"))})
				continue
			}
			m.Servers[n.Name], m.By[n.Name] = s, "target file"
			continue
		}
		pick, how, why := "", "", ""
		match := func(test func(ProxyServer) bool, label func(ProxyServer) string) bool {
			var found []ProxyServer
			for _, s := range in {
				if _, used := taken[s.Name]; !used && test(s) {
					found = append(found, s)
				}
			}
			switch len(found) {
			case 1:
				pick, how = found[0].Name, label(found[0])
				return true
			case 0:
				return false
			}
			why = fmt.Sprintf("servers %s of backend %s all point at %s: name its server under haproxy.servers", strings.Join(serverNames(found), ", "), backend, n.Name)
			return true
		}
		_ = match(func(s ProxyServer) bool { return s.Name == n.Name }, func(ProxyServer) string { return "name" }) ||
			match(func(s ProxyServer) bool { return slices.Contains(n.IPs, s.Addr) }, func(s ProxyServer) string {
				return "address " + net.JoinHostPort(s.Addr, strconv.Itoa(s.Port)) + " (the container's)"
			}) ||
			match(func(s ProxyServer) bool {
				return n.DSN != "" && (net.JoinHostPort(s.Addr, strconv.Itoa(s.Port)) == n.DSN ||
					(s.FQDN != "" && s.FQDN != "-" && net.JoinHostPort(s.FQDN, strconv.Itoa(s.Port)) == n.DSN))
			}, func(ProxyServer) string { return "dsn " + n.DSN })
		switch {
		case pick != "":
			m.Servers[n.Name], m.By[n.Name] = pick, how
			taken[pick] = n.Name
		case why != "":
			m.Missing = append(m.Missing, NodeReason{Node: n.Name, Reason: why})
		default:
			m.Missing = append(m.Missing, NodeReason{Node: n.Name, Reason: fmt.Sprintf("no server of backend %s points at %s: name it under haproxy.servers", backend, n.Name)})
		}
	}
	return m
}

func serverNames(ss []ProxyServer) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func listOr(list []string, none string) string {
	if len(list) == 0 {
		return none
	}
	return strings.Join(list, ", ")
}

// adminCommand sends one command to HAProxy's runtime API and returns the
// answer (non-interactive mode: HAProxy answers and closes).
func adminCommand(ctx context.Context, addr, cmd string) (string, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(io.LimitReader(c, 4<<20))
	return string(b), err
}

// DescribeServers says which server of which backend failover will use
// for each node, and why none for the others; "" when the target names
// no HAProxy admin address.
func DescribeServers(h HAProxyFacts) string {
	if h.Admin == "" || !h.AdminOK {
		return ""
	}
	m := h.Servers
	var parts []string
	for _, node := range slices.Sorted(maps.Keys(m.Servers)) {
		parts = append(parts, fmt.Sprintf("%s = %s/%s (by %s)", node, m.Backend, m.Servers[node], m.By[node]))
	}
	for _, r := range m.Missing {
		parts = append(parts, fmt.Sprintf("%s: none (%s)", r.Node, r.Reason))
	}
	return "HAProxy servers for failover: " + strings.Join(parts, "; ")
}
