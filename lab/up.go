package lab

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/node"
)

// Ports inside the containers (fixed by compose/haproxy.cfg and PostgreSQL).
const (
	innerPG    = "5432/tcp"
	innerProxy = "5020/tcp"
	innerStats = "7020/tcp"
	innerAdmin = "9999/tcp"
)

// pgArgs are the server settings every lab node runs with (see LAB-FACTS.md:
// wal_retrieve_retry_interval=1s makes a restarted peer's subscription
// reconnect in about a second instead of six).
func pgArgs(node string, extra ...string) []string {
	settings := []string{
		"wal_level=logical",
		"track_commit_timestamp=on",
		"max_wal_senders=10",
		"max_replication_slots=10",
		"wal_retrieve_retry_interval=1s",
		"max_connections=300",
		"cluster_name=" + node,
		"log_line_prefix=%m [%p] ",
	}
	settings = append(settings, extra...)
	args := []string{"postgres"}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	return args
}

// Up builds a lab: images resolved, network, the primaries, HAProxy,
// replication between every two primaries, proven with a marker row in
// every direction. On failure it
// removes what it made (unless cfg.KeepOnError) and returns an error marked
// with exit code 3 (or 2 for a bad configuration).
func Up(ctx context.Context, cfg Config) (*Lab, error) {
	cfg.defaults()
	if err := cfg.Validate(); err != nil {
		return nil, exitcode.BadInputErr(fmt.Errorf("lab up: %w", err))
	}
	cli, err := Docker(ctx)
	if err != nil {
		return nil, exitcode.InfraErr(fmt.Errorf("lab up: %w", err))
	}
	existing, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: LabelFilter(cfg.Name)})
	if err != nil {
		cli.Close()
		return nil, exitcode.InfraErr(fmt.Errorf("lab up: list containers: %w", err))
	}
	if len(existing) > 0 {
		cli.Close()
		return nil, exitcode.InfraErr(fmt.Errorf("lab up: a lab named %q already exists (%d containers): use it (pgchaos lab status --name %s, or run --lab %s), or remove it first with `pgchaos lab down --name %s`",
			cfg.Name, len(existing), cfg.Name, cfg.Name, cfg.Name))
	}
	if err := checkPorts(ctx, cli, cfg); err != nil {
		cli.Close()
		return nil, exitcode.InfraErr(fmt.Errorf("lab up: %w", err))
	}
	l, err := build(ctx, cli, cfg)
	if err != nil {
		if !cfg.KeepOnError {
			// Clean up even when ctx was cancelled (Ctrl-C during up).
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			if derr := Down(dctx, cfg.Name); derr != nil {
				err = errors.Join(err, fmt.Errorf("and removing the half-built lab failed too: %w", derr))
			}
			cancel()
		} else {
			err = fmt.Errorf("%w\n(the half-built lab %q is kept because of --keep-on-error; remove it with `pgchaos lab down --name %s`)", err, cfg.Name, cfg.Name)
		}
		cli.Close()
		if code := exitcode.Of(err); code == exitcode.Interrupted || code == exitcode.BadInput {
			// Ctrl-C, or the user's schema file refused by the server.
			return nil, exitcode.With(code, fmt.Errorf("lab up: %w", err))
		}
		return nil, exitcode.InfraErr(fmt.Errorf("lab up: %w", err))
	}
	return l, nil
}

func build(ctx context.Context, cli *client.Client, cfg Config) (*Lab, error) {
	start := time.Now()
	images, err := ResolveImages(ctx, cli, cfg.Postgres, cfg.Images)
	if err != nil {
		return nil, err
	}
	cfg.Log("images: %s, %s", images.Postgres, images.HAProxy)

	adminPort, err := freePort()
	if err != nil {
		return nil, err
	}
	l := &Lab{
		Name: cfg.Name, Postgres: cfg.Postgres, Sequences: cfg.Sequences,
		Engine: cfg.Engine, Resolver: cfg.Resolver, RetainDeadTuples: cfg.RetainDeadTuples,
		schema: cfg.Schema, Schema: cfg.Schema.Label(),
		Network: networkName(cfg.Name), Images: images, docker: cli, Password: cfg.Password,
		Proxy: Proxy{
			Container: containerName(cfg.Name, HAProxy), Host: cfg.Listen,
			Port: cfg.Ports.HAProxy, StatsPort: cfg.Ports.Stats,
			AdminAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(adminPort)), Backend: "pg",
		},
	}
	for i := 1; i <= cfg.Nodes; i++ {
		name := node.Primary(i)
		l.Nodes = append(l.Nodes, Node{
			Name: name, Container: containerName(cfg.Name, name),
			Volume: volumeName(cfg.Name, name), Host: cfg.Listen, Port: cfg.Ports.Primary(i),
		})
	}

	if _, err := cli.NetworkCreate(ctx, l.Network, network.CreateOptions{
		Driver: "bridge", Labels: Labels(cfg.Name, "network"),
	}); err != nil {
		return nil, fmt.Errorf("create network %s: %w", l.Network, err)
	}
	volTarget := volumeTarget(ctx, cli, images.Postgres)
	for i := range l.Nodes {
		if err := createNode(ctx, cli, cfg, l, &l.Nodes[i], volTarget); err != nil {
			return nil, err
		}
	}
	for i := range l.Nodes {
		if err := l.WaitReady(ctx, l.Nodes[i].Name, cfg.Timeout); err != nil {
			return nil, err
		}
	}
	cfg.Log("%s accept connections (%.1fs)", countPrimaries(len(l.Nodes)), time.Since(start).Seconds())

	if err := createProxy(ctx, cli, cfg, l, adminPort); err != nil {
		return nil, err
	}
	if err := l.Replication().Setup(ctx, l); err != nil {
		return nil, err
	}
	if err := l.proveReplication(ctx, cfg.Timeout); err != nil {
		return nil, err
	}
	if len(l.Nodes) == 2 {
		cfg.Log("replication proven both ways (%.1fs)", time.Since(start).Seconds())
	} else {
		cfg.Log("replication proven in all %d directions of the mesh (%.1fs)", len(l.Nodes)*(len(l.Nodes)-1), time.Since(start).Seconds())
	}
	if err := l.waitProxy(ctx, cfg.Timeout); err != nil {
		return nil, err
	}
	cfg.Log("haproxy serves %s (%.1fs)", map[bool]string{true: "both backends", false: fmt.Sprintf("all %d backends", len(l.Nodes))}[len(l.Nodes) == 2], time.Since(start).Seconds())
	return l, nil
}

// countPrimaries says "both primaries" or "all n primaries".
func countPrimaries(n int) string {
	if n == 2 {
		return "both primaries"
	}
	return fmt.Sprintf("all %d primaries", n)
}

func createNode(ctx context.Context, cli *client.Client, cfg Config, l *Lab, n *Node, volTarget string) error {
	labels := Labels(cfg.Name, n.Name)
	labels[LabelPostgres] = cfg.Postgres
	labels[LabelSequences] = cfg.Sequences
	labels[LabelListen] = cfg.Listen
	if cfg.Schema != nil {
		labels[LabelSchema] = cfg.Schema.Label()
	}
	labels[LabelNodes] = strconv.Itoa(cfg.Nodes)
	if cfg.Engine != "" && cfg.Engine != EngineNative {
		labels[LabelEngine] = cfg.Engine
		labels[LabelResolver] = cfg.Resolver
	}
	if cfg.RetainDeadTuples {
		labels[LabelRetainDeadTuples] = "true"
	}
	if _, err := cli.VolumeCreate(ctx, volume.CreateOptions{Name: n.Volume, Labels: Labels(cfg.Name, "volume")}); err != nil {
		return fmt.Errorf("create volume %s: %w", n.Volume, err)
	}
	resp, err := cli.ContainerCreate(ctx,
		&container.Config{
			Image:    l.Images.Postgres,
			Hostname: n.Name,
			Env: []string{
				"POSTGRES_USER=" + User, "POSTGRES_PASSWORD=" + l.SuperuserPassword(), "POSTGRES_DB=" + Database,
			},
			Cmd:          pgArgs(n.Name, l.Replication().Settings(cfg.Resolver)...),
			Labels:       labels,
			ExposedPorts: nat.PortSet{innerPG: {}},
		},
		&container.HostConfig{
			PortBindings: nat.PortMap{innerPG: {{HostIP: cfg.Listen, HostPort: strconv.Itoa(n.Port)}}},
			Mounts:       []mount.Mount{{Type: mount.TypeVolume, Source: n.Volume, Target: volTarget}},
			ShmSize:      256 << 20,
		},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			l.Network: {Aliases: []string{n.Name}},
		}},
		nil, n.Container)
	if err != nil {
		return fmt.Errorf("create container %s: %w", n.Container, err)
	}
	n.ID = resp.ID
	// Before the first start: a server told to preload a library its image
	// lacks would not start, and say so only in its log.
	if err := l.Replication().CheckImage(ctx, cli, resp.ID, l.Images.Postgres, cfg.Postgres); err != nil {
		return err
	}
	if err := cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("start %s: %w", n.Container, portHint(err, n.Port))
	}
	n.State = "running"
	return nil
}

func createProxy(ctx context.Context, cli *client.Client, cfg Config, l *Lab, adminPort int) error {
	p := &l.Proxy
	bind := func(port int) []nat.PortBinding {
		return []nat.PortBinding{{HostIP: cfg.Listen, HostPort: strconv.Itoa(port)}}
	}
	labels := Labels(cfg.Name, HAProxy)
	labels[LabelListen] = cfg.Listen
	if cfg.Schema != nil {
		labels[LabelSchema] = cfg.Schema.Label()
	}
	labels["pgchaos.admin"] = p.AdminAddr
	resp, err := cli.ContainerCreate(ctx,
		&container.Config{
			Image:        l.Images.HAProxy,
			Hostname:     HAProxy,
			Labels:       labels,
			ExposedPorts: nat.PortSet{innerProxy: {}, innerStats: {}, innerAdmin: {}},
		},
		&container.HostConfig{PortBindings: nat.PortMap{
			innerProxy: bind(cfg.Ports.HAProxy),
			innerStats: bind(cfg.Ports.Stats),
			// The runtime API has admin rights: never beyond loopback.
			innerAdmin: {{HostIP: "127.0.0.1", HostPort: strconv.Itoa(adminPort)}},
		}},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			l.Network: {Aliases: []string{HAProxy}},
		}},
		nil, p.Container)
	if err != nil {
		return fmt.Errorf("create container %s: %w", p.Container, err)
	}
	p.ID = resp.ID
	conf := haproxyConfig(l.Primaries())
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "haproxy.cfg", Mode: 0o644, Size: int64(len(conf)), ModTime: time.Now()}); err != nil {
		return err
	}
	if _, err := tw.Write(conf); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := cli.CopyToContainer(ctx, p.ID, "/usr/local/etc/haproxy", &buf, container.CopyToContainerOptions{}); err != nil {
		return fmt.Errorf("copy haproxy.cfg into %s: %w", p.Container, err)
	}
	if err := cli.ContainerStart(ctx, p.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("start %s: %w", p.Container, portHint(err, cfg.Ports.HAProxy, cfg.Ports.Stats))
	}
	p.State = "running"
	return nil
}

// volumeTarget is where the image keeps its data: its declared VOLUME
// (/var/lib/postgresql/data for postgres:17, /var/lib/postgresql for 18).
// Mounting our labelled volume there leaves no anonymous volume behind.
func volumeTarget(ctx context.Context, cli *client.Client, img string) string {
	ii, err := cli.ImageInspect(ctx, img)
	if err == nil && ii.Config != nil && len(ii.Config.Volumes) > 0 {
		var vols []string
		for v := range ii.Config.Volumes {
			vols = append(vols, v)
		}
		sort.Strings(vols)
		return vols[0]
	}
	return "/var/lib/postgresql"
}

// checkPorts fails early, naming the port and, when one of our labs holds
// it, that lab.
func checkPorts(ctx context.Context, cli *client.Client, cfg Config) error {
	for _, p := range cfg.portList() {
		ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Listen, strconv.Itoa(p.port)))
		if err == nil {
			ln.Close()
			continue
		}
		if holder := labHoldingPort(ctx, cli, p.port); holder != "" {
			return fmt.Errorf("port %d (for %s) is in use by lab %q: run `pgchaos lab down --name %s`, or pass %s with a free port", p.port, p.name, holder, holder, p.flag)
		}
		return fmt.Errorf("port %d (for %s) on %s is in use by another program: stop it, or pass %s with a free port", p.port, p.name, cfg.Listen, p.flag)
	}
	return nil
}

func labHoldingPort(ctx context.Context, cli *client.Client, port int) string {
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return ""
	}
	for _, c := range cs {
		name, ok := c.Labels[LabelLab]
		if !ok {
			continue
		}
		for _, p := range c.Ports {
			if int(p.PublicPort) == port {
				return name
			}
		}
	}
	return ""
}

func portHint(err error, ports ...int) error {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	if len(s) == 1 {
		return fmt.Errorf("%w (is port %s free?)", err, s[0])
	}
	return fmt.Errorf("%w (are ports %s free?)", err, strings.Join(s, " and "))
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port for the haproxy runtime API: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
