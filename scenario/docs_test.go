package scenario

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/sqlscript"
)

// TestDocsStateTheLimits fails when a bound changes and docs/scenario.md
// still states the old one.
func TestDocsStateTheLimits(t *testing.T) {
	b, err := os.ReadFile("../docs/scenario.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, want := range []string{
		fmt.Sprintf("at most %d MiB", MaxFileSize>>20),
		fmt.Sprintf("1 to %d bytes", maxNameLen),
		"at most " + fmtDur(MaxDuration) + " (7 days)",
		fmt.Sprintf("1 to %d entries", maxWorkloads),
		fmt.Sprintf("1 to %d workers", maxConcurrency),
		fmt.Sprintf("at most %d/s", maxRate),
		fmt.Sprintf("up to %d", maxRows),
		fmt.Sprintf("at most %d entries", maxFaults),
		"at most " + fmtDur(maxNetemDelay) + " |",
		fmt.Sprintf("0 to %d", maxCount),
		fmt.Sprintf("At most %d problems", MaxErrors),
		fmt.Sprintf("| `variants` | 2 to %d entries, each a variant that parses, no two asking for the same lab; 1 to %d bytes each |", MaxVariants, maxVariantLen),
		fmt.Sprintf("`scripts` 1 to %d entries", maxScripts),
		fmt.Sprintf("| 1 to %d (default 1) |", maxWeight),
		fmt.Sprintf("at most %d MiB, a regular file; 1 to %d statements; each `\\sleep` at most %s", sqlscript.MaxFileSize>>20, sqlscript.MaxStatements, sqlscript.MaxSleep),
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/scenario.md does not say %q", want)
		}
	}
}
