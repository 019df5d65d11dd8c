// Package diverge compares the tables of two PostgreSQL nodes row by row
// and names every row missing on one node or different on the two, with
// each node's version of it and, where commit timestamps allow, which node
// wrote last. Hashes of primary-key ranges are computed inside PostgreSQL,
// so only ranges that differ travel to the client and its memory does not
// grow with the tables.
//
//	d, err := diverge.Diff(ctx, pool1, pool2, diverge.Options{})
package diverge
