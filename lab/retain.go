package lab

import "fmt"

// ConflictDetectionSlot is the replication slot PostgreSQL 19 keeps on a
// subscriber while any of its subscriptions has retain_dead_tuples on: its
// xmin holds back VACUUM, so the age of that xmin is how far back (in
// transactions) the node retains dead tuples.
const ConflictDetectionSlot = "pg_conflict_detection"

// validatePG19 checks what PostgreSQL 19 changes in a Config: Debian ships
// no pglogical for 19, and retain_dead_tuples is a subscription option that
// only 19 has and only native subscriptions take.
func validatePG19(postgres, engine string, retain bool) error {
	if postgres == "19" && engine == EnginePglogical {
		return fmt.Errorf("engine pglogical on PostgreSQL 19: there is no pglogical for 19 (Debian has no postgresql-19-pglogical): use engine native on 19, or postgres 18 or 17 with pglogical")
	}
	if !retain {
		return nil
	}
	if engine != "" && engine != EngineNative {
		return fmt.Errorf("retain_dead_tuples is an option of native subscriptions: it needs engine native, not %s", engine)
	}
	if postgres != "19" {
		return fmt.Errorf("retain_dead_tuples needs PostgreSQL 19 (the subscription option is new in 19; this lab asks for %s): set postgres 19", postgres)
	}
	return nil
}
