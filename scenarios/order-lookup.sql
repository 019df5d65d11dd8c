-- order-lookup.sql: a customer's orders, read back.
-- Used by scenarios/sql-orders.yaml (weight 1). No BEGIN: pgchaos runs
-- the script as one transaction all the same.
\set customer random(1, 1000)
SELECT count(*) FROM test_table WHERE name LIKE 'order:' || :customer || ':%';
