package target

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/pgchaos/pgchaos/dockerhost"
)

// SchemaName is the schema pgchaos owns on a target: everything it
// creates there lives in it, and nothing outside it is ever changed.
const SchemaName = "pgchaos"

// nodeTimeout bounds the whole preflight of one node: a node that does not
// answer in this time is reported unreached, not waited for.
const nodeTimeout = 15 * time.Second

// Report is the preflight's answer: what was found, who replicates to
// whom, which faults can be done and what will be measured.
type Report struct {
	Schema       string       `json:"schema"` // "pgchaos.preflight/v1"
	File         string       `json:"file"`
	Facts        Facts        `json:"facts"`
	Topology     []Edge       `json:"topology"`
	Capabilities []Capability `json:"capabilities"`
	Measures     []Measure    `json:"measures"`
}

// AllReached reports whether every node answered.
func (r Report) AllReached() bool {
	for _, n := range r.Facts.Nodes {
		if !n.Reached {
			return false
		}
	}
	return true
}

// Capability returns the capability of a fault kind.
func (r Report) Capability(kind string) (Capability, bool) {
	for _, c := range r.Capabilities {
		if c.Fault == kind {
			return c, true
		}
	}
	return Capability{}, false
}

// ContainerChecker tells whether a container runs on a Docker engine; the
// Docker implementation is the default, tests give their own.
type ContainerChecker interface {
	Check(ctx context.Context, dockerHost, name string) ContainerFacts
}

// Preflight connects to every node (read-only sessions, read-only
// queries), asks the Docker engines about the named containers and the
// HAProxy admin address whether it answers, and decides from that what
// can be done. It changes nothing anywhere. It never fails: what it could
// not learn is in the report with the reason.
func Preflight(ctx context.Context, t *Target) Report {
	return PreflightWith(ctx, t, DockerChecker{})
}

// PreflightWith is Preflight with the container checks done by cc.
func PreflightWith(ctx context.Context, t *Target, cc ContainerChecker) Report {
	f := Facts{Nodes: make([]NodeFacts, len(t.Nodes))}
	g, gctx := errgroup.WithContext(ctx)
	for i, n := range t.Nodes {
		g.Go(func() error {
			nctx, cancel := context.WithTimeout(gctx, nodeTimeout)
			defer cancel()
			nf := inspectNode(nctx, n)
			nf.Container = ContainerFacts{State: ContainerNone}
			if n.Container != "" {
				nf.Container = cc.Check(nctx, n.DockerHost, n.Container)
			}
			// The last guard: nothing a server or driver said may carry a
			// password out.
			nf.Error = t.Scrub(nf.Error)
			for j := range nf.Problems {
				nf.Problems[j] = t.Scrub(nf.Problems[j])
			}
			nf.Container.Reason = t.Scrub(nf.Container.Reason)
			f.Nodes[i] = nf
			return nil
		})
	}
	if t.HAProxy != nil {
		g.Go(func() error {
			f.HAProxy = checkHAProxy(gctx, *t.HAProxy)
			return nil
		})
	}
	_ = g.Wait() // the goroutines report into f, never fail
	if t.HAProxy != nil && f.HAProxy.AdminOK {
		f.HAProxy.Servers = proxyServers(ctx, t, f)
	}
	addrs := map[string][]string{}
	for _, n := range t.Nodes {
		if c := n.config; c != nil {
			addrs[n.Name] = append(addrs[n.Name], net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))))
		}
	}
	edges := Topology(f, addrs)
	return Report{
		Schema:       "pgchaos.preflight/v1",
		File:         t.File,
		Facts:        f,
		Topology:     edges,
		Capabilities: Capabilities(f),
		Measures:     Measures(f, edges),
	}
}

// connect opens a session that cannot write: default_transaction_read_only
// makes every statement of the session fail rather than change anything.
func connect(ctx context.Context, n Node, readOnly bool) (*pgx.Conn, error) {
	cfg := n.Config()
	if cfg == nil {
		return nil, errors.New("no connection settings")
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = "pgchaos-preflight"
	if readOnly {
		cfg.RuntimeParams["default_transaction_read_only"] = "on"
	}
	cfg.RuntimeParams["statement_timeout"] = "10s"
	return pgx.ConnectConfig(ctx, cfg)
}

func inspectNode(ctx context.Context, n Node) NodeFacts {
	nf := NodeFacts{Name: n.Name, Endpoint: n.Endpoint(), Engines: []string{}}
	conn, err := connect(ctx, n, true)
	if err != nil {
		nf.Error = "connect: " + err.Error()
		return nf
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var track string
	err = conn.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('server_version_num')::int,
		current_user, coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false),
		has_database_privilege(current_database(), 'CREATE'),
		pg_has_role(current_user, 'pg_signal_backend', 'MEMBER'),
		pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER'),
		current_setting('wal_level'), current_setting('track_commit_timestamp'), current_setting('cluster_name'),
		EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),
		to_regclass(quote_ident($1) || '.pgchaos_heartbeat') IS NOT NULL`, SchemaName).
		Scan(&nf.Version, &nf.VersionNum, &nf.User, &nf.Superuser, &nf.CanCreateSchema, &nf.SignalBackend,
			&nf.ReadAllStats, &nf.WalLevel, &track, &nf.ClusterName, &nf.PgchaosSchema, &nf.HeartbeatTable)
	if err != nil {
		nf.Error = "read server settings: " + err.Error()
		return nf
	}
	nf.Reached = true
	nf.TrackCommitTimestamp = track == "on"
	problem := func(what string, err error) {
		nf.Problems = append(nf.Problems, what+": "+err.Error())
	}

	rows, _ := conn.Query(ctx, `SELECT extname FROM pg_extension WHERE extname = ANY($1) ORDER BY 1`,
		[]string{EnginePglogical, EngineSpock, EnginePgactive, "bdr"})
	exts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		problem("read extensions", err)
	}
	nf.Extensions = exts

	rows, _ = conn.Query(ctx, `SELECT p.pubname, p.puballtables,
		EXISTS (SELECT 1 FROM pg_publication_tables t WHERE t.pubname = p.pubname AND t.schemaname = $1 AND t.tablename = 'pgchaos_heartbeat'),
		coalesce((SELECT array_agg(t.tablename::text ORDER BY t.tablename) FROM pg_publication_tables t WHERE t.pubname = p.pubname AND t.schemaname = $1), '{}')
		FROM pg_publication p ORDER BY 1`, SchemaName)
	nf.Publications, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Publication, error) {
		var p Publication
		return p, r.Scan(&p.Name, &p.AllTables, &p.Heartbeat, &p.Tables)
	})
	if err != nil {
		problem("read publications", err)
	}

	if nf.PgchaosSchema {
		rows, _ = conn.Query(ctx, `SELECT c.relname::text, coalesce(obj_description(c.oid, 'pg_class') = $2, false)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1`, SchemaName, ownComment)
		nf.PgchaosTables, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (OwnTable, error) {
			var t OwnTable
			return t, r.Scan(&t.Name, &t.Marked)
		})
		if err != nil {
			problem("read the tables of schema "+SchemaName, err)
		}
	}

	var canConninfo bool
	if err := conn.QueryRow(ctx, `SELECT has_column_privilege('pg_catalog.pg_subscription', 'subconninfo', 'SELECT')`).Scan(&canConninfo); err != nil {
		problem("check pg_subscription privileges", err)
	}
	nf.ConninfoHidden = !canConninfo
	conninfo, origin := "''", "''"
	if canConninfo {
		conninfo = "s.subconninfo"
	}
	if nf.VersionNum >= 160000 {
		origin = "s.suborigin"
	}
	rows, _ = conn.Query(ctx, `SELECT s.subname, s.subenabled, pg_get_userbyid(s.subowner) = current_user,
		coalesce(s.subslotname, ''), s.subpublications, `+conninfo+`, `+origin+`
		FROM pg_subscription s WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY 1`)
	subs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Subscription, error) {
		s := Subscription{Engine: EngineNative}
		var ci string
		if err := r.Scan(&s.Name, &s.Enabled, &s.Owned, &s.Slot, &s.Publications, &ci, &s.Origin); err != nil {
			return s, err
		}
		s.Conninfo, s.Addresses = redactedAddrs(ci)
		return s, nil
	})
	if err != nil {
		problem("read subscriptions", err)
	}
	nf.Subscriptions = subs

	rows, _ = conn.Query(ctx, `SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'logical' AND database = current_database() ORDER BY 1`)
	nf.Slots, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		problem("read replication slots", err)
	}

	if len(nf.Publications) > 0 || len(nf.Subscriptions) > 0 {
		nf.Engines = append(nf.Engines, EngineNative)
	}
	if slices.Contains(exts, EnginePglogical) {
		nf.Engines = append(nf.Engines, EnginePglogical)
		pgl, err := pglogicalSubscriptions(ctx, conn)
		if err != nil {
			problem("read pglogical subscriptions", err)
		}
		nf.Subscriptions = append(nf.Subscriptions, pgl...)
		rows, _ := conn.Query(ctx, `SELECT s.set_name, false,
			EXISTS (SELECT 1 FROM pglogical.replication_set_table t WHERE t.set_id = s.set_id AND t.set_reloid = to_regclass($1)),
			coalesce((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pglogical.replication_set_table t
				JOIN pg_class c ON c.oid = t.set_reloid JOIN pg_namespace n ON n.oid = c.relnamespace
				WHERE t.set_id = s.set_id AND n.nspname = $2), '{}')
			FROM pglogical.replication_set s JOIN pglogical.local_node l ON l.node_id = s.set_nodeid ORDER BY 1`, HeartbeatTable, SchemaName)
		nf.ReplicationSets, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Publication, error) {
			var p Publication
			return p, r.Scan(&p.Name, &p.AllTables, &p.Heartbeat, &p.Tables)
		})
		if err != nil {
			problem("read pglogical replication sets", err)
		}
	}
	for _, e := range []string{EngineSpock, EnginePgactive} {
		if slices.Contains(exts, e) {
			nf.Engines = append(nf.Engines, e)
		}
	}
	return nf
}

// pglogicalSubscriptions reads pglogical's subscriptions with their
// provider's DSN (redacted).
func pglogicalSubscriptions(ctx context.Context, conn *pgx.Conn) ([]Subscription, error) {
	rows, _ := conn.Query(ctx, `SELECT s.sub_name, s.sub_enabled, s.sub_slot_name, coalesce(s.sub_replication_sets, '{}'), i.if_dsn
		FROM pglogical.subscription s JOIN pglogical.node_interface i ON i.if_id = s.sub_origin_if ORDER BY 1`)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Subscription, error) {
		s := Subscription{Engine: EnginePglogical}
		var dsn string
		if err := r.Scan(&s.Name, &s.Enabled, &s.Slot, &s.Publications, &dsn); err != nil {
			return s, err
		}
		s.Conninfo, s.Addresses = redactedAddrs(dsn)
		return s, nil
	})
}

func redactedAddrs(conninfo string) (string, []string) {
	if conninfo == "" {
		return "", nil
	}
	addrs, err := Addresses(conninfo)
	if err != nil {
		addrs = nil
	}
	return RedactConnString(conninfo), addrs
}

// proxyServers asks HAProxy's runtime API `show servers state` (read-only)
// and maps the nodes to its servers (DetectServers).
func proxyServers(ctx context.Context, t *Target, f Facts) ServerMap {
	var nodes []NodeAddrs
	for i, n := range t.Nodes {
		na := NodeAddrs{Name: n.Name}
		if c := n.config; c != nil {
			na.DSN = net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))
		}
		for _, ip := range f.Nodes[i].Container.Networks {
			if ip != "" {
				na.IPs = append(na.IPs, ip)
			}
		}
		nodes = append(nodes, na)
	}
	out, err := adminCommand(ctx, t.HAProxy.Admin, "show servers state")
	var servers []ProxyServer
	if err == nil {
		servers, err = ParseServersState(out)
	}
	if err != nil {
		m := ServerMap{Backend: t.HAProxy.Backend}
		for _, n := range nodes {
			m.Missing = append(m.Missing, NodeReason{Node: n.Name, Reason: "show servers state on the HAProxy admin address failed: " + err.Error()})
		}
		return m
	}
	return DetectServers(servers, nodes, t.HAProxy.Backend, t.HAProxy.Servers)
}

// checkHAProxy dials the client address, and asks the admin address "show
// info", a read-only command of the runtime API.
func checkHAProxy(ctx context.Context, h HAProxy) HAProxyFacts {
	f := HAProxyFacts{Address: h.Address, Admin: h.Admin}
	d := net.Dialer{Timeout: 5 * time.Second}
	if h.Address != "" {
		c, err := d.DialContext(ctx, "tcp", h.Address)
		if err != nil {
			f.AddressError = err.Error()
		} else {
			f.AddressOK = true
			c.Close()
		}
	}
	if h.Admin != "" {
		if err := showInfo(ctx, d, h.Admin); err != nil {
			f.AdminError = err.Error()
		} else {
			f.AdminOK = true
		}
	}
	return f
}

func showInfo(ctx context.Context, d net.Dialer, addr string) error {
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("show info\n")); err != nil {
		return err
	}
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Name: ") {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return fmt.Errorf("%s answered, but not as an HAProxy runtime API (no \"Name:\" in show info)", addr)
}

// DockerChecker asks a Docker engine (the local one, or a unix://, tcp://
// or ssh:// docker_host) whether a container exists and runs, and, when
// NetTools names an image, whether that engine has it (link faults run
// their helper from it there).
type DockerChecker struct {
	NetTools string
}

// Check inspects the container (and the image); it never changes them.
func (dc DockerChecker) Check(ctx context.Context, host, name string) ContainerFacts {
	cf := ContainerFacts{Name: name, DockerHost: host, State: ContainerUnknown}
	cli, err := dockerhost.Client(ctx, host)
	if err != nil {
		cf.Reason = err.Error()
		return cf
	}
	defer cli.Close()
	info, err := cli.ContainerInspect(ctx, name)
	switch {
	case cerrdefs.IsNotFound(err):
		cf.State = ContainerNotFound
	case err != nil:
		cf.Reason = "Docker engine not reached: " + err.Error()
	case info.State != nil && info.State.Running:
		cf.State = ContainerRunning
	default:
		cf.State = ContainerStopped
	}
	if err == nil && info.NetworkSettings != nil {
		cf.Networks = map[string]string{}
		for name, ep := range info.NetworkSettings.Networks {
			ip := ""
			if ep != nil {
				ip = ep.IPAddress
			}
			cf.Networks[name] = ip
		}
	}
	if dc.NetTools != "" && err == nil {
		cf.NetTools = dc.NetTools
		_, ierr := cli.ImageInspect(ctx, dc.NetTools)
		switch {
		case ierr == nil:
			cf.NetToolsState = NetToolsPresent
		case cerrdefs.IsNotFound(ierr):
			cf.NetToolsState = NetToolsMissing
		}
	}
	return cf
}
