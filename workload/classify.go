package workload

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// Error classes of Op.Class. A class comes from the SQLSTATE or the Go
// error type, never from message text.
const (
	ClassUniqueViolation  = "unique_violation"      // 23505
	ClassSerialization    = "serialization_failure" // 40001
	ClassDeadlock         = "deadlock"              // 40P01
	ClassAdminShutdown    = "admin_shutdown"        // 57P01: pg_terminate_backend, server shutdown
	ClassCannotConnectNow = "cannot_connect_now"    // 57P02 crash_shutdown, 57P03 cannot_connect_now
	ClassReadOnly         = "read_only"             // 25006
	ClassConnection       = "connection"            // 08xxx, network errors, connection closed
	ClassTimeout          = "timeout"               // op deadline, 57014 query_canceled
	ClassCanceled         = "canceled"              // cut short because the run stopped
	ClassOther            = "other"
)

// Classify sorts an operation's error into an outcome and an error class,
// and returns the SQLSTATE when the server sent one. sent tells whether the
// statement that could commit (the single statement, or COMMIT of a
// transaction) may have reached the server.
//
// The outcome rule is Jepsen's: what certainly did not take effect is Fail
// (the connection was never made, pgx knows nothing was sent, or the server
// answered with an ERROR, which aborts the transaction); what may have
// committed before the answer was lost is Unknown. A FATAL reply after
// sending is Unknown too: the server can end a session (57P01) right after
// the commit, before its answer reaches us.
func Classify(err error, sent bool) (outcome Outcome, class, sqlstate string) {
	if err == nil {
		return OK, "", ""
	}
	class = errorClass(err)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		sqlstate = pgErr.Code
		fatal := pgErr.Severity == "FATAL" || pgErr.Severity == "PANIC"
		if fatal && sent && !pgconn.SafeToRetry(err) && !isConnectError(err) {
			return Unknown, class, sqlstate
		}
		return Fail, class, sqlstate
	}
	if !sent || pgconn.SafeToRetry(err) || isConnectError(err) {
		return Fail, class, ""
	}
	return Unknown, class, ""
}

func isConnectError(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}

// errorClass names the kind of error; see the Class* constants.
func errorClass(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return sqlstateClass(pgErr.Code)
	}
	switch {
	case errors.Is(err, context.Canceled):
		return ClassCanceled
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		return ClassTimeout
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return ClassTimeout
	}
	var opErr *net.OpError
	var connErr *pgconn.ConnectError
	switch {
	case errors.As(err, &opErr), errors.As(err, &connErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return ClassConnection
	}
	return ClassOther
}

// sqlstateClass maps a SQLSTATE to an error class.
func sqlstateClass(code string) string {
	switch code {
	case "23505":
		return ClassUniqueViolation
	case "40001":
		return ClassSerialization
	case "40P01":
		return ClassDeadlock
	case "57P01":
		return ClassAdminShutdown
	case "57P02", "57P03":
		return ClassCannotConnectNow
	case "25006":
		return ClassReadOnly
	case "57014":
		return ClassTimeout
	}
	if strings.HasPrefix(code, "08") {
		return ClassConnection
	}
	return ClassOther
}

// connectionLost tells whether the error leaves the connection unusable, so
// the worker should drop it and back off before the next one.
func connectionLost(class string) bool {
	switch class {
	case ClassConnection, ClassAdminShutdown, ClassCannotConnectNow, ClassTimeout, ClassCanceled:
		return true
	}
	return false
}
