package reports

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

// parsed mirrors the JUnit elements CI reads, decoded independently of the
// writer's own types.
type parsed struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Time     string `xml:"time,attr"`
		Props    []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func parseJUnit(t *testing.T, r *Report) parsed {
	t.Helper()
	var b bytes.Buffer
	if err := JUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "<?xml") {
		t.Errorf("no XML declaration: %.40q", b.String())
	}
	var p parsed
	if err := xml.Unmarshal(b.Bytes(), &p); err != nil {
		t.Fatalf("output is not valid XML: %v\n%s", err, b.String())
	}
	if len(p.Suites) != 1 {
		t.Fatalf("want 1 testsuite, got %d", len(p.Suites))
	}
	return p
}

func TestJUnitOneCasePerAssertionWithFailures(t *testing.T) {
	r := fixture()
	r.Scenario.Name = `split <"brain"> & co`
	p := parseJUnit(t, r)
	s := p.Suites[0]
	if s.Name != r.Scenario.Name {
		t.Errorf("suite name %q, want %q", s.Name, r.Scenario.Name)
	}
	if p.Tests != 3 || s.Tests != 3 || p.Failures != 2 || s.Failures != 2 {
		t.Errorf("counts: suites tests=%d failures=%d, suite tests=%d failures=%d; want 3/2", p.Tests, p.Failures, s.Tests, s.Failures)
	}
	if s.Time != "75.000" {
		t.Errorf("time %q, want 75.000 (ended - started)", s.Time)
	}
	wantCases := []struct{ name, msg string }{
		{"lag_p99", "expected <= 2s, got 3.1s (primary2->primary1)"},
		{"divergent_rows", "expected <= 0, got 27"},
		{"converged", ""},
	}
	if len(s.Cases) != len(wantCases) {
		t.Fatalf("%d testcases, want %d", len(s.Cases), len(wantCases))
	}
	for i, w := range wantCases {
		c := s.Cases[i]
		if c.Name != w.name || c.Classname != "pgchaos."+r.Scenario.Name {
			t.Errorf("case %d: name %q classname %q", i, c.Name, c.Classname)
		}
		switch {
		case w.msg == "" && c.Failure != nil:
			t.Errorf("case %s: unexpected failure %q", c.Name, c.Failure.Message)
		case w.msg != "" && (c.Failure == nil || c.Failure.Message != w.msg):
			t.Errorf("case %s: failure %+v, want message %q", c.Name, c.Failure, w.msg)
		}
	}
	props := map[string]string{}
	for _, pr := range s.Props {
		props[pr.Name] = pr.Value
	}
	if props["seed"] != "42" || props["verdict"] != "fail" {
		t.Errorf("properties %v: want seed 42, verdict fail", props)
	}
}

func TestJUnitWithoutAssertionsIsOnePassingCase(t *testing.T) {
	r := &Report{Scenario: Scenario{Name: "smoke", Duration: Duration(90 * time.Second)}, Verdict: VerdictNone}
	p := parseJUnit(t, r)
	s := p.Suites[0]
	if s.Tests != 1 || s.Failures != 0 || len(s.Cases) != 1 {
		t.Fatalf("want one passing case, got tests=%d failures=%d cases=%d", s.Tests, s.Failures, len(s.Cases))
	}
	if c := s.Cases[0]; c.Name != "run completed" || c.Failure != nil || c.Classname != "pgchaos.smoke" {
		t.Errorf("case %+v", c)
	}
	if s.Time != "90.000" {
		t.Errorf("time %q: without start/end the scenario duration stands in", s.Time)
	}
}
