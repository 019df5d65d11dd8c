-- The tutorial's table. Created on both primaries; its sequence is local to
-- each node (sequences are not replicated), so the ids collide unless a
-- sequences strategy spreads them (sequences-interleaved.sql).
CREATE TABLE IF NOT EXISTS test_table (
    id serial PRIMARY KEY,
    name text,
    created_at timestamptz DEFAULT now()
);
