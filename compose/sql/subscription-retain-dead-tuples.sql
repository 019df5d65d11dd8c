-- subscription.sql for PostgreSQL 19 with retain_dead_tuples: the
-- subscriber keeps the dead tuples that concurrent remote changes may still
-- need, so an update racing a delete is counted as update_deleted
-- (confl_update_deleted) instead of update_missing. The server holds them
-- back with one physical slot, pg_conflict_detection, whose xmin shows how
-- far back it retains; the detection also needs track_commit_timestamp =
-- on. An enabled subscription refuses to change the option ("cannot set
-- option retain_dead_tuples for enabled subscription"), so it is set here,
-- at creation. Variables: as subscription.sql (subscription, conninfo,
-- slot).
CREATE SUBSCRIPTION :"subscription"
    CONNECTION :'conninfo'
    PUBLICATION pgchaos_pub
    WITH (origin = none, copy_data = false, slot_name = :'slot', retain_dead_tuples = true);
