package workload

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestOpJSONRoundTrip(t *testing.T) {
	start := time.Date(2026, 11, 3, 10, 4, 5, 123456789, time.UTC)
	tests := []Op{
		{Workload: "insert", Kind: "insert", Worker: 3, Target: "haproxy", ServedBy: "primary2",
			Keys: []string{"r/insert/haproxy/3/17"}, Start: start, End: start.Add(1500 * time.Microsecond), Outcome: OK},
		{Workload: "bank", Kind: "bank", Target: "primary1", Keys: []string{"1", "2"}, Start: start, End: start,
			Outcome: Fail, SQLState: "40001", Class: ClassSerialization,
			Error: "ERROR: could not \"serialize\"\n\tat \\ line\x01\x1f — ünïcode"},
		{Workload: "orders", Kind: "sql", Script: "new-order.sql", Target: "haproxy", ServedBy: "primary1", Start: start, End: start,
			Outcome: Fail, SQLState: "23505", Class: ClassUniqueViolation, Error: "dup"},
		{Workload: "w", Kind: "tutorial", Target: "primary2", Start: start.In(time.FixedZone("x", 3600)), End: start,
			Outcome: Unknown, Class: ClassConnection, Error: "bad utf8 \xff\xfe end <>&\u2028"},
	}
	for i, op := range tests {
		b := op.appendJSON(nil, nil)
		if !json.Valid(b) {
			t.Fatalf("op %d: invalid JSON %s", i, b)
		}
		var got Op
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
		want := op
		if strings.Contains(op.Error, "\xff") {
			// Invalid UTF-8 becomes U+FFFD, as encoding/json does.
			std, _ := json.Marshal(op.Error)
			_ = json.Unmarshal(std, &want.Error)
		}
		if !got.Start.Equal(want.Start) || !got.End.Equal(want.End) {
			t.Errorf("op %d: times %v %v, want %v %v", i, got.Start, got.End, want.Start, want.End)
		}
		got.Start, got.End, want.Start, want.End = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("op %d round trip:\n got %+v\nwant %+v", i, got, want)
		}
		// ReadHistory decodes with another JSON library (go-json, for
		// speed): it must read every line as encoding/json does.
		var read []Op
		if err := readHistory(bytes.NewReader(append(b, '\n')), "t", func(op Op) error { read = append(read, op); return nil }); err != nil || len(read) != 1 {
			t.Fatalf("op %d: readHistory: %d ops, %v", i, len(read), err)
		}
		if !read[0].Start.Equal(op.Start) || !read[0].End.Equal(op.End) {
			t.Errorf("op %d: readHistory times %v %v, want %v %v", i, read[0].Start, read[0].End, op.Start, op.End)
		}
		read[0].Start, read[0].End = time.Time{}, time.Time{}
		if !reflect.DeepEqual(read[0], want) {
			t.Errorf("op %d readHistory:\n got %+v\nwant %+v", i, read[0], want)
		}
	}
}

// One formatter across all cases, in this order, so that both its cache
// hits (same second) and misses (next second, another zone) are checked
// against time.RFC3339Nano.
func TestTimeFormatIsRFC3339Nano(t *testing.T) {
	base := time.Date(2026, 11, 3, 10, 4, 5, 0, time.UTC)
	plus2 := time.FixedZone("plus2", 2*3600)
	minus330 := time.FixedZone("minus330", -(3*3600 + 30*60))
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = plus2 // no tzdata: still a zone with an offset
	}
	times := []time.Time{
		base,                            // no fraction
		base.Add(123456789),             // all nine digits, same second
		base.Add(120000000),             // trailing zeros trimmed
		base.Add(1),                     // leading zeros kept
		base.Add(999999999),             // last ns of the second
		base.Add(time.Second),           // next second, no fraction
		base.Add(time.Second + 500),     // next second, fraction
		base.Add(time.Second).In(plus2), // same instant, another zone
		base.Add(time.Second + 7).In(minus330),
		base.Add(time.Second + 7), // back to UTC in the same second
		time.Date(2026, 3, 29, 0, 59, 59, 900000000, time.UTC).In(berlin), // before a DST change
		time.Date(2026, 3, 29, 1, 0, 0, 100000000, time.UTC).In(berlin),   // after it
		time.Date(2026, 12, 31, 23, 59, 59, 5, time.UTC),
		time.Date(2027, 1, 1, 0, 0, 0, 5, time.UTC),
	}
	var f timeFormat
	for i, tm := range times {
		got := string(f.append(nil, tm))
		if want := tm.Format(time.RFC3339Nano); got != want {
			t.Errorf("time %d: %s, want %s", i, got, want)
		}
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "history.jsonl")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadHistory(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	line := func(w int) string {
		op := Op{Workload: "i", Kind: "insert", Worker: w, Target: "primary1", Start: start, End: start, Outcome: OK}
		return string(op.appendJSON(nil, nil)) + "\n"
	}
	full := line(0) + line(1) + line(2)
	tests := []struct {
		name    string
		content string
		workers []int
		wantErr string
	}{
		{"complete file", full, []int{0, 1, 2}, ""},
		{"empty file", "", nil, ""},
		{"crash cut the last line", full + line(3)[:25], []int{0, 1, 2}, ""},
		{"last line complete but no newline", full + strings.TrimSuffix(line(3), "\n"), []int{0, 1, 2, 3}, ""},
		{"blank lines are skipped", line(0) + "\n" + line(1), []int{0, 1}, ""},
		{"damage in the middle is an error", line(0) + "{garbage\n" + line(1), []int{0}, "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			err := ReadHistory(writeFile(t, tt.content), func(op Op) error {
				got = append(got, op.Worker)
				return nil
			})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.workers) {
				t.Fatalf("workers %v, want %v", got, tt.workers)
			}
		})
	}
}

func TestReadHistoryStopsOnCallbackError(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	op := Op{Workload: "i", Start: start, End: start, Outcome: OK}
	l := string(op.appendJSON(nil, nil)) + "\n"
	stop := errors.New("enough")
	n := 0
	err := ReadHistory(writeFile(t, l+l+l), func(Op) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err %v after %d ops, want the callback's error after 1", err, n)
	}
}

func TestReadHistoryMissingFile(t *testing.T) {
	err := ReadHistory(filepath.Join(t.TempDir(), "nope.jsonl"), func(Op) error { return nil })
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want not exist", err)
	}
}
