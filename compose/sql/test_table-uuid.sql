-- The tutorial's table with uuid keys: ids never collide across nodes.
CREATE TABLE IF NOT EXISTS test_table (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text,
    created_at timestamptz DEFAULT now()
);
