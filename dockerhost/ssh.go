package dockerhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// SSHError is why an ssh:// engine could not be reached: ssh missing here,
// the connection or authentication refused, or no docker CLI on the remote
// host. Its text is ssh's own diagnostics (which name no secrets: BatchMode
// never reads a password) and what to do.
type SSHError struct {
	Engine string // the docker_host
	Msg    string
}

func (e *SSHError) Error() string { return e.Msg }

// dialSSH starts one ssh process per connection the HTTP client opens;
// closing the connection ends the process.
func (e Engine) dialSSH(ctx context.Context, _, _ string) (net.Conn, error) {
	path, err := exec.LookPath("ssh")
	if err != nil {
		return nil, &SSHError{Engine: e.Host, Msg: "ssh:// engines need the ssh client (OpenSSH) on this machine's PATH, and it is not there (Debian: apt-get install openssh-client)"}
	}
	// The process outlives the dial's context: it is the connection, and
	// ends when the HTTP client closes it.
	cmd := exec.Command(path, e.SSHArgs()...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &sshConn{engine: e, cmd: cmd, stdin: stdin, stdout: stdout, exited: make(chan struct{})}
	cmd.Stderr = &c.stderr
	if err := cmd.Start(); err != nil {
		return nil, &SSHError{Engine: e.Host, Msg: "start ssh: " + err.Error()}
	}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// sshConn is the ssh process's stdin and stdout as a net.Conn. Deadlines
// are not supported (the HTTP client uses contexts and closes the
// connection instead).
type sshConn struct {
	engine  Engine
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stdout  io.ReadCloser
	stderr  limitedBuffer
	exited  chan struct{}
	waitErr error
	once    sync.Once
}

func (c *sshConn) Read(p []byte) (int, error) {
	n, err := c.stdout.Read(p)
	if err != nil && n == 0 {
		return 0, c.why(err)
	}
	return n, err
}

func (c *sshConn) Write(p []byte) (int, error) {
	n, err := c.stdin.Write(p)
	if err != nil {
		return n, c.why(err)
	}
	return n, nil
}

// why turns an end of the stream into ssh's reason when the process has
// ended with a failure; a clean end stays io.EOF.
func (c *sshConn) why(err error) error {
	select {
	case <-c.exited:
	case <-time.After(2 * time.Second):
		return err
	}
	if c.waitErr == nil {
		return err
	}
	return &SSHError{Engine: c.engine.Host, Msg: sshFailure(c.engine, c.waitErr, c.stderr.String())}
}

// sshFailure explains a failed ssh process from its exit status and
// stderr: 255 is ssh's own failure (connect, host key, authentication),
// 127 a remote command not found.
func sshFailure(e Engine, waitErr error, stderr string) string {
	stderr = strings.TrimSpace(stderr)
	code := -1
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		code = ee.ExitCode()
	}
	dest := e.SSHHost
	if e.User != "" {
		dest = e.User + "@" + dest
	}
	said := ""
	if stderr != "" {
		said = ": ssh said: " + stderr
	}
	switch {
	case code == 255 && strings.Contains(stderr, "Permission denied"):
		return fmt.Sprintf("ssh to %s: authentication refused%s (pgchaos runs ssh with BatchMode=yes: load a key into ssh-agent or name one in ~/.ssh/config; a password is never asked)", dest, said)
	case code == 255 && strings.Contains(stderr, "Host key verification failed"):
		return fmt.Sprintf("ssh to %s: the host key is not known%s (connect once with `ssh %s` to check and accept it)", dest, said, dest)
	case code == 255:
		return fmt.Sprintf("ssh to %s failed%s", dest, said)
	case code == 127 || strings.Contains(stderr, "command not found") || strings.Contains(stderr, "not found"):
		return fmt.Sprintf("ssh to %s worked, but the remote host has no docker CLI to run `docker system dial-stdio`%s (install the docker CLI there, on the user's PATH)", dest, said)
	}
	return fmt.Sprintf("ssh to %s: `docker system dial-stdio` ended (%v)%s (may %s use the Docker engine there?)", dest, waitErr, said, dest)
}

func (c *sshConn) Close() error {
	c.once.Do(func() {
		c.stdin.Close()
		select {
		case <-c.exited:
		case <-time.After(time.Second):
			c.cmd.Process.Kill()
			<-c.exited
		}
	})
	return nil
}

func (c *sshConn) LocalAddr() net.Addr                { return sshAddr("local") }
func (c *sshConn) RemoteAddr() net.Addr               { return sshAddr(c.engine.Host) }
func (c *sshConn) SetDeadline(t time.Time) error      { return nil }
func (c *sshConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *sshConn) SetWriteDeadline(t time.Time) error { return nil }

type sshAddr string

func (a sshAddr) Network() string { return "ssh" }
func (a sshAddr) String() string  { return string(a) }

// limitedBuffer keeps the first 4 KiB written to it: enough for ssh's
// diagnostics, bounded whatever the remote side prints.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 4096 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
