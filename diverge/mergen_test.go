package diverge

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/reports"
)

func TestMergeNNamesWhichNodeHoldsWhichVersion(t *testing.T) {
	nodes := []string{"primary1", "primary2", "primary3"}
	tests := []struct {
		name  string
		lists [][]leafRow
		want  []string // kind:key:vers
	}{
		{"identical", [][]leafRow{rowsOf("1", 1, "2", 2), rowsOf("1", 1, "2", 2), rowsOf("1", 1, "2", 2)}, nil},
		{"all empty", [][]leafRow{nil, nil, nil}, nil},
		{"tampered on one node", [][]leafRow{rowsOf("1", 1, "2", 2), rowsOf("1", 1, "2", 9), rowsOf("1", 1, "2", 2)},
			[]string{"different:2:[0 1 0]"}},
		{"missing on one node", [][]leafRow{rowsOf("1", 1, "2", 2), rowsOf("1", 1, "2", 2), rowsOf("1", 1)},
			[]string{"missing_on_primary3:2:[0 0 -1]"}},
		{"missing on two of three", [][]leafRow{rowsOf("1", 1, "2", 2), rowsOf("1", 1), rowsOf("1", 1)},
			[]string{"missing_on_primary2,primary3:2:[0 -1 -1]"}},
		{"only the third holds it", [][]leafRow{rowsOf("1", 1), rowsOf("1", 1), rowsOf("0", 5, "1", 1)},
			[]string{"missing_on_primary1,primary2:0:[-1 -1 0]"}},
		{"three versions", [][]leafRow{rowsOf("1", 1), rowsOf("1", 2), rowsOf("1", 3)},
			[]string{"different:1:[0 1 2]"}},
		{"two versions and a gap", [][]leafRow{nil, rowsOf("1", 2), rowsOf("1", 3)},
			[]string{"different:1:[-1 0 1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range mergeN(tt.lists, nodes) {
				got = append(got, fmt.Sprintf("%s:%s:%v", f.kind, f.key, f.vers))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("mergeN = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMergeNAgreesWithAKeyByKeyCount checks mergeN against the plainest
// count there is, a map from key to each node's hash, on random ranges of
// three to five nodes with rows missing, changed and, now and then, in an
// order one node disagrees on; and with two lists against merge.
func TestMergeNAgreesWithAKeyByKeyCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 17))
	for n := range 2000 {
		width := 2 + rng.IntN(4)
		nodes := make([]string, width)
		for k := range nodes {
			nodes[k] = fmt.Sprintf("n%d", k)
		}
		lists := make([][]leafRow, width)
		for key := range rng.IntN(200) {
			k := fmt.Sprintf("k%05d", key)
			for node := range width {
				switch p := rng.IntN(100); {
				case p < 4:
				case p < 8:
					lists[node] = append(lists[node], leafRow{key: k, hash: int64(1 + rng.IntN(3))})
				default:
					lists[node] = append(lists[node], leafRow{key: k, hash: 7})
				}
			}
		}
		confused := n%7 == 6
		if l := lists[width-1]; confused && len(l) > 1 {
			i, j := rng.IntN(len(l)), rng.IntN(len(l))
			l[i], l[j] = l[j], l[i]
		}
		want := map[string]string{} // key → kind
		byKey := map[string][]int64{}
		for node, l := range lists {
			for _, r := range l {
				if byKey[r.key] == nil {
					byKey[r.key] = slices.Repeat([]int64{-1}, width)
				}
				byKey[r.key][node] = r.hash
			}
		}
		for key, hs := range byKey {
			var lack []string
			distinct := map[int64]bool{}
			for node, h := range hs {
				if h < 0 {
					lack = append(lack, nodes[node])
				} else {
					distinct[h] = true
				}
			}
			switch {
			case len(distinct) > 1:
				want[key] = reports.Different
			case len(lack) > 0:
				want[key] = reports.MissingOn(lack...)
			}
		}
		got := map[string]string{}
		fs := mergeN(lists, nodes)
		for _, f := range fs {
			if _, dup := got[f.key]; dup {
				t.Fatalf("case %d: key %s found twice", n, f.key)
			}
			got[f.key] = f.kind
			for node := range width {
				if (byKey[f.key][node] < 0) != (f.vers[node] < 0) {
					t.Fatalf("case %d: key %s: versions %v, hashes %v", n, f.key, f.vers, byKey[f.key])
				}
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d (%d nodes, confused %v):\nmergeN %v\nby key %v", n, width, confused, got, want)
		}
		for node := range width {
			if confused {
				break // an order the nodes disagree on has no order to keep
			}
			var held []string
			for _, f := range fs {
				if f.vers[node] >= 0 {
					held = append(held, f.key)
				}
			}
			if !slices.IsSorted(held) {
				t.Fatalf("case %d: node %d's rows out of key order: %v", n, node, held)
			}
		}
		if width == 2 {
			var two []string
			for _, f := range merge(lists[0], lists[1]) {
				two = append(two, f.kind+":"+f.key)
			}
			var gen []string
			for _, f := range fs {
				kind := f.kind
				switch kind {
				case reports.MissingOn("n0"):
					kind = reports.MissingOnPrimary1
				case reports.MissingOn("n1"):
					kind = reports.MissingOnPrimary2
				}
				gen = append(gen, kind+":"+f.key)
			}
			slices.Sort(two)
			slices.Sort(gen)
			if !reflect.DeepEqual(two, gen) {
				t.Fatalf("case %d: merge %v, mergeN %v", n, two, gen)
			}
		}
	}
}

func TestVersionsGroupNodesInNodeOrder(t *testing.T) {
	nodes := []string{"east", "west", "north", "south"}
	ds := []detail{{json: `{"v":1}`}, {}, {json: `{"v":2}`}, {json: `{"v":1}`}}
	got := versions([]int{0, -1, 1, 0}, nodes, ds)
	want := []reports.RowVersion{{Nodes: []string{"east", "south"}, Row: `{"v":1}`}, {Nodes: []string{"west"}}, {Nodes: []string{"north"}, Row: `{"v":2}`}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("versions = %+v, want %+v", got, want)
	}
}

func TestLastWriterNNamesOnlyANodeThatWroteTheLatestVersionItself(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Millisecond)
	local, remote := int64(0), int64(1)
	nodes := []string{"p1", "p2", "p3"}
	d := func(ts *time.Time, o *int64) detail { return detail{ts: ts, origin: o} }
	tests := []struct {
		name string
		vers []int
		ds   []detail
		want string
	}{
		{"later local version on p2", []int{0, 1, 0}, []detail{d(&t0, &local), d(&t1, &local), d(&t0, &remote)}, "p2"},
		{"latest applied on p1 and written on p3", []int{0, 1, 0}, []detail{d(&t1, &remote), d(&t0, &local), d(&t1, &local)}, "p3"},
		{"latest version applied wherever it is", []int{0, 1, 1}, []detail{d(&t0, &local), d(&t1, &remote), d(&t1, &remote)}, ""},
		{"unknown time on a holder", []int{0, 1, -1}, []detail{d(nil, nil), d(&t1, &local), {}}, ""},
		{"two versions at the same instant", []int{0, 1, 2}, []detail{d(&t1, &local), d(&t1, &local), d(&t0, &local)}, ""},
		{"a node lacking the row is ignored", []int{-1, 0, 1}, []detail{{}, d(&t0, &local), d(&t1, &local)}, "p3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lastWriterN(tt.vers, nodes, tt.ds); got != tt.want {
				t.Errorf("lastWriterN = %q, want %q", got, tt.want)
			}
		})
	}
}
