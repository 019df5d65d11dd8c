package scenario

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pgchaos/pgchaos/anomaly"
)

// defaultKeys is keys: of list-append and rw-register when the file says
// nothing: few enough that transactions meet on the same keys.
const defaultKeys = 32

// txnOptions reads keys: and isolation:, which only the transactional
// kinds take.
func (r *reader) txnOptions(w *Workload, f map[string]field, where string) {
	txn := w.Kind == KindListAppend || w.Kind == KindRWRegister
	for _, k := range []string{"keys", "isolation"} {
		if v, ok := f[k]; ok && !txn && w.Kind != "" {
			r.errorf(v.key, "%s: %s is not used by a %s workload (only by %s and %s): remove it", where, k, w.Kind, KindListAppend, KindRWRegister)
		}
	}
	if !txn {
		return
	}
	w.Keys = defaultKeys
	w.Isolation = ReadCommitted
	if v, ok := f["keys"]; ok {
		if k, ok := r.integer(v.val, where+".keys", 1, maxKeys); ok {
			w.Keys = int(k)
		}
	}
	if v, ok := f["isolation"]; ok {
		if iso, ok := r.enum(v.val, where+".isolation", "an isolation level", isolations); ok {
			w.Isolation = iso
		}
	}
}

// anomalyClasses are the class names assert.anomalies takes.
func anomalyClasses() []string {
	out := make([]string, len(anomaly.AllClasses))
	for i, c := range anomaly.AllClasses {
		out[i] = string(c)
	}
	return out
}

// anomalies reads assert.anomalies: a count for the dependency classes
// together, or a mapping of class to count. Pos gets "anomalies.<class>".
func (r *reader) anomalies(a *Assert, n *yaml.Node) {
	const what = "assert.anomalies"
	if n != nil && n.Kind == yaml.ScalarNode {
		if x, ok := r.integer(n, what, 0, maxCount); ok {
			a.AnomaliesAll = &x
		}
		return
	}
	if n == nil || n.Kind != yaml.MappingNode {
		r.errorf(n, "%s: want a count (anomalies: 0, for the classes %s) or a mapping of class to count (anomalies: {G-single: 0, lost-append: 0})",
			what, strings.Join(depClassNames(), ", "))
		return
	}
	classes := anomalyClasses()
	cf, ok := r.mapping(n, what, "in "+what, classes)
	if !ok {
		return
	}
	a.Anomalies = make(map[string]int64, len(cf))
	for _, c := range classes {
		cv, ok := cf[c]
		if !ok {
			continue
		}
		a.Pos["anomalies."+c] = posOf(cv.key)
		if x, ok := r.integer(cv.val, fmt.Sprintf("%s.%s", what, c), 0, maxCount); ok {
			a.Anomalies[c] = x
		}
	}
}

func depClassNames() []string {
	out := make([]string, len(anomaly.DependencyClasses))
	for i, c := range anomaly.DependencyClasses {
		out[i] = string(c)
	}
	return out
}
