// Package anomaly checks a history of transactions for isolation
// anomalies, the way Jepsen's Elle does: it infers from the values
// transactions read and wrote which transaction must have come before
// which, and reports the cycles and impossible reads that no serializable
// execution could produce, each with a witness explained in plain words.
//
// # Histories
//
// A history is a list of Txn, one JSON object per line (ReadHistory,
// WriteHistory). Each transaction has a few micro-operations (Op) on a
// small key space, in one of two data models:
//
//   - list-append: append a unique integer to a key's list, or read a
//     key's whole list, in order;
//   - rw-register: write a unique integer to a register, or read it
//     (nil before any write).
//
// Each transaction records its target, the node that served it, its
// process (target, worker), start and end on the client's clock, and its
// outcome: ok (committed), fail (certainly did not happen) or unknown (may
// or may not have happened). Only ok transactions' reads are used; an
// unknown transaction's writes count once someone reads them. Final reads
// (Txn.Final), made on every node after replication converged, are
// ordinary reads plus the reference for lost appends.
//
// # Version orders
//
// List-append makes the order of versions visible: a list only grows at
// its end, so every read of a key must be a prefix of its longest read,
// which is taken as the key's version order.
//
// Register versions carry no history, so their order is known only where
// a committed transaction shows it: the initial nil precedes every write;
// a transaction that read v (or nil) and then wrote w to the same register
// puts v before w; one that wrote w1 then w2 puts w1 before w2. The order
// of two blind writes (no read of the register before them in their
// transaction) is not inferable, so no ww edge joins them and a write
// cycle made only of blind writes cannot be seen; clocks are not used to
// order versions, because asynchronous replication does not install them
// in realtime order. A read of nil gets an rw edge to every write with no
// other known predecessor, which is quadratic in the writes of one key:
// workloads should retire keys after a few dozen writes, as Elle's do.
//
// Appended and written values must be unique per key; Check rejects a
// history that reuses one, since a read could not name its writer.
//
// # Edges
//
//   - ww: T1 installed a version and T2 the next one of the same key;
//   - wr: T2 read the version T1 installed;
//   - rw: T1 read a version and T2 installed the next one (T1 did not
//     see T2's write, so in any serial order T1 came first);
//   - process: one process ran T1 then T2;
//   - realtime: T1 was acknowledged before T2 began (kept as a
//     transitive reduction, O(n × concurrency) edges).
//
// # Classes
//
// Direct evidence, without a cycle: G1a (a committed read saw a failed
// transaction's write), G1b (a read saw a state its writer overwrote
// within the same transaction), garbage-read (a value nobody wrote),
// duplicate-elements and incompatible-order (list reads that cannot come
// from one growing list), lost-append (an append that took effect, because
// it was acknowledged or because some read saw it, is missing from a final
// read of its key). Keys without final reads are not judged for lost
// appends: an append nobody read may simply have come after the last read.
//
// Cycles, following Adya's definitions: G0 (ww edges only), G1c (ww and
// wr, at least one wr), G-single (exactly one rw: read skew), G2-item (two
// or more rw: write skew). The strongly connected components of the graph
// (Tarjan, iterative) are searched one by one with a breadth-first search
// restricted to the component, starting from an edge of the kind the class
// needs, so each component yields its shortest cycle of the class found
// within a budget.
//
// Counts: a cycle class counts the components that hold such a cycle,
// each with its shortest found cycle as witness (the number of distinct
// cycles can be exponential); classes are searched independently, so one
// component can show several. A search that exhausts its budget
// (Options.SearchBudget) marks its class Incomplete and, if nothing else
// was found, makes the verdict "unknown" rather than "valid".
//
// A cycle that needs a process edge is reported as "<class>-process" and
// one that needs a realtime edge as "<class>-realtime". They are kept
// apart on purpose: asynchronous multi-primary replication lets a client
// commit on one node and then, on another, read a state that does not yet
// include its own or anyone's recent commits. That breaks realtime (and,
// through a load balancer, session) order without breaking per-node
// isolation, so the plain classes are the ones that say a node's
// transactions were not isolated, while the -process and -realtime classes
// measure how far from strict serializability the cluster is.
package anomaly
