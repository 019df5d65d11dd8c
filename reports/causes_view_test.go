package reports

import (
	"bytes"
	"strings"
	"testing"
)

// withCauses is the fixture with causes given to its hot table's row and
// the first insert_rows row.
func withCauses() *Report {
	r := fixture()
	d := r.Divergence
	d.Tables[0].Rows[0].Cause = CauseConcurrentUpdate
	d.Tables[0].Rows[0].CauseDetail = "updated on primary1 and primary2 during fault 0 (partition primary1<->primary2); each applied the other's row (update_origin_differs at 0/17D0AE0 on primary1)"
	d.Tables[1].Rows[0].Cause = CauseUnexplained
	d.Tables[1].Rows[0].CauseDetail = "changed outside replication, or a bug: no conflict logged for this key"
	one := int64(1)
	d.Unexplained = &one
	return r
}

func TestTableShowsEachRowsCause(t *testing.T) {
	narrowWidths(t)
	var b bytes.Buffer
	if err := Table(&b, withCauses()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"│ cause ", "concurrent_update", "unexplained", "unexplained divergent rows: 1",
		"public.hot 7: updated on primary1 and primary2 during fault 0",
		"public.insert_rows 12: changed outside replication, or a bug",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table does not show %q:\n%s", want, out)
		}
	}
	// A report without causes keeps its old columns (the golden files pin them).
	b.Reset()
	if err := Table(&b, fixture()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "│ cause ") || strings.Contains(b.String(), "unexplained") {
		t.Error("a report without causes shows a cause column")
	}
}

func TestHTMLShowsEachRowsCauseAndEvidence(t *testing.T) {
	out := renderHTML(t, withCauses())
	for _, want := range []string{
		"<th>cause</th>", "<th>evidence</th>", "concurrent_update",
		"update_origin_differs at 0/17D0AE0 on primary1", "unexplained divergent rows: 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page does not show %q", want)
		}
	}
	if !strings.Contains(out, `class="fail">unexplained<`) {
		t.Error("an unexplained row is not marked as a failure")
	}
}
