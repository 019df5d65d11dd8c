package workload

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-json"
)

// Outcome is how an operation ended, in Jepsen's terms.
type Outcome string

// Outcomes.
const (
	OK      Outcome = "ok"      // acknowledged by the server
	Fail    Outcome = "fail"    // certainly did not take effect
	Unknown Outcome = "unknown" // the answer was lost after sending: it may or may not have committed
)

// Op is one operation of the history: one line of history.jsonl.
type Op struct {
	Workload string    `json:"workload"`            // the scenario's workload name
	Kind     string    `json:"kind"`                // insert, update-hot, bank, tutorial, sql, …
	Script   string    `json:"script,omitempty"`    // sql: the script run, as the scenario names it
	Worker   int       `json:"worker"`              // worker number within (workload, target), from 0
	Target   string    `json:"target"`              // primary1, primary2 or haproxy
	ServedBy string    `json:"served_by,omitempty"` // cluster_name of the node that answered (ok ops)
	Keys     []string  `json:"keys,omitempty"`      // the rows the op wrote or meant to write
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Outcome  Outcome   `json:"outcome"`
	SQLState string    `json:"sqlstate,omitempty"`
	Class    string    `json:"error_class,omitempty"` // see the Class* constants
	Error    string    `json:"error,omitempty"`       // the error's text, for people; never parsed
}

// Latency is how long the op took, end minus start.
func (o *Op) Latency() time.Duration { return o.End.Sub(o.Start) }

// appendJSON appends op as one JSON object (no newline). It is written by
// hand because the recorder sits on every worker's hot path and
// encoding/json costs several allocations per op; TestOpJSONRoundTrip pins
// it to what encoding/json reads back.
//
// tf formats the two times; nil uses a fresh one.
func (o *Op) appendJSON(b []byte, tf *timeFormat) []byte {
	if tf == nil {
		tf = new(timeFormat)
	}
	b = append(b, `{"workload":`...)
	b = appendString(b, o.Workload)
	b = append(b, `,"kind":`...)
	b = appendString(b, o.Kind)
	if o.Script != "" {
		b = append(b, `,"script":`...)
		b = appendString(b, o.Script)
	}
	b = append(b, `,"worker":`...)
	b = strconv.AppendInt(b, int64(o.Worker), 10)
	b = append(b, `,"target":`...)
	b = appendString(b, o.Target)
	if o.ServedBy != "" {
		b = append(b, `,"served_by":`...)
		b = appendString(b, o.ServedBy)
	}
	if len(o.Keys) > 0 {
		b = append(b, `,"keys":[`...)
		for i, k := range o.Keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
		}
		b = append(b, ']')
	}
	b = append(b, `,"start":"`...)
	b = tf.append(b, o.Start)
	b = append(b, `","end":"`...)
	b = tf.append(b, o.End)
	b = append(b, `","outcome":`...)
	b = appendString(b, string(o.Outcome))
	if o.SQLState != "" {
		b = append(b, `,"sqlstate":`...)
		b = appendString(b, o.SQLState)
	}
	if o.Class != "" {
		b = append(b, `,"error_class":`...)
		b = appendString(b, o.Class)
	}
	if o.Error != "" {
		b = append(b, `,"error":`...)
		b = appendString(b, o.Error)
	}
	return append(b, '}')
}

// timeFormat appends times as time.RFC3339Nano does, reusing the date,
// clock and zone of the previous time's second: ops come thousands a
// second, and formatting two full timestamps was a third of appending an
// op. A zone's offset changes only on a second boundary, so a second and a
// location fix everything but the fraction.
type timeFormat struct {
	sec    int64
	loc    *time.Location
	prefix []byte // 2006-01-02T15:04:05
	zone   []byte // Z07:00
}

func (f *timeFormat) append(b []byte, t time.Time) []byte {
	if f.prefix == nil || t.Unix() != f.sec || t.Location() != f.loc {
		f.sec, f.loc = t.Unix(), t.Location()
		f.prefix = t.AppendFormat(f.prefix[:0], "2006-01-02T15:04:05")
		f.zone = t.AppendFormat(f.zone[:0], "Z07:00")
	}
	b = append(b, f.prefix...)
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, f.zone...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does, so every line stays valid JSON.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// ReadHistory calls fn for every op of a history file, in file order, and
// stops at the first error fn returns. A last line cut short (a run that
// crashed mid-write) is ignored; a damaged line anywhere else is an error
// naming its line number.
//
// Lines are decoded with go-json, a drop-in for encoding/json (pinned to it
// by TestOpJSONRoundTrip), because the end-of-run analysis reads a history
// of millions of ops more than once and decoding is most of that time;
// BenchmarkReadHistory measures the cost a line.
func ReadHistory(path string, fn func(Op) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read history: %w", err)
	}
	defer f.Close()
	return readHistory(f, path, fn)
}

func readHistory(r io.Reader, name string, fn func(Op) error) error {
	br := bufio.NewReaderSize(r, 256<<10)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		complete := err == nil
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read history %s line %d: %w", name, line, err)
		}
		if len(bytes.TrimSpace(b)) > 0 {
			var op Op
			if uerr := json.Unmarshal(b, &op); uerr != nil {
				if !complete {
					return nil // the crashed run's last, partial line
				}
				return fmt.Errorf("read history %s line %d: not an operation (%v): the file is damaged", name, line, uerr)
			}
			if ferr := fn(op); ferr != nil {
				return ferr
			}
		}
		if !complete {
			return nil
		}
	}
}
