package scenario

import "cmp"

// Replication engines and pglogical's conflict resolvers, as lab.engine and
// lab.resolver take them (the lab package owns what they do).
var (
	engineKinds   = []string{"native", "pglogical"}
	resolverKinds = []string{"last_update_wins", "first_update_wins", "apply_remote", "keep_local", "error"}
)

// engine reads lab.engine and lab.resolver: resolver is pglogical's
// setting, so it needs engine: pglogical.
func (r *reader) engine(f map[string]field, l *LabSpec) {
	if v, ok := f["engine"]; ok {
		if e, ok := r.enum(v.val, "lab.engine", "a replication engine", engineKinds); ok {
			l.Engine = e
		}
	}
	v, ok := f["resolver"]
	if !ok {
		return
	}
	res, ok := r.enum(v.val, "lab.resolver", "a pglogical conflict resolver", resolverKinds)
	if !ok {
		return
	}
	if l.Engine != "pglogical" {
		r.errorf(v.key, "lab.resolver: %s is a pglogical setting and needs engine: pglogical (allowed engines: native, pglogical; native replication has no resolver)", res)
		return
	}
	l.Resolver = res
}

// retainDeadTuples reads lab.retain_dead_tuples, a PostgreSQL 19
// subscription option: it needs postgres: "19" and the native engine (and
// Debian has no pglogical for 19, so that pairing is refused too).
func (r *reader) retainDeadTuples(f map[string]field, l *LabSpec) {
	if v, ok := f["postgres"]; ok && l.Postgres == "19" && l.Engine == "pglogical" {
		r.errorf(v.key, "lab.postgres: 19 has no pglogical (Debian has no postgresql-19-pglogical): use engine: native on 19, or postgres 18 or 17 with pglogical")
	}
	v, ok := f["retain_dead_tuples"]
	if !ok {
		return
	}
	on, ok := r.boolean(v.val, "lab.retain_dead_tuples")
	if !ok || !on {
		return
	}
	if pv, ok := f["postgres"]; ok && l.Postgres == "" && !isNull(pv.val) {
		return // lab.postgres is wrong and already said so
	}
	switch {
	case l.Engine == "pglogical":
		r.errorf(v.key, "lab.retain_dead_tuples: an option of native subscriptions; it needs engine: native, not pglogical")
	case l.Postgres != "19":
		r.errorf(v.key, "lab.retain_dead_tuples: needs postgres: \"19\" (the subscription option is new in PostgreSQL 19; this lab runs %s)", cmp.Or(l.Postgres, "18, the default"))
	default:
		l.RetainDeadTuples = true
	}
}
