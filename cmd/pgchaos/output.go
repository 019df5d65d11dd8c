package main

import (
	"encoding/json"
	"io"
)

// writeJSON writes v as indented JSON: the --format json output of the lab
// commands (reports have their own, reports.JSON).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
