-- Heartbeats measure one-way replication lag on the servers' own clock
-- (the lab's containers share one kernel clock). Each node appends rows
-- stamped sent_at; the peer's apply worker stamps applied_at through a
-- trigger that fires only under replication (ENABLE REPLICA), so
-- applied_at - sent_at is the lag of that one direction.
CREATE TABLE IF NOT EXISTS pgchaos_heartbeat (
    origin text NOT NULL,
    seq bigint NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    applied_at timestamptz,
    PRIMARY KEY (origin, seq)
);

CREATE OR REPLACE FUNCTION pgchaos_stamp_applied() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.applied_at := clock_timestamp();
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS pgchaos_stamp_applied ON pgchaos_heartbeat;
CREATE TRIGGER pgchaos_stamp_applied BEFORE INSERT ON pgchaos_heartbeat
    FOR EACH ROW EXECUTE FUNCTION pgchaos_stamp_applied();
ALTER TABLE pgchaos_heartbeat ENABLE REPLICA TRIGGER pgchaos_stamp_applied;
