package reports

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// The JUnit XML shape CI systems (GitLab, Jenkins, GitHub test reporters)
// read: testsuites > testsuite > testcase, a failure element per failed case.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnit writes r's assertions as JUnit XML: one testsuite named after the
// scenario, one testcase per assertion (classname "pgchaos.<scenario>"),
// a failure "expected <= 2s, got 3.1s" for each that failed. A run that
// asserted nothing is one passing testcase, "run completed", so CI still
// records that it ran. Evaluate must have run first.
func JUnit(w io.Writer, r *Report) error {
	if r == nil {
		return errors.New("write JUnit XML: no report (nil)")
	}
	class := "pgchaos." + r.Scenario.Name
	elapsed := r.EndedAt.Sub(r.StartedAt)
	if r.StartedAt.IsZero() || r.EndedAt.IsZero() || elapsed < 0 {
		elapsed = r.Scenario.Duration.D()
	}
	suite := junitSuite{
		Name: r.Scenario.Name,
		Time: seconds(elapsed),
		Properties: []junitProperty{
			{Name: "seed", Value: strconv.FormatInt(r.Scenario.Seed, 10)},
			{Name: "verdict", Value: r.Verdict},
			{Name: "interrupted", Value: strconv.FormatBool(r.Interrupted)},
		},
	}
	if r.Scenario.File != "" {
		suite.Properties = append(suite.Properties, junitProperty{Name: "file", Value: r.Scenario.File})
	}
	if !r.StartedAt.IsZero() {
		suite.Timestamp = r.StartedAt.UTC().Format("2006-01-02T15:04:05")
	}
	for _, a := range r.Assertions {
		c := junitCase{Name: a.Name, Classname: class, Time: "0"}
		if !a.Pass {
			msg := fmt.Sprintf("expected %s, got %s", a.Expected, a.Actual)
			c.Failure = &junitFailure{Message: msg, Type: "assertion", Text: a.Name + ": " + msg}
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, c)
	}
	if len(suite.Cases) == 0 {
		suite.Cases = []junitCase{{Name: "run completed", Classname: class, Time: seconds(elapsed)}}
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{
		Name: "pgchaos", Tests: suite.Tests, Failures: suite.Failures,
		Time: suite.Time, Suites: []junitSuite{suite},
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write JUnit XML: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write JUnit XML: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write JUnit XML: %w", err)
	}
	return nil
}

// seconds is JUnit's time attribute: seconds with millisecond decimals.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}
