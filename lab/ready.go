package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/node"
)

// Connect opens one connection to a target (a primary or haproxy).
func (l *Lab) Connect(ctx context.Context, target string) (*pgx.Conn, error) {
	dsn, err := l.DSN(target)
	if err != nil {
		return nil, err
	}
	return pgx.Connect(ctx, dsn)
}

// WaitReady waits until a node answers a query over its host port. It polls
// (every 100 ms) rather than sleeping a fixed time, gives up early when the
// container exits, and on timeout quotes the container's last log lines.
func (l *Lab) WaitReady(ctx context.Context, node string, timeout time.Duration) error {
	n, ok := l.Node(node)
	if !ok {
		return fmt.Errorf("wait for %s: no such node", node)
	}
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := l.Connect(cctx, node)
		if err == nil {
			var one int
			err = conn.QueryRow(cctx, "SELECT 1").Scan(&one)
			conn.Close(cctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		lastErr = err
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ci container.InspectResponse
		ierr := errNoContainer
		if cli := l.DockerFor(n.Name); cli != nil && n.ID != "" {
			ci, ierr = cli.ContainerInspect(ctx, n.ID)
		}
		if ierr == nil && ci.State != nil && (ci.State.Status == "exited" || ci.State.Status == "dead") {
			return fmt.Errorf("%s exited (code %d) before it was ready; its last log lines:\n%s",
				n.Container, ci.State.ExitCode, l.LogTail(ctx, n.ID, 20))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("PostgreSQL on %s was not ready within %s (last error: %v); its last log lines:\n%s",
				n.Container, timeout, lastErr, l.LogTail(ctx, n.ID, 20))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// errNoContainer: a user's node without a container pgchaos can reach.
var errNoContainer = errors.New("no container pgchaos can reach")

// Logs returns a container's last tail log lines (stdout and stderr
// together, as PostgreSQL and HAProxy log to stderr).
func (l *Lab) Logs(ctx context.Context, containerID string, tail int) (string, error) {
	return l.logs(ctx, containerID, container.LogsOptions{Tail: fmt.Sprint(tail)})
}

func (l *Lab) logs(ctx context.Context, containerID string, opts container.LogsOptions) (string, error) {
	opts.ShowStdout, opts.ShowStderr = true, true
	cli := l.dockerForID(containerID)
	if cli == nil || containerID == "" {
		return "", errNoContainer
	}
	rc, err := cli.ContainerLogs(ctx, containerID, opts)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		return "", err
	}
	return out.String(), nil
}

// LogTail returns a container's last n log lines indented for quoting in an
// error, or a note when they cannot be read.
func (l *Lab) LogTail(ctx context.Context, containerID string, n int) string {
	out, err := l.Logs(ctx, containerID, n)
	if err != nil {
		return "    (logs unavailable: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return "    " + strings.Join(lines, "\n    ")
}

// proveReplication writes a heartbeat row on each node and waits until
// every other node has applied it: the lab is "ready" only once every
// direction of the mesh works.
func (l *Lab) proveReplication(ctx context.Context, timeout time.Duration) error {
	seq := time.Now().UnixNano()
	for _, from := range l.Primaries() {
		src, err := l.Connect(ctx, from)
		if err != nil {
			return fmt.Errorf("prove replication: connect %s: %w", from, err)
		}
		_, err = src.Exec(ctx, "INSERT INTO pgchaos_heartbeat (origin, seq) VALUES ($1, $2)", from, seq)
		src.Close(ctx)
		if err != nil {
			return fmt.Errorf("prove replication: write marker on %s: %w", from, err)
		}
	}
	// One deadline for the whole mesh: the markers travel at once.
	deadline := time.Now().Add(timeout)
	for _, to := range l.Primaries() {
		if err := l.awaitMarkers(ctx, to, node.Others(l.Primaries(), to), seq, deadline); err != nil {
			return err
		}
	}
	return nil
}

// awaitMarkers waits until node to holds the marker row seq of every node
// in from.
func (l *Lab) awaitMarkers(ctx context.Context, to string, from []string, seq int64, deadline time.Time) error {
	dst, err := l.Connect(ctx, to)
	if err != nil {
		return fmt.Errorf("prove replication: connect %s: %w", to, err)
	}
	defer dst.Close(ctx)
	for _, f := range from {
		for {
			var n int
			err = dst.QueryRow(ctx, "SELECT count(*) FROM pgchaos_heartbeat WHERE origin = $1 AND seq = $2", f, seq).Scan(&n)
			if err == nil && n == 1 {
				break
			}
			if err == nil && time.Now().After(deadline) {
				sub := l.Replication().SubscriptionName(to, f)
				err = fmt.Errorf("a marker row written on %s did not reach %s by its subscription %s in time: check `pgchaos lab status --name %s` and the logs of %s and %s",
					f, to, sub, l.Name, containerName(l.Name, to), containerName(l.Name, f))
			}
			if err != nil {
				return fmt.Errorf("prove replication %s->%s: %w", f, to, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// waitProxy waits until HAProxy reports every backend UP and a query
// through it succeeds.
func (l *Lab) waitProxy(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		bs, err := l.Backends(ctx)
		up := 0
		if err == nil {
			last = ""
			for _, b := range bs {
				last += fmt.Sprintf(" %s=%s", b.Server, b.Status)
				if b.Status == "UP" {
					up++
				}
			}
		} else {
			last = err.Error()
		}
		if up == len(l.Nodes) {
			conn, err := l.Connect(ctx, HAProxy)
			if err == nil {
				var node string
				err = conn.QueryRow(ctx, "SELECT current_setting('cluster_name')").Scan(&node)
				conn.Close(ctx)
			}
			if err == nil {
				return nil
			}
			last = "query through haproxy: " + err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("haproxy did not serve all %d primaries within %s (last seen:%s); its last log lines:\n%s",
				len(l.Nodes), timeout, last, l.LogTail(ctx, l.Proxy.ID, 20))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// LogsSince returns what a container logged since t (stdout and stderr).
func (l *Lab) LogsSince(ctx context.Context, containerID string, t time.Time) (string, error) {
	return l.logs(ctx, containerID, container.LogsOptions{Since: fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())})
}
