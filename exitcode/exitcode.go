// Package exitcode gives errors the process exit code they stand for, so
// every package can say what kind of failure it hit and cmd/pgchaos alone
// turns that into an exit status. The codes are part of the interface CI
// gates on (docs/ci.md): change none of them.
package exitcode

import (
	"context"
	"errors"
)

// The exit codes pgchaos documents.
const (
	OK          = 0   // the run passed every assertion
	Failed      = 1   // an assertion failed
	BadInput    = 2   // a bad flag, scenario file or argument
	Infra       = 3   // the lab or Docker or PostgreSQL could not be set up or reached
	Interrupted = 130 // stopped by Ctrl-C or SIGTERM, after healing
)

// Error wraps an error with the exit code it stands for.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// With marks err with code; nil stays nil.
func With(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// BadInputErr is a shorthand for With(BadInput, err).
func BadInputErr(err error) error { return With(BadInput, err) }

// InfraErr is a shorthand for With(Infra, err).
func InfraErr(err error) error { return With(Infra, err) }

// Of returns the exit code for err: the code of the outermost *Error in its
// chain, Interrupted for a cancelled context, Infra for anything unmarked.
func Of(err error) int {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, context.Canceled) {
		return Interrupted
	}
	return Infra
}
