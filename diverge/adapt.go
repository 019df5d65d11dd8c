package diverge

// How a chunk of the first pass's parts is compared. Hashing a part costs a
// read of its rows on each node, and a part that differs is then read again
// row by row; streaming reads every row once, key and hash, and merges the
// two nodes' rows in key order. Where few parts differ hashing skips most
// rows; where most differ, the second read is the one that counts and the
// hash pass is pure overhead. The parts are therefore taken in chunks, and
// each chunk's method follows the share of parts that differed in the one
// before it (bench/diverge measures both ends: identical tables against the
// floor, and 10 to 100,000 differing rows of 1M against the naive merge).
type method int

const (
	byHash method = iota // hash each part on both nodes, list the rows of those that differ
	byRows               // stream each node's key and row hash in key order and merge them
)

// String names the method in test failures.
func (m method) String() string {
	if m == byRows {
		return "rows"
	}
	return "hash"
}

// streamAbove is the share of a chunk's parts that, once differing, makes
// the chunk's rows streamed: a differing part costs its hash and then its
// rows, a streamed one its rows only, so past about half the hashes stop
// paying for themselves (bench/diverge, at 10 to 100,000 differing rows).
const streamAbove = 0.5

// chunkDivisor sets the first chunk to about 1/chunkDivisor of the parts:
// the most a wrong guess of the method can waste before it is corrected.
const chunkDivisor = 16

// firstChunk is the size, in parts, of the first chunk of a pass over
// total parts, and of the first chunk after a change of method.
func firstChunk(total int) int {
	return max(1, (total+chunkDivisor-1)/chunkDivisor)
}

// nextChunk decides the method and size of the next chunk from the last
// one, which used m on size parts of which dirty differed; total is the
// pass's parts. The method follows the share that differed. A method that
// stays hashing takes all the rest at once: a range beyond a small share
// of the table is read by a scan of the whole table whatever its bounds, so
// hashing it in pieces would read the table once a piece. Streaming reads
// in key order through the primary key's index, only the range, so its
// chunks just double. A change of method starts small again.
func nextChunk(m method, size, dirty, total int) (method, int) {
	next := nextMethod(dirty, size)
	switch {
	case next != m:
		return next, firstChunk(total)
	case next == byHash:
		return next, total
	default:
		return next, size * 2
	}
}

// nextMethod is the method for rows like those of parts parts of which
// dirty differed: streamed once at least streamAbove of them differ.
func nextMethod(dirty, parts int) method {
	if float64(dirty) >= streamAbove*float64(parts) {
		return byRows
	}
	return byHash
}
