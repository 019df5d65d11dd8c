package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"
	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/dockerhost"
	"github.com/pgchaos/pgchaos/exitcode"
)

// ExternalNode is one of a user's nodes, for External.
type ExternalNode struct {
	// Name is the user's name for the node; workloads and faults use it.
	Name string
	// ConnString is the user's connection string as written (URL or
	// keyword/value). It may hold a password: the Lab keeps it unexported
	// and only ever hands it to pgx. The password may also come from
	// PGPASSWORD or ~/.pgpass, which pgx reads when it parses it.
	ConnString string
	// Container names the node's container, for container faults and its
	// server log; "" for none.
	Container string
	// ClusterName is the node's cluster_name as preflight read it: ops
	// served by the node record it as served_by.
	ClusterName string
	// DockerHost is the engine running Container: "" for the local one
	// (DOCKER_HOST and friends), else unix://PATH, tcp://HOST:PORT or
	// ssh://[USER@]HOST[:PORT]. Nodes on the same engine share one client.
	DockerHost string
}

// ExternalConfig describes a user's nodes as a lab: a target that pgchaos
// did not build and must not change beyond its own objects.
type ExternalConfig struct {
	// Name names the lab in the ledger and in reports (e.g. target-cluster).
	Name string
	// Postgres is the major version the nodes run, "18".
	Postgres string
	// Engine is the replication the preflight detected (native or pglogical).
	Engine string
	Nodes  []ExternalNode
	// Links are the user's subscriptions between the nodes (subscriber,
	// publisher, subscription name, slot on the publisher), as the
	// preflight's topology found them.
	Links []Link
	// HAProxy is the load balancer's host:port clients connect to; "" for
	// none. Workloads reach it with the first node's credentials.
	HAProxy string
	// HAProxyAdmin is the runtime API's host:port (failover); "" for none.
	HAProxyAdmin string
	// HAProxyBackend is the backend whose servers are the nodes, and
	// HAProxyServers each node's server in it (as preflight mapped them).
	HAProxyBackend string
	HAProxyServers map[string]string
}

// External makes a Lab of a user's nodes, so workloads, faults, observation
// and reports run on them through the same code as on a lab pgchaos built.
// Such a lab has no volumes and creates no network; nothing may remove it
// (Down works by label and finds nothing of it; callers check IsExternal).
// When a node names a container, External inspects it on the node's engine
// (its ID is what container faults and log reads take, through DockerFor);
// a container the engine does not have is left out (Container and ID
// empty). When every node names a container on one engine and they share
// exactly one Docker network there, that is the lab's Network (link faults
// find peers' addresses on it); otherwise Network is empty. Close it when
// done.
func External(ctx context.Context, cfg ExternalConfig) (*Lab, error) {
	if cfg.Name == "" || len(cfg.Nodes) == 0 {
		return nil, exitcode.BadInputErr(errors.New("external lab: a name and at least one node are needed"))
	}
	l := &Lab{Name: cfg.Name, Postgres: cfg.Postgres, Engine: cfg.Engine,
		external: true, conns: map[string]string{}, links: cfg.Links}
	var first *pgx.ConnConfig
	for _, en := range cfg.Nodes {
		pc, err := pgx.ParseConfig(en.ConnString)
		if err != nil {
			// pgx's message may quote the string: say only which node.
			return nil, exitcode.BadInputErr(fmt.Errorf("external lab: node %s: its connection string does not parse", en.Name))
		}
		if first == nil {
			first = pc
		}
		l.conns[en.Name] = en.ConnString
		l.Nodes = append(l.Nodes, Node{Name: en.Name, Container: en.Container, DockerHost: en.DockerHost,
			Host: pc.Host, Port: int(pc.Port), User: pc.User, ClusterName: en.ClusterName})
	}
	l.Proxy.AdminAddr, l.Proxy.Backend, l.Proxy.Servers = cfg.HAProxyAdmin, cfg.HAProxyBackend, cfg.HAProxyServers
	if cfg.HAProxy != "" {
		host, port, err := net.SplitHostPort(cfg.HAProxy)
		p, perr := strconv.Atoi(port)
		if err != nil || perr != nil {
			return nil, exitcode.BadInputErr(fmt.Errorf("external lab: haproxy address %q is not host:port", cfg.HAProxy))
		}
		l.Proxy.Host, l.Proxy.Port = host, p
		l.conns[HAProxy] = withHostPort(cfg.Nodes[0].ConnString, host, p)
	}
	// One client per engine the nodes' containers run on.
	l.engines = map[string]*client.Client{}
	fail := func(err error) (*Lab, error) {
		l.Close()
		return nil, err
	}
	for _, n := range l.Nodes {
		if n.Container == "" {
			continue
		}
		key := dockerhost.Key(n.DockerHost)
		if _, ok := l.engines[key]; ok {
			continue
		}
		var cli *client.Client
		var err error
		if n.DockerHost == "" {
			cli, err = Docker(ctx)
		} else {
			cli, err = dockerhost.Client(ctx, n.DockerHost)
		}
		if err != nil {
			return fail(exitcode.InfraErr(fmt.Errorf("external lab: node %s: %w", n.Name, err)))
		}
		l.engines[key] = cli
		if key == dockerhost.Key("") {
			l.docker = cli
		}
	}
	if len(l.engines) == 0 {
		l.engines = nil
		return l, nil
	}
	l.Images.NetTools = imageCandidates("nettools", l.Postgres)[0]
	// network → how many of the nodes' containers are on it; a network is
	// an engine's own, so the key holds both.
	type onEngine struct{ engine, network string }
	shared := map[onEngine]int{}
	for i, n := range l.Nodes {
		if n.Container == "" {
			continue
		}
		key := dockerhost.Key(n.DockerHost)
		ci, err := l.engines[key].ContainerInspect(ctx, n.Container)
		if cerrdefs.IsNotFound(err) {
			// Preflight says so; the faults that need it are refused.
			l.Nodes[i].Container = ""
			continue
		}
		if err != nil {
			return fail(exitcode.InfraErr(fmt.Errorf("external lab: node %s: container %s on %s: %w", n.Name, n.Container, engineName(n.DockerHost), err)))
		}
		l.Nodes[i].ID = ci.ID
		if ci.State != nil {
			l.Nodes[i].State = ci.State.Status
		}
		if ci.Config != nil && l.Images.Postgres == "" {
			l.Images.Postgres = ci.Config.Image
		}
		if ci.NetworkSettings != nil {
			for name := range ci.NetworkSettings.Networks {
				shared[onEngine{key, name}]++
			}
		}
	}
	// Link faults find a node's peer by its address on the network the
	// nodes share: usable only when there is exactly one, on one engine.
	var nets []string
	for on, k := range shared {
		if k == len(l.Nodes) && on.network != "host" && on.network != "none" {
			nets = append(nets, on.network)
		}
	}
	if len(nets) == 1 {
		l.Network = nets[0]
	}
	return l, nil
}

func engineName(host string) string {
	if host == "" {
		return "the local Docker engine"
	}
	return host
}

// IsExternal reports whether the lab is a user's nodes (External): pgchaos
// did not build it and never removes or reconfigures it.
func (l *Lab) IsExternal() bool { return l != nil && l.external }

// SlotOn is the replication slot on publisher that serves subscriber's
// subscription to it: the one the user's topology names on an external
// lab, the engine's naming on a lab pgchaos built.
func (l *Lab) SlotOn(subscriber, publisher string) string {
	if l.external {
		for _, k := range l.links {
			if k.Subscriber == subscriber && k.Publisher == publisher {
				return k.Slot
			}
		}
	}
	return l.Replication().SlotOn(subscriber, publisher)
}

// withHostPort is connString aimed at host:port instead: the same user,
// database, password source and options, for the load balancer in front
// of the nodes.
func withHostPort(connString, host string, port int) string {
	if u, err := url.Parse(connString); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Host = net.JoinHostPort(host, strconv.Itoa(port))
		return u.String()
	}
	// keyword/value: a later keyword overrides an earlier one.
	return strings.TrimSpace(connString) + " host='" + strings.ReplaceAll(host, "'", `\'`) + "' port=" + strconv.Itoa(port)
}
