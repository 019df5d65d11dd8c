package workload

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgchaos/pgchaos/sqlscript"
)

func parsedScript(t *testing.T, src string) *sqlscript.Script {
	t.Helper()
	s, err := sqlscript.Parse("t.sql", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSQLPicksByWeight pins the mix to the weights and to the worker's
// seeded source: the same seed picks the same scripts in the same order.
func TestSQLPicksByWeight(t *testing.T) {
	s := parsedScript(t, "SELECT 1;\n")
	wl, err := New(Spec{Name: "w", Kind: KindSQL, Scripts: []Script{{Name: "a", Script: s, Weight: 3}, {Name: "b", Script: s, Weight: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	q := wl.(SQL)
	picks := func(seed int64) []int {
		w := NewWorker(seed, "r", "w", KindSQL, "primary1", 0)
		out := make([]int, 8000)
		for i := range out {
			out[i] = q.pick(w.Rand)
		}
		return out
	}
	a, b := picks(7), picks(7)
	n := [2]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("pick %d differs between two runs of seed 7", i)
		}
		n[a[i]]++
	}
	// 3:1 over 8000 draws: 6000 expected; 5% either way is beyond 10
	// standard deviations, and the seed is fixed, so this never flakes.
	if n[0] < 5700 || n[0] > 6300 {
		t.Errorf("weights 3:1 gave %v", n)
	}
	if c := picks(8); equalInts(a, c) {
		t.Error("seeds 7 and 8 picked the same sequence")
	}
}

func equalInts(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestNewSQLRefusesBadSpecs(t *testing.T) {
	s := parsedScript(t, "SELECT 1;\n")
	for _, tt := range []struct {
		scripts []Script
		want    string
	}{
		{nil, "needs at least one script"},
		{[]Script{{Name: "a", Script: s, Weight: 0}}, `script "a": needs a parsed script and a weight of at least 1, got weight 0`},
		{[]Script{{Name: "a", Weight: 1}}, `script "a": needs a parsed script`},
	} {
		_, err := New(Spec{Name: "w", Kind: KindSQL, Scripts: tt.scripts})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.scripts, err, tt.want)
		}
	}
}

// TestParamEncodesForEveryInferredType: a variable is an integer, but the
// server may type its parameter as any of these.
func TestParamEncodesForEveryInferredType(t *testing.T) {
	m := pgtype.NewMap()
	for _, oid := range []uint32{20, 21, 23, 25, 700, 701, 1043, 1700} {
		for _, format := range []int16{0, 1} {
			if plan := m.PlanEncode(oid, format, param(42)); plan == nil {
				t.Errorf("no plan to encode a variable into type %d, format %d", oid, format)
			}
		}
	}
	b, err := m.Encode(25, 0, param(-7), nil)
	if err != nil || string(b) != "-7" {
		t.Errorf("text: %q, %v", b, err)
	}
}
