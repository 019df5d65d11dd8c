-- pglogical replication, the subscription half: subscribe to the peer.
-- forward_origins := '{}' forwards only changes that originated on the
-- peer itself, so nothing loops back; no structure or data is copied (both
-- nodes start from the same, empty, schema).
-- Variables: subscription (e.g. sub_from_primary2), conninfo (the peer).
SELECT pglogical.create_subscription(
    subscription_name := :'subscription',
    provider_dsn := :'conninfo',
    replication_sets := ARRAY['default', 'default_insert_only'],
    synchronize_structure := false,
    synchronize_data := false,
    forward_origins := '{}');
