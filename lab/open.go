package lab

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/pgchaos/pgchaos/dockerhost"
	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/node"
)

// ErrNotFound is returned by Open when no Docker object carries the lab's label.
var ErrNotFound = errors.New("lab not found")

// Open finds a lab by name from its Docker labels and reads its topology
// (ports, images, states) back from the containers. Close it when done.
func Open(ctx context.Context, name string) (*Lab, error) {
	cli, err := Docker(ctx)
	if err != nil {
		return nil, exitcode.InfraErr(err)
	}
	l, err := open(ctx, cli, name)
	if err != nil {
		cli.Close()
		return nil, err
	}
	return l, nil
}

func open(ctx context.Context, cli *client.Client, name string) (*Lab, error) {
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: LabelFilter(name)})
	if err != nil {
		return nil, exitcode.InfraErr(fmt.Errorf("list containers of lab %q: %w", name, err))
	}
	l := &Lab{Name: name, Network: networkName(name), docker: cli}
	found := map[string]bool{}
	nodes := node.DefaultPrimaries // a lab built before it had a count
	for _, c := range cs {
		role := c.Labels[LabelRole]
		if _, primary := node.PrimaryIndex(role); !primary && role != HAProxy {
			continue
		}
		ci, err := cli.ContainerInspect(ctx, c.ID)
		if err != nil {
			return nil, exitcode.InfraErr(fmt.Errorf("inspect %s: %w", c.ID[:12], err))
		}
		found[role] = true
		listen := c.Labels[LabelListen]
		if role == HAProxy {
			l.Proxy = Proxy{
				Container: trimSlash(ci.Name), ID: ci.ID, Host: listen,
				Port: boundPort(ci, innerProxy), StatsPort: boundPort(ci, innerStats),
				AdminAddr: c.Labels["pgchaos.admin"], Backend: "pg", State: ci.State.Status,
			}
			l.Images.HAProxy = ci.Config.Image
			continue
		}
		// The container's own environment is where the password lives;
		// nothing else records it.
		for _, kv := range ci.Config.Env {
			if pw, ok := strings.CutPrefix(kv, "POSTGRES_PASSWORD="); ok {
				l.Password = pw
			}
		}
		if n, err := strconv.Atoi(c.Labels[LabelNodes]); err == nil && n > nodes {
			nodes = n
		}
		l.Postgres = c.Labels[LabelPostgres]
		l.Sequences = c.Labels[LabelSequences]
		l.Engine, l.Resolver = c.Labels[LabelEngine], c.Labels[LabelResolver]
		l.RetainDeadTuples = c.Labels[LabelRetainDeadTuples] == "true"
		l.Schema = c.Labels[LabelSchema]
		l.Images.Postgres = ci.Config.Image
		n := Node{
			Name: role, Container: trimSlash(ci.Name), ID: ci.ID, Host: listen,
			Port: boundPort(ci, innerPG), State: ci.State.Status,
		}
		for _, m := range ci.Mounts {
			if m.Type == "volume" {
				n.Volume = m.Name
			}
		}
		l.Nodes = append(l.Nodes, n)
	}
	if len(cs) == 0 {
		return nil, exitcode.InfraErr(fmt.Errorf("%w: no Docker object carries the label %s=%s (list labs with `pgchaos lab list`, or create it with `pgchaos lab up --name %s`)", ErrNotFound, LabelLab, name, name))
	}
	for _, role := range node.TargetsOf(nodes) {
		if !found[role] {
			return nil, exitcode.InfraErr(fmt.Errorf("lab %q is incomplete: its %s container is missing (rebuild it: `pgchaos lab down --name %s` then `pgchaos lab up --name %s`)", name, role, name, name))
		}
	}
	// A primary beyond the lab's count would be a stray container: the
	// lab's nodes are primary1 … primaryN, in order.
	sort.Slice(l.Nodes, func(i, j int) bool {
		a, _ := node.PrimaryIndex(l.Nodes[i].Name)
		b, _ := node.PrimaryIndex(l.Nodes[j].Name)
		return a < b
	})
	if len(l.Nodes) > nodes {
		l.Nodes = l.Nodes[:nodes]
	}
	l.Images.NetTools = imageCandidates("nettools", l.Postgres)[0]
	return l, nil
}

// boundPort reads the host port a container port is published on, from the
// host config, which holds it even while the container is stopped.
func boundPort(ci container.InspectResponse, inner string) int {
	if ci.HostConfig == nil {
		return 0
	}
	for p, bs := range ci.HostConfig.PortBindings {
		if string(p) == inner && len(bs) > 0 {
			n, _ := strconv.Atoi(bs[0].HostPort)
			return n
		}
	}
	return 0
}

func trimSlash(s string) string {
	if len(s) > 0 && s[0] == '/' {
		return s[1:]
	}
	return s
}

// Docker is the lab's Docker client (the local engine), for packages that
// act on its containers. It stays owned by the Lab. A user's node may run
// on another engine: act on a node's container through DockerFor.
func (l *Lab) Docker() *client.Client { return l.docker }

// DockerFor is the client of the engine that runs node's container: the
// lab's one engine on a lab pgchaos built, the node's docker_host on a
// user's (External). nil when the node has no reachable engine; names that
// are not nodes (haproxy) get the lab's client. It stays owned by the Lab.
func (l *Lab) DockerFor(node string) *client.Client {
	if l == nil {
		return nil
	}
	if l.engines == nil {
		return l.docker
	}
	n, ok := l.Node(node)
	if !ok {
		return l.docker
	}
	return l.engines[dockerhost.Key(n.DockerHost)]
}

// dockerForID is DockerFor the node whose container has that ID (log
// reads take an ID).
func (l *Lab) dockerForID(id string) *client.Client {
	for _, n := range l.Nodes {
		if n.ID != "" && n.ID == id {
			return l.DockerFor(n.Name)
		}
	}
	return l.docker
}

// Close releases the Docker clients. Safe on nil.
func (l *Lab) Close() error {
	if l == nil {
		return nil
	}
	if l.engines != nil {
		var errs []error
		for _, c := range l.engines {
			errs = append(errs, c.Close())
		}
		return errors.Join(errs...)
	}
	if l.docker == nil {
		return nil
	}
	return l.docker.Close()
}

// Refresh re-reads container states from Docker.
func (l *Lab) Refresh(ctx context.Context) error {
	fresh, err := open(ctx, l.docker, l.Name)
	if err != nil {
		return err
	}
	l.Nodes, l.Proxy = fresh.Nodes, fresh.Proxy
	return nil
}
