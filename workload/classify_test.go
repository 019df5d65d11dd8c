package workload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestClassify(t *testing.T) {
	pg := func(sev, code string) error { return &pgconn.PgError{Severity: sev, Code: code, Message: "x"} }
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	connectErr := &pgconn.ConnectError{Config: &pgconn.Config{}}
	tests := []struct {
		name     string
		err      error
		sent     bool
		outcome  Outcome
		class    string
		sqlstate string
	}{
		{"no error is ok", nil, true, OK, "", ""},
		{"duplicate key is a definite fail", pg("ERROR", "23505"), true, Fail, ClassUniqueViolation, "23505"},
		{"serialization failure aborts", pg("ERROR", "40001"), true, Fail, ClassSerialization, "40001"},
		{"deadlock aborts", pg("ERROR", "40P01"), true, Fail, ClassDeadlock, "40P01"},
		{"read only transaction", pg("ERROR", "25006"), true, Fail, ClassReadOnly, "25006"},
		{"statement timeout is a server error", pg("ERROR", "57014"), true, Fail, ClassTimeout, "57014"},
		{"terminated backend after send may have committed", pg("FATAL", "57P01"), true, Unknown, ClassAdminShutdown, "57P01"},
		{"terminated backend before commit was sent", pg("FATAL", "57P01"), false, Fail, ClassAdminShutdown, "57P01"},
		{"crash shutdown", pg("FATAL", "57P02"), true, Unknown, ClassCannotConnectNow, "57P02"},
		{"cannot connect now while connecting", fmt.Errorf("acquire: %w", pg("FATAL", "57P03")), false, Fail, ClassCannotConnectNow, "57P03"},
		{"08 class is connection", pg("FATAL", "08006"), true, Unknown, ClassConnection, "08006"},
		{"other sqlstate keeps its code", pg("ERROR", "42P01"), true, Fail, ClassOther, "42P01"},
		{"wrapped pg error is found", fmt.Errorf("insert: %w", pg("ERROR", "23505")), true, Fail, ClassUniqueViolation, "23505"},
		{"connection refused before sending", refused, false, Fail, ClassConnection, ""},
		{"connection reset after sending is unknown", reset, true, Unknown, ClassConnection, ""},
		{"connection reset before commit was sent", reset, false, Fail, ClassConnection, ""},
		{"EOF after sending is unknown", io.ErrUnexpectedEOF, true, Unknown, ClassConnection, ""},
		{"bare EOF", fmt.Errorf("read: %w", io.EOF), true, Unknown, ClassConnection, ""},
		{"connect error is fail even when sent is claimed", connectErr, true, Fail, ClassConnection, ""},
		{"deadline after sending is unknown", fmt.Errorf("op: %w", context.DeadlineExceeded), true, Unknown, ClassTimeout, ""},
		{"deadline before sending is fail", context.DeadlineExceeded, false, Fail, ClassTimeout, ""},
		{"stop of the run", context.Canceled, true, Unknown, ClassCanceled, ""},
		{"conn closed under a running op", fmt.Errorf("exec: %w", pgconn.ErrConnClosed), true, Unknown, ClassConnection, ""},
		{"net timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, true, Unknown, ClassTimeout, ""},
		{"unknown error", errors.New("boom"), true, Unknown, ClassOther, ""},
		{"unknown error before sending", errors.New("boom"), false, Fail, ClassOther, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, c, s := Classify(tt.err, tt.sent)
			if o != tt.outcome || c != tt.class || s != tt.sqlstate {
				t.Errorf("Classify(%v, sent=%v) = %q %q %q, want %q %q %q", tt.err, tt.sent, o, c, s, tt.outcome, tt.class, tt.sqlstate)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// safeErr stands for pgx's internal errors that know nothing was sent.
type safeErr struct{ error }

func (safeErr) SafeToRetry() bool { return true }
func (e safeErr) Unwrap() error   { return e.error }

func TestClassifySafeToRetryIsFail(t *testing.T) {
	err := safeErr{&net.OpError{Op: "write", Err: syscall.EPIPE}}
	if o, c, _ := Classify(err, true); o != Fail || c != ClassConnection {
		t.Fatalf("got %s %s, want fail connection: pgx said nothing was sent", o, c)
	}
}

func errUnexpectedEOF() error { return fmt.Errorf("read: %w", io.ErrUnexpectedEOF) }
