package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/scenario"
)

// admin is the slice of the lab a failover uses: HAProxy's runtime API.
// *lab.Lab is one.
type admin interface {
	AdminCommand(ctx context.Context, cmd string) (string, error)
	Backends(ctx context.Context) ([]lab.Backend, error)
}

// Failover is a manual failover through HAProxy's runtime API: the `from`
// server goes to maintenance and its sessions are shut, so every client of
// the load balancer lands on the other primary. Heal is the failback:
// the server is made ready again.
type Failover struct {
	spec    scenario.Fault
	backend string
	srv     string // the from node's server in backend: the node's name on a lab
	admin   admin
	// recorded: a user's HAProxy, whose backend and server are kept in
	// the ledger, so a heal in another process sets ready the very server
	// this one put in maint.
	recorded bool
}

type failoverState struct {
	Backend string `json:"backend"`
	Server  string `json:"server"`
}

// Prepare has nothing to read: the backend and server are known.
func (f *Failover) Prepare(context.Context) error { return nil }

// State is the backend and server on a user's HAProxy, nil on a lab's.
func (f *Failover) State() json.RawMessage {
	if !f.recorded {
		return nil
	}
	b, _ := json.Marshal(failoverState{Backend: f.backend, Server: f.srv})
	return b
}

// SetState takes the backend and server a ledger recorded.
func (f *Failover) SetState(b json.RawMessage) error {
	var st failoverState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	if st.Backend == "" || st.Server == "" {
		return fmt.Errorf("no backend or server in the recorded failover of %s", f.spec.From)
	}
	f.backend, f.srv, f.recorded = st.Backend, st.Server, true
	return nil
}

// Spec returns the scenario entry the fault was made from.
func (f *Failover) Spec() scenario.Fault { return f.spec }

// String names the fault, e.g. "failover haproxy/primary1".
func (f *Failover) String() string { return "failover haproxy/" + f.spec.From }

func (f *Failover) server() string { return f.backend + "/" + f.srv }

// Inject puts the server in maint, shuts its sessions and checks HAProxy
// reports it MAINT.
func (f *Failover) Inject(ctx context.Context) error {
	if f.srv == "" {
		return fmt.Errorf("inject %s: no HAProxy server is known for %s (name haproxy.admin, and haproxy.backend and haproxy.servers in the target file)", f, f.spec.From)
	}
	for _, cmd := range []string{
		"set server " + f.server() + " state maint",
		"shutdown sessions server " + f.server(),
	} {
		if err := f.command(ctx, cmd); err != nil {
			return fmt.Errorf("inject %s: %w", f, err)
		}
	}
	if err := f.expect(ctx, true); err != nil {
		return fmt.Errorf("inject %s: %w", f, err)
	}
	return nil
}

// Heal makes the server ready again (failback) and checks it left MAINT.
func (f *Failover) Heal(ctx context.Context) error {
	if f.srv == "" {
		return fmt.Errorf("heal %s: no HAProxy server is known for %s, nor recorded in the ledger: set it ready by hand (set server <backend>/<server> state ready)", f, f.spec.From)
	}
	if err := f.command(ctx, "set server "+f.server()+" state ready"); err != nil {
		return fmt.Errorf("heal %s: %w", f, err)
	}
	if err := f.expect(ctx, false); err != nil {
		return fmt.Errorf("heal %s: %w", f, err)
	}
	return nil
}

// command runs one runtime API command; the API answers nothing on success
// and a message (e.g. "No such server.") on failure.
func (f *Failover) command(ctx context.Context, cmd string) error {
	out, err := f.admin.AdminCommand(ctx, cmd)
	if err != nil {
		return err
	}
	if s := strings.TrimSpace(out); s != "" {
		return fmt.Errorf("haproxy refused %q: %s", cmd, s)
	}
	return nil
}

// expect checks the server is (or is not) in MAINT.
func (f *Failover) expect(ctx context.Context, maint bool) error {
	bs, err := f.admin.Backends(ctx)
	if err != nil {
		return err
	}
	for _, b := range bs {
		if b.Server != f.srv {
			continue
		}
		if inMaint := strings.HasPrefix(b.Status, "MAINT"); inMaint != maint {
			return fmt.Errorf("haproxy reports %s as %s after the command", f.server(), b.Status)
		}
		return nil
	}
	return fmt.Errorf("haproxy has no server %s (show stat lists %d servers in backend %s)", f.server(), len(bs), f.backend)
}
