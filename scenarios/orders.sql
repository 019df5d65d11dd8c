-- orders.sql: one order and its line, in one transaction, in the tables
-- of shop.sql. Used by scenarios/sql-orders.yaml (weight 3).
\set customer random(1, 1000)
\set qty random(1, 5)
\set total :qty * 250 + random(0, 99)
BEGIN;
WITH o AS (
    INSERT INTO shop.orders (customer, total) VALUES (:customer, :total) RETURNING id
)
INSERT INTO shop.order_lines (order_id, line, qty) SELECT id, 1, :qty::int FROM o;
COMMIT;
