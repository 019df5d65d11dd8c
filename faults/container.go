package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/scenario"
)

// The narrow slices of the Docker client each fault uses (*client.Client
// satisfies them all). They keep each fault honest about what it touches.
type (
	inspector interface {
		ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	}
	starter interface {
		inspector
		ContainerStart(ctx context.Context, id string, opts container.StartOptions) error
	}
	stopper interface {
		starter
		ContainerStop(ctx context.Context, id string, opts container.StopOptions) error
	}
	killer interface {
		starter
		ContainerKill(ctx context.Context, id, signal string) error
	}
	lifecycler interface {
		stopper
		killer
	}
	pauser interface {
		inspector
		ContainerPause(ctx context.Context, id string) error
		ContainerUnpause(ctx context.Context, id string) error
	}
	networker interface {
		inspector
		NetworkDisconnect(ctx context.Context, networkID, containerID string, force bool) error
		NetworkConnect(ctx context.Context, networkID, containerID string, cfg *network.EndpointSettings) error
	}
	// readier waits until a node answers queries; *lab.Lab is one.
	readier interface {
		WaitReady(ctx context.Context, node string, timeout time.Duration) error
	}
)

// lifecycle is what stop, kill and restart share: a node, a way to start it
// again and to wait until it answers.
type lifecycle struct {
	spec   scenario.Fault
	node   lab.Node
	docker lifecycler
	ready  readier
}

// Spec returns the scenario entry the fault was made from.
func (c *lifecycle) Spec() scenario.Fault { return c.spec }

// String names the fault, e.g. "stop primary1".
func (c *lifecycle) String() string { return c.spec.Kind + " " + c.node.Name }

// start starts the node unless it runs already, then waits until it answers.
func (c *lifecycle) start(ctx context.Context) error {
	ci, err := c.docker.ContainerInspect(ctx, c.node.ID)
	if err != nil {
		return fmt.Errorf("heal %s: inspect %s: %w", c, c.node.Container, err)
	}
	if ci.State == nil || !ci.State.Running {
		if err := c.docker.ContainerStart(ctx, c.node.ID, container.StartOptions{}); err != nil {
			return fmt.Errorf("heal %s: start %s: %w (try `docker start %s`)", c, c.node.Container, err, c.node.Container)
		}
	}
	if err := c.ready.WaitReady(ctx, c.node.Name, readyTimeout); err != nil {
		return fmt.Errorf("heal %s: %w", c, err)
	}
	return nil
}

// Stop stops a node gracefully: Docker sends the image's STOPSIGNAL (SIGINT,
// PostgreSQL's fast shutdown, for the official and the local images) and
// waits for the container's stop timeout. Heal starts it again.
type Stop struct{ lifecycle }

// Inject stops the node.
func (s *Stop) Inject(ctx context.Context) error {
	if err := s.docker.ContainerStop(ctx, s.node.ID, container.StopOptions{}); err != nil {
		return fmt.Errorf("inject %s: stop %s: %w", s, s.node.Container, err)
	}
	return nil
}

// Heal starts the node and waits until it answers queries.
func (s *Stop) Heal(ctx context.Context) error { return s.start(ctx) }

// Kill crashes a node with SIGKILL. Heal starts it again (PostgreSQL
// recovers from its WAL).
type Kill struct{ lifecycle }

// Inject sends SIGKILL to the node's container.
func (k *Kill) Inject(ctx context.Context) error {
	if err := k.docker.ContainerKill(ctx, k.node.ID, "SIGKILL"); err != nil {
		return fmt.Errorf("inject %s: kill %s: %w", k, k.node.Container, err)
	}
	return nil
}

// Heal starts the node and waits until it answers queries.
func (k *Kill) Heal(ctx context.Context) error { return k.start(ctx) }

// Restart stops a node gracefully and starts it again, all in Inject; it
// has nothing to heal beyond making sure the node runs.
type Restart struct{ lifecycle }

// Inject stops the node, starts it and waits until it answers.
func (r *Restart) Inject(ctx context.Context) error {
	if err := r.docker.ContainerStop(ctx, r.node.ID, container.StopOptions{}); err != nil {
		return fmt.Errorf("inject %s: stop %s: %w", r, r.node.Container, err)
	}
	return r.start(ctx)
}

// Heal starts the node if a restart was cut short (e.g. by an interrupt
// between stop and start); otherwise it only checks the node answers.
func (r *Restart) Heal(ctx context.Context) error { return r.start(ctx) }

// Pause freezes a node's processes (cgroup freezer): connections stay open
// but nothing answers. Heal unpauses it.
type Pause struct {
	spec   scenario.Fault
	node   lab.Node
	docker pauser
}

// Spec returns the scenario entry the fault was made from.
func (p *Pause) Spec() scenario.Fault { return p.spec }

// String names the fault, e.g. "pause primary2".
func (p *Pause) String() string { return "pause " + p.node.Name }

// Inject pauses the node's container.
func (p *Pause) Inject(ctx context.Context) error {
	if err := p.docker.ContainerPause(ctx, p.node.ID); err != nil {
		return fmt.Errorf("inject %s: pause %s: %w", p, p.node.Container, err)
	}
	return nil
}

// Heal unpauses the container. It asks Docker to unpause rather than first
// asking whether the container is paused: right after a pause, inspect can
// still say "running" (the long loop in loop_integration_test.go caught a
// heal that trusted it and left the node frozen); unpause of a container
// that is not paused is success (see unpause).
func (p *Pause) Heal(ctx context.Context) error {
	if err := unpause(ctx, p.docker, p.node); err != nil {
		return fmt.Errorf("heal %s: %w", p, err)
	}
	return nil
}

// unpause unpauses a container. Docker's inspect can still say "paused" a
// moment after an unpause, and a second unpause then fails with "is not
// paused": a failure after which the container is not paused is success.
func unpause(ctx context.Context, d pauser, n lab.Node) error {
	err := d.ContainerUnpause(ctx, n.ID)
	if err == nil {
		return nil
	}
	if ci, ierr := d.ContainerInspect(ctx, n.ID); ierr == nil && ci.State != nil && !ci.State.Paused {
		return nil
	}
	return fmt.Errorf("unpause %s: %w (try `docker unpause %s`)", n.Container, err, n.Container)
}

// Isolate cuts a node off the lab network: the peer, HAProxy and (because
// Docker publishes ports through the container's network) clients on the
// host port all lose it. Heal reconnects it under its name.
//
// On a user's container (lab.External) the network is the container's one
// network, and Prepare records its endpoint settings there (aliases, IPAM
// configuration, links, driver options) before it is disconnected; heal
// reconnects it with exactly those, from the ledger when another process
// heals. A container on several networks, or none, is refused.
type Isolate struct {
	spec    scenario.Fault
	node    lab.Node
	network string
	docker  networker
	ready   readier
	// external: a user's container, restored from endpoint.
	external bool
	endpoint *endpointState
}

// endpointState is a container's endpoint on a network as Docker reported
// it before isolate: what reconnecting it must give back.
type endpointState struct {
	Network    string                      `json:"network"`
	Aliases    []string                    `json:"aliases,omitempty"`
	IPAMConfig *network.EndpointIPAMConfig `json:"ipam_config,omitempty"`
	Links      []string                    `json:"links,omitempty"`
	DriverOpts map[string]string           `json:"driver_opts,omitempty"`
}

// Spec returns the scenario entry the fault was made from.
func (i *Isolate) Spec() scenario.Fault { return i.spec }

// String names the fault, e.g. "isolate primary1".
func (i *Isolate) String() string { return "isolate " + i.node.Name }

// Prepare reads, on a user's container, the one network it is on and its
// endpoint settings there; on a lab's node it does nothing.
func (i *Isolate) Prepare(ctx context.Context) error {
	if !i.external {
		return nil
	}
	ci, err := i.docker.ContainerInspect(ctx, i.node.ID)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", i.node.Container, err)
	}
	var names []string
	if ci.NetworkSettings != nil {
		for name := range ci.NetworkSettings.Networks {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) != 1 || names[0] == "host" || names[0] == "none" {
		return fmt.Errorf("container %s is on %d Docker networks (%s): isolate disconnects a container from its only network, so it is done on a container on exactly one", i.node.Container, len(names), strings.Join(names, ", "))
	}
	ep := ci.NetworkSettings.Networks[names[0]]
	st := &endpointState{Network: names[0]}
	if ep != nil {
		st.Aliases = slices.Clone(ep.Aliases)
		st.Links = slices.Clone(ep.Links)
		st.DriverOpts = ep.DriverOpts
		if ep.IPAMConfig != nil {
			c := *ep.IPAMConfig
			st.IPAMConfig = &c
		}
	}
	i.endpoint, i.network = st, st.Network
	return nil
}

// State is the recorded endpoint (nil on a lab's node).
func (i *Isolate) State() json.RawMessage {
	if i.endpoint == nil {
		return nil
	}
	b, _ := json.Marshal(i.endpoint)
	return b
}

// SetState takes the endpoint a ledger recorded.
func (i *Isolate) SetState(b json.RawMessage) error {
	var st endpointState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	if st.Network == "" {
		return fmt.Errorf("no network in the recorded endpoint of %s", i.node.Container)
	}
	i.endpoint, i.network = &st, st.Network
	return nil
}

// Inject disconnects the node from the lab network (a user's container
// from the network Prepare found).
func (i *Isolate) Inject(ctx context.Context) error {
	if i.external && i.endpoint == nil {
		return fmt.Errorf("inject %s: its endpoint settings were not recorded first (Prepare)", i)
	}
	if err := i.docker.NetworkDisconnect(ctx, i.network, i.node.ID, true); err != nil {
		return fmt.Errorf("inject %s: disconnect %s from %s: %w", i, i.node.Container, i.network, err)
	}
	return nil
}

// Heal reconnects the node (with its name as alias, which the peer's
// subscription and HAProxy resolve; a user's container with the endpoint
// settings it had) and waits until it answers.
func (i *Isolate) Heal(ctx context.Context) error {
	var err error
	switch {
	case !i.external:
		err = reconnect(ctx, i.docker, i.network, i.node)
	case i.endpoint == nil:
		// Nothing recorded: the fault was never injected (Prepare failed
		// or never ran), so there is nothing to undo.
		return nil
	default:
		err = i.reconnectAsBefore(ctx)
	}
	if err != nil {
		return fmt.Errorf("heal %s: %w", i, err)
	}
	if err := i.ready.WaitReady(ctx, i.node.Name, readyTimeout); err != nil {
		return fmt.Errorf("heal %s: %w", i, err)
	}
	return nil
}

// reconnectAsBefore connects a user's container to its network with the
// endpoint settings recorded before isolate, unless it is connected.
func (i *Isolate) reconnectAsBefore(ctx context.Context) error {
	ci, err := i.docker.ContainerInspect(ctx, i.node.ID)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", i.node.Container, err)
	}
	if ci.NetworkSettings != nil {
		if _, ok := ci.NetworkSettings.Networks[i.network]; ok {
			return nil
		}
	}
	st := i.endpoint
	cfg := &network.EndpointSettings{Aliases: slices.Clone(st.Aliases), Links: slices.Clone(st.Links), DriverOpts: st.DriverOpts}
	if st.IPAMConfig != nil {
		c := *st.IPAMConfig
		cfg.IPAMConfig = &c
	}
	if err := i.docker.NetworkConnect(ctx, i.network, i.node.ID, cfg); err != nil {
		alias := ""
		for _, a := range st.Aliases {
			alias += " --alias " + a
		}
		return fmt.Errorf("connect %s to %s: %w (try `docker network connect%s %s %s`)", i.node.Container, i.network, err, alias, i.network, i.node.Container)
	}
	return nil
}

// reconnect connects a node to the lab network unless it is connected; it
// reports whether it did.
func reconnect(ctx context.Context, d networker, netName string, n lab.Node) error {
	_, err := reconnected(ctx, d, netName, n)
	return err
}

func reconnected(ctx context.Context, d networker, netName string, n lab.Node) (bool, error) {
	ci, err := d.ContainerInspect(ctx, n.ID)
	if err != nil {
		return false, fmt.Errorf("inspect %s: %w", n.Container, err)
	}
	if ci.NetworkSettings != nil {
		if _, ok := ci.NetworkSettings.Networks[netName]; ok {
			return false, nil
		}
	}
	if err := d.NetworkConnect(ctx, netName, n.ID, &network.EndpointSettings{Aliases: []string{n.Name}}); err != nil {
		return false, fmt.Errorf("connect %s to %s: %w (try `docker network connect --alias %s %s %s`)", n.Container, netName, err, n.Name, netName, n.Container)
	}
	return true, nil
}
