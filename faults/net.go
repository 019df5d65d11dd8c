package faults

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/pkg/stdcopy"
	"golang.org/x/sync/errgroup"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/pgchaos/pgchaos/dockerhost"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/scenario"
)

// Chain is the iptables chain (in the node's own network namespace) that
// holds every rule pgchaos adds; INPUT jumps to it. Removing it removes
// all of pgchaos's packet filtering on that node.
const Chain = "PGCHAOS"

// helperRunner is the slice of the Docker client that runs a helper
// container in a target's network namespace.
type helperRunner interface {
	inspector
	ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, id string, opts container.StartOptions) error
	ContainerWait(ctx context.Context, id string, cond container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerLogs(ctx context.Context, id string, opts container.LogsOptions) (io.ReadCloser, error)
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
}

// helper runs shell scripts with NET_ADMIN in a node's network namespace,
// from the network-tools image, so the node's own image needs no tools.
type helper struct {
	docker helperRunner
	image  string
	lab    string
}

// run runs script in target's network namespace and returns its output;
// a non-zero exit is an error quoting the output. The helper container is
// labelled as a helper of the lab and removed afterwards even if ctx ends.
func (h helper) run(ctx context.Context, target lab.Node, script string) (string, error) {
	resp, err := h.docker.ContainerCreate(ctx,
		&container.Config{
			Image:      h.image,
			Entrypoint: []string{"sh", "-c", script},
			Cmd:        []string{},
			Labels:     lab.Labels(h.lab, lab.RoleHelper),
		},
		&container.HostConfig{
			NetworkMode: container.NetworkMode("container:" + target.ID),
			CapAdd:      []string{"NET_ADMIN"},
		}, nil, nil, "")
	if err != nil {
		return "", fmt.Errorf("create a helper container from %s in %s's network: %w (is the network-tools image there? `make images` builds it)", h.image, target.Container, err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		h.docker.ContainerRemove(rctx, resp.ID, container.RemoveOptions{Force: true})
	}()
	waitC, errC := h.docker.ContainerWait(ctx, resp.ID, container.WaitConditionNextExit)
	if err := h.docker.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		return "", fmt.Errorf("start a helper container in %s's network: %w", target.Container, err)
	}
	var code int64
	select {
	case w := <-waitC:
		code = w.StatusCode
		if w.Error != nil {
			return "", fmt.Errorf("helper container in %s's network: %s", target.Container, w.Error.Message)
		}
	case err := <-errC:
		return "", fmt.Errorf("wait for the helper container in %s's network: %w", target.Container, err)
	}
	stdout, stderr := h.output(ctx, resp.ID)
	if code != 0 {
		return stdout, fmt.Errorf("helper in %s's network exited with %d: %s", target.Container, code, strings.TrimSpace(stderr+"\n"+stdout))
	}
	return stdout, nil
}

// output returns a finished helper's stdout and stderr apart: scripts
// report what they did on stdout, tools complain on stderr.
func (h helper) output(ctx context.Context, id string) (stdout, stderr string) {
	rc, err := h.docker.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return "", "(output unavailable: " + err.Error() + ")"
	}
	defer rc.Close()
	var o, e bytes.Buffer
	stdcopy.StdCopy(&o, &e, rc)
	return o.String(), e.String()
}

// engineOf names a node's engine in messages.
func engineOf(n lab.Node) string {
	if n.DockerHost == "" {
		return "the local engine"
	}
	return n.DockerHost
}

// devOf is a shell snippet setting DEV to the interface that holds ip:
// Docker names a reconnected node's interface eth1, eth2, …, not eth0.
func devOf(ip string) string {
	return fmt.Sprintf(`DEV=$(ip -o -4 addr show | awk -v ip=%s '{split($4, a, "/"); if (a[1] == ip) print $2}')
[ -n "$DEV" ] || { echo "no interface holds %s" >&2; exit 1; }
`, ip, ip)
}

// running tells whether a node's container runs (its network namespace
// exists); a stopped node has no rules or qdiscs left to remove.
func running(ctx context.Context, d inspector, n lab.Node) (bool, error) {
	ci, err := d.ContainerInspect(ctx, n.ID)
	if err != nil {
		return false, fmt.Errorf("inspect %s: %w", n.Container, err)
	}
	return ci.State != nil && ci.State.Running, nil
}

// ipOf reads a node's address on the lab network now (it can change when a
// node restarts or reconnects).
func ipOf(ctx context.Context, d inspector, netName string, n lab.Node) (string, error) {
	ci, err := d.ContainerInspect(ctx, n.ID)
	if err != nil {
		return "", fmt.Errorf("inspect %s: %w", n.Container, err)
	}
	if ci.NetworkSettings != nil {
		if ep, ok := ci.NetworkSettings.Networks[netName]; ok && ep.IPAddress != "" {
			return ep.IPAddress, nil
		}
	}
	return "", fmt.Errorf("%s has no address on %s (is it stopped or isolated?)", n.Container, netName)
}

// netFault is partition, delay and loss: rules placed on one or both
// nodes by a helper container. Each rule carries the fault's tag so one
// fault's heal removes only its own rules.
type netFault struct {
	spec    scenario.Fault
	kind    string
	link    link // zero for a node-wide fault
	isLink  bool
	node    lab.Node // node-wide target
	nodes   map[string]lab.Node
	network string
	help    helper
	// instance tells this fault apart from another of the same kind on
	// the same target; the ledger sets it (and keeps it, so a heal in
	// another process finds the same rules). "" for a fault used without
	// a ledger: then the tag is the kind and target only.
	instance string
}

// Partition cuts the replication link between the primaries, both ways or
// one way, with iptables DROP rules on the receiving node: clients (host
// ports, HAProxy) still reach both nodes, which keep accepting writes.
type Partition struct{ netFault }

// Loss drops a share of packets with iptables' statistic match on the
// receiving node: on the link (packets from the peer) or node-wide
// (packets arriving on its lab interface). iptables rather than netem because it needs
// no extra kernel module, and 100% loss is then exactly a partition.
type Loss struct{ netFault }

func newNetFault(l *lab.Lab, spec scenario.Fault) (Fault, error) {
	nf := netFault{
		spec: spec, kind: spec.Kind, network: l.Network, nodes: map[string]lab.Node{},
		help: helper{image: l.Images.NetTools, lab: l.Name},
	}
	for _, n := range l.Nodes {
		nf.nodes[n.Name] = n
	}
	if nf.help.image == "" {
		nf.help.image = lab.LocalRepo + "/nettools:2"
	}
	var engineNode string // a node on the engine the fault acts through
	if lk, ok := linkOf(spec); ok {
		for _, name := range []string{lk.from, lk.to} {
			if _, ok := nf.nodes[name]; !ok {
				return nil, fmt.Errorf("fault %s: %q is not a node of lab %q (links are between primary1 and primary2)", spec.Kind, name, l.Name)
			}
		}
		if lk.from == lk.to {
			return nil, fmt.Errorf("fault %s: a link needs two different nodes, got %s twice", spec.Kind, lk.from)
		}
		nf.link, nf.isLink = lk, true
		// The helper and the peer's address are on one engine's network:
		// both ends must be there.
		a, b := nf.nodes[lk.from], nf.nodes[lk.to]
		if dockerhost.Key(a.DockerHost) != dockerhost.Key(b.DockerHost) {
			return nil, fmt.Errorf("fault %s: %s and %s run on different Docker engines (%s, %s): a link fault needs both ends on one engine and network", spec.Kind, a.Name, b.Name, engineOf(a), engineOf(b))
		}
		engineNode = lk.from
	} else {
		n, ok := l.Node(spec.Node)
		if !ok {
			return nil, fmt.Errorf("fault %s: node %q is not in lab %q (use primary1 or primary2, or between: [primary1, primary2] for the link)", spec.Kind, spec.Node, l.Name)
		}
		nf.node = n
		engineNode = n.Name
	}
	cli := l.DockerFor(engineNode)
	if cli == nil && l.IsExternal() {
		return nil, fmt.Errorf("fault %s: no Docker engine reaches the containers it acts on", spec.Kind)
	}
	nf.help.docker = cli
	switch spec.Kind {
	case scenario.FaultPartition:
		return &Partition{nf}, nil
	case scenario.FaultDelay:
		if spec.Delay <= 0 {
			return nil, fmt.Errorf("fault delay: delay must be > 0, got %s", spec.Delay)
		}
		if spec.Jitter < 0 {
			return nil, fmt.Errorf("fault delay: jitter must be >= 0, got %s", spec.Jitter)
		}
		return newDelay(l, nf), nil
	default:
		if spec.Loss <= 0 || spec.Loss > 100 {
			return nil, fmt.Errorf("fault loss: loss must be in (0, 100] percent, got %g", spec.Loss)
		}
		return &Loss{nf}, nil
	}
}

// Spec returns the scenario entry the fault was made from.
func (f *netFault) Spec() scenario.Fault { return f.spec }

// String names the fault, e.g. "partition primary1<->primary2".
func (f *netFault) String() string { return describeString(f.spec) }

var tagUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

// tag marks this fault's iptables rules and proxies: kind, target and the
// fault's instance, so that healing one fault removes its own rules only,
// even while another fault of the same kind holds on the same target (a
// partition nested in a longer one). A fault re-created from a ledger gets
// its instance back and so finds the rules its predecessor left.
func (f *netFault) tag() string {
	_, target, _ := Describe(f.spec)
	target = strings.ReplaceAll(strings.ReplaceAll(target, "<->", "-and-"), "->", "-to-")
	tag := "pgchaos-" + f.kind + "-" + strings.Trim(tagUnsafe.ReplaceAllString(target, "-"), "-")
	if inst := strings.Trim(tagUnsafe.ReplaceAllString(f.instance, "-"), "-"); inst != "" {
		tag += "-" + inst
	}
	return tag
}

// Instance returns what tells this fault apart from others of its kind on
// its target ("" until a ledger sets it).
func (f *netFault) Instance() string { return f.instance }

// SetInstance sets the fault's instance; call it before Inject, and with
// the same value on a fault re-created to heal it.
func (f *netFault) SetInstance(s string) { f.instance = s }

// hops lists (receiver, sender) pairs of a link fault: for one way a->b,
// b receives from a; for both ways, each node from the other.
func (f *netFault) hops() [][2]lab.Node {
	a, b := f.nodes[f.link.from], f.nodes[f.link.to]
	if f.link.both {
		return [][2]lab.Node{{b, a}, {a, b}}
	}
	return [][2]lab.Node{{b, a}}
}

// eachNode runs fn on each node the fault touches, in parallel.
func (f *netFault) eachNode(ctx context.Context, fn func(ctx context.Context, on, peer lab.Node) error) error {
	if !f.isLink {
		return fn(ctx, f.node, lab.Node{})
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, h := range f.hops() {
		g.Go(func() error { return fn(gctx, h[0], h[1]) })
	}
	return g.Wait()
}

// iptablesAdd is the script that appends one tagged rule to the PGCHAOS
// chain, creating the chain and INPUT's jump to it when missing.
func iptablesAdd(tag, match string) string {
	return fmt.Sprintf(`set -e
iptables -w -N %[1]s 2>/dev/null || true
iptables -w -C INPUT -j %[1]s 2>/dev/null || iptables -w -I INPUT 1 -j %[1]s
iptables -w -A %[1]s %[2]s -m comment --comment %[3]s -j DROP
`, Chain, match, tag)
}

// iptablesDel is the script that removes the tagged rules, and the chain
// once it is empty. Missing chain or rules are fine (idempotent heal).
func iptablesDel(tag string) string {
	return fmt.Sprintf(`iptables -w -S %[1]s >/dev/null 2>&1 || exit 0
iptables -w -S %[1]s | grep -F -- '--comment %[2]s ' | sed 's/^-A /-D /' | while read -r rule; do eval "iptables -w $rule" || exit 1; done
if [ -z "$(iptables -w -S %[1]s | grep -v '^-N ')" ]; then
  while iptables -w -D INPUT -j %[1]s 2>/dev/null; do :; done
  iptables -w -X %[1]s
fi
`, Chain, tag)
}

// Inject adds DROP rules for packets from the sender on each receiver.
func (p *Partition) Inject(ctx context.Context) error {
	err := p.eachNode(ctx, func(ctx context.Context, on, peer lab.Node) error {
		ip, err := ipOf(ctx, p.help.docker, p.network, peer)
		if err != nil {
			return err
		}
		_, err = p.help.run(ctx, on, iptablesAdd(p.tag(), "-s "+ip+"/32"))
		return err
	})
	if err != nil {
		return fmt.Errorf("inject %s: %w", p, err)
	}
	return nil
}

// Heal removes the fault's rules from both nodes.
func (p *Partition) Heal(ctx context.Context) error { return p.healRules(ctx) }

func (f *netFault) healRules(ctx context.Context) error {
	err := f.eachNode(ctx, func(ctx context.Context, on, _ lab.Node) error {
		if ok, err := running(ctx, f.help.docker, on); err != nil || !ok {
			return err // stopped: its namespace, and the rules, are gone
		}
		_, err := f.help.run(ctx, on, iptablesDel(f.tag()))
		return err
	})
	if err != nil {
		return fmt.Errorf("heal %s: %w", f, err)
	}
	return nil
}

// Inject adds statistic-match DROP rules on the receiving node(s).
func (s *Loss) Inject(ctx context.Context) error {
	stat := ""
	if s.spec.Loss < 100 {
		stat = " -m statistic --mode random --probability " + strconv.FormatFloat(s.spec.Loss/100, 'f', 6, 64)
	}
	err := s.eachNode(ctx, func(ctx context.Context, on, peer lab.Node) error {
		if s.isLink {
			ip, err := ipOf(ctx, s.help.docker, s.network, peer)
			if err != nil {
				return err
			}
			_, err = s.help.run(ctx, on, iptablesAdd(s.tag(), "-s "+ip+"/32"+stat))
			return err
		}
		ip, err := ipOf(ctx, s.help.docker, s.network, on)
		if err != nil {
			return err
		}
		_, err = s.help.run(ctx, on, devOf(ip)+iptablesAdd(s.tag(), `-i "$DEV"`+stat))
		return err
	})
	if err != nil {
		return fmt.Errorf("inject %s: %w", s, err)
	}
	return nil
}

// Heal removes the fault's rules.
func (s *Loss) Heal(ctx context.Context) error { return s.healRules(ctx) }
