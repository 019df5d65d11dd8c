package scenario

import (
	"fmt"
	"strings"
)

// Error is one problem found in a scenario file, at a place in it.
type Error struct {
	File string // the path as given to Load or Parse
	Pos  Pos    // Line 0 means the whole file; Col 0 means the column is unknown
	Msg  string // what is wrong and, where it helps, what is allowed
	// order is where in the scenario file an error about another file
	// (a sql script, whose File and Pos it names) is listed.
	order Pos
}

// place is where e stands among a file's errors.
func (e *Error) place() Pos {
	if e.order != (Pos{}) {
		return e.order
	}
	return e.Pos
}

// Error formats e as file:line:col: message, the form editors and CI
// annotations jump to. Unknown parts of the place are left out rather than
// invented.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Pos.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Pos.Line)
		if e.Pos.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Pos.Col)
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem Parse found in one file, in file order, so a user
// fixes them all in one pass instead of one per run. Get it from any error
// Load or Parse returns with errors.As.
type Errors []*Error

// Error joins the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}
