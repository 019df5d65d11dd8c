package scenario

import (
	"errors"
	"fmt"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/pgchaos/pgchaos/internal/inputfile"
	"github.com/pgchaos/pgchaos/sqlscript"
)

// Script is one script of a sql workload.
type Script struct {
	File   string            // as the scenario wrote it: the name in the history and report
	Path   string            // where it was read: File relative to the scenario file's directory
	Weight int               // weight: its share of the executions (default 1)
	Parsed *sqlscript.Script // the statements, checked at validate time
	Pos    Pos
}

// Bounds of a sql workload; docs/scenario.md states them.
const (
	// maxScripts bounds scripts: of one workload.
	maxScripts = 32
	// maxWeight bounds a script's weight:; 1000 to 1 is as lopsided as a
	// useful mix gets.
	maxWeight = 1000
	// maxPathLen bounds a script's path, in bytes.
	maxPathLen = 4096
)

var (
	// sqlWorkloadKeys are the keys a sql workload takes.
	sqlWorkloadKeys = []string{"name", "kind", "targets", "concurrency", "rate", "script", "scripts"}
	scriptKeys      = []string{"file", "weight"}
)

// peekKind is the kind: a workload mapping names, or "" when it names
// none as a plain value; it decides which keys the mapping takes.
func peekKind(n *yaml.Node) string {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := deref(n.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.Value == "kind" {
			if v := deref(n.Content[i+1]); v != nil && v.Kind == yaml.ScalarNode {
				return v.Value
			}
			return ""
		}
	}
	return ""
}

// withoutScriptKeys reports script: and scripts: on a workload that is not
// of kind sql and returns n without them, so the message says which kind
// takes them instead of calling them unknown.
func (r *reader) withoutScriptKeys(n *yaml.Node, where, kind string) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode || kind == "" {
		return n
	}
	var keep []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := deref(n.Content[i])
		if k != nil && k.Kind == yaml.ScalarNode && (k.Value == "script" || k.Value == "scripts") {
			r.errorf(k, "%s: %s is not used by a %s workload (only by kind: %s): remove it", where, k.Value, kind, KindSQL)
			continue
		}
		keep = append(keep, n.Content[i], n.Content[i+1])
	}
	if len(keep) == len(n.Content) {
		return n
	}
	c := *n
	c.Content = keep
	return &c
}

// sqlScripts reads script: or scripts: of a sql workload and parses each
// script, relative to the scenario file's directory.
func (r *reader) sqlScripts(w *Workload, f map[string]field, n *yaml.Node, where string) {
	one, hasOne := f["script"]
	many, hasMany := f["scripts"]
	switch {
	case hasOne && hasMany:
		r.errorf(many.key, "%s: give script: (one file) or scripts: (several with weights), not both", where)
		return
	case hasOne:
		if file, ok := r.str(one.val, where+".script", maxPathLen); ok {
			w.Scripts = append(w.Scripts, r.script(file, 1, one.val, where+".script"))
		}
		return
	case !hasMany:
		r.errorf(n, "%s: a sql workload needs script: FILE, or scripts: [{file: FILE, weight: N}, …]", where)
		return
	}
	items, ok := r.list(many.val, where+".scripts", "[{file: new-order.sql, weight: 3}, {file: payment.sql}]", maxScripts)
	if !ok {
		return
	}
	if len(items) == 0 {
		r.errorf(many.val, "%s.scripts is empty: name at least one script", where)
		return
	}
	seen := map[string]int{}
	for j, it := range items {
		what := fmt.Sprintf("%s.scripts[%d]", where, j)
		file, weight, ok := "", int64(1), false
		if it != nil && it.Kind == yaml.ScalarNode {
			file, ok = r.str(it, what, maxPathLen)
		} else {
			sf, isMap := r.mapping(it, what, "in "+what, scriptKeys)
			if !isMap {
				continue
			}
			fv, has := sf["file"]
			if !has {
				r.errorf(it, "%s: file is required: the script's path, relative to the scenario file", what)
				continue
			}
			file, ok = r.str(fv.val, what+".file", maxPathLen)
			if wv, has := sf["weight"]; has {
				var wok bool
				if weight, wok = r.integer(wv.val, what+".weight", 1, maxWeight); !wok {
					ok = false
				}
			}
		}
		if !ok {
			continue
		}
		if k, dup := seen[file]; dup {
			r.errorf(it, "%s: %s is already %s.scripts[%d]: list a script once and give it the weight you want", what, file, where, k)
			continue
		}
		seen[file] = j
		w.Scripts = append(w.Scripts, r.script(file, int(weight), it, what))
	}
}

// script reads and parses one script file. A problem inside the script is
// reported at its own file:line; one reading it, at the scenario's line.
func (r *reader) script(file string, weight int, n *yaml.Node, what string) Script {
	path := file
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(r.file), file)
	}
	s := Script{File: file, Path: path, Weight: weight, Pos: posOf(n)}
	data, err := inputfile.Read(path, "sql script", sqlscript.MaxFileSize)
	if err != nil {
		r.errorf(n, "%s: %v", what, err)
		return s
	}
	parsed, err := sqlscript.Parse(path, data)
	var es sqlscript.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			r.errIn(e.File, e.Line, posOf(n), e.Msg)
		}
		return s
	}
	s.Parsed = parsed
	return s
}
