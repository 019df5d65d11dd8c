package faults

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/pgchaos/pgchaos/lab"
)

// sweepScript removes everything pgchaos's network faults can leave in a
// node's namespace (the whole PGCHAOS chain, the nat chain of link delays,
// a netem/prio root qdisc) and prints what it removed.
const sweepScript = `if iptables -w -S ` + Chain + ` >/dev/null 2>&1; then
  while iptables -w -D INPUT -j ` + Chain + ` 2>/dev/null; do :; done
  iptables -w -F ` + Chain + ` && iptables -w -X ` + Chain + ` && echo "iptables chain ` + Chain + `"
fi
` + delaySweep + qdiscDel

// HealLab heals lab l after a pgchaos that may have been killed: first the
// entries of its ledger in ledgerDir ("" = DefaultStateDir), each
// re-created from its spec; then a sweep that makes the lab healthy even
// without a ledger: leftover helper containers removed, stopped nodes
// started, paused ones unpaused, disconnected ones reconnected, PGCHAOS
// iptables chains and netem root qdiscs removed on both nodes, disabled
// subscriptions enabled and lock-rows sessions ended, and both HAProxy
// servers made ready. On a user's nodes (lab.External) only the ledger is
// healed: nothing there is pgchaos's to sweep. It returns what it healed,
// in words.
func HealLab(ctx context.Context, l *lab.Lab, ledgerDir string) (healed []string, err error) {
	var errs []error
	g, lerr := OpenLedger(l, WithStateDir(ledgerDir))
	if lerr != nil {
		errs = append(errs, lerr)
	} else {
		before := g.Unhealed()
		if err := g.HealAll(ctx); err != nil {
			errs = append(errs, fmt.Errorf("heal the ledger %s: %w", g.Path(), err))
		}
		for _, r := range g.Records() {
			for _, b := range before {
				if b.ID == r.ID && r.HealedAt != nil {
					healed = append(healed, r.Name+" (ledger)")
				}
			}
		}
	}
	if l.IsExternal() {
		// A user's nodes: pgchaos touches only what it recorded doing.
		return healed, errors.Join(errs...)
	}
	swept, err := sweep(ctx, l)
	healed = append(healed, swept...)
	if err != nil {
		errs = append(errs, err)
	}
	return healed, errors.Join(errs...)
}

// sweep returns a lab to health whatever state it is in.
func sweep(ctx context.Context, l *lab.Lab) ([]string, error) {
	d := l.Docker()
	var did []string
	var errs []error
	// Helpers a killed pgchaos left (a helper never outlives its fault).
	hs, err := d.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", lab.LabelLab+"="+l.Name), filters.Arg("label", lab.LabelRole+"="+lab.RoleHelper))})
	if err != nil {
		errs = append(errs, fmt.Errorf("list helper containers: %w", err))
	}
	for _, h := range hs {
		if err := d.ContainerRemove(ctx, h.ID, container.RemoveOptions{Force: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove helper container %s: %w", h.ID[:12], err))
			continue
		}
		did = append(did, "removed helper container "+h.ID[:12])
	}
	for _, n := range l.Nodes {
		acts, err := reviveNode(ctx, d, l, n)
		did = append(did, acts...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		acts, err = sweepSQL(ctx, l, n.Name)
		did = append(did, acts...)
		if err != nil {
			errs = append(errs, fmt.Errorf("clear SQL faults on %s: %w", n.Name, err))
		}
		out, err := (helper{docker: d, image: netToolsImage(l), lab: l.Name}).run(ctx, n, sweepScript)
		if err != nil {
			errs = append(errs, fmt.Errorf("clear network faults on %s: %w", n.Name, err))
			continue
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line != "" {
				did = append(did, "removed "+line+" on "+n.Name)
			}
		}
	}
	acts, err := readyProxy(ctx, l)
	did = append(did, acts...)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return did, fmt.Errorf("sweep lab %q: %w", l.Name, errors.Join(errs...))
	}
	return did, nil
}

func netToolsImage(l *lab.Lab) string {
	if l.Images.NetTools != "" {
		return l.Images.NetTools
	}
	return lab.LocalRepo + "/nettools:2"
}

// reviveNode unpauses, starts and reconnects a node as needed, then waits
// until it answers.
func reviveNode(ctx context.Context, d interface {
	networker
	starter
	pauser
}, l *lab.Lab, n lab.Node) ([]string, error) {
	var did []string
	ci, err := d.ContainerInspect(ctx, n.ID)
	if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", n.Container, err)
	}
	switch {
	case ci.State != nil && ci.State.Paused:
		if err := unpause(ctx, d, n); err != nil {
			return did, err
		}
		did = append(did, "unpaused "+n.Name)
	case ci.State == nil || !ci.State.Running:
		if err := d.ContainerStart(ctx, n.ID, container.StartOptions{}); err != nil {
			return did, fmt.Errorf("start %s: %w", n.Container, err)
		}
		did = append(did, "started "+n.Name)
	}
	ok, err := reconnected(ctx, d, l.Network, n)
	if err != nil {
		return did, err
	}
	if ok {
		did = append(did, "reconnected "+n.Name+" to "+l.Network)
	}
	if err := l.WaitReady(ctx, n.Name, readyTimeout); err != nil {
		return did, err
	}
	return did, nil
}

// readyProxy starts HAProxy if needed and takes its servers out of maint.
func readyProxy(ctx context.Context, l *lab.Lab) ([]string, error) {
	var did []string
	d := l.Docker()
	ci, err := d.ContainerInspect(ctx, l.Proxy.ID)
	if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", l.Proxy.Container, err)
	}
	if ci.State != nil && ci.State.Paused {
		if err := d.ContainerUnpause(ctx, l.Proxy.ID); err != nil {
			return nil, fmt.Errorf("unpause %s: %w", l.Proxy.Container, err)
		}
		did = append(did, "unpaused haproxy")
	} else if ci.State == nil || !ci.State.Running {
		if err := d.ContainerStart(ctx, l.Proxy.ID, container.StartOptions{}); err != nil {
			return nil, fmt.Errorf("start %s: %w", l.Proxy.Container, err)
		}
		did = append(did, "started haproxy")
	}
	bs, err := l.Backends(ctx)
	if err != nil {
		return did, err
	}
	backend := l.Proxy.Backend
	if backend == "" {
		backend = "pg"
	}
	for _, b := range bs {
		if !strings.HasPrefix(b.Status, "MAINT") && !strings.HasPrefix(b.Status, "DRAIN") {
			continue
		}
		out, err := l.AdminCommand(ctx, "set server "+backend+"/"+b.Server+" state ready")
		if err == nil && strings.TrimSpace(out) != "" {
			err = fmt.Errorf("haproxy answered %q", strings.TrimSpace(out))
		}
		if err != nil {
			return did, fmt.Errorf("set haproxy server %s/%s ready: %w", backend, b.Server, err)
		}
		did = append(did, "haproxy "+backend+"/"+b.Server+" ready (was "+b.Status+")")
	}
	return did, nil
}
