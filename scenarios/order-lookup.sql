-- order-lookup.sql: a customer's orders and items, read back.
-- Used by scenarios/sql-orders.yaml (weight 1). No BEGIN: pgchaos runs
-- the script as one transaction all the same.
\set customer random(1, 1000)
SELECT count(*), coalesce(sum(l.qty), 0)
  FROM shop.orders o JOIN shop.order_lines l ON l.order_id = o.id
 WHERE o.customer = :customer;
