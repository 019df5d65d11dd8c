package reports

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The helpers here turn the model's numbers into text. They format only: a
// view never computes a figure the model does not hold.

// sig formats v with three significant digits and drops trailing zeros, so
// 2.10 reads "2.1" and 124.0 reads "124": enough to compare at a glance
// without pretending to a precision the sampling does not have.
func sig(v float64) string {
	if v == 0 {
		return "0"
	}
	digits := 3 - int(math.Floor(math.Log10(math.Abs(v)))) - 1
	if digits < 0 {
		digits = 0
	}
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// HumanDuration formats d for a person: "850 µs", "1.24 ms", "2.1 s",
// "2m5.2s", with three significant digits below a minute.
func HumanDuration(d time.Duration) string { return humanDuration(d, " ") }

// compactDuration is HumanDuration without the space ("2.1s"), the way a
// scenario file writes thresholds; assertions use it so expected and actual
// read alike.
func compactDuration(d time.Duration) string { return humanDuration(d, "") }

func humanDuration(d time.Duration, sep string) string {
	neg := ""
	if d < 0 {
		neg, d = "-", -d
	}
	switch {
	case d == 0:
		return "0" + sep + "s"
	case d < time.Microsecond:
		return neg + strconv.FormatInt(int64(d), 10) + sep + "ns"
	case d < time.Millisecond:
		return neg + roundUnit(d, time.Microsecond, time.Millisecond, sep, "µs", "ms")
	case d < time.Second:
		return neg + roundUnit(d, time.Millisecond, time.Second, sep, "ms", "s")
	case d < time.Minute:
		s := sig(d.Seconds())
		if s == "60" {
			return neg + "1m0s"
		}
		return neg + s + sep + "s"
	default:
		return neg + d.Round(100*time.Millisecond).String()
	}
}

// roundUnit formats d in unit, moving to the next unit when rounding to
// three digits reaches it (999.7 ms is "1 s", not "1000 ms").
func roundUnit(d, unit, next time.Duration, sep, name, nextName string) string {
	s := sig(float64(d) / float64(unit))
	if s == "1000" {
		return "1" + sep + nextName
	}
	return s + sep + name
}

// HumanBytes formats a byte count in binary units: "512 B", "1.5 KiB",
// "73 MiB", three significant digits.
func HumanBytes(n int64) string {
	neg := ""
	if n < 0 {
		neg, n = "-", -n
	}
	if n < 1024 {
		return neg + strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / 1024
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	s := sig(v)
	if s == "1024" && i < len(units)-1 { // 1023.9 rounds up into the next unit
		return neg + "1 " + units[i+1]
	}
	return neg + s + " " + units[i]
}

// offset formats a time since the start of the workloads as "+12.5s",
// to the millisecond, trailing zeros dropped: fault times are planned to
// the millisecond and shown as planned.
func offset(d time.Duration) string {
	s := strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return "+" + s + "s"
}

// ms formats a latency in milliseconds for a column headed "ms": three
// significant digits, so 0.412 and 1240 both fit.
func ms(d Duration) string {
	return sig(float64(d.D()) / float64(time.Millisecond))
}

// count formats an integer count.
func count(n int64) string { return strconv.FormatInt(n, 10) }

// rate formats operations per second with one decimal.
func rate(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// quoteIdent quotes a PostgreSQL identifier when it needs it, so a hint the
// user pastes into psql names the subscription exactly.
func quoteIdent(s string) string {
	plain := s != ""
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c == '_':
		case (c >= '0' && c <= '9') || c == '$':
			if i == 0 {
				plain = false
			}
		default:
			plain = false
		}
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// skipHint is the statement that makes a stalled subscription skip the
// remote transaction it keeps failing on.
func skipHint(sub, lsn string) string {
	return fmt.Sprintf("ALTER SUBSCRIPTION %s SKIP (lsn = '%s');", quoteIdent(sub), strings.ReplaceAll(lsn, "'", "''"))
}

// clientText is the run's client setup in one line:
// "GOMAXPROCS 2 (Go's default), go1.26.8".
func clientText(c *Client) string {
	src := c.Source
	switch c.Source {
	case ClientDefault:
		src = "Go's default"
	case ClientFlag:
		src = "--client-cpus"
	case ClientEnv:
		src = "GOMAXPROCS env"
	}
	s := fmt.Sprintf("GOMAXPROCS %d (%s)", c.GOMAXPROCS, dash(src))
	if c.GoVersion != "" {
		s += ", " + c.GoVersion
	}
	return s
}
