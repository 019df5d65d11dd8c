package term

import "testing"

func TestEscape(t *testing.T) {
	cases := []struct{ in, want string }{
		{"primary1", "primary1"},
		{"split-brain ✓ é", "split-brain ✓ é"},
		{"\x1b[32mPASS\x1b[0m", `\x1b[32mPASS\x1b[0m`},
		{"a\nVERDICT: PASS", `a\nVERDICT: PASS`},
		{"tab\there\r", `tab\there\r`},
		{"del\x7f", `del\x7f`},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"nul\x00", `nul\x00`},
	}
	for _, c := range cases {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
