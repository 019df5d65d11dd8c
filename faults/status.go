package faults

import (
	"fmt"

	"github.com/pgchaos/pgchaos/lab"
)

// InForce returns the faults lab l's ledger (in ledgerDir, "" for
// DefaultStateDir) holds unhealed, for lab.Status, and the ledger's path.
func InForce(l *lab.Lab, ledgerDir string) ([]lab.FaultInForce, string, error) {
	g, err := OpenLedger(l, WithStateDir(ledgerDir))
	if err != nil {
		return nil, "", err
	}
	var out []lab.FaultInForce
	for _, r := range g.Unhealed() {
		out = append(out, lab.FaultInForce{ID: r.ID, Kind: r.Kind, Target: r.Target, Params: r.Params, Name: r.Name,
			InjectedAt: r.InjectedAt, InjectError: r.InjectError, HealError: r.HealError})
	}
	return out, g.Path(), nil
}

// AddToStatus lists in st the faults lab l's ledger holds unhealed (see
// lab.Status.SetFaultsInForce); a ledger it cannot read becomes a warning.
func AddToStatus(st *lab.Status, l *lab.Lab, ledgerDir string) {
	fs, path, err := InForce(l, ledgerDir)
	if err != nil {
		st.Warnings = append(st.Warnings, fmt.Sprintf("cannot tell which faults are in force: %v", err))
		return
	}
	st.SetFaultsInForce(path, fs)
}
