package faults

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/lab"
)

// ErrNoNetem is returned by a node-wide delay fault when the Docker host's
// kernel has no netem queueing discipline, so tc cannot add latency there.
var ErrNoNetem = errors.New("the Docker host's kernel has no netem queueing discipline (sch_netem): a node-wide delay (node:) needs it — load it with `modprobe sch_netem` on the Docker host — while a delay on the replication link (between: [primary1, primary2]) works without it")

// DelayChain is the nat-table chain (in a publisher's network namespace)
// holding the REDIRECT rules of link delays; PREROUTING jumps to it.
// Removing it sends every new replication connection direct again.
const DelayChain = "PGCHAOS_DELAY"

// Labels on a link delay's proxy container, besides the lab's helper
// labels: which fault it serves and on which node, so a heal in another
// process finds it.
const (
	LabelFault = "pgchaos.fault"
	LabelNode  = "pgchaos.node"
)

// Delay adds latency, and jitter. Node-wide (node:) it is tc netem on the
// node's lab interface, which needs the kernel's sch_netem (ErrNoNetem
// otherwise). On the replication link (between:, one way or both) it needs
// no kernel module: for each delayed direction a->b a proxy
// (pgchaos-linkproxy, package linkproxy) runs in a's network namespace, an
// iptables REDIRECT sends b's connections to a's PostgreSQL through it, and
// the walsender serving b is terminated so b's subscription reconnects
// through the proxy, which delays what a streams to b. Injecting and
// healing a link delay therefore each cost that direction one subscription
// reconnect (about a second, plus a few round trips of the delay).
type Delay struct {
	netFault
	db     connector
	docker proxyDocker
	// slotOn names the slot on publisher that serves subscriber
	// (lab.Engine.SlotOn): the one handle on a walsender that is unique
	// per link in a mesh, where every subscriber of a publisher shares the
	// subscription's name and so its application_name.
	slotOn func(subscriber, publisher string) string
	// pgPort is the port subscriber connects to publisher's PostgreSQL on
	// (lab.Lab.PeerPort): 5432 in a lab, the user's on a target.
	pgPort func(subscriber, publisher string) int
	// settle is how long a walsender must have run before the delay ends
	// it (0: no wait); see pglogicalSettle.
	settle time.Duration
}

// pglogicalSettle is how long a pglogical apply worker must have run before
// its connection may be ended again. pglogical's manager restarts a
// crashed apply worker 5 s after the crash (MIN_SLEEP); measured here
// (pglogical 2.4.8 on PostgreSQL 18.6, a three-node lab), a worker whose
// connection was ended again within a second of that restart stayed down
// for more than 60 s, while one ended 12 s after its restart was back in
// 5 s. A link delay costs its direction two such ends (inject and heal),
// so on pglogical the heal lets the first restart settle before the second.
const pglogicalSettle = 6 * time.Second

// connector opens a connection to a lab node; *lab.Lab is one.
type connector interface {
	Connect(ctx context.Context, target string) (*pgx.Conn, error)
}

// proxyDocker is the slice of the Docker client a link delay uses: run the
// helper scripts, and start, find and remove its proxy containers.
type proxyDocker interface {
	helperRunner
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
}

func newDelay(l *lab.Lab, nf netFault) *Delay {
	d := &Delay{netFault: nf, db: l, slotOn: l.SlotOn, pgPort: l.PeerPort}
	if l.Engine == lab.EnginePglogical {
		d.settle = pglogicalSettle
	}
	on := nf.node.Name
	if nf.isLink {
		on = nf.link.from
	}
	if cli := l.DockerFor(on); cli != nil {
		d.docker = cli
	}
	return d
}

// reconnectTimeout bounds the wait for a subscription to reconnect through
// (or around) the proxy: the retry interval is 1 s in the lab, and the
// connection's start-up takes several round trips of the delay.
const reconnectTimeout = 30 * time.Second

// sqlTimeout bounds one query on a node during inject or heal.
const sqlTimeout = 10 * time.Second

// Inject adds the delay: netem node-wide, or a proxy per delayed direction
// of the link. It returns once each delayed subscription streams through
// its proxy (if the subscriber runs), so measurements may start then.
func (d *Delay) Inject(ctx context.Context) error {
	var err error
	if d.isLink {
		err = d.eachNode(ctx, func(ctx context.Context, recv, sender lab.Node) error {
			return d.injectLink(ctx, sender, recv)
		})
	} else {
		err = d.injectNetem(ctx)
	}
	if err != nil {
		return fmt.Errorf("inject %s: %w", d, err)
	}
	return nil
}

// Heal removes the delay; healing a healed delay succeeds.
func (d *Delay) Heal(ctx context.Context) error {
	var err error
	if d.isLink {
		err = d.eachNode(ctx, func(ctx context.Context, recv, sender lab.Node) error {
			return d.healLink(ctx, sender, recv)
		})
	} else {
		err = d.healNetem(ctx)
	}
	if err != nil {
		return fmt.Errorf("heal %s: %w", d, err)
	}
	return nil
}

// netemArgs renders delay and jitter for tc, in microseconds.
func netemArgs(delay, jitter time.Duration) string {
	s := fmt.Sprintf("delay %dus", delay.Microseconds())
	if jitter > 0 {
		s += fmt.Sprintf(" %dus", jitter.Microseconds())
	}
	return s
}

// injectNetem puts netem at the root of the node's lab interface: all it
// sends is delayed.
func (d *Delay) injectNetem(ctx context.Context) error {
	own, err := ipOf(ctx, d.help.docker, d.network, d.node)
	if err != nil {
		return err
	}
	_, err = d.help.run(ctx, d.node, devOf(own)+`tc qdisc replace dev "$DEV" root netem `+netemArgs(d.spec.Delay, d.spec.Jitter))
	return netemErr(err)
}

func netemErr(err error) error {
	if err != nil && strings.Contains(err.Error(), "qdisc kind is unknown") {
		return fmt.Errorf("%w (tc said: %v)", ErrNoNetem, err)
	}
	return err
}

func (d *Delay) healNetem(ctx context.Context) error {
	if ok, err := running(ctx, d.help.docker, d.node); err != nil || !ok {
		return err // stopped: its namespace, and the qdisc, are gone
	}
	_, err := d.help.run(ctx, d.node, qdiscDel)
	return err
}

// qdiscDel removes the root qdiscs pgchaos adds (netem, prio) from every
// interface, printing each it removed; default qdiscs are left alone.
const qdiscDel = `for DEV in $(ls /sys/class/net); do
  if tc qdisc show dev "$DEV" root | grep -qE '^qdisc (netem|prio) '; then
    tc qdisc del dev "$DEV" root || exit 1
    echo "tc root qdisc of $DEV"
  fi
done
`

// delaySweep removes the whole DelayChain (every link delay's REDIRECT) and
// prints that it did; the sweep in heal.go runs it on each node.
const delaySweep = `if iptables -w -t nat -S ` + DelayChain + ` >/dev/null 2>&1; then
  while iptables -w -t nat -D PREROUTING -j ` + DelayChain + ` 2>/dev/null; do :; done
  iptables -w -t nat -F ` + DelayChain + ` && iptables -w -t nat -X ` + DelayChain + ` && echo "iptables nat chain ` + DelayChain + `"
fi
`

// proxyPort is where a link delay's proxy listens in the publisher's
// namespace: derived from the fault's tag, so a heal in another process
// agrees, and so a one-way and a two-way delay on the same node (which
// may overlap) do not collide. The range is unused by PostgreSQL.
func proxyPort(tag string) int {
	h := fnv.New32a()
	h.Write([]byte(tag))
	return 15400 + int(h.Sum32()%500)
}

// proxyCmd is the proxy's command line in the nettools image. The proxy
// listens on the publisher's lab address only (where the REDIRECT sends
// the subscriber) and forwards to PostgreSQL on that same address, never on
// 127.0.0.1: the official postgres image trusts 127.0.0.1 without a
// password, so forwarding there would hand anyone on the lab network a
// passwordless superuser while the delay holds. From the lab address the
// server asks for the password, as it does of a direct connection. Only the
// arguments changed, so a nettools image built before works as it is.
func proxyCmd(publisherIP string, port, pgPort int, delay, jitter time.Duration) []string {
	return []string{"pgchaos-linkproxy", "--listen", net.JoinHostPort(publisherIP, strconv.Itoa(port)),
		"--upstream", net.JoinHostPort(publisherIP, strconv.Itoa(pgPort)), "--delay", delay.String(), "--jitter", jitter.String()}
}

// redirectAdd waits until the proxy listens on port, then redirects TCP
// from subscriberIP to PostgreSQL's port (pgPort) to it. Idempotent.
func redirectAdd(tag, subscriberIP string, port, pgPort int) string {
	rule := fmt.Sprintf("-s %s/32 -p tcp --dport %d -m comment --comment %s -j REDIRECT --to-ports %d", subscriberIP, pgPort, tag, port)
	return fmt.Sprintf(`set -e
i=0
until ss -Hltn 'sport = :%[3]d' | grep -q .; do
  i=$((i+1)); [ $i -le 200 ] || { echo "the link proxy never listened on port %[3]d" >&2; exit 1; }
  sleep 0.05
done
iptables -w -t nat -N %[1]s 2>/dev/null || true
iptables -w -t nat -C PREROUTING -j %[1]s 2>/dev/null || iptables -w -t nat -I PREROUTING 1 -j %[1]s
iptables -w -t nat -C %[1]s %[2]s 2>/dev/null || iptables -w -t nat -A %[1]s %[2]s
`, DelayChain, rule, port)
}

// redirectDel removes the fault's REDIRECT rules, and the chain once it is
// empty. Missing chain or rules are fine (idempotent heal).
func redirectDel(tag string) string {
	return fmt.Sprintf(`iptables -w -t nat -S %[1]s >/dev/null 2>&1 || exit 0
iptables -w -t nat -S %[1]s | grep -F -- '--comment %[2]s ' | sed 's/^-A /-D /' | while read -r rule; do eval "iptables -w -t nat $rule" || exit 1; done
if [ -z "$(iptables -w -t nat -S %[1]s | grep -v '^-N ')" ]; then
  while iptables -w -t nat -D PREROUTING -j %[1]s 2>/dev/null; do :; done
  iptables -w -t nat -X %[1]s
fi
`, DelayChain, tag)
}

// injectLink delays what publisher streams to subscriber.
func (d *Delay) injectLink(ctx context.Context, publisher, subscriber lab.Node) error {
	if d.docker == nil {
		return errors.New("no Docker client")
	}
	// A proxy left by an earlier, interrupted inject would hold the port.
	if err := d.removeProxies(ctx, publisher); err != nil {
		return err
	}
	subIP, err := ipOf(ctx, d.docker, d.network, subscriber)
	if err != nil {
		return err
	}
	pubIP, err := ipOf(ctx, d.docker, d.network, publisher)
	if err != nil {
		return err
	}
	port, pgPort := proxyPort(d.tag()), d.pgPort(subscriber.Name, publisher.Name)
	if err := d.startProxy(ctx, publisher, pubIP, port, pgPort); err != nil {
		return err
	}
	if _, err := d.help.run(ctx, publisher, redirectAdd(d.tag(), subIP, port, pgPort)); err != nil {
		return fmt.Errorf("redirect %s's connections on %s to the link proxy: %w%s", subscriber.Name, publisher.Name, err, d.proxyLogs(ctx, publisher))
	}
	// The rule catches new connections only: end the direct one, and
	// the subscription comes back through the proxy.
	slot := d.slotOn(subscriber.Name, publisher.Name)
	if err := d.terminateWalsender(ctx, publisher, pubIP, slot, false); err != nil {
		return err
	}
	if ok, err := running(ctx, d.docker, subscriber); err != nil || !ok {
		return err // it will connect through the proxy when it starts
	}
	if err := d.waitWalsender(ctx, publisher, subscriber, pubIP, slot); err != nil {
		return fmt.Errorf("%w%s", err, d.proxyLogs(ctx, publisher))
	}
	return nil
}

// healLink removes the redirect, ends the proxied replication connection
// (the subscription reconnects directly) and removes the proxy.
func (d *Delay) healLink(ctx context.Context, publisher, subscriber lab.Node) error {
	if d.docker == nil {
		return errors.New("no Docker client")
	}
	up, err := running(ctx, d.docker, publisher)
	if err != nil {
		return err
	}
	if up {
		if _, err := d.help.run(ctx, publisher, redirectDel(d.tag())); err != nil {
			return err
		}
		// An isolated publisher has no lab address: then only proxies of
		// older pgchaos versions (from 127.0.0.1) are told apart.
		var pubIP *string
		if ip, err := ipOf(ctx, d.docker, d.network, publisher); err == nil {
			pubIP = &ip
		}
		if err := d.terminateWalsender(ctx, publisher, pubIP, d.slotOn(subscriber.Name, publisher.Name), true); err != nil {
			return err
		}
	}
	return d.removeProxies(ctx, publisher)
}

// proxyLabels mark the proxy of this fault on publisher.
func (d *Delay) proxyLabels(publisher lab.Node) map[string]string {
	ls := lab.Labels(d.help.lab, lab.RoleHelper)
	ls[LabelFault] = d.tag()
	ls[LabelNode] = publisher.Name
	return ls
}

// startProxy runs the proxy in publisher's network namespace. It is a
// helper container like the iptables ones (lab down and the sweep remove
// it) but long-lived: it runs until the heal removes it. No NET_ADMIN: it
// only listens and connects.
func (d *Delay) startProxy(ctx context.Context, publisher lab.Node, publisherIP string, port, pgPort int) error {
	// Named for people reading `docker ps`; the labels are what counts.
	name := fmt.Sprintf("pgchaos-%s-linkproxy-%s-on-%s", d.help.lab, strings.TrimPrefix(d.tag(), "pgchaos-delay-"), publisher.Name)
	resp, err := d.docker.ContainerCreate(ctx,
		&container.Config{
			Image:      d.help.image,
			Entrypoint: proxyCmd(publisherIP, port, pgPort, d.spec.Delay, d.spec.Jitter),
			Cmd:        []string{},
			Labels:     d.proxyLabels(publisher),
		},
		&container.HostConfig{
			NetworkMode:   container.NetworkMode("container:" + publisher.ID),
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		}, nil, nil, name)
	if err != nil {
		return fmt.Errorf("create the link proxy container from %s in %s's network: %w (is the network-tools image %s there, built with pgchaos-linkproxy? `make images ARGS=nettools` builds it)", d.help.image, publisher.Container, err, d.help.image)
	}
	if err := d.docker.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		d.removeProxies(context.WithoutCancel(ctx), publisher)
		return fmt.Errorf("start the link proxy in %s's network: %w", publisher.Container, err)
	}
	return nil
}

// proxyLogs quotes the proxy's output for an error message, or "".
func (d *Delay) proxyLogs(ctx context.Context, publisher lab.Node) string {
	cs, err := d.proxies(ctx, publisher)
	if err != nil || len(cs) == 0 {
		return ""
	}
	stdout, stderr := d.help.output(ctx, cs[0].ID)
	out := strings.TrimSpace(stdout + stderr)
	if out == "" {
		return ""
	}
	lines := strings.Split(out, "\n")
	return "; the link proxy logged:\n" + strings.Join(lines[max(0, len(lines)-10):], "\n")
}

func (d *Delay) proxies(ctx context.Context, publisher lab.Node) ([]container.Summary, error) {
	f := filters.NewArgs()
	for k, v := range d.proxyLabels(publisher) {
		f.Add("label", k+"="+v)
	}
	cs, err := d.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list link proxy containers on %s: %w", publisher.Name, err)
	}
	return cs, nil
}

// removeProxies removes this fault's proxy containers on publisher.
func (d *Delay) removeProxies(ctx context.Context, publisher lab.Node) error {
	cs, err := d.proxies(ctx, publisher)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cs {
		if err := d.docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove link proxy container %s: %w (try `docker rm -f %s`)", c.ID[:12], err, c.ID[:12]))
		}
	}
	return errors.Join(errs...)
}

// The walsender of a link is the one holding the link's slot ($1). Not its
// application_name: a subscription's apply worker sets that to the
// subscription's name, which in a native mesh every subscriber of a
// publisher shares (sub_from_<publisher>), so a delay on primary1->primary2
// would also cut primary1->primary3. A proxied walsender connects from the
// publisher's own lab address ($2: where the proxy forwards to), a direct
// one from the peer. 127.0.0.1 counts as proxied too: proxies started by
// earlier pgchaos builds forwarded there, and a ledger they left may still
// be healed by this build.
const (
	walsenderOfSlot = `FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid
WHERE s.slot_name = $1`
	proxiedCond         = `coalesce(r.client_addr = '127.0.0.1'::inet OR r.client_addr = $2::inet, false)`
	terminateDirectSQL  = `SELECT count(pg_terminate_backend(r.pid)) ` + walsenderOfSlot + ` AND NOT ` + proxiedCond
	terminateProxiedSQL = `SELECT count(pg_terminate_backend(r.pid)) ` + walsenderOfSlot + ` AND ` + proxiedCond
	proxiedStreamingSQL = `SELECT count(*) ` + walsenderOfSlot + ` AND r.client_addr = $2::inet AND r.state = 'streaming'`
)

// terminateWalsender ends the walsender serving slot on publisher (whose
// lab address is publisherIP, nil when unknown) if it is proxied, or if it
// is direct.
func (d *Delay) terminateWalsender(ctx context.Context, publisher lab.Node, publisherIP any, slot string, proxied bool) error {
	q := terminateDirectSQL
	if proxied {
		q = terminateProxiedSQL
	}
	if d.settle > 0 {
		// Ending a walsender too soon after its apply worker (re)started
		// can leave the subscription down for minutes (pglogicalSettle).
		var secs float64
		if err := d.query(ctx, publisher, walsenderAgeSQL, &secs, slot); err == nil && time.Duration(secs*float64(time.Second)) < d.settle {
			select {
			case <-time.After(d.settle - time.Duration(secs*float64(time.Second))):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	var n int
	if err := d.query(ctx, publisher, q, &n, slot, publisherIP); err != nil {
		return fmt.Errorf("end the walsender of slot %s on %s so it reconnects: %w", slot, publisher.Name, err)
	}
	return nil
}

// walsenderAgeSQL is how long the walsender holding slot has run (0 when
// none does).
const walsenderAgeSQL = `SELECT coalesce(extract(epoch FROM max(clock_timestamp() - r.backend_start))::float8, 0)
FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = $1`

// waitWalsender waits until subscriber streams from slot on publisher
// through the proxy.
func (d *Delay) waitWalsender(ctx context.Context, publisher, subscriber lab.Node, publisherIP, slot string) error {
	deadline := time.Now().Add(reconnectTimeout)
	for {
		var n int
		err := d.query(ctx, publisher, proxiedStreamingSQL, &n, slot, publisherIP)
		if err == nil && n > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("no such walsender")
			}
			return fmt.Errorf("%s's subscription did not reconnect to %s (slot %s) through the link proxy within %s (%v): is it stuck on an apply error? see `pgchaos lab status`", subscriber.Name, publisher.Name, slot, reconnectTimeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// query runs a one-row, one-column query on a node over a fresh
// connection.
func (d *Delay) query(ctx context.Context, n lab.Node, sql string, dst any, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, sqlTimeout)
	defer cancel()
	conn, err := d.db.Connect(ctx, n.Name)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.QueryRow(ctx, sql, args...).Scan(dst)
}
