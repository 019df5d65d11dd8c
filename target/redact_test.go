package target

import (
	"slices"
	"strings"
	"testing"
)

func TestRedactConnString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"host=primary2 port=5432 user=postgres password=postgres dbname=postgres",
			"host=primary2 port=5432 user=postgres password=*** dbname=postgres"},
		{"host=a password='it''s' user=u", "(connection string hidden: it does not parse)"},
		{`host=a password='p w\'x' user=u`, "host=a password=*** user=u"},
		{"host = a  password = pw", "host=a password=***"},
		{"postgres://u:pw@h:5432/db?sslmode=disable", "postgres://u:***@h:5432/db?sslmode=disable"},
		{"postgresql://u@h/db?password=pw&sslpassword=x", "postgresql://u@h/db?password=***&sslpassword=***"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"host=a password='unterminated", "(connection string hidden: it does not parse)"},
		{"password", "(connection string hidden: it does not parse)"},
	}
	for _, c := range cases {
		if got := RedactConnString(c.in); got != c.want {
			t.Errorf("RedactConnString(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestAddresses(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"host=primary2 port=5432 user=postgres", []string{"primary2:5432"}},
		{"host=primary2 user=postgres", []string{"primary2:5432"}},
		{"host=a,b port=1,2", []string{"a:1", "b:2"}},
		{"hostaddr=10.0.0.1 port=6000", []string{"10.0.0.1:6000"}},
		{"postgres://u:pw@db-east:6000/app", []string{"db-east:6000"}},
		{"postgres://u@a:1,b:2/app", []string{"a:1", "b:2"}},
		{"postgres://u@[::1]/app", []string{"[::1]:5432"}},
		{"host=/var/run/postgresql", []string{"/var/run/postgresql"}},
		{"user=x", []string{"localhost:5432"}},
	}
	for _, c := range cases {
		got, err := Addresses(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Addresses(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestScrubHidesPasswordsButKeepsNames(t *testing.T) {
	tg, err := Parse("f.yaml", []byte("nodes:\n  - {name: a, dsn: 'postgres://postgres:postgres@h/postgres'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	in := "failed: postgres://postgres:postgres@h/postgres; conninfo host=h password=postgres; user=postgres database=postgres"
	got := tg.Scrub(in)
	if strings.Contains(got, ":postgres@") || strings.Contains(got, "password=postgres") {
		t.Errorf("Scrub left a password: %s", got)
	}
	if !strings.Contains(got, "user=postgres database=postgres") {
		t.Errorf("Scrub blanked names that share the password's text: %s", got)
	}
}
