package sqlscript

import "strings"

// Quote states of the statement scanner.
const (
	qNone   = iota
	qSingle // '…' ('' inside)
	qEscape // E'…' (backslash escapes too)
	qDouble // "…" identifier
	qDollar // $tag$…$tag$
	qBlock  // /* … */, nested
)

// varRef is a :name in a statement: at is the offset of the colon.
type varRef struct {
	at   int
	name string
	line int
}

// rawStmt is a statement as scanned: its text without "--" comments and
// without the final ";".
type rawStmt struct {
	sql   string
	start int
	vars  []varRef
}

// stmtScanner splits lines into statements. It knows just enough of
// PostgreSQL's lexical rules that a ";", "--" or ":name" inside a string,
// a quoted identifier or a comment is left alone, and "::" is a cast.
type stmtScanner struct {
	b     strings.Builder
	start int
	vars  []varRef
	q     int
	tag   string // dollar-quote tag
	depth int    // block comment nesting
}

func (s *stmtScanner) pending() bool { return s.b.Len() > 0 }

func (s *stmtScanner) reset() {
	s.b.Reset()
	s.vars = nil
	s.q, s.tag, s.depth = qNone, "", 0
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// scanLine adds one line (with its newline) and returns the statements it
// completed.
func (s *stmtScanner) scanLine(line int, text string) []rawStmt {
	var done []rawStmt
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch s.q {
		case qSingle, qEscape:
			s.b.WriteByte(c)
			switch {
			case c == '\\' && s.q == qEscape && i+1 < len(text):
				i++
				s.b.WriteByte(text[i])
			case c == '\'' && i+1 < len(text) && text[i+1] == '\'':
				i++
				s.b.WriteByte('\'')
			case c == '\'':
				s.q = qNone
			}
			continue
		case qDouble:
			s.b.WriteByte(c)
			if c == '"' {
				s.q = qNone // "" inside reopens at once, which is the same
			}
			continue
		case qDollar:
			if c == '$' && strings.HasPrefix(text[i:], "$"+s.tag+"$") {
				s.b.WriteString("$" + s.tag + "$")
				i += len(s.tag) + 1
				s.q = qNone
				continue
			}
			s.b.WriteByte(c)
			continue
		case qBlock:
			switch {
			case c == '*' && i+1 < len(text) && text[i+1] == '/':
				s.b.WriteString("*/")
				i++
				s.depth--
				if s.depth == 0 {
					s.q = qNone
				}
			case c == '/' && i+1 < len(text) && text[i+1] == '*':
				s.b.WriteString("/*")
				i++
				s.depth++
			default:
				s.b.WriteByte(c)
			}
			continue
		}
		// Outside any quote.
		if !s.pending() && (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			continue // statements start at their first word
		}
		prev := byte(0)
		if i > 0 {
			prev = text[i-1]
		}
		switch {
		case c == '-' && i+1 < len(text) && text[i+1] == '-':
			// A comment to the end of the line: keep the newline only.
			if s.pending() {
				s.b.WriteByte('\n')
			}
			return done
		case c == ';':
			done = append(done, rawStmt{sql: s.b.String(), start: s.start, vars: s.vars})
			s.reset()
			continue
		}
		if !s.pending() {
			s.start = line
		}
		switch {
		case c == '\'':
			s.q = qSingle
			if (prev == 'E' || prev == 'e') && (i < 2 || !isIdent(text[i-2])) {
				s.q = qEscape
			}
		case c == '"':
			s.q = qDouble
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			s.q, s.depth = qBlock, 1
			s.b.WriteString("/*")
			i++
			continue
		case c == '$' && !isIdent(prev):
			if j := strings.IndexByte(text[i+1:], '$'); j >= 0 && isTag(text[i+1:i+1+j]) {
				s.q, s.tag = qDollar, text[i+1:i+1+j]
				s.b.WriteString(text[i : i+2+j])
				i += 1 + j
				continue
			}
		case c == ':' && i+1 < len(text) && text[i+1] == ':':
			s.b.WriteString("::")
			i++
			continue
		case c == ':' && prev != ':' && i+1 < len(text) && isNameStart(text[i+1]):
			j := i + 1
			for j < len(text) && isIdent(text[j]) && text[j] < 0x80 {
				j++
			}
			s.vars = append(s.vars, varRef{at: s.b.Len(), name: text[i+1 : j], line: line})
			s.b.WriteString(text[i:j])
			i = j - 1
			continue
		}
		s.b.WriteByte(c)
	}
	return done
}

func isNameStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// isTag is a dollar-quote tag: empty, or an identifier not starting with
// a digit ($1 is a parameter, not a quote).
func isTag(t string) bool {
	if t == "" {
		return true
	}
	if t[0] >= '0' && t[0] <= '9' {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !isIdent(t[i]) {
			return false
		}
	}
	return true
}
