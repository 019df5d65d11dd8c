-- subscription.sql for PostgreSQL 19 with retain_dead_tuples: the
-- subscriber keeps the dead tuples that concurrent remote changes may still
-- need, so an update racing a delete is counted as update_deleted
-- (confl_update_deleted) instead of update_missing. The server holds them
-- back with one slot, pg_conflict_detection (it takes one of
-- max_replication_slots), whose xmin shows how far back it retains; the
-- detection also needs track_commit_timestamp = on. The option cannot be
-- changed while the apply worker runs, so it is set here, at creation.
-- Variables: subscription (e.g. sub_from_primary2), conninfo (the peer).
CREATE SUBSCRIPTION :"subscription"
    CONNECTION :'conninfo'
    PUBLICATION pgchaos_pub
    WITH (origin = none, copy_data = false, retain_dead_tuples = true);
