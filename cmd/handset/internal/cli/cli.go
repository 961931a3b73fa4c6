// Package cli implements handset's subcommands. Each subcommand lives in its
// own file and registers itself in commands (init), so that subcommands can be
// added without touching this file.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
)

// Exit codes, fixed for every command (USERS.md §A.4).
const (
	ExitOK          = 0 // success
	ExitRunFailed   = 1 // the run's pass criteria failed, or sign-in/call failed
	ExitUsage       = 2 // usage or configuration error
	ExitEnvironment = 3 // environment: bind, DNS, TLS trust
)

// Env is what a subcommand gets: its output streams and the logger built from
// the global flags.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	Log    *slog.Logger
}

// Command is one subcommand.
type Command struct {
	Name    string // first word, e.g. "config"
	Summary string // one line for `handset help`
	// Run executes the command with the arguments after its name and returns
	// the exit code.
	Run func(ctx context.Context, env *Env, args []string) int
}

var commands = map[string]*Command{}

// register adds a subcommand; called from init functions of this package.
func register(c *Command) {
	if _, dup := commands[c.Name]; dup {
		panic("cli: duplicate command " + c.Name)
	}
	commands[c.Name] = c
}

// UsageError marks an error as a usage/config error (exit 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// EnvError marks an error as an environment error (exit 3).
type EnvError struct{ Err error }

func (e *EnvError) Error() string { return e.Err.Error() }
func (e *EnvError) Unwrap() error { return e.Err }

// ExitCode maps an error to the fixed exit codes.
func ExitCode(err error) int {
	var ue *UsageError
	var ee *EnvError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	case errors.As(err, &ee):
		return ExitEnvironment
	default:
		return ExitRunFailed
	}
}

// Main runs handset with args (without the program name).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("handset", flag.ContinueOnError)
	fs.SetOutput(stderr)
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	format := fs.String("log-format", "text", "log format: text or json")
	fs.Usage = func() { usage(stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	logger, err := NewLogger(stderr, *level, *format)
	if err != nil {
		fmt.Fprintln(stderr, "handset:", err)
		return ExitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] == "help" || rest[0] == "-h" || rest[0] == "--help" {
		usage(stdout)
		if len(rest) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	cmd, ok := commands[rest[0]]
	if !ok {
		fmt.Fprintf(stderr, "handset: unknown command %q (see `handset help`)\n", rest[0])
		return ExitUsage
	}
	env := &Env{Stdout: stdout, Stderr: stderr, Log: logger}
	return cmd.Run(ctx, env, rest[1:])
}

// NewLogger builds the process logger from --log-level and --log-format.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", format)
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: handset [--log-level L] [--log-format text|json] COMMAND [flags]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-18s %s\n", n, commands[n].Summary)
	}
	fmt.Fprintln(w, "\nexit codes: 0 success, 1 run criteria failed, 2 usage/config error, 3 environment")
}

// newFlagSet returns a flag set for a subcommand that reports errors to env.
func newFlagSet(env *Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("handset "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// fail prints err and returns its exit code.
func fail(env *Env, err error) int {
	fmt.Fprintln(env.Stderr, "handset:", err)
	return ExitCode(err)
}
