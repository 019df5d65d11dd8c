// Command pgchaos builds a lab of two PostgreSQL primaries replicating to
// each other behind HAProxy, runs write workloads and faults against it, and
// reports what replication did: lag, divergence, conflicts, failover cost.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/internal/term"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// command is one subcommand: its one-line summary, its usage text with
// examples, and what it does.
type command struct {
	summary string
	usage   string
	run     func(ctx context.Context, env *env, usage string, args []string) error
}

// env is what a command may touch: its output streams.
type env struct {
	stdout, stderr io.Writer
}

func commands() map[string]command {
	return map[string]command{
		"lab up":       labUpCmd,
		"lab down":     labDownCmd,
		"lab status":   labStatusCmd,
		"lab list":     labListCmd,
		"lab diff":     labDiffCmd,
		"lab heal":     labHealCmd,
		"validate":     validateCmd,
		"run":          runCmd,
		"compare":      compareCmd,
		"report show":  reportShowCmd,
		"target check": targetCheckCmd,
		"target setup": targetSetupCmd,
		"target clean": targetCleanCmd,
		"target heal":  targetHealCmd,
		"version": {summary: "print the version", usage: "pgchaos version", run: func(_ context.Context, e *env, usage string, args []string) error {
			fs := flags(e, "version", usage)
			if err := parse(fs, args); err != nil {
				return err
			}
			if err := noArgs(fs, "version"); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "pgchaos", version)
			return nil
		}},
	}
}

const mainUsage = `pgchaos — chaos and conflict testing for PostgreSQL primary-primary replication

Usage:
  pgchaos <command> [flags]

Commands:
%s
Exit codes: 0 pass, 1 an assertion failed, 2 bad input, 3 lab or infrastructure
error, 130 interrupted (after healing every fault).

Run "pgchaos <command> --help" for a command's flags and examples.
`

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

func runMain(args []string, stdout, stderr io.Writer) int {
	return runCommands(commands(), args, stdout, stderr)
}

// runCommands runs the command args name, out of cmds, and returns its exit code.
func runCommands(cmds map[string]command, args []string, stdout, stderr io.Writer) (code int) {
	// A panic is a bug in pgchaos, not bad input: exit 3, not the 2 a Go
	// crash would give, and ask for a report with the stack.
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "pgchaos: internal error: %v: please report it at https://github.com/pgchaos/pgchaos/issues with this output\n%s", r, debug.Stack())
			code = exitcode.Infra
		}
	}()
	e := &env{stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(stdout, mainUsage, listCommands(cmds))
		return exitcode.OK
	}
	name, rest, ok := pick(cmds, args)
	if !ok {
		if group := groupOf(cmds, args[0]); group != nil {
			// "pgchaos lab", "pgchaos target --help": the group's commands.
			if len(args) > 1 && (args[1] == "-h" || args[1] == "--help" || args[1] == "help") {
				fmt.Fprintf(stdout, "Commands of pgchaos %s (each has --help with examples):\n%s", args[0], listCommands(group))
				return exitcode.OK
			}
			what := "name one of its commands"
			if len(args) > 1 {
				what = fmt.Sprintf("unknown command %q", args[0]+" "+args[1])
			}
			fmt.Fprintf(stderr, "pgchaos %s: %s:\n%s", args[0], what, listCommands(group))
			return exitcode.BadInput
		}
		fmt.Fprintf(stderr, "pgchaos: unknown command %q\n\n"+mainUsage, strings.Join(args[:min(2, len(args))], " "), listCommands(cmds))
		return exitcode.BadInput
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := cmds[name].run(ctx, e, cmds[name].usage, rest)
	if err == nil {
		return exitcode.OK
	}
	if errors.Is(err, pflag.ErrHelp) {
		return exitcode.OK
	}
	code = exitcode.Of(err)
	if ctx.Err() != nil {
		// Ctrl-C or SIGTERM ended the command, whatever its error says
		// (a Docker call cut short reads as an infrastructure error).
		code = exitcode.Interrupted
	}
	if code == exitcode.Interrupted {
		fmt.Fprintln(stderr, "pgchaos: interrupted")
	} else if code != exitcode.Failed || !errors.Is(err, errSilent) {
		// Errors carry their own context ("lab up: port 5442 …").
		fmt.Fprintf(stderr, "pgchaos: %v\n", err)
	}
	return code
}

// errSilent marks an error whose message was already shown (a failed
// verdict printed in the report).
var errSilent = errors.New("already reported")

// pick finds the longest command name that args start with ("lab up" before "lab").
func pick(cmds map[string]command, args []string) (string, []string, bool) {
	if len(args) >= 2 {
		if _, ok := cmds[args[0]+" "+args[1]]; ok {
			return args[0] + " " + args[1], args[2:], true
		}
	}
	if _, ok := cmds[args[0]]; ok {
		return args[0], args[1:], true
	}
	return "", nil, false
}

// groupOf is the commands named "word …" (lab, target, report), nil when
// word starts none.
func groupOf(cmds map[string]command, word string) map[string]command {
	var out map[string]command
	for n, c := range cmds {
		if strings.HasPrefix(n, word+" ") {
			if out == nil {
				out = map[string]command{}
			}
			out[n] = c
		}
	}
	return out
}

func listCommands(cmds map[string]command) string {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "  %-14s %s\n", n, cmds[n].summary)
	}
	return b.String()
}

// flags makes a FlagSet for a command whose --help prints its usage.
func flags(e *env, name, usage string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "%s\n\nFlags:\n%s", strings.TrimSpace(usage), fs.FlagUsages())
	}
	return fs
}

// parse parses flags; a bad flag is bad input (exit 2).
func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return exitcode.BadInputErr(err)
	}
	return nil
}

// oneOf checks an enumerated flag's value; a bad one is bad input (exit 2)
// and the message lists what is allowed: --format "xml": use table or json.
func oneOf(flag, value string, allowed ...string) error {
	if slices.Contains(allowed, value) {
		return nil
	}
	list := allowed[0]
	if n := len(allowed); n > 1 {
		list = strings.Join(allowed[:n-1], ", ") + " or " + allowed[n-1]
	}
	return exitcode.BadInputErr(fmt.Errorf("--%s %q: use %s", flag, value, list))
}

// logf returns a progress logger writing to stderr.
func logf(e *env) func(string, ...any) {
	return func(format string, args ...any) {
		fmt.Fprintln(e.stderr, "pgchaos: "+term.Escape(fmt.Sprintf(format, args...)))
	}
}
