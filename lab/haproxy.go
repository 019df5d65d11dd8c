package lab

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Backend is one server line of HAProxy's `show stat`.
type Backend struct {
	Server   string `json:"server"`   // primary1, primary2
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
