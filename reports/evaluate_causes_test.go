package reports

import (
	"testing"

	"github.com/pgchaos/pgchaos/scenario"
)

func TestEvaluateUnexplainedDivergence(t *testing.T) {
	rows := func(n int) []DivergentRow { return make([]DivergentRow, n) }
	cases := []struct {
		name string
		max  int64
		div  *Divergence
		want Assertion
	}{
		{"every row explained", 0,
			&Divergence{DivergentRows: 3, Unexplained: ptr(int64(0)), Tables: []TableDivergence{{Rows: rows(3)}}},
			Assertion{"unexplained_divergence", "<= 0", "0", true}},
		{"one unexplained row fails", 0,
			&Divergence{DivergentRows: 3, Unexplained: ptr(int64(1)), Tables: []TableDivergence{{Rows: rows(3)}}},
			Assertion{"unexplained_divergence", "<= 0", "1", false}},
		{"no divergence check", 0, nil,
			Assertion{"unexplained_divergence", "<= 0", "not measured (no divergence check)", false}},
		{"no cause sought", 0,
			&Divergence{DivergentRows: 3, Tables: []TableDivergence{{Rows: rows(3)}}},
			Assertion{"unexplained_divergence", "<= 0", "not measured (no cause was sought for the divergent rows)", false}},
		{"rows left out of the list are not passed unseen", 0,
			&Divergence{DivergentRows: 250, Unexplained: ptr(int64(0)), Tables: []TableDivergence{{Rows: rows(100), Truncated: true}}},
			Assertion{"unexplained_divergence", "<= 0", "not measured (150 divergent rows beyond the 100 listed have no cause)", false}},
		{"unexplained among the listed rows fails whatever the rest", 0,
			&Divergence{DivergentRows: 250, Unexplained: ptr(int64(2)), Tables: []TableDivergence{{Rows: rows(100), Truncated: true}}},
			Assertion{"unexplained_divergence", "<= 0", "2 (of 100 listed rows; 150 more not examined)", false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := measured()
			r.Divergence = c.div
			Evaluate(r, scenario.Assert{UnexplainedDivergence: ptr(c.max)})
			if len(r.Assertions) != 1 || r.Assertions[0] != c.want {
				t.Errorf("got %+v, want %+v", r.Assertions, c.want)
			}
		})
	}
}

func TestEvaluateUnexplainedDivergenceFollowsDivergentRows(t *testing.T) {
	r := measured()
	r.Divergence.Unexplained = ptr(int64(0))
	Evaluate(r, scenario.Assert{Converged: ptr(true), UnexplainedDivergence: ptr(int64(0)), DivergentRows: ptr(int64(9))})
	var got []string
	for _, a := range r.Assertions {
		got = append(got, a.Name)
	}
	if len(got) != 3 || got[0] != "divergent_rows" || got[1] != "unexplained_divergence" || got[2] != "converged" {
		t.Errorf("order %v", got)
	}
}
