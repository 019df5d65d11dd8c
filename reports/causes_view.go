package reports

import "fmt"

// hasCauses reports whether any listed divergent row has a cause: the
// views add their cause columns only then, so a report made before causes
// (or by a run that sought none) renders as it always did.
func hasCauses(d *Divergence) bool {
	for _, t := range d.Tables {
		for _, r := range t.Rows {
			if r.Cause != "" {
				return true
			}
		}
	}
	return false
}

// unexplainedLine says how many listed rows have no cause, and whether
// that is a finding (any at all); empty when no cause was sought.
func unexplainedLine(d *Divergence) (string, bool) {
	if d.Unexplained == nil {
		return "", false
	}
	return fmt.Sprintf("unexplained divergent rows: %d", *d.Unexplained), *d.Unexplained > 0
}

// causes prints the unexplained count and each shown row's evidence under
// the terminal's divergent rows table.
func (p *printer) causes(d *Divergence, details []string) {
	if line, _ := unexplainedLine(d); line != "" {
		p.printf("%s\n", line)
	}
	for _, c := range details {
		p.printf("  %s\n", c)
	}
}

// causeCells are a divergent row's cause and its evidence, for the page.
func causeCells(r DivergentRow) []htmlCell {
	css := ""
	if r.Cause == CauseUnexplained {
		css = "fail"
	}
	return []htmlCell{{Text: dash(r.Cause), CSS: css}, {Text: dash(r.CauseDetail)}}
}
