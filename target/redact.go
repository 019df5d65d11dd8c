package target

import (
	"net"
	"net/url"
	"strings"
)

// redacted stands for a secret in everything pgchaos shows.
const redacted = "***"

// secretKeys are the connection parameters that hold secrets.
var secretKeys = map[string]bool{"password": true, "sslpassword": true}

// RedactConnString returns a libpq connection string (URI or key=value)
// with its secrets replaced by "***". A string it cannot parse is not shown
// at all: its boundaries are ambiguous, so any part of it might be a
// password.
func RedactConnString(s string) string {
	if isURI(s) {
		u, err := url.Parse(s)
		if err != nil {
			return "(connection string hidden: it does not parse)"
		}
		if u.User != nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), redacted)
			}
		}
		q := u.Query()
		changed := false
		for k := range q {
			if secretKeys[k] {
				q.Set(k, redacted)
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
		// url.URL.String escapes "*" in userinfo; put the marker back.
		return strings.ReplaceAll(u.String(), "%2A%2A%2A", redacted)
	}
	kvs, err := parseKeywordValue(s)
	if err != nil {
		return "(connection string hidden: it does not parse)"
	}
	parts := make([]string, len(kvs))
	for i, kv := range kvs {
		v := kv.val
		if secretKeys[kv.key] {
			v = redacted
		}
		parts[i] = kv.key + "=" + quoteValue(v)
	}
	return strings.Join(parts, " ")
}

func isURI(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Addresses returns the host:port pairs a libpq connection string points
// at (several for a multi-host string), the default port being 5432. A
// Unix-socket host (a path) is returned as is. It reads no environment: it
// names what the string itself says, for matching a subscription's
// conninfo to a node.
func Addresses(conninfo string) ([]string, error) {
	var hosts, ports string
	if isURI(conninfo) {
		u, err := url.Parse(conninfo)
		if err != nil {
			return nil, errUnparsable
		}
		// A multi-host URI (postgres://a:1,b:2/db) keeps its list in Host.
		var hs, ps []string
		for _, hp := range strings.Split(u.Host, ",") {
			if hp == "" {
				continue
			}
			h, p, err := net.SplitHostPort(hp)
			if err != nil {
				h, p = strings.Trim(hp, "[]"), ""
			}
			hs, ps = append(hs, h), append(ps, p)
		}
		if h := u.Query().Get("host"); h != "" {
			hs = strings.Split(h, ",")
		}
		if p := u.Query().Get("port"); p != "" {
			ps = strings.Split(p, ",")
		}
		hosts, ports = strings.Join(hs, ","), strings.Join(ps, ",")
	} else {
		kvs, err := parseKeywordValue(conninfo)
		if err != nil {
			return nil, err
		}
		for _, kv := range kvs {
			switch kv.key {
			case "host", "hostaddr":
				if kv.key == "host" || hosts == "" {
					hosts = kv.val
				}
			case "port":
				ports = kv.val
			}
		}
	}
	if hosts == "" {
		hosts = "localhost"
	}
	hs, ps := strings.Split(hosts, ","), strings.Split(ports, ",")
	out := make([]string, 0, len(hs))
	for i, h := range hs {
		p := ""
		switch {
		case len(ps) == len(hs):
			p = ps[i]
		case len(ps) == 1:
			p = ps[0]
		}
		if p == "" {
			p = "5432"
		}
		if strings.HasPrefix(h, "/") {
			out = append(out, h)
			continue
		}
		out = append(out, net.JoinHostPort(h, p))
	}
	return out, nil
}

type keyValue struct{ key, val string }

type parseError string

func (e parseError) Error() string { return string(e) }

const errUnparsable = parseError("connection string does not parse")

// parseKeywordValue splits a libpq key=value connection string: values may
// be single-quoted, with \' and \\ escaped, and spaces may surround "=".
func parseKeywordValue(s string) ([]keyValue, error) {
	var out []keyValue
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
	}
	for {
		skip()
		if i >= len(s) {
			return out, nil
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		key := s[start:i]
		skip()
		if key == "" || i >= len(s) || s[i] != '=' {
			return nil, errUnparsable
		}
		i++
		skip()
		var val strings.Builder
		if i < len(s) && s[i] == '\'' {
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					val.WriteByte(s[i+1])
					i += 2
					continue
				}
				if c == '\'' {
					i++
					closed = true
					break
				}
				val.WriteByte(c)
				i++
			}
			if !closed {
				return nil, errUnparsable
			}
		} else {
			for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				val.WriteByte(s[i])
				i++
			}
		}
		out = append(out, keyValue{key: key, val: val.String()})
	}
}

// quoteValue quotes a value the way libpq reads it back.
func quoteValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n\r'\\") {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// scrubSecret replaces secret where it stands as a password in s: after
// "password=" (quoted or not) and between ":" and "@" of a URI's userinfo.
// Replacing every occurrence would also blank a user or database that
// happens to share the password's text, and with it the message's sense.
func scrubSecret(s, secret string) string {
	if secret == "" {
		return s
	}
	for _, pat := range []string{"password=" + secret, "password='" + secret + "'", ":" + secret + "@"} {
		repl := strings.Replace(pat, secret, redacted, 1)
		s = strings.ReplaceAll(s, pat, repl)
	}
	return s
}
