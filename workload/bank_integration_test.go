package workload_test

import (
	"context"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/workload"
)

// A known answer for the bank witness: 4 accounts seeded at 1000; a
// transfer keeps the total at 4000; money created out of thin air on one
// node (as a lost update would) shows there and only there.
func TestBankTotalSeesABrokenInvariant(t *testing.T) {
	l := labtest.Start(t)
	ctx := context.Background()
	spec := workload.Spec{Name: "ka-bank", Kind: workload.KindBank, Targets: []string{lab.Primary1}, Concurrency: 1, Rows: 4}
	dsn := map[string]string{lab.Primary1: l.MustDSN(lab.Primary1), lab.Primary2: l.MustDSN(lab.Primary2)}
	if err := workload.Setup(ctx, workload.Config{Workloads: []workload.Spec{spec}, DSN: dsn}); err != nil {
		t.Fatal(err)
	}
	p1, err := l.Connect(ctx, lab.Primary1)
	if err != nil {
		t.Fatal(err)
	}
	defer p1.Close(ctx)
	p2, err := l.Connect(ctx, lab.Primary2)
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close(ctx)
	// A transfer keeps the total.
	if _, err := p1.Exec(ctx, `UPDATE pgchaos_bank SET balance = balance + CASE id WHEN 1 THEN -300 ELSE 300 END WHERE workload = 'ka-bank' AND id IN (1, 2)`); err != nil {
		t.Fatal(err)
	}
	waitBank := func() {
		t.Helper()
		for i := 0; i < 200; i++ {
			b, err := workload.BankTotal(ctx, p2, "ka-bank", lab.Primary2, 4)
			if err == nil && b.Actual == 4000 {
				var one int64
				if p2.QueryRow(ctx, "SELECT balance FROM pgchaos_bank WHERE workload = 'ka-bank' AND id = 1").Scan(&one) == nil && one == 700 {
					return
				}
			}
			time.Sleep(25 * time.Millisecond)
		}
		t.Fatal("the transfer never reached primary2")
	}
	waitBank()
	// Money appears on primary2 only: primary1 stops applying primary2's changes.
	if _, err := p1.Exec(ctx, "ALTER SUBSCRIPTION "+lab.SubscriptionOn(lab.Primary1)+" DISABLE"); err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Exec(ctx, `UPDATE pgchaos_bank SET balance = balance + 250 WHERE workload = 'ka-bank' AND id = 3`); err != nil {
		t.Fatal(err)
	}
	b1, err := workload.BankTotal(ctx, p1, "ka-bank", lab.Primary1, 4)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := workload.BankTotal(ctx, p2, "ka-bank", lab.Primary2, 4)
	if err != nil {
		t.Fatal(err)
	}
	if b1.Expected != 4000 || b1.Actual != 4000 {
		t.Errorf("primary1 bank %+v, want 4000 of 4000", b1)
	}
	if b2.Expected != 4000 || b2.Actual != 4250 {
		t.Errorf("primary2 bank %+v, want 4250 against an expected 4000", b2)
	}
}
