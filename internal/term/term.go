// Package term makes text from scenarios, reports and servers safe to print
// on a terminal.
package term

import (
	"fmt"
	"strings"
	"unicode"
)

// Escape returns s with every control character written as an escape
// (\x1b, \n, \u009b) instead of raw. A name or message that came from a
// file or a server must not move the cursor, colour the screen or start a
// new line: a scenario named "\x1b[32mPASS" would otherwise paint a fake
// verdict, and one with a newline could print a fake "VERDICT: PASS" line.
func Escape(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
