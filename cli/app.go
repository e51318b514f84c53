package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/sbx-dev/sbx/run"
	"github.com/sbx-dev/sbx/userns"
)

// UsageError is a mistake in how a command was called; main exits with status 125 for it
// in `run` and 1 elsewhere, like docker.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usageError(c *ucli.Context, msg string) error {
	return &UsageError{Msg: fmt.Sprintf("%q %s; see 'sbx %s --help'", c.Command.FullName(), msg, c.Command.FullName())}
}

// NewApp builds the sbx command line.
//
// args is the command line the app is to run: a foreground `sbx run` starts its
// container's init from it at once (see prestart), and a `sbx run` that quickRun reads
// runs without urfave. done ends whatever the app did not take over; the caller calls it
// once the app has run.
//
// In the lite program (see lite.go), a command it does not run itself is handed over to the
// full program here: NewApp does not return then, unless that fails (err).
func NewApp(o Options, args []string) (app *App, done func(), err error) {
	e := &env{opts: o, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	// What a foreground `sbx run` is to start, read off the line once (see prestart).
	guess, foreground := guessRun(args, runValueFlags())
	if foreground {
		run.ReleaseMainThread()
	}
	// serves only reads files: a holder the constructor started is finished after it,
	// before anything starts a process (see userns.CompleteHolder).
	serves := e.serves(args)
	userns.CompleteHolder()
	if !serves {
		return nil, nil, e.handover(args)
	}
	if foreground {
		e.early = e.prestart(guess)
	}
	done = func() { e.early.Discard() }
	if q, debug, ok := quickRun(args); ok {
		return &App{quick: func(ctx context.Context) error {
			if debug {
				e.setDebug()
			}
			defer e.close() // as the app's After
			return e.run(ctx, q)
		}}, done, nil
	}
	// docker's -h is run's --hostname; help is --help only. urfave keeps this flag in a
	// package variable, so it is set here, once, before the app is built.
	ucli.HelpFlag = &ucli.BoolFlag{Name: "help", Usage: "show help"}
	u := &ucli.App{
		Name:                   "sbx",
		Usage:                  "rootless, daemonless containers and sandboxes",
		Version:                o.Version,
		Reader:                 o.Stdin,
		Writer:                 o.Stdout,
		ErrWriter:              o.Stderr,
		UseShortOptionHandling: true,
		HideHelpCommand:        true,
		// docker never splits -e, --change or -v values at commas.
		DisableSliceFlagSeparator: true,
		Suggest:                   true,
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "debug", Usage: "log what sbx does to standard error"},
		},
		Before: func(c *ucli.Context) error {
			if c.Bool("debug") {
				e.setDebug()
			}
			return nil
		},
		After: func(c *ucli.Context) error {
			e.close()
			return nil
		},
		OnUsageError: func(c *ucli.Context, err error, isSubcommand bool) error {
			return &UsageError{Msg: fmt.Sprintf("%v; see 'sbx --help'", err)}
		},
		// urfave would print and os.Exit on its own; main does both, once.
		ExitErrHandler: func(c *ucli.Context, err error) {},
	}
	if only := singleCommand(e, args); only != nil {
		// Building every command, with all their flags, costs a start of a container
		// about as much as reading its command line: build the one the line names.
		u.Commands = []*ucli.Command{only}
	} else {
		u.Commands = append(u.Commands, imageCommands(e)...)
		u.Commands = append(u.Commands, buildCommand(e), builderCommand(e))
		u.Commands = append(u.Commands, runCommand(e), createCommand(e), startCommand(e), psCommand(e),
			stopCommand(e), killCommand(e), rmCommand(e), waitCommand(e), logsCommand(e), inspectCommand(e),
			execCommand(e), superviseCommand(e), finishCommand(e), volumeCommand(e), networkCommand(e), portCommand(e),
			kubeCommand(e), pauseCommand())
		u.Commands = append(u.Commands, infoCommand(e), versionCommand(e), systemCommand(e))
	}
	// A program without the layer store has no image commands (see lite.go).
	u.Commands = slices.DeleteFunc(u.Commands, func(c *ucli.Command) bool { return c == nil })
	for _, c := range u.Commands {
		setUsageErrors(c)
	}
	u.Action = func(c *ucli.Context) error {
		if c.NArg() > 0 {
			return &UsageError{Msg: fmt.Sprintf("%q is not an sbx command; see 'sbx --help'", c.Args().First())}
		}
		return ucli.ShowAppHelp(c)
	}
	return &App{App: u}, done, nil
}

// App is the sbx command line: urfave's app, or, for a `sbx run` command line that
// quickRun reads, the run itself.
type App struct {
	*ucli.App
	quick func(ctx context.Context) error
}

// RunContext runs the command line the app was made for; args must be that line. A flag
// given in two of its forms (-e and --env) is read as docker reads it (see oneFormEach).
func (a *App) RunContext(ctx context.Context, args []string) error {
	if a.quick != nil {
		return a.quick(ctx)
	}
	return a.App.RunContext(ctx, oneFormEachIn(a.App.Commands, args))
}

// setDebug is --debug: sbx and the programs it starts log what they do to standard error.
func (e *env) setDebug() {
	e.debug = true
	e.logger = slog.New(slog.NewTextHandler(e.opts.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// singleCommand builds the container command that args name, or returns nil for any other
// command line (another command, help, a flag of sbx's own but --debug): those get the
// whole app, whose help lists every command.
func singleCommand(e *env, args []string) *ucli.Command {
	i := 1
	if i < len(args) && args[i] == "--debug" {
		i++
	}
	if i >= len(args) {
		return nil
	}
	build, ok := map[string]func(*env) *ucli.Command{
		"run": runCommand, "create": createCommand, "start": startCommand, "ps": psCommand,
		"stop": stopCommand, "kill": killCommand, "rm": rmCommand, "wait": waitCommand,
		"logs": logsCommand, "exec": execCommand, "port": portCommand,
		"__supervise": superviseCommand, "__finish": finishCommand,
	}[args[i]]
	if !ok {
		return nil
	}
	return build(e)
}

// setUsageErrors makes a bad flag a one-line error naming the command, instead of urfave's
// "Incorrect Usage" plus the whole help text. A command without subcommands also loses
// urfave's "help" (and "h") subcommand: its arguments are images and containers, and
// `sbx run h` or `sbx rm help` would otherwise print help instead of doing what they say.
func setUsageErrors(c *ucli.Command) {
	if len(c.Subcommands) == 0 {
		c.HideHelpCommand = true
	}
	c.OnUsageError = func(ctx *ucli.Context, err error, isSubcommand bool) error {
		return &UsageError{Msg: fmt.Sprintf("%s: %v; see 'sbx %s --help'", ctx.Command.FullName(), err, ctx.Command.FullName())}
	}
	for _, s := range c.Subcommands {
		setUsageErrors(s)
	}
	if len(c.Subcommands) > 0 && c.Action == nil {
		c.Action = func(ctx *ucli.Context) error {
			if ctx.NArg() > 0 {
				return &UsageError{Msg: fmt.Sprintf("%q is not an 'sbx %s' command; see 'sbx %s --help'", ctx.Args().First(), c.Name, c.Name)}
			}
			return ucli.ShowSubcommandHelp(ctx)
		}
	}
}

// IsUsage reports whether err is a calling mistake.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// OneLine flattens an error for the user: the first line only, nothing of Go's internals.
func OneLine(err error) string {
	s := strings.TrimSpace(err.Error())
	s = strings.ReplaceAll(s, "\n", "; ")
	return s
}
