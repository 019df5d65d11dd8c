package runner

import (
	"github.com/pgchaos/pgchaos/scenario"
)

// hotTable is the table whose dead tuples show what retain_dead_tuples
// costs: the table of the run's first workload that updates or deletes
// rows in place, else the tutorial's test_table.
func hotTable(sc *scenario.Scenario) string {
	tables := map[string]string{
		scenario.KindUpdateHot:  "pgchaos_counter",
		scenario.KindBank:       "pgchaos_bank",
		scenario.KindRWRegister: "pgchaos_register",
		scenario.KindListAppend: "pgchaos_list",
	}
	for _, w := range sc.Workloads {
		if t, ok := tables[w.Kind]; ok {
			return t
		}
	}
	return "test_table"
}
