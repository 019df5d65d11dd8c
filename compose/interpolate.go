package compose

import (
	"fmt"
	"strings"
)

// Interpolate substitutes psql-style variables in sql, so the same files run
// under psql (setup-replication.sh) and under pgchaos: :'name' becomes a
// quoted literal, :"name" a quoted identifier, :name the raw value. Text in
// single-quoted literals and -- comments is left alone, as psql does, and
// so is a :name that vars does not define (e.g. a :: cast).
func Interpolate(sql string, vars map[string]string) (string, error) {
	var b strings.Builder
	b.Grow(len(sql))
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			end := strings.IndexByte(sql[i:], '\n')
			if end < 0 {
				end = len(sql) - i
			}
			b.WriteString(sql[i : i+end])
			i += end
		case c == '\'':
			end := i + 1
			for end < len(sql) && sql[end] != '\'' {
				end++
			}
			b.WriteString(sql[i:min(end+1, len(sql))])
			i = end + 1
		case c == ':' && i+1 < len(sql) && sql[i+1] == ':':
			b.WriteString("::")
			i += 2
		case c == ':' && i+1 < len(sql) && (sql[i+1] == '\'' || sql[i+1] == '"'):
			q := sql[i+1]
			end := strings.IndexByte(sql[i+2:], q)
			if end < 0 {
				return "", fmt.Errorf("unterminated variable reference at offset %d", i)
			}
			name := sql[i+2 : i+2+end]
			v, ok := vars[name]
			if !ok {
				return "", fmt.Errorf("variable %q is not set", name)
			}
			if q == '\'' {
				b.WriteString("'" + strings.ReplaceAll(v, "'", "''") + "'")
			} else {
				b.WriteString(`"` + strings.ReplaceAll(v, `"`, `""`) + `"`)
			}
			i += end + 3
		case c == ':' && i+1 < len(sql) && isNameByte(sql[i+1]):
			end := i + 1
			for end < len(sql) && isNameByte(sql[end]) {
				end++
			}
			if v, ok := vars[sql[i+1:end]]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(sql[i:end])
			}
			i = end
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
