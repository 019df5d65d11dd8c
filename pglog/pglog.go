// Package pglog reads PostgreSQL server log output as Docker captures it
// (the server's stderr with the official images' default log_line_prefix
// '%m [%p] ') and picks out what logical replication said: conflicts, apply
// errors, apply workers starting and exiting, and a publisher that cannot be
// reached. It does no I/O beyond the io.Reader it is given.
//
// The phrases it matches are PostgreSQL's own (src/backend/replication/
// logical/conflict.c and worker.c, versions 17 and 18) and pglogical's
// (2.4; see pglogical.go), verified against the logs of real two-node labs
// kept under testdata/.
package pglog

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Type says what an event is.
type Type string

// Event types.
const (
	// Conflict is a "conflict detected on relation" entry (PostgreSQL 18+),
	// at LOG level when the apply went on, at ERROR level when it stopped
	// the apply worker (the *_exists kinds).
	Conflict Type = "conflict"
	// ApplyError is any other ERROR raised by a logical replication apply
	// worker while applying a change, e.g. PostgreSQL 17's duplicate key.
	ApplyError Type = "apply_error"
	// WorkerStarted is a logical replication worker starting.
	WorkerStarted Type = "worker_started"
	// WorkerExited is the postmaster reporting that a logical replication
	// worker exited (exit code 1 after an error).
	WorkerExited Type = "worker_exited"
	// PublisherUnreachable is an apply worker that could not connect to,
	// or lost its connection to, the publisher.
	PublisherUnreachable Type = "publisher_unreachable"
)

// Conflict kinds as PostgreSQL names them (conflict=<kind>), and the kind
// given to apply errors that are not conflicts.
const (
	KindInsertExists            = "insert_exists"
	KindUpdateOriginDiffers     = "update_origin_differs"
	KindUpdateExists            = "update_exists"
	KindUpdateMissing           = "update_missing"
	KindUpdateDeleted           = "update_deleted" // PostgreSQL 19, with retain_dead_tuples
	KindDeleteOriginDiffers     = "delete_origin_differs"
	KindDeleteMissing           = "delete_missing"
	KindMultipleUniqueConflicts = "multiple_unique_conflicts"
	KindApplyError              = "apply_error"
)

// Event is one replication-relevant log entry.
type Event struct {
	Time  time.Time
	PID   int
	Level string // LOG, ERROR, FATAL, WARNING, …
	Type  Type
	// Kind is the conflict kind for Conflict events, KindApplyError for
	// ApplyError events, empty otherwise.
	Kind string
	// Subscription is the subscription the worker serves, when the entry
	// names it or an earlier "has started" entry of the same PID did.
	Subscription string
	// Worker is the worker kind for WorkerStarted/WorkerExited, e.g.
	// "apply worker", "parallel apply worker", "table synchronization worker".
	Worker string
	// WorkerPID is the PID an exit report is about (the postmaster logs it).
	WorkerPID int
	ExitCode  int
	Relation  string // "public.test_table", from the message or CONTEXT
	// Key is the conflicting key as PostgreSQL printed it, e.g.
	// "(id)=(300)": the unique key for *_exists kinds and duplicate keys,
	// else the replica identity of the remote change.
	Key string
	// RemoteXID is the remote transaction, FinishLSN its end: the LSN that
	// ALTER SUBSCRIPTION … SKIP (lsn = '…') takes. Both from CONTEXT.
	RemoteXID uint32
	FinishLSN string
	// Resolution is what pglogical did about a conflict it logged:
	// apply_remote, keep_local or skip. Empty for PostgreSQL's own.
	Resolution string
	Message    string // the primary message, without level
	Detail     string
	Context    string
	Raw        string // the whole entry, every line, as logged
}

// Stops reports whether the event stopped the apply worker: an ERROR (or
// worse) that made it exit and retry the same transaction.
func (e Event) Stops() bool {
	switch e.Level {
	case "ERROR", "FATAL", "PANIC":
		return e.Type == Conflict || e.Type == ApplyError
	}
	return false
}

// Parse reads a whole log and returns its replication events in order.
func Parse(r io.Reader) ([]Event, error) {
	s := NewScanner(r)
	var out []Event
	for s.Scan() {
		out = append(out, s.Event())
	}
	return out, s.Err()
}

// Scanner reads events one at a time, so that a long log need not be held
// in memory.
type Scanner struct {
	lines   *bufio.Scanner
	pending *entry // the entry being assembled
	event   Event
	err     error
	done    bool
	// workers maps a PID to the subscription its "has started" line named:
	// PostgreSQL 17's errors and the postmaster's exit reports do not name it.
	workers map[int]worker
}

type worker struct {
	subscription string
	kind         string
}

// NewScanner returns a Scanner reading r.
func NewScanner(r io.Reader) *Scanner {
	ls := bufio.NewScanner(r)
	// A DETAIL line carries whole rows; allow long ones.
	ls.Buffer(make([]byte, 64*1024), 4*1024*1024)
	return &Scanner{lines: ls, workers: map[int]worker{}}
}

// Event returns the event the last successful Scan found.
func (s *Scanner) Event() Event { return s.event }

// Err returns the first read error, if any.
func (s *Scanner) Err() error { return s.err }

// Scan advances to the next replication event; false at the end of input.
func (s *Scanner) Scan() bool {
	for {
		e, ok := s.nextEntry()
		if !ok {
			return false
		}
		if ev, ok := s.classify(e); ok {
			s.event = ev
			return true
		}
	}
}

// entry is one log entry: its primary line and the lines that belong to it.
type entry struct {
	time    time.Time
	pid     int
	level   string
	message string
	detail  string
	hint    string
	context string
	raw     strings.Builder
	last    *string // the field continuation lines extend
}

// prefixRE matches '%m [%p] LEVEL:  text'.
var prefixRE = regexp.MustCompile(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (\S+) \[(\d+)\] ([A-Z]+\d?):  ?(.*)$`)

// nextEntry returns the next complete entry.
func (s *Scanner) nextEntry() (*entry, bool) {
	for !s.done {
		if !s.lines.Scan() {
			s.done = true
			if err := s.lines.Err(); err != nil {
				s.err = fmt.Errorf("pglog: reading the server log: %w", err)
			}
			break
		}
		line := strings.TrimRight(s.lines.Text(), "\r")
		if strings.HasPrefix(line, "\t") {
			if p := s.pending; p != nil && p.last != nil {
				*p.last += "\n" + strings.TrimLeft(line, "\t")
				p.raw.WriteString("\n" + line)
			}
			continue
		}
		m := prefixRE.FindStringSubmatch(line)
		if m == nil {
			// Entrypoint chatter, initdb output: not server log entries.
			continue
		}
		pid, _ := strconv.Atoi(m[3])
		level, text := m[4], m[5]
		if p := s.pending; p != nil && p.pid == pid {
			var f *string
			switch level {
			case "DETAIL":
				f = &p.detail
			case "HINT":
				f = &p.hint
			case "CONTEXT":
				f = &p.context
			case "STATEMENT", "LOCATION", "QUERY":
				f = new(string) // kept in Raw only
			}
			if f != nil {
				*f = text
				p.last = f
				p.raw.WriteString("\n" + line)
				continue
			}
		}
		e := &entry{pid: pid, level: level, message: text}
		e.time = parseTime(m[1], m[2])
		e.raw.WriteString(line)
		e.last = &e.message
		done := s.pending
		s.pending = e
		if done != nil {
			return done, true
		}
	}
	if p := s.pending; p != nil {
		s.pending = nil
		return p, true
	}
	return nil, false
}

// parseTime reads %m. A zone abbreviation Go does not know still parses
// (as a zero offset with that name); the lab logs in UTC.
func parseTime(stamp, zone string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05.999999999 MST", stamp+" "+zone)
	if err != nil {
		return time.Time{}
	}
	return t
}

var (
	conflictRE = regexp.MustCompile(`^conflict detected on relation "([^"]*)": conflict=([a-z_]+)`)
	startedRE  = regexp.MustCompile(`^logical replication (apply worker|parallel apply worker|table synchronization worker|sequence synchronization worker) for subscription "([^"]*)"(?:, table "([^"]*)")? has started`)
	exitedRE   = regexp.MustCompile(`^background worker "logical replication ([a-z ]+worker)" \(PID (\d+)\) exited with exit code (\d+)`)
	// PostgreSQL 18 names the subscription; 17 starts at "could not connect".
	connectRE = regexp.MustCompile(`^(?:(?:[a-z ]*worker) for subscription "([^"]*)" )?could not connect to the publisher`)
	contextRE = regexp.MustCompile(`processing remote data for replication origin "[^"]*" during message type "[^"]*"(?: for replication target relation "([^"]*)")?(?: column "[^"]*")? in transaction (\d+)(?:, finished at ([0-9A-Fa-f]+/[0-9A-Fa-f]+))?`)
	keyRE     = regexp.MustCompile(`(?:^|\n|; )Key (\(.*?\)=\(.*?\))(?:;| already exists|\.?$|\.?\n)`)
	identRE   = regexp.MustCompile(`(?i:replica identity)(?: full)? (\(.*?\)(?:=\(.*?\))?)\.?(?:\n|$)`)
)

// classify turns an entry into an event, or says it is not one.
func (s *Scanner) classify(e *entry) (Event, bool) {
	ev := Event{
		Time: e.time, PID: e.pid, Level: e.level,
		Message: e.message, Detail: e.detail, Context: e.context,
		Raw: e.raw.String(),
	}
	if w, ok := s.workers[e.pid]; ok {
		ev.Subscription = w.subscription
	}
	fillContext(&ev)

	if strings.HasPrefix(e.message, "starting PostgreSQL") {
		// A restarted server reuses PIDs: forget the old workers.
		clear(s.workers)
		return ev, false
	}
	if s.classifyPglogical(e, &ev) {
		return ev, true
	}
	if m := startedRE.FindStringSubmatch(e.message); m != nil {
		ev.Type, ev.Worker, ev.Subscription = WorkerStarted, m[1], m[2]
		ev.WorkerPID = e.pid
		s.workers[e.pid] = worker{subscription: m[2], kind: m[1]}
		return ev, true
	}
	if m := exitedRE.FindStringSubmatch(e.message); m != nil {
		ev.Type, ev.Worker = WorkerExited, m[1]
		ev.WorkerPID, _ = strconv.Atoi(m[2])
		ev.ExitCode, _ = strconv.Atoi(m[3])
		ev.Subscription = ""
		if w, ok := s.workers[ev.WorkerPID]; ok {
			ev.Subscription = w.subscription
			delete(s.workers, ev.WorkerPID)
		}
		return ev, true
	}
	if m := conflictRE.FindStringSubmatch(e.message); m != nil {
		ev.Type, ev.Kind = Conflict, m[2]
		ev.Relation = m[1]
		ev.Key = conflictKey(e.detail)
		return ev, true
	}
	if m := connectRE.FindStringSubmatch(e.message); m != nil {
		ev.Type = PublisherUnreachable
		if m[1] != "" {
			ev.Subscription = m[1]
		}
		return ev, true
	}
	_, isWorker := s.workers[e.pid]
	if isWorker && strings.HasPrefix(e.message, "could not receive data from WAL stream") {
		ev.Type = PublisherUnreachable
		return ev, true
	}
	if e.level == "ERROR" || e.level == "FATAL" || e.level == "PANIC" {
		// An error while applying remote data carries the apply CONTEXT
		// even when the PID's start line fell outside the log we were given.
		if isWorker && s.workers[e.pid].kind != "table synchronization worker" || ev.FinishLSN != "" || strings.Contains(e.context, "processing remote data") {
			if strings.Contains(e.message, "terminating") {
				return ev, false // shutdown of the worker, not an apply error
			}
			ev.Type, ev.Kind = ApplyError, KindApplyError
			ev.Key = conflictKey(e.detail)
			return ev, true
		}
	}
	return ev, false
}

// fillContext takes the relation, remote transaction and finish LSN from
// the apply worker's error context.
func fillContext(ev *Event) {
	m := contextRE.FindStringSubmatch(ev.Context)
	if m == nil {
		return
	}
	ev.Relation = m[1]
	if x, err := strconv.ParseUint(m[2], 10, 32); err == nil {
		ev.RemoteXID = uint32(x)
	}
	ev.FinishLSN = strings.ToUpper(m[3])
}

// conflictKey finds the key a DETAIL names: the unique keys ("Key (id)=(3)")
// when there are any, else the replica identity of the remote change.
func conflictKey(detail string) string {
	if ms := keyRE.FindAllStringSubmatch(detail, -1); ms != nil {
		// multiple_unique_conflicts names one key per unique index.
		keys := make([]string, len(ms))
		for i, m := range ms {
			keys[i] = m[1]
		}
		return strings.Join(keys, "; ")
	}
	if m := identRE.FindStringSubmatch(detail); m != nil {
		return m[1]
	}
	return ""
}
