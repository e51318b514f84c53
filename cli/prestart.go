package cli

import (
	"strings"
	"sync"

	"github.com/sbx-dev/sbx/run"
	"github.com/sbx-dev/sbx/userns"
	"github.com/sbx-dev/sbx/userns/nsenter"
)

// prestart starts the init of the container a foreground `sbx run` is about to create
// before its command line is even parsed: the init's new namespaces and its program's
// start then overlap building the app, the parse and the creation, instead of only the
// creation (run.Runtime.StartEarly). o is what guessRun read off the command line (NewApp
// reads it once); the run action keeps the init only when the parsed options say the same
// (run.EarlyInit.Suits), and a wrong guess costs an init started and killed, never a
// wrong container. It returns nil when there is nothing to start.
func (e *env) prestart(o run.CreateOptions) *run.EarlyInit {
	// Only inside the holder already (the constructor joined it): a command that still
	// has to enter re-executes sbx, which no init started here would survive.
	if !userns.Inside() {
		return nil
	}
	// run will catch these first thing; they are enabled while the init starts.
	e.caught = run.StartCatchingSignals()
	if err := e.resolve(); err != nil {
		return nil // the action reports it
	}
	rt := &run.Runtime{InitDir: e.programDir()}
	return rt.StartEarly(o, o.OpenStdin && e.opts.Stdin != nil, false)
}

// runValueFlags is the set of run's flags that take a value (see scanRun), made once: a
// run reads its command line with it twice (lite.go's serves, then prestart).
var runValueFlags = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, f := range nsenter.RunValueFlags() {
		m[f] = true
	}
	return m
})

// runArgs is what scanRun reads off a `sbx run` command line.
type runArgs struct {
	cmd    string            // run or create
	o      run.CreateOptions // Tty, OpenStdin, Init, Network, Userns, Rootfs and Image
	detach bool
}

// guessRun reads what a container's init depends on from the command line of a foreground
// `sbx run` (see scanRun). It says no for -d: a detached init starts on the main thread,
// later.
func guessRun(args []string, valueFlags map[string]bool) (run.CreateOptions, bool) {
	r, ok := scanRun(args, valueFlags)
	if !ok || r.cmd != "run" || r.detach {
		return run.CreateOptions{}, false
	}
	return r.o, true
}

// scanRun reads `sbx [--debug] run|create FLAGS... IMAGE ...` as urfave reads flags: they end at
// the first argument that is not one, a flag in valueFlags takes the next argument unless
// it has "=VALUE", and a single dash may group one-letter flags (-it). It says no for
// --help and for anything it is unsure about.
func scanRun(args []string, valueFlags map[string]bool) (runArgs, bool) {
	var r runArgs
	i := 1
	if i < len(args) && args[i] == "--debug" {
		i++
	}
	if i >= len(args) || (args[i] != "run" && args[i] != "create") {
		return r, false
	}
	r.cmd = args[i]
	for i++; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			break // the image
		}
		if a == "--" {
			return r, false
		}
		dashes := 1
		if a[1] == '-' {
			dashes = 2
		}
		name, value, hasValue := strings.Cut(a[dashes:], "=")
		if name == "" {
			return r, false
		}
		if valueFlags[name] {
			if !hasValue {
				if i++; i >= len(args) {
					return r, false
				}
				value = args[i]
			}
			switch name {
			case "network", "net":
				r.o.Network = value
			case "userns":
				r.o.Userns = value
			case "rootfs":
				r.o.Rootfs = value
			}
			continue
		}
		on := true
		if hasValue {
			switch value {
			case "true", "1":
			case "false", "0":
				on = false
			default:
				return r, false
			}
		}
		names := []string{name}
		if dashes == 1 && len(name) > 1 {
			if hasValue {
				return r, false
			}
			names = strings.Split(name, "")
			for _, n := range names {
				if valueFlags[n] {
					return r, false
				}
			}
		}
		for _, n := range names {
			switch n {
			case "help":
				return r, false
			case "d", "detach":
				r.detach = on
			case "t", "tty":
				r.o.Tty = on
			case "i", "interactive":
				r.o.OpenStdin = on
			case "init":
				r.o.Init = on
			}
		}
	}
	if i >= len(args) {
		return r, false
	}
	if r.o.Rootfs == "" {
		r.o.Image = args[i]
	}
	return r, true
}
