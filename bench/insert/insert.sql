-- The insert workload's statement for pgbench: same table, same columns,
-- same RETURNING; the key is random (pgbench has no per-client counter).
-- The casts let -M prepared type its parameters.
\set r random(1, 9223372036854775806)
INSERT INTO pgchaos_insert (id, workload, target, worker, seq, payload)
VALUES ('pgbench/' || :client_id::text || '/' || :r::text, 'pgbench', 'primary1', :client_id::int, :r::bigint, to_hex(:r::bigint))
RETURNING served_by;
