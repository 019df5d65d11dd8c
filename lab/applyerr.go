package lab

import (
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/pglog"
)

// recentError is how long after an apply error a subscription still counts
// as failing: a stalled worker retries every wal_retrieve_retry_interval
// (1 s in the lab) and logs the error again each time.
const recentError = 10 * time.Second

// lastApplyError reads a node's recent log for the error the apply worker
// of subscription sub last failed with: its first line, the finish LSN of
// the remote transaction (what ALTER SUBSCRIPTION … SKIP takes; empty for
// errors that are not about a transaction, such as a lost connection) and
// when it was logged. An error naming no subscription counts for each.
func lastApplyError(logs, sub string) (msg, lsn string, at time.Time) {
	if logs == "" {
		return "", "", time.Time{}
	}
	events, _ := pglog.Parse(strings.NewReader(logs))
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if !e.Stops() || (e.Subscription != "" && e.Subscription != sub) {
			continue
		}
		msg = firstLine(e.Message)
		if e.Detail != "" {
			msg += " (" + firstLine(e.Detail) + ")"
		}
		return msg, e.FinishLSN, e.Time
	}
	return "", "", time.Time{}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
