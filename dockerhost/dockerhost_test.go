package dockerhost

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestSSHArgsCarryUserAndPortOnlyWhenGiven(t *testing.T) {
	tail := []string{"--", "docker", "system", "dial-stdio"}
	for _, c := range []struct {
		host string
		want []string // after the -o options
	}{
		{"ssh://west", append([]string{"west"}, tail...)},
		{"ssh://ops@west", append([]string{"-l", "ops", "west"}, tail...)},
		{"ssh://ops@west:2222", append([]string{"-p", "2222", "-l", "ops", "west"}, tail...)},
		{"ssh://west:22", append([]string{"-p", "22", "west"}, tail...)},
		{"ssh://root@127.0.0.1:40022/", append([]string{"-p", "40022", "-l", "root", "127.0.0.1"}, tail...)},
		{"ssh://ops@[::1]:2200", append([]string{"-p", "2200", "-l", "ops", "::1"}, tail...)},
	} {
		e, err := Parse(c.host)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.host, err)
			continue
		}
		args := e.SSHArgs()
		if !slices.Equal(args[:4], []string{"-o", "BatchMode=yes", "-o", "ConnectTimeout=10"}) {
			t.Errorf("%s: args start %q, want BatchMode and a connect timeout first", c.host, args)
		}
		if got := args[4:]; !slices.Equal(got, c.want) {
			t.Errorf("%s: args %q, want %q", c.host, got, c.want)
		}
	}
}

func TestParseRefusesWhatItCannotDialWithoutQuotingIt(t *testing.T) {
	for _, c := range []struct{ host, want string }{
		{"ssh://ops:s3cret@west", "password"},
		{"ssh://west:99999", "port"},
		{"ssh://west:abc", "ssh://"},
		{"ssh://-oProxyCommand=x", "'-'"},
		{"ssh://ops@west/path", "nothing else"},
		{"ssh://", "DOCKER_HOST"},
		{"tcp://west", "HOST:PORT"},
		{"unix://relative.sock", "absolute"},
		{"npipe:////./pipe/docker_engine", "unix://, tcp:// or ssh://"},
		{"west:2375", "DOCKER_HOST"},
	} {
		_, err := Parse(c.host)
		if err == nil {
			t.Errorf("Parse(%q) = nil error, want one saying %q", c.host, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %q, want it to say %q", c.host, err, c.want)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Parse(%q) quotes the password: %q", c.host, err)
		}
	}
	for _, ok := range []string{"", "unix:///var/run/docker.sock", "tcp://127.0.0.1:2375", "ssh://ops@west"} {
		if _, err := Parse(ok); err != nil {
			t.Errorf("Parse(%q): %v", ok, err)
		}
	}
}

func TestKeyMakesTheLocalEngineOne(t *testing.T) {
	t.Setenv("DOCKER_HOST", "")
	if Key("") != Key("unix:///var/run/docker.sock") {
		t.Errorf("Key(\"\") = %q, Key(default socket) = %q: the same engine twice", Key(""), Key("unix:///var/run/docker.sock"))
	}
	if Key("tcp://127.0.0.1:2375") == Key("") {
		t.Error("a tcp engine has the local engine's key")
	}
}

// fakeSSH puts an ssh on PATH that prints stderr and exits with code, as
// the real one does when it fails before the remote command runs.
func fakeSSH(t *testing.T, stderr string, code int) {
	dir := t.TempDir()
	script := "#!/bin/sh\necho '" + stderr + "' >&2\nexit " + strconv.Itoa(code) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
}

func TestSSHFailuresSayWhatWentWrong(t *testing.T) {
	for _, c := range []struct {
		name, stderr string
		code         int
		want         string
	}{
		{"auth", "root@127.0.0.1: Permission denied (publickey,password).", 255, "authentication refused"},
		{"hostkey", "Host key verification failed.", 255, "host key is not known"},
		{"connect", "ssh: connect to host west port 22: Connection refused", 255, "Connection refused"},
		{"no docker", "sh: 1: docker: not found", 127, "no docker CLI"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fakeSSH(t, c.stderr, c.code)
			_, err := Client(context.Background(), "ssh://ops@west")
			if err == nil {
				t.Fatal("Client succeeded through an ssh that fails")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "ssh://ops@west") {
				t.Errorf("error %q, want it to name the engine and say %q", err, c.want)
			}
		})
	}
	t.Run("no ssh", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		_, err := Client(context.Background(), "ssh://ops@west")
		if err == nil || !strings.Contains(err.Error(), "need the ssh client") {
			t.Errorf("error %v, want it to say ssh is missing", err)
		}
	})
}
