package target

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An ssh:// engine is dialled by preflight; when ssh fails the container
// is unknown with ssh's reason, and the container faults say so.
func TestPreflightSaysWhyAnSSHEngineWasNotReached(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\necho 'ops@west: Permission denied (publickey).' >&2\nexit 255\n"
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	cf := DockerChecker{NetTools: "pgchaos-local/nettools:2"}.Check(context.Background(), "ssh://ops@west:2222", "pg-west")
	if cf.State != ContainerUnknown || !strings.Contains(cf.Reason, "authentication refused") || !strings.Contains(cf.Reason, "ssh://ops@west:2222") {
		t.Errorf("container facts %+v: want unknown, naming the engine and the refused authentication", cf)
	}
	if cf.NetToolsState != "" {
		t.Errorf("nettools %q on an engine not reached: want not asked", cf.NetToolsState)
	}
	why := cannot("stop", NodeFacts{Name: "west", Reached: true, Container: cf}, Facts{})
	if !strings.Contains(why, "could not be checked") || !strings.Contains(why, "authentication refused") {
		t.Errorf("stop on west: %q, want the ssh reason", why)
	}
}
