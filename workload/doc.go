// Package workload drives concurrent writes through the lab's targets
// (primary1, primary2, haproxy) and records every operation.
//
// Each workload kind (insert, update-hot, bank, tutorial) is one type with
// Setup (its tables on both primaries), Op (one operation) and after-run
// check helpers. Run starts one goroutine per worker over one pgx pool per
// target, paces them with a schedule that does not drift, and hands every
// finished operation to a Recorder, which streams the history to a JSON
// lines file and keeps only fixed-size aggregates (counts, an HdrHistogram
// of latencies, a per-second timeline) in memory.
//
// Outcomes follow Jepsen: ok, fail (certainly did not take effect) or
// unknown (the answer was lost after the statement was sent: it may have
// committed). Errors are classified by SQLSTATE and error type, never by
// message text.
package workload
