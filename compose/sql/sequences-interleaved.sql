-- Interleaved ids: with n nodes, primary i hands out i, i+n, i+2n … (two
-- nodes: primary1 1, 3, 5 …, primary2 2, 4, 6 …).
-- Variables: node_index (i), node_count (n).
ALTER SEQUENCE test_table_id_seq INCREMENT BY :node_count RESTART WITH :node_index;
