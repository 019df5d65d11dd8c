// Package sqlscript reads the user's transaction scripts, in a syntax
// close to pgbench's: SQL statements ending in ";", "--" comments,
// \set name expr (integers: random(a, b), + - * / %, other variables),
// :name substituted as a bind parameter, and \sleep N [us|ms|s].
//
// One execution of a script is one transaction: either the script has no
// transaction control at all (pgchaos wraps it in BEGIN … COMMIT), or its
// first statement is BEGIN (or START TRANSACTION) and its last COMMIT
// (END) or ROLLBACK, with none in between. That keeps the outcome of an
// execution a single ok, fail or unknown: a script with two commits could
// have committed half its work when it failed.
//
// The package is free of database code: Parse turns a file into steps,
// Expr.Eval computes a \set; package workload executes them.
package sqlscript

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Limits on one script. docs/scenario.md states them.
const (
	// MaxFileSize is the largest script file read: scripts are a few
	// transactions, not data loads.
	MaxFileSize = 1 << 20
	// MaxStatements bounds the SQL statements of one script.
	MaxStatements = 1000
	// MaxSleep bounds one \sleep: an execution has DefaultOpTimeout (5 s)
	// in all, and a longer sleep would make every execution time out.
	MaxSleep = time.Second
	// MaxErrors is the most problems Parse reports for one script.
	MaxErrors = 50
)

// Kind is what a step does.
type Kind int

// Step kinds.
const (
	Statement Kind = iota // a SQL statement sent to the server
	Set                   // \set: a variable computed on the client
	Sleep                 // \sleep: a pause on the client
)

// Control is the transaction role of a statement.
type Control int

// Transaction roles.
const (
	None     Control = iota // any statement that neither begins nor ends the transaction
	Begin                   // BEGIN, START TRANSACTION
	Commit                  // COMMIT, END
	Rollback                // ROLLBACK, ABORT (not ROLLBACK TO SAVEPOINT)
)

// Step is one line of work of a script.
type Step struct {
	Kind Kind
	Line int // where the step starts in the file, from 1

	// Statement: SQL has $1, $2, … where the file had :name, and Args
	// gives the variable slot of each $n.
	SQL     string
	Args    []int
	Control Control
	Name    string // a prepared-statement name unique to SQL

	// Set: Var is the slot the value goes to.
	Var  int
	Expr *Expr

	// Sleep: Expr in units of Unit (an integer, or a variable).
	Unit time.Duration
}

// Script is a parsed script file.
type Script struct {
	File    string   // the path, for messages
	Steps   []Step   // in file order
	Wrapped bool     // no transaction control: the executor adds BEGIN and COMMIT
	Vars    []string // variable names by slot
}

// Error is one problem in a script, at a line of it.
type Error struct {
	File string
	Line int
	Msg  string
}

// Error formats e as file:line: message.
func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Errors is every problem Parse found, in line order.
type Errors []*Error

// Error joins the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Statements is the number of SQL statements of s.
func (s *Script) Statements() int {
	n := 0
	for _, st := range s.Steps {
		if st.Kind == Statement {
			n++
		}
	}
	return n
}

// parser holds the state of one Parse.
type parser struct {
	file    string
	errs    Errors
	dropped int
	slots   map[string]int
	s       *Script
}

func (p *parser) errorf(line int, format string, args ...any) {
	if len(p.errs) >= MaxErrors {
		p.dropped++
		return
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// Parse reads a script; file names it in messages. On failure the error
// is Errors, every problem with its line.
func Parse(file string, data []byte) (*Script, error) {
	p := &parser{file: file, slots: map[string]int{}, s: &Script{File: file}}
	p.parse(string(data))
	if len(p.errs) == 0 {
		p.structure()
	}
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *Error) int { return a.Line - b.Line })
		if p.dropped > 0 {
			last := p.errs[len(p.errs)-1]
			p.errs = append(p.errs, &Error{File: file, Line: last.Line, Msg: fmt.Sprintf("and %d more problems: fix the ones above first", p.dropped)})
		}
		return nil, p.errs
	}
	return p.s, nil
}

// parse splits text into meta-commands (a line starting with a
// backslash, outside any statement) and statements (ending in ";",
// possibly spanning lines, several to a line).
func (p *parser) parse(text string) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var st stmtScanner
	for i, line := range lines {
		n := i + 1
		if !st.pending() {
			if t := strings.TrimSpace(line); strings.HasPrefix(t, `\`) {
				p.meta(n, t)
				continue
			}
		} else if st.q == 0 && strings.HasPrefix(strings.TrimSpace(line), `\`) {
			p.errorf(n, "a meta-command inside the statement begun on line %d: end that statement with ; first", st.start)
			st.reset()
			continue
		}
		for _, done := range st.scanLine(n, line+"\n") {
			p.statement(done)
		}
	}
	if st.pending() {
		switch st.q {
		case qSingle, qEscape:
			p.errorf(st.start, "a quoted string (') is never closed in the statement begun here")
		case qDouble:
			p.errorf(st.start, `a quoted identifier (") is never closed in the statement begun here`)
		case qDollar:
			p.errorf(st.start, "a dollar-quoted string ($%s$) is never closed in the statement begun here", st.tag)
		case qBlock:
			p.errorf(st.start, "a /* comment is never closed in the statement begun here")
		default:
			p.errorf(st.start, "the statement begun here does not end with ;")
		}
	}
}

// statement turns a scanned statement into a step: each :name becomes a
// bind parameter, the same name the same parameter.
func (p *parser) statement(raw rawStmt) {
	sqlText := strings.TrimSpace(raw.sql)
	if sqlText == "" {
		return
	}
	var b strings.Builder
	var args []int
	params := map[int]int{} // slot -> $n
	last := 0
	for _, v := range raw.vars {
		b.WriteString(sqlText[last:v.at])
		last = v.at + 1 + len(v.name)
		slot, ok := p.slots[v.name]
		if !ok {
			p.errorf(v.line, "undefined variable :%s: set it with \\set %s … on a line before this one", v.name, v.name)
			continue
		}
		k, ok := params[slot]
		if !ok {
			args = append(args, slot)
			k = len(args)
			params[slot] = k
		}
		fmt.Fprintf(&b, "$%d", k)
	}
	b.WriteString(sqlText[last:])
	sum := sha256.Sum256([]byte(b.String()))
	p.s.Steps = append(p.s.Steps, Step{Kind: Statement, Line: raw.start, SQL: b.String(), Args: args,
		Control: control(b.String()), Name: "pgchaos_sql_" + hex.EncodeToString(sum[:8])})
}

// control tells a statement's transaction role from its first words.
func control(sqlText string) Control {
	words := strings.Fields(strings.ToLower(strings.TrimLeft(sqlText, " \t\n(")))
	if len(words) == 0 {
		return None
	}
	second := ""
	if len(words) > 1 {
		second = strings.TrimRight(words[1], ";")
	}
	switch strings.TrimRight(words[0], ";") {
	case "begin":
		return Begin
	case "start":
		if second == "transaction" {
			return Begin
		}
	case "commit", "end":
		return Commit
	case "rollback", "abort":
		if second != "to" {
			return Rollback
		}
	}
	return None
}

// structure checks that the script is one transaction (see the package
// doc) and not too long.
func (p *parser) structure() {
	var stmts []int // indexes into Steps
	for i, st := range p.s.Steps {
		if st.Kind == Statement {
			stmts = append(stmts, i)
		}
	}
	if len(stmts) == 0 {
		p.errorf(1, "the script has no SQL statement: write at least one, ending with ;")
		return
	}
	if len(stmts) > MaxStatements {
		p.errorf(p.s.Steps[stmts[MaxStatements]].Line, "more than %d statements in one script: split it into several scripts (scripts: with weight:)", MaxStatements)
		return
	}
	controls := 0
	for _, i := range stmts {
		if p.s.Steps[i].Control != None {
			controls++
		}
	}
	if controls == 0 {
		p.s.Wrapped = true
		return
	}
	first, last := p.s.Steps[stmts[0]], p.s.Steps[stmts[len(stmts)-1]]
	if first.Control != Begin {
		p.errorf(first.Line, "a script with transaction control must begin with BEGIN (or START TRANSACTION) as its first statement: one execution is one transaction (or leave out BEGIN and COMMIT, and pgchaos wraps the script in one)")
	}
	if len(stmts) < 2 || (last.Control != Commit && last.Control != Rollback) {
		p.errorf(last.Line, "a script that begins with BEGIN must end with COMMIT (or ROLLBACK) as its last statement")
	}
	for _, i := range stmts[1 : len(stmts)-1] {
		if st := p.s.Steps[i]; st.Control != None {
			p.errorf(st.Line, "only the first statement may begin and the last end the transaction: one execution of a script is one transaction (write several scripts with weights for several transactions)")
		}
	}
	end := stmts[len(stmts)-1]
	for _, st := range p.s.Steps[end+1:] {
		if st.Kind == Set {
			p.errorf(st.Line, "\\set after the transaction ends has no statement to use it: move it up or remove it")
		}
	}
}

// meta parses a meta-command line (trimmed, starting with a backslash).
func (p *parser) meta(line int, t string) {
	if i := strings.Index(t, "--"); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	cmd, rest, _ := strings.Cut(t, " ")
	if j := strings.IndexAny(cmd, "\t"); j >= 0 {
		cmd, rest = cmd[:j], cmd[j:]+" "+rest
	}
	rest = strings.TrimSpace(rest)
	switch cmd {
	case `\set`:
		name, expr, _ := strings.Cut(rest, " ")
		if j := strings.IndexAny(name, "\t"); j >= 0 {
			name, expr = name[:j], name[j:]+" "+expr
		}
		if !isName(name) {
			p.errorf(line, `\set needs a variable name (letters, digits, _) and an expression, e.g. \set id random(1, 100000)`)
			return
		}
		if strings.TrimSpace(expr) == "" {
			p.errorf(line, `\set %s has no expression: e.g. \set %s random(1, 100000)`, name, name)
			return
		}
		e, err := parseExpr(expr, p.slots)
		if err != nil {
			p.errorf(line, "\\set %s: %v", name, err)
			return
		}
		slot, ok := p.slots[name]
		if !ok {
			slot = len(p.s.Vars)
			p.slots[name] = slot
			p.s.Vars = append(p.s.Vars, name)
		}
		p.s.Steps = append(p.s.Steps, Step{Kind: Set, Line: line, Var: slot, Expr: e})
	case `\sleep`:
		p.sleep(line, rest)
	default:
		p.errorf(line, "unknown meta-command %s: pgchaos knows \\set and \\sleep", cmd)
	}
}

// sleep parses \sleep N [us|ms|s], N an integer or a :variable; the unit
// defaults to seconds, as in pgbench.
func (p *parser) sleep(line int, rest string) {
	f := strings.Fields(rest)
	if len(f) == 0 || len(f) > 2 {
		p.errorf(line, `\sleep wants a number and an optional unit: \sleep 10 ms (units: us, ms, s; default s)`)
		return
	}
	unit := time.Second
	if len(f) == 2 {
		switch f[1] {
		case "us":
			unit = time.Microsecond
		case "ms":
			unit = time.Millisecond
		case "s":
		default:
			p.errorf(line, `\sleep: unknown unit %q (units: us, ms, s)`, f[1])
			return
		}
	}
	var e *Expr
	if strings.HasPrefix(f[0], ":") {
		slot, ok := p.slots[f[0][1:]]
		if !ok {
			p.errorf(line, "undefined variable %s: set it with \\set %s … on a line before this one", f[0], f[0][1:])
			return
		}
		e = &Expr{op: opVar, slot: slot}
	} else {
		ex, err := parseExpr(f[0], p.slots)
		if err != nil || ex.op != opConst {
			p.errorf(line, `\sleep: %q is not a whole number or a :variable`, f[0])
			return
		}
		if ex.val < 0 || time.Duration(ex.val) > MaxSleep/unit {
			p.errorf(line, `\sleep %s %s: must be 0 to %s`, f[0], unitName(unit), MaxSleep)
			return
		}
		e = ex
	}
	p.s.Steps = append(p.s.Steps, Step{Kind: Sleep, Line: line, Expr: e, Unit: unit})
}

func unitName(u time.Duration) string {
	switch u {
	case time.Microsecond:
		return "us"
	case time.Millisecond:
		return "ms"
	}
	return "s"
}

// SleepFor is how long a \sleep step waits given the variables: a
// negative value is no wait, and a variable's value above MaxSleep waits
// MaxSleep (a constant above it is refused by Parse).
func (st *Step) SleepFor(vars []int64) time.Duration {
	n, _ := st.Expr.Eval(vars, nil)
	if n <= 0 {
		return 0
	}
	if n > int64(MaxSleep/st.Unit) {
		return MaxSleep
	}
	return time.Duration(n) * st.Unit
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
