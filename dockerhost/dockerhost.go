// Package dockerhost connects to a Docker engine named as DOCKER_HOST
// names one: the local engine (""), unix://PATH, tcp://HOST:PORT, or
// ssh://[USER@]HOST[:PORT]. The Docker Go client dials unix and tcp itself;
// for ssh it is given a dialer that runs
//
//	ssh -o BatchMode=yes [-p PORT] [-l USER] HOST -- docker system dial-stdio
//
// and speaks HTTP over that process's stdin and stdout, as the docker CLI
// does. The ssh client's own configuration (~/.ssh/config, keys, agent,
// known_hosts) decides everything else; BatchMode keeps it from ever asking
// for a password or a host key on the terminal.
package dockerhost

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/client"
)

// Engine is one parsed docker_host.
type Engine struct {
	// Host is the docker_host as given ("" for the local engine).
	Host string
	// Scheme is "unix", "tcp" or "ssh"; "" for the local engine.
	Scheme string
	// For ssh: the user ("" = ssh's default), host and port (0 = ssh's default).
	User, SSHHost string
	Port          int
}

// Parse reads a docker_host. It refuses what DOCKER_HOST does not take,
// and an ssh:// URL that holds a password (use a key or an agent): the
// error never quotes the value, which might hold one.
func Parse(host string) (Engine, error) {
	if host == "" {
		return Engine{}, nil
	}
	scheme, rest, ok := strings.Cut(host, "://")
	if !ok || rest == "" {
		return Engine{}, errors.New("use unix://PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes")
	}
	e := Engine{Host: host, Scheme: scheme}
	switch scheme {
	case "unix":
		if !strings.HasPrefix(rest, "/") {
			return Engine{}, errors.New("unix:// takes an absolute socket path, e.g. unix:///var/run/docker.sock")
		}
	case "tcp":
		u, err := url.Parse(host)
		if err != nil || u.Hostname() == "" || u.Port() == "" {
			return Engine{}, errors.New("tcp:// takes HOST:PORT, e.g. tcp://docker-west:2375")
		}
	case "ssh":
		u, err := url.Parse(host)
		if err != nil {
			return Engine{}, errors.New("ssh:// takes [USER@]HOST[:PORT], e.g. ssh://ops@west or ssh://ops@west:2222")
		}
		if _, has := u.User.Password(); has {
			return Engine{}, errors.New("ssh:// holds a password: use an SSH key or agent instead")
		}
		if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return Engine{}, errors.New("ssh:// takes [USER@]HOST[:PORT] and nothing else, e.g. ssh://ops@west:2222")
		}
		if strings.HasPrefix(u.Hostname(), "-") || strings.HasPrefix(u.User.Username(), "-") {
			return Engine{}, errors.New("ssh:// host and user may not start with '-'")
		}
		e.SSHHost, e.User = u.Hostname(), u.User.Username()
		if p := u.Port(); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				return Engine{}, errors.New("ssh:// port must be 1 to 65535")
			}
			e.Port = n
		}
	default:
		return Engine{}, fmt.Errorf("%s:// is not an engine address pgchaos dials: use unix://, tcp:// or ssh://", scheme)
	}
	return e, nil
}

// Key names the engine for telling engines apart: the same key, the same
// engine, one client. The local engine is what DOCKER_HOST says, else
// Docker's default socket, so "" and unix:///var/run/docker.sock are one.
func Key(host string) string {
	if host == "" {
		host = os.Getenv(client.EnvOverrideHost)
	}
	if host == "" {
		host = client.DefaultDockerHost
	}
	return host
}

// String shows the engine as messages name it: the docker_host, or "the
// local Docker engine".
func (e Engine) String() string {
	if e.Host == "" {
		return "the local Docker engine"
	}
	return e.Host
}

// SSHArgs is the ssh command line (without "ssh") that opens a connection
// to the engine's API: BatchMode so ssh never prompts, then the port and
// user when the URL gives them, the host, and the remote command after
// "--" so nothing in it is read as an ssh option.
func (e Engine) SSHArgs() []string {
	args := []string{"-o", "BatchMode=yes", "-o", "ConnectTimeout=10"}
	if e.Port != 0 {
		args = append(args, "-p", strconv.Itoa(e.Port))
	}
	if e.User != "" {
		args = append(args, "-l", e.User)
	}
	return append(args, e.SSHHost, "--", "docker", "system", "dial-stdio")
}

// Client connects to the engine named by host ("" = the local one, as
// DOCKER_HOST and friends say), negotiates the API version and checks it
// answers. The error says which engine did not, and why.
func Client(ctx context.Context, host string) (*client.Client, error) {
	e, err := Parse(host)
	if err != nil {
		return nil, fmt.Errorf("docker_host: %w", err)
	}
	return e.Client(ctx)
}

// Client connects to e (see the package Client).
func (e Engine) Client(ctx context.Context) (*client.Client, error) {
	opts := []client.Opt{client.WithAPIVersionNegotiation()}
	switch e.Scheme {
	case "":
		opts = append(opts, client.FromEnv)
	case "ssh":
		// The host only names the HTTP requests; the dialer decides where
		// they go.
		opts = append(opts, client.WithHost("http://docker.invalid"), client.WithDialContext(e.dialSSH))
	default:
		opts = append(opts, client.FromEnv, client.WithHost(e.Host))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", e, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx); err != nil {
		cli.Close()
		return nil, e.unreachable(err)
	}
	cli.NegotiateAPIVersion(ctx)
	return cli, nil
}

// unreachable words a failed ping: the ssh dialer's errors already say
// what went wrong on the way; others get the usual hints.
func (e Engine) unreachable(err error) error {
	var se *SSHError
	if errors.As(err, &se) {
		return fmt.Errorf("cannot reach the Docker engine at %s: %w", e, se)
	}
	hint := "is the daemon running there, and may this user use it?"
	if e.Scheme == "" {
		hint += " (set DOCKER_HOST to use another engine)"
	}
	return fmt.Errorf("cannot reach the Docker engine at %s (%v): %s", e, err, hint)
}
