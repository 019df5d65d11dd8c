package analysis

import (
	"fmt"
	"os"

	"github.com/pgchaos/pgchaos/anomaly"
	"github.com/pgchaos/pgchaos/reports"
)

// Anomalies checks the transaction history of one list-append or
// rw-register workload (the file at path, final reads included) with
// package anomaly. A history that cannot be read or checked gives an
// entry with Error set, so an assertion on it reads "not measured".
func Anomalies(workload, kind, isolation, path string) reports.Anomalies {
	a := reports.Anomalies{Workload: workload, Kind: kind, Isolation: isolation, History: path}
	f, err := os.Open(path)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	h, err := anomaly.ReadHistory(f)
	f.Close()
	if err != nil {
		a.Error = err.Error()
		return a
	}
	for _, t := range h {
		if t.Final {
			a.FinalReads++
		}
	}
	r, err := anomaly.Check(h, anomaly.Options{})
	if err != nil {
		a.Error = fmt.Sprintf("anomaly check of %s: %v", path, err)
		return a
	}
	a.FromCheck(r)
	return a
}
