package compose

import (
	"strings"
	"testing"
)

func TestInterpolateSubstitutesLikePsql(t *testing.T) {
	vars := map[string]string{"n": "2", "sub": `sub"x`, "conninfo": "host=a password='p'"}
	cases := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"raw", "RESTART WITH :n;", "RESTART WITH 2;", false},
		{"identifier quoted", `CREATE SUBSCRIPTION :"sub"`, `CREATE SUBSCRIPTION "sub""x"`, false},
		{"literal quoted", "CONNECTION :'conninfo'", "CONNECTION 'host=a password=''p'''", false},
		{"cast untouched", "SELECT 1::int", "SELECT 1::int", false},
		{"unknown raw left", "a[1:m]", "a[1:m]", false},
		{"inside literal untouched", "SELECT ':n'", "SELECT ':n'", false},
		{"inside comment untouched", "-- uses :n\nSELECT :n", "-- uses :n\nSELECT 2", false},
		{"unset quoted is an error", "SELECT :'missing'", "", true},
		{"unterminated is an error", "SELECT :'n", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Interpolate(c.in, vars)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, c.wantErr)
			}
			if !c.wantErr && got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestEmbeddedSQLInterpolates(t *testing.T) {
	for name, sql := range map[string]string{
		"sequences":    SequencesInterleaved,
		"subscription": Subscription,
	} {
		out, err := Interpolate(sql, map[string]string{"node_index": "1", "node_count": "3", "subscription": "s", "conninfo": "host=x", "slot": "s"})
		if strings.Contains(out, ":node_count") || strings.Contains(out, ":'slot'") {
			t.Fatalf("%s: a variable is left: %s", name, out)
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out == sql {
			t.Fatalf("%s: nothing substituted", name)
		}
	}
}
