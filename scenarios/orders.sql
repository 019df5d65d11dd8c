-- orders.sql: one order, as two rows of test_table in one transaction.
-- Used by scenarios/sql-orders.yaml (weight 3).
\set customer random(1, 1000)
\set qty random(1, 5)
\set total :qty * 250 + random(0, 99)
BEGIN;
INSERT INTO test_table (name)
VALUES ('order:' || :customer || ':' || :total);
INSERT INTO test_table (name) VALUES ('line:' || :customer || ':' || :qty);  -- the order's line
COMMIT;
