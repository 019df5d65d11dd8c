package inputfile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(dir, "small.yaml")
	os.WriteFile(small, []byte("duration: 1s\n"), 0o600)
	big := filepath.Join(dir, "big.yaml")
	os.WriteFile(big, make([]byte, 2048), 0o600)

	cases := []struct {
		name, path string
		want       string // "" means it is read
	}{
		{"regular", small, ""},
		{"named pipe with no writer", fifo, "is a named pipe, not a regular file"},
		{"directory", dir, "is a directory"},
		{"endless device", "/dev/zero", "is a character device"},
		{"missing", filepath.Join(dir, "nope"), "no such file or directory (check the path)"},
		{"over the cap", big, "2 KiB is larger than the 1 KiB a scenario may be"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			done := make(chan struct{})
			var b []byte
			var err error
			go func() { b, err = Read(c.path, "scenario", 1024); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Read blocked") // a guard against a hang, not a timing assertion
			}
			if c.want == "" {
				if err != nil || string(b) != "duration: 1s\n" {
					t.Fatalf("Read = %q, %v", b, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Read error = %v, want it to say %q", err, c.want)
			}
		})
	}
}
