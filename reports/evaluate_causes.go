package reports

import "fmt"

// unexplainedDivergence checks the divergent rows nothing the run saw
// accounts for (Cause CauseUnexplained). Causes are sought for the listed
// rows only: when rows were left out of the list and the listed ones are
// within the threshold, the rest are not measured, so the assertion fails
// rather than pass rows nobody examined.
func unexplainedDivergence(r *Report, max int64) Assertion {
	as := atMost("unexplained_divergence", max)
	d := r.Divergence
	switch {
	case d == nil:
		as.notMeasured("no divergence check")
		return as.Assertion
	case d.Unexplained == nil:
		as.notMeasured("no cause was sought for the divergent rows")
		return as.Assertion
	}
	var listed int64
	for _, t := range d.Tables {
		listed += int64(len(t.Rows))
	}
	as.check(*d.Unexplained)
	if rest := d.DivergentRows - listed; rest > 0 && as.Pass {
		as.notMeasured(fmt.Sprintf("%d divergent rows beyond the %d listed have no cause", rest, listed))
	} else if rest > 0 {
		as.Actual += fmt.Sprintf(" (of %d listed rows; %d more not examined)", listed, rest)
	}
	return as.Assertion
}
