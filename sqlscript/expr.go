package sqlscript

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Expr is the integer expression of a \set.
type Expr struct {
	op   byte // one of the op* constants, or + - * / %
	val  int64
	slot int
	fn   string
	args []*Expr
}

const (
	opConst = 'c'
	opVar   = 'v'
	opNeg   = 'n'
	opCall  = 'f'
)

// functions are the \set functions and their argument counts (-1: one or
// more).
var functions = map[string]int{"random": 2, "abs": 1, "least": -1, "greatest": -1}

// EvalError is an expression that has no 64-bit answer.
type EvalError struct{ Msg string }

func (e *EvalError) Error() string { return e.Msg }

func evalErr(format string, args ...any) error {
	return &EvalError{Msg: fmt.Sprintf(format, args...)}
}

// Eval computes e with vars (by slot) and rnd for random(). Division by
// zero, overflow and random(a, b) with a > b are errors: the 64-bit
// result would otherwise be silently wrong.
func (e *Expr) Eval(vars []int64, rnd *rand.Rand) (int64, error) {
	switch e.op {
	case opConst:
		return e.val, nil
	case opVar:
		return vars[e.slot], nil
	case opNeg:
		x, err := e.args[0].Eval(vars, rnd)
		if err != nil {
			return 0, err
		}
		if x == math.MinInt64 {
			return 0, evalErr("-(%d) overflows 64 bits", x)
		}
		return -x, nil
	case opCall:
		return e.call(vars, rnd)
	}
	a, err := e.args[0].Eval(vars, rnd)
	if err != nil {
		return 0, err
	}
	b, err := e.args[1].Eval(vars, rnd)
	if err != nil {
		return 0, err
	}
	var r int64
	ok := true
	switch e.op {
	case '+':
		r = a + b
		ok = (b >= 0) == (r >= a)
	case '-':
		r = a - b
		ok = (b >= 0) == (r <= a)
	case '*':
		r = a * b
		ok = a == 0 || (r/a == b && !(a == -1 && b == math.MinInt64) && !(b == -1 && a == math.MinInt64))
	case '/', '%':
		if b == 0 {
			return 0, evalErr("%d %c 0: division by zero", a, e.op)
		}
		if a == math.MinInt64 && b == -1 {
			if e.op == '%' {
				return 0, nil
			}
			ok = false
			break
		}
		if e.op == '/' {
			r = a / b
		} else {
			r = a % b
		}
	}
	if !ok {
		return 0, evalErr("%d %c %d overflows 64 bits", a, e.op, b)
	}
	return r, nil
}

func (e *Expr) call(vars []int64, rnd *rand.Rand) (int64, error) {
	xs := make([]int64, len(e.args))
	for i, a := range e.args {
		x, err := a.Eval(vars, rnd)
		if err != nil {
			return 0, err
		}
		xs[i] = x
	}
	switch e.fn {
	case "random":
		lo, hi := xs[0], xs[1]
		if lo > hi {
			return 0, evalErr("random(%d, %d): the lower bound is above the upper", lo, hi)
		}
		span := uint64(hi-lo) + 1 // wraps to 0 for the whole int64 range
		if span == 0 {
			return int64(rnd.Uint64()), nil
		}
		return lo + int64(rnd.Uint64N(span)), nil
	case "abs":
		if xs[0] == math.MinInt64 {
			return 0, evalErr("abs(%d) overflows 64 bits", xs[0])
		}
		if xs[0] < 0 {
			return -xs[0], nil
		}
		return xs[0], nil
	case "least":
		m := xs[0]
		for _, x := range xs[1:] {
			m = min(m, x)
		}
		return m, nil
	default: // greatest
		m := xs[0]
		for _, x := range xs[1:] {
			m = max(m, x)
		}
		return m, nil
	}
}

// exprParser is a recursive-descent parser over one \set expression:
//
//	expr    = term { ("+" | "-") term }
//	term    = unary { ("*" | "/" | "%") unary }
//	unary   = "-" unary | primary
//	primary = integer | ":" name | name "(" expr { "," expr } ")" | "(" expr ")"
type exprParser struct {
	s     string
	i     int
	slots map[string]int
}

func parseExpr(s string, slots map[string]int) (*Expr, error) {
	p := &exprParser{s: s, slots: slots}
	e, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.i < len(p.s) {
		return nil, fmt.Errorf("unexpected %q at column %d of the expression", p.s[p.i:], p.i+1)
	}
	return fold(e)
}

// fold computes parts without variables or random() once, at parse time,
// so a constant division by zero or random(9, 1) is refused before the run.
func fold(e *Expr) (*Expr, error) {
	if e.op == opConst || e.op == opVar {
		return e, nil
	}
	constant := !(e.op == opCall && e.fn == "random")
	for i, a := range e.args {
		f, err := fold(a)
		if err != nil {
			return nil, err
		}
		e.args[i] = f
		if f.op != opConst {
			constant = false
		}
	}
	if e.op == opCall && e.fn == "random" && e.args[0].op == opConst && e.args[1].op == opConst && e.args[0].val > e.args[1].val {
		return nil, fmt.Errorf("random(%d, %d): the lower bound is above the upper", e.args[0].val, e.args[1].val)
	}
	if !constant {
		return e, nil
	}
	v, err := e.Eval(nil, nil)
	if err != nil {
		return nil, err
	}
	return &Expr{op: opConst, val: v}, nil
}

func (p *exprParser) skip() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *exprParser) peek() byte {
	p.skip()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// maxDepth bounds nesting, so a line of ten thousand "(" cannot exhaust
// the stack.
const maxDepth = 100

func (p *exprParser) expr(depth int) (*Expr, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested more than %d deep", maxDepth)
	}
	l, err := p.term(depth)
	if err != nil {
		return nil, err
	}
	for {
		c := p.peek()
		if c != '+' && c != '-' {
			return l, nil
		}
		p.i++
		r, err := p.term(depth)
		if err != nil {
			return nil, err
		}
		l = &Expr{op: c, args: []*Expr{l, r}}
	}
}

func (p *exprParser) term(depth int) (*Expr, error) {
	l, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for {
		c := p.peek()
		if c != '*' && c != '/' && c != '%' {
			return l, nil
		}
		p.i++
		r, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		l = &Expr{op: c, args: []*Expr{l, r}}
	}
}

func (p *exprParser) unary(depth int) (*Expr, error) {
	if p.peek() == '-' {
		p.i++
		if depth > maxDepth {
			return nil, fmt.Errorf("nested more than %d deep", maxDepth)
		}
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Expr{op: opNeg, args: []*Expr{x}}, nil
	}
	return p.primary(depth)
}

func (p *exprParser) primary(depth int) (*Expr, error) {
	c := p.peek()
	start := p.i
	switch {
	case c == 0:
		return nil, errors.New("the expression ends where a value was expected")
	case c >= '0' && c <= '9':
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		v, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s is not a 64-bit integer", p.s[start:p.i])
		}
		if p.i < len(p.s) && (isIdent(p.s[p.i]) || p.s[p.i] == '.') {
			return nil, fmt.Errorf("%q is not a whole number: \\set computes integers only", p.word(start))
		}
		return &Expr{op: opConst, val: v}, nil
	case c == ':':
		p.i++
		name := p.name()
		if name == "" {
			return nil, fmt.Errorf("a : at column %d not followed by a variable name", start+1)
		}
		slot, ok := p.slots[name]
		if !ok {
			return nil, fmt.Errorf("undefined variable :%s: set it with \\set %s … on a line before this one", name, name)
		}
		return &Expr{op: opVar, slot: slot}, nil
	case c == '(':
		p.i++
		e, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.peek() != ')' {
			return nil, fmt.Errorf("a ( at column %d is not closed", start+1)
		}
		p.i++
		return e, nil
	case isNameStart(c):
		name := p.name()
		want, ok := functions[strings.ToLower(name)]
		if !ok {
			if p.peek() == '(' {
				return nil, fmt.Errorf("unknown function %s (functions: abs, greatest, least, random)", name)
			}
			return nil, fmt.Errorf("%s is not a value: write :%s for a variable", name, name)
		}
		if p.peek() != '(' {
			return nil, fmt.Errorf("%s needs its arguments in parentheses, e.g. random(1, 100)", name)
		}
		p.i++
		var args []*Expr
		for {
			a, err := p.expr(depth + 1)
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			if p.peek() == ',' {
				p.i++
				continue
			}
			if p.peek() != ')' {
				return nil, fmt.Errorf("%s( at column %d is not closed", name, start+1)
			}
			p.i++
			break
		}
		if want >= 0 && len(args) != want {
			return nil, fmt.Errorf("%s takes %d arguments, got %d", name, want, len(args))
		}
		return &Expr{op: opCall, fn: strings.ToLower(name), args: args}, nil
	}
	return nil, fmt.Errorf("unexpected %q at column %d of the expression", p.s[p.i:], p.i+1)
}

func (p *exprParser) name() string {
	start := p.i
	for p.i < len(p.s) && (isNameStart(p.s[p.i]) || p.i > start && p.s[p.i] >= '0' && p.s[p.i] <= '9') {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *exprParser) word(start int) string {
	j := start
	for j < len(p.s) && (isIdent(p.s[j]) || p.s[j] == '.') {
		j++
	}
	return p.s[start:j]
}
