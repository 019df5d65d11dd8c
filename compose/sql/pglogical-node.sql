-- pglogical replication, the node half (engine: pglogical). The server
-- must load pglogical (shared_preload_libraries = 'pglogical').
-- Variables: node (this node's name), dsn (how its peer reaches it).
CREATE EXTENSION IF NOT EXISTS pglogical;
SELECT pglogical.create_node(node_name := :'node', dsn := :'dsn');

-- pglogical replicates only the tables in a replication set, and DDL is
-- not replicated. Every table outside the system schemas (public's and
-- those of a scenario's schema: file) that exists now joins a set: those
-- with a primary key 'default' (inserts, updates, deletes), the others
-- 'default_insert_only'.
SELECT pglogical.replication_set_add_table(
           CASE WHEN EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
                THEN 'default' ELSE 'default_insert_only' END,
           c.oid, synchronize_data := false)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pglogical') AND n.nspname NOT LIKE 'pg\_%'
   AND c.relkind IN ('r', 'p')
   AND NOT EXISTS (SELECT 1 FROM pglogical.replication_set_table t WHERE t.set_reloid = c.oid);

-- Tables created later (the workloads', a tutorial user's) join the same
-- way as they are created, as FOR ALL TABLES does for a native
-- publication. Create each table on both nodes before writing to it.
CREATE OR REPLACE FUNCTION pgchaos_pglogical_add_table() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    cmd record;
BEGIN
    FOR cmd IN SELECT * FROM pg_event_trigger_ddl_commands()
               WHERE command_tag IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO')
                 AND object_type = 'table'
                 AND schema_name NOT IN ('pg_catalog', 'information_schema', 'pglogical') AND schema_name NOT LIKE 'pg\_%'
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pglogical.replication_set_table t WHERE t.set_reloid = cmd.objid) THEN
            PERFORM pglogical.replication_set_add_table(
                CASE WHEN EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = cmd.objid AND i.indisprimary)
                     THEN 'default' ELSE 'default_insert_only' END,
                cmd.objid, synchronize_data := false);
        END IF;
    END LOOP;
END
$$;
DROP EVENT TRIGGER IF EXISTS pgchaos_pglogical_add_table;
CREATE EVENT TRIGGER pgchaos_pglogical_add_table ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO')
    EXECUTE FUNCTION pgchaos_pglogical_add_table();
