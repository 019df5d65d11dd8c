package scenario

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
