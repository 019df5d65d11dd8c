-- shop.sql: the schema of scenarios/sql-orders.yaml. The lab runs this
-- file on every node before it sets up replication, so these tables
-- replicate like the lab's own (a native publication FOR ALL TABLES; with
-- pglogical, a replication set).
CREATE SCHEMA shop;

-- uuid keys: orders placed on different nodes never collide.
CREATE TABLE shop.orders (
    id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    customer  int  NOT NULL,
    total     int  NOT NULL,
    placed_on text NOT NULL DEFAULT current_setting('cluster_name')
);
CREATE INDEX orders_customer ON shop.orders (customer);

CREATE TABLE shop.order_lines (
    order_id uuid NOT NULL REFERENCES shop.orders,
    line     int  NOT NULL,
    qty      int  NOT NULL CHECK (qty > 0),
    PRIMARY KEY (order_id, line)
);
