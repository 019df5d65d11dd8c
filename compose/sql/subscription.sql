-- Subscribe to a peer. origin = none keeps changes that came from this
-- node (or any other origin) from being sent back: no loop, and in a full
-- mesh each change arrives once, straight from the node that made it.
-- copy_data = false: every node starts from the same (empty) schema.
-- Variables: subscription (e.g. sub_from_primary2), conninfo (the peer),
-- slot (the slot on the peer: the subscription's name with two nodes;
-- with more, several nodes subscribe to one peer and each slot also names
-- its subscriber, e.g. sub_from_primary2_to_primary3).
CREATE SUBSCRIPTION :"subscription"
    CONNECTION :'conninfo'
    PUBLICATION pgchaos_pub
    WITH (origin = none, copy_data = false, slot_name = :'slot');
