-- Subscribe to the peer. origin = none keeps changes that came from this
-- node (or any other origin) from being sent back: no loop. copy_data =
-- false: both nodes start from the same (empty) schema.
-- Variables: subscription (e.g. sub_from_primary2), conninfo (the peer).
CREATE SUBSCRIPTION :"subscription"
    CONNECTION :'conninfo'
    PUBLICATION pgchaos_pub
    WITH (origin = none, copy_data = false);
