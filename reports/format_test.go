package reports

import (
	"testing"
	"time"
)

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0 s"},
		{500, "500 ns"},
		{850 * time.Microsecond, "850 µs"},
		{999700 * time.Nanosecond, "1 ms"}, // rounding carries into the next unit
		{1240 * time.Microsecond, "1.24 ms"},
		{12345 * time.Microsecond, "12.3 ms"},
		{124 * time.Millisecond, "124 ms"},
		{999600 * time.Microsecond, "1 s"},
		{2100 * time.Millisecond, "2.1 s"},
		{2 * time.Second, "2 s"},
		{15260 * time.Millisecond, "15.3 s"},
		{59970 * time.Millisecond, "1m0s"},
		{125200 * time.Millisecond, "2m5.2s"},
		{-3 * time.Millisecond, "-3 ms"},
	}
	for _, tt := range tests {
		if got := HumanDuration(tt.in); got != tt.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := compactDuration(3100 * time.Millisecond); got != "3.1s" {
		t.Errorf("compactDuration(3.1s) = %q", got)
	}
}

func TestHumanBytes(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1 KiB"},
		{1536, "1.5 KiB"},
		{3*1024*1024 + 900*1024, "3.88 MiB"},
		{73 * 1024 * 1024, "73 MiB"},
		{1024*1024 - 1, "1 MiB"},
		{5 * 1024 * 1024 * 1024, "5 GiB"},
		{-2048, "-2 KiB"},
	}
	for _, tt := range tests {
		if got := HumanBytes(tt.in); got != tt.want {
			t.Errorf("HumanBytes(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSmallFormatters(t *testing.T) {
	tests := []struct{ name, got, want string }{
		{"offset whole", offset(10 * time.Second), "+10s"},
		{"offset ms", offset(35*time.Second + 2*time.Millisecond), "+35.002s"},
		{"offset zero", offset(0), "+0s"},
		{"ms sub-millisecond", ms(dur(412 * time.Microsecond)), "0.412"},
		{"ms seconds", ms(dur(2100 * time.Millisecond)), "2100"},
		{"ms rounds to 3 digits", ms(dur(12345 * time.Microsecond)), "12.3"},
		{"rate", rate(499.84), "499.8"},
		{"ident plain", quoteIdent("sub_from_primary1"), "sub_from_primary1"},
		{"ident upper", quoteIdent("Sub2"), `"Sub2"`},
		{"ident digit first", quoteIdent("1sub"), `"1sub"`},
		{"ident quote", quoteIdent(`a"b`), `"a""b"`},
		{"skip hint", skipHint("sub_from_primary1", "0/17A5B18"), "ALTER SUBSCRIPTION sub_from_primary1 SKIP (lsn = '0/17A5B18');"},
		{"cut short", cut("a  b\nc"), "a b c"},
		{"top errors", topErrors([]ErrorCount{{Class: "b", Count: 1}, {Class: "a", Count: 1}, {Class: "z", SQLState: "23505", Count: 9}, {Class: "c", Count: 0}}, 3), "z 23505 ×9, a ×1, b ×1, +1 more"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	long := cut(string(make([]rune, 100)))
	if n := len([]rune(long)); n != maxCell {
		t.Errorf("cut: %d runes, want %d", n, maxCell)
	}
}
