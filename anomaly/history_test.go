package anomaly

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestOpJSONForms(t *testing.T) {
	cases := []struct {
		op   Op
		json string
	}{
		{ap(3, 5), `{"f":"append","key":3,"value":5}`},
		{rl(3, 1, 5), `{"f":"read_list","key":3,"list":[1,5]}`},
		{rl(3), `{"f":"read_list","key":3,"list":[]}`},
		{w(2, 7), `{"f":"write","key":2,"value":7}`},
		{r(2, 0), `{"f":"read_register","key":2,"value":0}`},
		{rnil(2), `{"f":"read_register","key":2,"value":null}`},
	}
	for _, tc := range cases {
		b, err := json.Marshal(tc.op)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.json {
			t.Errorf("marshal %+v = %s, want %s", tc.op, b, tc.json)
		}
		var back Op
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if len(back.List) == 0 {
			back.List = nil
		}
		if len(tc.op.List) == 0 {
			tc.op.List = nil
		}
		if !reflect.DeepEqual(back, tc.op) {
			t.Errorf("round trip of %s = %+v, want %+v", tc.json, back, tc.op)
		}
	}
	// A register read with no value field read the initial state.
	var o Op
	if err := json.Unmarshal([]byte(`{"f":"read_register","key":1}`), &o); err != nil || !o.Nil {
		t.Errorf("read_register without value: %+v, %v; want Nil", o, err)
	}
}

func TestHistoryRoundTripAndLineNumbers(t *testing.T) {
	want := h(at(tx(1, OK, ap(1, 1), rl(2, 4, 5)), 2, 0, 10), final(tx(2, Unknown, rnil(3), w(3, 9)), "primary2"))
	var buf bytes.Buffer
	if err := WriteHistory(&buf, want); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("%d lines, want 2:\n%s", n, buf.String())
	}
	for _, field := range []string{`"id":1`, `"worker":2`, `"target":"primary1"`, `"served_by":"primary1"`, `"start":"2026-12-06T12:00:00Z"`, `"end":"2026-12-06T12:00:00.01Z"`, `"outcome":"ok"`, `"final":true`, `"ops":[`} {
		if !strings.Contains(buf.String(), field) {
			t.Errorf("history lacks %s:\n%s", field, buf.String())
		}
	}
	got, err := ReadHistory(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	_, err = ReadHistory(strings.NewReader("{\"id\":1,\"outcome\":\"ok\",\"ops\":[]}\n\n{\"id\":2,\"ops\":[{\"f\":\"append\",\"key\":\"x\"}]}\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("err = %v, want it to name line 3", err)
	}
}

func TestWriteTextExplainsEdges(t *testing.T) {
	res, err := Check(h(tx(1, OK, rl(1), rl(2, 1)), tx(2, OK, ap(1, 1), ap(2, 1)), tx(3, OK, rl(1, 1))), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := res.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"anomalies: invalid (3 txns: 3 ok, 0 failed, 0 unknown)",
		"  G-single             1",
		"T1 read key 1 as []; T2 appended 1, its first element, so T1 -rw-> T2",
		"T2 appended 1 to key 2; T1 read key 2 as [1], so T2 -wr-> T1",
		"T2 primary1/w2 12:00:00.000000..12:00:00.100000 ok [append 1 1] [append 2 1]",
	} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("text lacks %q:\n%s", line, b.String())
		}
	}
	js, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"verdict":"invalid"`, `"counts":{"G-single":1}`, `"class":"G-single"`, `"cycle":[{"from":`, `"kind":"rw"`, `"why":"T1 read key 1`} {
		if !strings.Contains(string(js), field) {
			t.Errorf("JSON lacks %s:\n%s", field, js)
		}
	}
}

// Tarjan's algorithm must not recurse: one cycle through 300,000 txns is
// one component.
func TestSCCsOfADeepCycle(t *testing.T) {
	const n = 300_000
	var e edgeList
	for i := int32(0); i < n; i++ {
		e.add(i, (i+1)%n, bWW)
	}
	// and a separate two-node cycle, and a node outside any cycle
	e.add(n, n+1, bWR)
	e.add(n+1, n, bWR)
	e.add(n+1, n+2, bWR)
	g := e.build(n + 3)
	comp, members := g.sccs(bWW | bWR)
	if len(members) != 2 || len(members[0])+len(members[1]) != n+2 {
		t.Fatalf("%d components, sizes %d", len(members), len(members[0]))
	}
	if comp[n+2] != -1 || comp[0] == comp[n] {
		t.Errorf("comp[n+2] = %d, comp[0] = %d, comp[n] = %d", comp[n+2], comp[0], comp[n])
	}
	// Restricted to ww, only the big cycle remains.
	_, members = g.sccs(bWW)
	if len(members) != 1 || len(members[0]) != n {
		t.Errorf("ww components: %d", len(members))
	}
}
