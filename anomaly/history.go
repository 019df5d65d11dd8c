package anomaly

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/goccy/go-json"
)

// Outcome is how a transaction ended, in Jepsen's terms.
type Outcome string

// Outcomes.
const (
	OK      Outcome = "ok"      // committed and acknowledged
	Fail    Outcome = "fail"    // certainly did not take effect (rolled back, refused)
	Unknown Outcome = "unknown" // the answer was lost: it may or may not have committed
)

// Func names a micro-operation.
type Func string

// Micro-operations of the two data models. Keys of the two models are
// separate name spaces: list key 3 and register 3 are different objects.
const (
	// Append appends Value to the list at Key (list-append).
	Append Func = "append"
	// ReadList reads the whole list at Key, in order, into List (list-append).
	ReadList Func = "read_list"
	// Write sets the register at Key to Value (rw-register).
	Write Func = "write"
	// ReadRegister reads the register at Key into Value, or Nil if it was
	// never written (rw-register).
	ReadRegister Func = "read_register"
)

// Op is one micro-operation of a transaction.
//
// Values written (appended or written) must be unique per key and model:
// that is what lets a read name the transaction it observed. Read results
// are only trusted in transactions whose outcome is OK; a failed or unknown
// transaction's reads are ignored.
//
// JSON: {"f":"append","key":3,"value":5}, {"f":"read_list","key":3,"list":[1,5]},
// {"f":"write","key":2,"value":7}, {"f":"read_register","key":2,"value":null}.
type Op struct {
	F     Func
	Key   int
	Value int64   // append, write: the value written; read_register: the value read, unless Nil
	Nil   bool    // read_register: the register held no value yet (JSON "value": null)
	List  []int64 // read_list: the list as read, in order (nil and empty are the same)
}

// MarshalJSON writes the op in its documented form.
func (o Op) MarshalJSON() ([]byte, error) {
	return o.appendJSON(make([]byte, 0, 48+8*len(o.List))), nil
}

func (o Op) appendJSON(b []byte) []byte {
	b = append(b, `{"f":`...)
	b = strconv.AppendQuote(b, string(o.F))
	b = append(b, `,"key":`...)
	b = strconv.AppendInt(b, int64(o.Key), 10)
	switch o.F {
	case ReadList:
		b = append(b, `,"list":[`...)
		for i, v := range o.List {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, v, 10)
		}
		b = append(b, ']')
	case ReadRegister:
		if o.Nil {
			b = append(b, `,"value":null`...)
		} else {
			b = append(b, `,"value":`...)
			b = strconv.AppendInt(b, o.Value, 10)
		}
	default:
		b = append(b, `,"value":`...)
		b = strconv.AppendInt(b, o.Value, 10)
	}
	return append(b, '}')
}

// UnmarshalJSON reads the documented form. A read_register without a
// value, or with "value": null, read the initial (never written) state.
func (o *Op) UnmarshalJSON(b []byte) error {
	var aux struct {
		F     Func    `json:"f"`
		Key   int     `json:"key"`
		Value *int64  `json:"value"`
		List  []int64 `json:"list"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*o = Op{F: aux.F, Key: aux.Key, List: aux.List}
	if aux.Value != nil {
		o.Value = *aux.Value
	} else if aux.F == ReadRegister {
		o.Nil = true
	}
	return nil
}

// Txn is one transaction of a history: one line of the history file.
//
// A process is the pair (Target, Worker): one client issuing transactions
// one after another. Start and End are the client's clock around the
// whole transaction (begin sent, commit answered).
//
// Final marks a read made after the run, once replication has converged
// (typically one transaction per node reading every key). Final reads are
// ordinary reads for the dependency graph, and are what lost appends are
// judged against.
type Txn struct {
	ID       int64     `json:"id"` // unique within the history; witnesses name transactions by it
	Worker   int       `json:"worker"`
	Target   string    `json:"target"`              // where the client sent it: primary1, haproxy, …
	ServedBy string    `json:"served_by,omitempty"` // the node that answered
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Outcome  Outcome   `json:"outcome"`
	Final    bool      `json:"final,omitempty"`
	Ops      []Op      `json:"ops"`
	// OpsElided is set only in witnesses: how many of the transaction's
	// ops were left out as irrelevant to the anomaly.
	OpsElided int `json:"ops_elided,omitempty"`
}

// ReadHistory reads a history written one JSON object per line (blank
// lines are skipped). It reports the line of the first malformed object.
func ReadHistory(r io.Reader) ([]Txn, error) {
	var h []Txn
	sc := bufio.NewScanner(r)
	// A final read of every key is one long line.
	sc.Buffer(make([]byte, 64<<10), 256<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var t Txn
		if err := json.Unmarshal(b, &t); err != nil {
			return nil, fmt.Errorf("anomaly history line %d: %w", line, err)
		}
		h = append(h, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("anomaly history line %d: %w", line+1, err)
	}
	return h, nil
}

// WriteHistory writes h one JSON object per line, the form ReadHistory reads.
func WriteHistory(w io.Writer, h []Txn) error {
	bw := bufio.NewWriter(w)
	for i := range h {
		b, err := json.Marshal(&h[i])
		if err != nil {
			return fmt.Errorf("anomaly history txn %d: %w", h[i].ID, err)
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// validate rejects histories the checker cannot interpret, saying which
// transaction and what to fix.
func validate(h []Txn) error {
	ids := make(map[int64]int, len(h))
	var errs []error
	for i := range h {
		t := &h[i]
		if j, dup := ids[t.ID]; dup {
			errs = append(errs, fmt.Errorf("txn id %d is used by lines %d and %d: ids must be unique", t.ID, j+1, i+1))
		}
		ids[t.ID] = i
		switch t.Outcome {
		case OK, Fail, Unknown:
		default:
			errs = append(errs, fmt.Errorf("txn %d: outcome %q is not ok, fail or unknown", t.ID, t.Outcome))
		}
		for _, o := range t.Ops {
			switch o.F {
			case Append, ReadList, Write, ReadRegister:
			default:
				errs = append(errs, fmt.Errorf("txn %d: op %q is not append, read_list, write or read_register", t.ID, o.F))
			}
		}
		if len(errs) >= 10 {
			break
		}
	}
	return errors.Join(errs...)
}
