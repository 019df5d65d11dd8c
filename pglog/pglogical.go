package pglog

import (
	"regexp"
	"strconv"
	"strings"
)

// pglogical's conflict kinds (pglogical_conflict.c): the remote change and
// what it met. A remote UPDATE or DELETE whose row is not found is
// update_delete or delete_delete.
const (
	KindInsertInsert = "insert_insert"
	KindUpdateUpdate = "update_update"
	KindUpdateDelete = "update_delete"
	KindDeleteDelete = "delete_delete"
)

// pglogical's log phrases (pglogical 2.4: pglogical_conflict.c,
// pglogical_apply.c, pglogical_worker.c), verified against the logs of a
// real lab kept under testdata/pglogical-*.log.
var (
	// CONFLICT: remote UPDATE on relation public.t (local index t_pkey). Resolution: keep_local.
	// CONFLICT: remote DELETE on relation public.t replica identity index t_pkey (tuple not found). Resolution: skip.
	pglConflictRE = regexp.MustCompile(`^CONFLICT: remote (INSERT|UPDATE|DELETE) on relation (\S+) (?:\(local index [^)]*\)|replica identity index \S+ \((tuple not found)\))\. Resolution: ([a-z_]+)\.`)
	pglStartedRE  = regexp.MustCompile(`^starting apply for subscription (\S+)`)
	pglExitedRE   = regexp.MustCompile(`^background worker "pglogical apply [^"]*" \(PID (\d+)\) exited with exit code (\d+)`)
	// CONTEXT: apply UPDATE from remote relation public.t in commit before 0/188C0A8, xid 773 committed at … from node replorigin 1
	pglContextRE = regexp.MustCompile(`from remote relation (\S+) in commit before ([0-9A-Fa-f]+/[0-9A-Fa-f]+), xid (\d+)`)
	// pglogical's own connection error (pglogical.c) and a stream lost.
	pglConnectRE = regexp.MustCompile(`^(?:could not connect to the postgresql server|data stream ended|connection to other side has died|could not read COPY data)`)
)

// pglogicalKind names a pglogical conflict from its remote action and
// whether the local row was missing.
func pglogicalKind(action string, notFound bool) string {
	switch {
	case action == "INSERT":
		return KindInsertInsert
	case action == "UPDATE" && notFound:
		return KindUpdateDelete
	case action == "UPDATE":
		return KindUpdateUpdate
	default:
		return KindDeleteDelete
	}
}

// classifyPglogical recognises what pglogical's workers log; ok is false
// for anything else.
func (s *Scanner) classifyPglogical(e *entry, ev *Event) bool {
	if m := pglContextRE.FindStringSubmatch(e.context); m != nil {
		ev.Relation = m[1]
		// The remote transaction's commit LSN: advancing the subscriber's
		// replication origin past it (pg_replication_origin_advance, one
		// byte further; measured) skips the transaction.
		ev.FinishLSN = strings.ToUpper(m[2])
		if x, err := strconv.ParseUint(m[3], 10, 32); err == nil {
			ev.RemoteXID = uint32(x)
		}
	}
	if m := pglStartedRE.FindStringSubmatch(e.message); m != nil {
		ev.Type, ev.Worker, ev.Subscription = WorkerStarted, "pglogical apply worker", m[1]
		ev.WorkerPID = e.pid
		s.workers[e.pid] = worker{subscription: m[1], kind: ev.Worker}
		return true
	}
	if m := pglExitedRE.FindStringSubmatch(e.message); m != nil {
		ev.Type, ev.Worker = WorkerExited, "pglogical apply worker"
		ev.WorkerPID, _ = strconv.Atoi(m[1])
		ev.ExitCode, _ = strconv.Atoi(m[2])
		ev.Subscription = ""
		if w, ok := s.workers[ev.WorkerPID]; ok {
			ev.Subscription = w.subscription
			delete(s.workers, ev.WorkerPID)
		}
		return true
	}
	if m := pglConflictRE.FindStringSubmatch(e.message); m != nil {
		ev.Type, ev.Kind = Conflict, pglogicalKind(m[1], m[3] != "")
		ev.Relation, ev.Resolution = m[2], m[4]
		return true
	}
	if w, isWorker := s.workers[e.pid]; isWorker && w.kind == "pglogical apply worker" && pglConnectRE.MatchString(e.message) {
		ev.Type = PublisherUnreachable
		return true
	}
	return false
}
