package scenario

import (
	"strings"
	"testing"
)

func TestAssertUnexplainedDivergenceParses(t *testing.T) {
	const head = "name: causes\nduration: 10s\nworkloads:\n  - kind: insert\n    targets: [primary1]\nassert:\n"
	sc, err := Parse("causes.yaml", []byte(head+"  unexplained_divergence: 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Assert.UnexplainedDivergence == nil || *sc.Assert.UnexplainedDivergence != 0 {
		t.Fatalf("unexplained_divergence = %v, want 0", sc.Assert.UnexplainedDivergence)
	}
	if p, ok := sc.Assert.Pos["unexplained_divergence"]; !ok || p.Line != 7 {
		t.Errorf("position %+v, want line 7", p)
	}
	_, err = Parse("causes.yaml", []byte(head+"  unexplained_divergence: -1\n"))
	if err == nil || !strings.Contains(err.Error(), "causes.yaml:7:27: assert.unexplained_divergence: -1 is too small") {
		t.Errorf("a negative threshold: %v", err)
	}
}
