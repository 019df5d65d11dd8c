package lab

import (
	"context"
	"fmt"
	"time"

	"github.com/pgchaos/pgchaos/node"
)

// Status is a lab's state as `pgchaos lab status` shows it.
type Status struct {
	Name       string       `json:"name"`
	Postgres   string       `json:"postgres"`
	Sequences  string       `json:"sequences"`
	Engine     string       `json:"engine,omitempty"`
	Resolver   string       `json:"resolver,omitempty"` // pglogical only
	Nodes      []NodeStatus `json:"nodes"`
	Directions []Direction  `json:"replication"`
	Proxy      ProxyStatus  `json:"haproxy"`
	// FaultsInForce are the faults the lab's fault ledger holds unhealed
	// (see SetFaultsInForce); Ledger is that file.
	FaultsInForce []FaultInForce `json:"faults_in_force"`
	Ledger        string         `json:"ledger,omitempty"`
	Warnings      []string       `json:"warnings"`
}

// NodeStatus is one primary's container and server state.
type NodeStatus struct {
	Name          string `json:"name"`
	Container     string `json:"container"`
	State         string `json:"state"` // Docker: running, exited, paused, …
	Address       string `json:"address"`
	ServerVersion string `json:"server_version,omitempty"`
	Error         string `json:"error,omitempty"` // why the server could not be queried
	// Subscriptions are the node's subscriptions, one per peer it applies
	// changes from, in the peers' order; a missing one is left out.
	Subscriptions []*Subscription `json:"subscriptions"`
}

// Subscription is a node's subscription to one peer.
type Subscription struct {
	Name          string     `json:"name"`
	From          string     `json:"from"` // the publisher, the peer whose changes it applies
	Enabled       bool       `json:"enabled"`
	WorkerRunning bool       `json:"worker_running"`
	LastMessage   *time.Time `json:"last_message,omitempty"`
	ApplyErrors   int64      `json:"apply_errors"`
	// ApplyErrorsUnknown says why ApplyErrors is not a count (the engine
	// keeps none); ApplyErrors is then 0 and means nothing.
	ApplyErrorsUnknown string `json:"apply_errors_unknown,omitempty"`
	// State is the engine's own word for the subscription, where it has
	// one (pglogical: replicating, initializing, down, disabled).
	State string `json:"state,omitempty"`
	// LastError and SkipLSN are read from the node's log when the
	// subscription is failing: the error the apply worker keeps hitting and
	// the LSN ALTER SUBSCRIPTION … SKIP takes to get past it.
	LastError string `json:"last_error,omitempty"`
	SkipLSN   string `json:"skip_lsn,omitempty"`
}

// Direction is replication from one node to another.
type Direction struct {
	From        string `json:"from"`
	To          string `json:"to"`
	BytesBehind *int64 `json:"bytes_behind"` // nil: unknown (publisher unreachable)
	SlotActive  bool   `json:"slot_active"`
	WALStatus   string `json:"wal_status,omitempty"`
}

// ProxyStatus is HAProxy's state.
type ProxyStatus struct {
	Container string    `json:"container"`
	State     string    `json:"state"`
	Address   string    `json:"address"`
	StatsURL  string    `json:"stats_url"`
	Backends  []Backend `json:"backends"`
	Error     string    `json:"error,omitempty"`
}

// Status reads the lab's state. It never fails as a whole: what cannot be
// read is said in the Error fields and in Warnings.
func (l *Lab) Status(ctx context.Context) Status {
	_ = l.Refresh(ctx)
	st := Status{Name: l.Name, Postgres: l.Postgres, Sequences: l.Sequences, Engine: l.Replication().Name(), Resolver: l.Resolver}
	for _, n := range l.Nodes {
		ns := NodeStatus{Name: n.Name, Container: n.Container, State: n.State, Address: fmt.Sprintf("%s:%d", connectHost(n.Host), n.Port)}
		if n.State != "running" {
			ns.Error = "container is " + n.State
			st.Warnings = append(st.Warnings, fmt.Sprintf("%s is %s: start it with `docker start %s` or rebuild the lab", n.Name, n.State, n.Container))
		} else if err := l.nodeStatus(ctx, n, &ns); err != nil {
			ns.Error = err.Error()
			st.Warnings = append(st.Warnings, fmt.Sprintf("%s does not answer: %v", n.Name, err))
		}
		st.Nodes = append(st.Nodes, ns)
	}
	for _, from := range l.Primaries() {
		for _, to := range node.Others(l.Primaries(), from) {
			d := Direction{From: from, To: to}
			l.directionStatus(ctx, &d)
			st.Directions = append(st.Directions, d)
		}
	}
	st.Proxy = ProxyStatus{Container: l.Proxy.Container, State: l.Proxy.State,
		Address: fmt.Sprintf("%s:%d", connectHost(l.Proxy.Host), l.Proxy.Port), StatsURL: l.StatsURL()}
	if bs, err := l.Backends(ctx); err != nil {
		st.Proxy.Error = err.Error()
	} else {
		st.Proxy.Backends = bs
		for _, b := range bs {
			if b.Status != "UP" {
				st.Warnings = append(st.Warnings, fmt.Sprintf("haproxy backend %s is %s: clients through haproxy reach only the other primaries", b.Server, b.Status))
			}
		}
	}
	for _, ns := range st.Nodes {
		for _, s := range ns.Subscriptions {
			if w := l.subscriptionWarning(ns.Name, s); w != "" {
				st.Warnings = append(st.Warnings, w)
			}
		}
	}
	return st
}

// subscriptionWarning says what is wrong with subscription s on node
// name, and what to do about it; "" when nothing is.
func (l *Lab) subscriptionWarning(name string, s *Subscription) string {
	peer, _ := l.Node(s.From)
	switch {
	case peer.State != "" && peer.State != "running":
		return fmt.Sprintf("subscription %s on %s cannot reach its publisher %s (%s): replication from it resumes when it is back", s.Name, name, peer.Name, peer.State)
	case !s.Enabled:
		enable := fmt.Sprintf("ALTER SUBSCRIPTION %s ENABLE", s.Name)
		if l.Replication().Name() == EnginePglogical {
			enable = fmt.Sprintf("SELECT pglogical.alter_subscription_enable('%s', true)", s.Name)
		}
		return fmt.Sprintf("subscription %s on %s is disabled: changes from %s are not applied (%s)", s.Name, name, s.From, enable)
	case s.SkipLSN != "" && l.Replication().Name() == EnginePglogical:
		// pglogical 2.4 has no skip function: advancing the subscriber's
		// replication origin (named like the slot) one byte past the
		// commit LSN skips the transaction (tried on a lab: at the LSN
		// itself the worker failed again, one byte on it went past).
		origin := l.Replication().SlotOn(name, s.From)
		return fmt.Sprintf("pglogical subscription %s on %s is failing (%s): changes from %s stopped arriving. "+
			"The apply worker keeps failing with: %s. To give up that remote transaction (the nodes then differ for its rows), on %s: "+
			"SELECT pglogical.alter_subscription_disable('%s', true); SELECT pg_replication_origin_advance('%s', '%s'::pg_lsn + 1); SELECT pglogical.alter_subscription_enable('%s', true)",
			s.Name, name, s.State, s.From, s.LastError, name, s.Name, origin, s.SkipLSN, s.Name)
	case s.SkipLSN != "":
		return fmt.Sprintf("subscription %s on %s is failing: changes from %s stopped arriving. "+
			"The apply worker keeps failing with: %s. To give up that remote transaction (the nodes then differ for its rows): ALTER SUBSCRIPTION %s SKIP (lsn = '%s')",
			s.Name, name, s.From, s.LastError, s.Name, s.SkipLSN)
	case s.LastError != "":
		return fmt.Sprintf("subscription %s on %s is reconnecting: its apply worker failed with: %s", s.Name, name, s.LastError)
	case !s.WorkerRunning:
		return fmt.Sprintf("subscription %s on %s has no apply worker running (is %s reachable?)", s.Name, name, s.From)
	}
	return ""
}

func (l *Lab) nodeStatus(ctx context.Context, n Node, ns *NodeStatus) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := l.Connect(ctx, n.Name)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version')").Scan(&ns.ServerVersion); err != nil {
		return err
	}
	var logs string
	for _, peer := range node.Others(l.Primaries(), n.Name) {
		s, err := l.Replication().Subscription(ctx, conn, n.Name, peer)
		if err != nil {
			return err
		}
		if s == nil {
			continue // replication not set up (yet)
		}
		if s.ApplyErrors > 0 || s.ApplyErrorsUnknown != "" || !s.WorkerRunning {
			// Only a recent error says the subscription is failing now; the
			// counter keeps old ones.
			// A pglogical subscription that is down now is down on its last
			// error, however old: pglogical's manager may take minutes to
			// restart the worker.
			if logs == "" {
				logs, _ = l.Logs(ctx, n.ID, 500)
			}
			if msg, lsn, at := lastApplyError(logs, s.Name); !at.IsZero() && (time.Since(at) < recentError || s.State == "down") {
				s.LastError, s.SkipLSN = msg, lsn
			}
		}
		ns.Subscriptions = append(ns.Subscriptions, s)
	}
	return nil
}

// directionStatus reads, on the publisher, how far the peer's subscription
// is behind: replay position while its walsender runs (reliable once caught
// up), else the slot's confirmed flush position.
func (l *Lab) directionStatus(ctx context.Context, d *Direction) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := l.Connect(ctx, d.From)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	slot := l.Replication().SlotOn(d.To, d.From)
	var behind *int64
	var status *string
	err = conn.QueryRow(ctx, `
		SELECT s.active, s.wal_status,
		       coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn),
		                pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn))::bigint
		FROM pg_replication_slots s
		LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
		WHERE s.slot_name = $1`, slot).Scan(&d.SlotActive, &status, &behind)
	if err != nil {
		return
	}
	d.BytesBehind = behind
	if status != nil {
		d.WALStatus = *status
	}
}
