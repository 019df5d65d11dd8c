package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/internal/term"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/runner"
)

// The checks here run on flags and arguments before anything touches
// Docker or the disk, so a typo costs a second, not a soak. Each one
// answers with exit 2 and says what to do.

// noArgs refuses positional arguments to a command that takes none. A
// lab command (one with --name) is told how to name the lab: "pgchaos lab
// up demo" reads like naming it, and silently acting on the default lab
// instead would be the worst answer.
func noArgs(fs *pflag.FlagSet, cmd string) error {
	if fs.NArg() == 0 {
		return nil
	}
	quoted := make([]string, fs.NArg())
	for i, a := range fs.Args() {
		quoted[i] = strconv.Quote(a)
	}
	msg := fmt.Sprintf("%s takes no arguments, got %s", cmd, strings.Join(quoted, " "))
	if fs.Lookup("name") != nil && fs.NArg() == 1 {
		msg += fmt.Sprintf(": to name the lab, pass --name %s", term.Escape(fs.Arg(0)))
	}
	return exitcode.BadInputErr(errors.New(msg))
}

// checkLabName refuses a lab name Docker objects cannot carry, before a
// lab command looks for it: a bad name would otherwise read as "no lab".
func checkLabName(flag, name string) error {
	if err := lab.CheckName(name); err != nil {
		return exitcode.BadInputErr(fmt.Errorf("--%s: %w", flag, err))
	}
	return nil
}

// checkListen refuses a --listen that is not an IP address of this
// machine; Docker would otherwise fail to publish the ports with a message
// that reads like "port in use".
func checkListen(addr string) error {
	ip := net.ParseIP(addr)
	if ip == nil {
		return exitcode.BadInputErr(fmt.Errorf("--listen %q is not an IP address: use 127.0.0.1 (the default), 0.0.0.0 for every interface, or one of this machine's addresses", term.Escape(addr)))
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return exitcode.BadInputErr(fmt.Errorf("--listen %s is not an address of this machine (%v): use 127.0.0.1 (the default), 0.0.0.0, or an address \"ip addr\" lists", addr, err))
	}
	ln.Close()
	return nil
}

// checkPorts refuses a port flag outside 1..65535; 0 used to mean "the
// default" without saying so.
func checkPorts(fs *pflag.FlagSet, names ...string) error {
	for _, n := range names {
		p, err := fs.GetInt(n)
		if err != nil {
			return err
		}
		if p < 1 || p > 65535 {
			return exitcode.BadInputErr(fmt.Errorf("--%s %d is out of range: use a port from 1 to 65535 (default %s)", n, p, fs.Lookup(n).DefValue))
		}
	}
	return nil
}

// notNegative refuses a negative duration flag.
func notNegative(flag string, d time.Duration) error {
	if d < 0 {
		return exitcode.BadInputErr(fmt.Errorf("--%s %s is negative: give how long to wait, e.g. --%s 90s", flag, d, flag))
	}
	return nil
}

// checkWritable makes sure a report file can be written at path before a
// run starts, without leaving anything behind: path is either an existing
// regular file it may open for writing, or a new file in a directory that
// exists (or whose nearest existing ancestor is a directory) where a probe
// file can be created and removed.
func checkWritable(flag, path string) error {
	bad := func(format string, args ...any) error {
		return exitcode.BadInputErr(fmt.Errorf("--%s %s: %s", flag, term.Escape(path), fmt.Sprintf(format, args...)))
	}
	if fi, err := os.Stat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return bad("exists and is not a regular file: name a file to write")
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return bad("cannot be written (%v): fix its permissions or name another file", err)
		}
		return f.Close()
	}
	dir := filepath.Dir(path)
	for {
		fi, err := os.Stat(dir)
		if err == nil {
			if !fi.IsDir() {
				return bad("%s is not a directory: name a file in a directory", dir)
			}
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return bad("no part of its directory exists")
		}
		dir = parent
	}
	f, err := os.CreateTemp(dir, ".pgchaos-probe-*")
	if err != nil {
		return bad("cannot create a file in %s (%v): fix its permissions or name another place", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// checkRunFlags checks what run can check before it builds a lab: the
// lab's name, the wait, and that the extra report files can be written
// (otherwise a typo would end a whole soak with exit 3).
func checkRunFlags(opt runner.Options, junit, html string) error {
	var errs []error
	if opt.LabName != "" {
		errs = append(errs, checkLabName("lab", opt.LabName))
	}
	errs = append(errs, notNegative("converge-timeout", opt.ConvergeTimeout))
	if junit != "" {
		errs = append(errs, checkWritable("junit", junit))
	}
	if html != "" {
		errs = append(errs, checkWritable("html", html))
	}
	if err := errors.Join(errs...); err != nil {
		return exitcode.BadInputErr(err)
	}
	return nil
}

// missingDirs lists dir and each of its parents that does not exist yet,
// deepest first: what a run will create for its reports.
func missingDirs(dir string) []string {
	var out []string
	for {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			return out
		}
		out = append(out, dir)
		parent := filepath.Dir(dir)
		if parent == dir {
			return out
		}
		dir = parent
	}
}

// removeEmptyDirs removes dirs, deepest first, while they are empty: a run
// that failed before writing anything leaves no empty report directory
// behind. os.Remove refuses a directory that holds anything, so nothing
// written is lost.
func removeEmptyDirs(dirs []string) {
	for _, d := range dirs {
		if os.Remove(d) != nil {
			return
		}
	}
}

// printable escapes control characters in a progress or log line (see
// term.Escape): names and server messages in it must not act on the
// terminal.
func printable(s string) string { return term.Escape(s) }
