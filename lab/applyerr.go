package lab

import (
	"context"
	"strings"

	"github.com/pgchaos/pgchaos/pglog"
)

// lastApplyError reads the node's recent log for the error its apply worker
// keeps failing with, and the finish LSN of the remote transaction that
// ALTER SUBSCRIPTION … SKIP takes. Empty when the log shows none.
func (l *Lab) lastApplyError(ctx context.Context, n Node) (msg, lsn string) {
	out, err := l.Logs(ctx, n.ID, 500)
	if err != nil {
		return "", ""
	}
	events, _ := pglog.Parse(strings.NewReader(out))
	sub := SubscriptionOn(n.Name)
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if !e.Stops() || (e.Subscription != "" && e.Subscription != sub) {
			continue
		}
		msg = e.Message
		if e.Detail != "" {
			msg += " (" + e.Detail + ")"
		}
		return msg, e.FinishLSN
	}
	return "", ""
}
