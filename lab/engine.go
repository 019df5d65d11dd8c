package lab

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/docker/client"
	"github.com/jackc/pgx/v5"
)

// Replication engines a lab can run.
const (
	EngineNative    = "native"    // PostgreSQL's logical replication (publications, subscriptions)
	EnginePglogical = "pglogical" // the pglogical extension (nodes, replication sets, subscriptions)
)

// Engines lists the engines, default first.
var Engines = []string{EngineNative, EnginePglogical}

// pglogical's conflict resolvers (pglogical.conflict_resolution).
const (
	ResolverError           = "error"             // stop the apply worker on a conflict
	ResolverApplyRemote     = "apply_remote"      // the incoming row wins
	ResolverKeepLocal       = "keep_local"        // the local row wins
	ResolverLastUpdateWins  = "last_update_wins"  // the later commit timestamp wins
	ResolverFirstUpdateWins = "first_update_wins" // the earlier commit timestamp wins
)

// Resolvers lists pglogical's conflict resolvers, the lab's default first.
// The lab defaults to last_update_wins, pglogical's own default when
// track_commit_timestamp is on (it is, in every lab node).
var Resolvers = []string{ResolverLastUpdateWins, ResolverFirstUpdateWins, ResolverApplyRemote, ResolverKeepLocal, ResolverError}

// Engine is what differs between replication engines in a lab: the server
// settings it needs, the check that the image can run it, how replication
// is set up, and how a node's subscription to its peer is read. Everything
// else (heartbeats, divergence, workloads, faults) is the same.
type Engine interface {
	// Name is the engine's name, as in the scenario's lab.engine.
	Name() string
	// Settings are the server settings (name=value) each node needs on top
	// of the lab's common ones.
	Settings(resolver string) []string
	// CheckImage reports, before the node first starts, whether the
	// created (not yet started) container's image can run the engine.
	CheckImage(ctx context.Context, cli *client.Client, containerID, image, pgVersion string) error
	// Setup creates replication both ways once both nodes have the lab's
	// tables.
	Setup(ctx context.Context, l *Lab) error
	// Subscription reads node's subscription to its peer, nil when there is
	// none (yet).
	Subscription(ctx context.Context, conn *pgx.Conn, node string) (*Subscription, error)
	// SlotOn is the replication slot on node's peer that serves node's
	// subscription.
	SlotOn(node string) string
	// UncountedConflicts says why the engine keeps no conflict counters
	// (reports then show "-" and this reason); empty when it keeps them.
	UncountedConflicts() string
}

// EngineFor returns the named engine ("" is native).
func EngineFor(name string) (Engine, error) {
	switch name {
	case "", EngineNative:
		return native{}, nil
	case EnginePglogical:
		return pglogical{}, nil
	}
	return nil, fmt.Errorf("engine %q is not known: use %s", name, strings.Join(Engines, " or "))
}

// SlotOn is the replication slot on node's peer that serves node's
// subscription, for the named engine (native when unknown).
func SlotOn(engine, node string) string {
	e, err := EngineFor(engine)
	if err != nil {
		e = native{}
	}
	return e.SlotOn(node)
}

// Replication returns the lab's engine.
func (l *Lab) Replication() Engine {
	e, err := EngineFor(l.Engine)
	if err != nil {
		return native{}
	}
	return e
}

// validateEngine checks the engine and resolver settings of a Config.
func validateEngine(engine, resolver string) error {
	if _, err := EngineFor(engine); err != nil {
		return err
	}
	if resolver == "" {
		return nil
	}
	if engine != EnginePglogical {
		return fmt.Errorf("resolver %q is a pglogical setting: it needs engine pglogical (native replication has no resolver: the incoming row always wins)", resolver)
	}
	for _, r := range Resolvers {
		if r == resolver {
			return nil
		}
	}
	return fmt.Errorf("resolver %q is not known: use one of %s", resolver, strings.Join(Resolvers, ", "))
}
