package faults_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/scenario"
)

// ledgerInject injects f through g (which gives it its own tag).
func ledgerInject(t *testing.T, g *faults.Ledger, f faults.Fault) {
	t.Helper()
	if err := g.Inject(ctxT(t, 2*time.Minute), f); err != nil {
		t.Fatalf("inject %s: %v", f, err)
	}
}

func ledgerHeal(t *testing.T, g *faults.Ledger, f faults.Fault) {
	t.Helper()
	ctx, cancel := faults.HealContext(context.Background())
	defer cancel()
	if err := g.Heal(ctx, f); err != nil {
		t.Fatalf("heal %s: %v", f, err)
	}
}

// execIn runs cmd in a lab container as user and returns its combined
// output and exit code.
func execIn(t *testing.T, l *lab.Lab, id, user string, cmd ...string) (string, int) {
	t.Helper()
	ctx := ctxT(t, time.Minute)
	cli := l.Docker()
	ex, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd, User: user, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatalf("exec %q: %v", cmd, err)
	}
	att, err := cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		t.Fatalf("exec %q: %v", cmd, err)
	}
	defer att.Close()
	var out bytes.Buffer
	stdcopy.StdCopy(&out, &out, att.Reader)
	in, err := cli.ContainerExecInspect(ctx, ex.ID)
	if err != nil {
		t.Fatalf("exec %q: %v", cmd, err)
	}
	return out.String(), in.ExitCode
}

// A fault nested in a longer one of the same kind on the same target: the
// inner heal removes the inner fault's rules only, so the outer fault still
// holds until its own heal (the report's healed-at times are then true).
func TestNestedFaultHealLeavesOuterInForce(t *testing.T) {
	l := labtest.Start(t)
	g, err := faults.OpenLedger(l, faults.WithStateDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range []scenario.Fault{
		{Kind: scenario.FaultPartition, Between: linkBoth},
		{Kind: scenario.FaultPartition, Between: linkBoth, Direction: scenario.DirOneToTwo},
		{Kind: scenario.FaultLoss, Between: linkBoth, Loss: 100},
		{Kind: scenario.FaultLoss, Node: lab.Primary2, Loss: 100},
	} {
		t.Run(spec.Kind+"-"+spec.Direction+spec.Node, func(t *testing.T) {
			defer restore(t, l)
			outer, inner := mustNew(t, l, spec), mustNew(t, l, spec)
			ledgerInject(t, g, outer)
			ledgerInject(t, g, inner)
			ledgerHeal(t, g, inner)
			// The outer fault cuts primary1 -> primary2 in every variant.
			row := "nested-" + uniq()
			write(t, l, lab.Primary1, row)
			mustNotArrive(t, l, lab.Primary2, row)
			ledgerHeal(t, g, outer)
			mustArrive(t, l, lab.Primary2, row)
		})
	}
	t.Run("link delay", func(t *testing.T) {
		defer restore(t, l)
		spec := scenario.Fault{Kind: scenario.FaultDelay, Between: linkBoth, Direction: scenario.DirOneToTwo, Delay: 300 * time.Millisecond}
		outer, inner := mustNew(t, l, spec), mustNew(t, l, spec)
		ledgerInject(t, g, outer)
		ledgerInject(t, g, inner)
		ledgerHeal(t, g, inner)
		// The outer proxy still runs and the subscription comes back
		// through it (the inner heal ended the proxied walsender).
		if n := proxies(t, l); n != 1 {
			t.Fatalf("%d link proxies after the inner heal, want the outer's 1", n)
		}
		deadline := time.Now().Add(arrival)
		for {
			got, err := walsenderAddr(l, lab.Primary1)
			if err == nil && got == labIP(t, l, lab.Primary1) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after the inner heal primary2 streams from primary1 via %q (%v), want through the outer proxy (%s)", got, err, labIP(t, l, lab.Primary1))
			}
			time.Sleep(100 * time.Millisecond)
		}
		ledgerHeal(t, g, outer)
		if n := proxies(t, l); n != 0 {
			t.Fatalf("%d link proxies after both heals, want 0", n)
		}
	})
}

// proxies counts the lab's link-proxy containers.
func proxies(t *testing.T, l *lab.Lab) int {
	t.Helper()
	cs, err := l.Docker().ContainerList(ctxT(t, 10*time.Second), container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", lab.LabelLab+"="+l.Name), filters.Arg("label", faults.LabelFault))})
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

// While a link delay holds, a connection through its proxy still has to
// give the password, even on a server that (like the official postgres
// image) trusts 127.0.0.1: the proxy forwards to the node's lab address.
func TestLinkDelayProxyAsksForThePassword(t *testing.T) {
	l := labtest.Start(t)
	pub, _ := l.Node(lab.Primary1)
	sub, _ := l.Node(lab.Primary2)
	// Make primary1 trust 127.0.0.1 as the official image does (the
	// local image asks for a password there too, which would hide the
	// hole this test pins).
	out, code := execIn(t, l, pub.ID, "postgres", "sh", "-c",
		`f=$(psql -U postgres -Atc 'SHOW hba_file') && sed -i '1i host all all 127.0.0.1/32 trust' "$f" && psql -U postgres -Atc 'SELECT pg_reload_conf()'`)
	if code != 0 {
		t.Fatalf("make primary1 trust 127.0.0.1: exit %d: %s", code, out)
	}
	psql := func(id, host, port string) (string, int) {
		return execIn(t, l, id, "postgres", "env", "-u", "PGPASSWORD", "psql", "-w", "-h", host, "-p", port, "-U", "postgres", "-d", "postgres", "-Atc", "SELECT 1")
	}
	// Control: without a password, 127.0.0.1 gets in.
	if out, code := psql(pub.ID, "127.0.0.1", "5432"); code != 0 {
		t.Fatalf("control: passwordless psql to 127.0.0.1 on primary1 failed (exit %d: %s), so this test could not tell", code, out)
	}
	g, err := faults.OpenLedger(l, faults.WithStateDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	f := mustNew(t, l, scenario.Fault{Kind: scenario.FaultDelay, Between: linkBoth, Direction: scenario.DirOneToTwo, Delay: 20 * time.Millisecond})
	ledgerInject(t, g, f)
	defer restore(t, l)
	// primary2's connections to primary1:5432 are redirected to the
	// proxy: without a password they must be refused.
	pubIP := labIP(t, l, lab.Primary1)
	out, code = psql(sub.ID, pubIP, "5432")
	if code == 0 || !strings.Contains(out, "password") {
		t.Errorf("passwordless psql from primary2 through the link proxy: exit %d, %q; want refused for want of a password", code, out)
	}
	// The replication through the proxy, which gives the password, works.
	row := "pw-" + uniq()
	write(t, l, lab.Primary1, row)
	mustArrive(t, l, lab.Primary2, row)
	ledgerHeal(t, g, f)
}
