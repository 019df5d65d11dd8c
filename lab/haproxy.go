package lab

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/compose"
	"github.com/pgchaos/pgchaos/node"
)

// haproxyConfig is compose/haproxy.cfg with one server line per primary
// in place of the file's own (which name the two-node lab's).
func haproxyConfig(primaries []string) []byte {
	var out bytes.Buffer
	done := false
	for _, line := range strings.SplitAfter(string(compose.HAProxyConfig), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "server" {
			out.WriteString(line)
			continue
		}
		if _, ok := node.PrimaryIndex(f[1]); !ok || done {
			if !ok {
				out.WriteString(line)
			}
			continue
		}
		indent := line[:strings.Index(line, "server")]
		for _, p := range primaries {
			fmt.Fprintf(&out, "%sserver %s %s:5432 check\n", indent, p, p)
		}
		done = true
	}
	return out.Bytes()
}

// Backend is one server line of HAProxy's `show stat`.
type Backend struct {
	Server   string `json:"server"`   // primary1 … primaryN
	Status   string `json:"status"`   // UP, DOWN, MAINT, "UP 1/2", …
	Check    string `json:"check"`    // last health check result, e.g. L7OK
	Sessions int    `json:"sessions"` // current sessions
}

// AdminCommand sends one command to HAProxy's runtime API (admin level)
// and returns its answer.
func (l *Lab) AdminCommand(ctx context.Context, cmd string) (string, error) {
	if l.Proxy.AdminAddr == "" {
		return "", fmt.Errorf("haproxy runtime API address unknown for lab %q", l.Name)
	}
	d := net.Dialer{Timeout: 3 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", l.Proxy.AdminAddr)
	if err != nil {
		return "", fmt.Errorf("haproxy runtime API at %s: %w", l.Proxy.AdminAddr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	} else {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
	}
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", fmt.Errorf("haproxy runtime API: send %q: %w", cmd, err)
	}
	// Non-interactive mode: HAProxy answers and closes the connection.
	out, err := io.ReadAll(conn)
	if err != nil {
		return "", fmt.Errorf("haproxy runtime API: read answer to %q: %w", cmd, err)
	}
	return string(out), nil
}

// Backends reads the states of the lab's PostgreSQL backends.
func (l *Lab) Backends(ctx context.Context) ([]Backend, error) {
	out, err := l.AdminCommand(ctx, "show stat")
	if err != nil {
		return nil, err
	}
	return parseShowStat(out, l.Proxy.Backend)
}

// parseShowStat reads HAProxy's CSV `show stat` answer, keeping the servers
// of one backend.
func parseShowStat(out, backend string) ([]Backend, error) {
	out = strings.TrimPrefix(strings.TrimLeft(out, " \n"), "# ")
	r := csv.NewReader(strings.NewReader(out))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) == 0 {
		return nil, fmt.Errorf("haproxy show stat: unreadable answer %q", first(out, 200))
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, need := range []string{"pxname", "svname", "status", "scur", "check_status"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("haproxy show stat: no %q column in %q", need, first(out, 200))
		}
	}
	var bs []Backend
	for _, rec := range recs[1:] {
		if len(rec) <= col["check_status"] || rec[col["pxname"]] != backend {
			continue
		}
		sv := rec[col["svname"]]
		if sv == "BACKEND" || sv == "FRONTEND" {
			continue
		}
		var scur int
		fmt.Sscan(rec[col["scur"]], &scur)
		bs = append(bs, Backend{Server: sv, Status: rec[col["status"]], Check: rec[col["check_status"]], Sessions: scur})
	}
	return bs, nil
}

func first(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
