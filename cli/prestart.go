package cli

import (
	"strings"

	"github.com/sbx-dev/sbx/run"
	"github.com/sbx-dev/sbx/userns"
	"github.com/sbx-dev/sbx/userns/nsenter"
)

// prestart starts the init of the container a foreground `sbx run` is about to create
// before its command line is even parsed: the init's new namespaces and its program's
// start then overlap building the app, the parse and the creation, instead of only the
// creation (run.Runtime.StartEarly). The flags the init depends on are read off args by
// guessRun; the run action keeps the init only when the parsed options say the same
// (run.EarlyInit.Suits), and a wrong guess costs an init started and killed, never a
// wrong container. It returns nil when there is nothing to start.
func (e *env) prestart(args []string) *run.EarlyInit {
	// Only inside the holder already (the constructor joined it): a command that still
	// has to enter re-executes sbx, which no init started here would survive.
	if !userns.Inside() {
		return nil
	}
	o, ok := guessRun(args, runValueFlags())
	if !ok {
		return nil
	}
	if err := e.resolve(); err != nil {
		return nil // the action reports it
	}
	rt := &run.Runtime{InitDir: e.programDir()}
	return rt.StartEarly(o, o.OpenStdin && e.opts.Stdin != nil, false)
}

// runValueFlags is the set of run's flags that take a value (see guessRun).
func runValueFlags() map[string]bool {
	m := map[string]bool{}
	for _, f := range nsenter.RunValueFlags() {
		m[f] = true
	}
	return m
}

// guessRun reads what a container's init depends on from the command line of a foreground
// `sbx [--debug] run FLAGS... IMAGE ...`, as urfave reads flags: they end at the first
// argument that is not one, a flag in valueFlags takes the next argument unless it has
// "=VALUE", and a single dash may group one-letter flags (-it). It says no for -d (a
// detached init starts on the main thread later) and for anything it is unsure about.
func guessRun(args []string, valueFlags map[string]bool) (run.CreateOptions, bool) {
	var o run.CreateOptions
	i := 1
	if i < len(args) && args[i] == "--debug" {
		i++
	}
	if i >= len(args) || args[i] != "run" {
		return o, false
	}
	for i++; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			break // the image
		}
		if a == "--" {
			return o, false
		}
		dashes := 1
		if a[1] == '-' {
			dashes = 2
		}
		name, value, hasValue := strings.Cut(a[dashes:], "=")
		if name == "" {
			return o, false
		}
		if valueFlags[name] {
			if !hasValue {
				if i++; i >= len(args) {
					return o, false
				}
				value = args[i]
			}
			switch name {
			case "network", "net":
				o.Network = value
			case "userns":
				o.Userns = value
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
				return o, false
			}
		}
		names := []string{name}
		if dashes == 1 && len(name) > 1 {
			if hasValue {
				return o, false
			}
			names = strings.Split(name, "")
			for _, n := range names {
				if valueFlags[n] {
					return o, false
				}
			}
		}
		for _, n := range names {
			switch n {
			case "d", "detach", "help":
				if on {
					return o, false
				}
			case "t", "tty":
				o.Tty = on
			case "i", "interactive":
				o.OpenStdin = on
			case "init":
				o.Init = on
			}
		}
	}
	return o, i < len(args)
}
