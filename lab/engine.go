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
// is set up, and how a node's subscription to a peer is read. Everything
// else (heartbeats, divergence, workloads, faults) is the same.
//
// Every node subscribes to every other (a full mesh). Subscriptions are
// named sub_from_<publisher>, the tutorial's name. Both engines name a
// subscription's slot on its publisher after the subscription, so with
// three or more nodes two subscribers of one publisher would claim the same
// slot: there the native slot, and the pglogical subscription (pglogical
// derives its slot from the provider and the subscription name only), also
// name the subscriber.
type Engine interface {
	// Name is the engine's name, as in the scenario's lab.engine.
	Name() string
	// Settings are the server settings (name=value) each node needs on top
	// of the lab's common ones.
	Settings(resolver string) []string
	// CheckImage reports, before the node first starts, whether the
	// created (not yet started) container's image can run the engine.
	CheckImage(ctx context.Context, cli *client.Client, containerID, image, pgVersion string) error
	// Setup creates replication between every two nodes once every node
	// has the lab's tables.
	Setup(ctx context.Context, l *Lab) error
	// SubscriptionName is the name of the subscription on subscriber that
	// applies what publisher sends.
	SubscriptionName(subscriber, publisher string) string
	// Subscription reads, over a connection to subscriber, its
	// subscription to publisher; nil when there is none (yet).
	Subscription(ctx context.Context, conn *pgx.Conn, subscriber, publisher string) (*Subscription, error)
	// SlotOn is the replication slot on publisher that serves subscriber's
	// subscription.
	SlotOn(subscriber, publisher string) string
	// UncountedConflicts says why the engine keeps no conflict counters
	// (reports then show "-" and this reason); empty when it keeps them.
	UncountedConflicts() string
}

// EngineFor returns the named engine ("" is native) for a two-node lab.
func EngineFor(name string) (Engine, error) { return EngineForNodes(name, 2) }

// EngineForNodes returns the named engine ("" is native) for a lab of n
// primaries: names of subscriptions and slots depend on whether there are
// more than two.
func EngineForNodes(name string, n int) (Engine, error) {
	mesh := n > 2
	switch name {
	case "", EngineNative:
		return native{mesh: mesh}, nil
	case EnginePglogical:
		return pglogical{mesh: mesh}, nil
	}
	return nil, fmt.Errorf("engine %q is not known: use %s", name, strings.Join(Engines, " or "))
}

// Replication returns the lab's engine.
func (l *Lab) Replication() Engine {
	e, err := EngineForNodes(l.Engine, len(l.Nodes))
	if err != nil {
		return native{mesh: len(l.Nodes) > 2}
	}
	return e
}

// meshName is a subscription's or slot's name that names its subscriber
// too: sub_from_<publisher>_to_<subscriber>.
func meshName(subscriber, publisher string) string {
	return SubscriptionFrom(publisher) + "_to_" + subscriber
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
