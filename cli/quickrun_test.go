package cli

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	ucli "github.com/urfave/cli/v2"
)

// snapshot is everything run reads of its command line.
func snapshot(c runFlags) map[string]any {
	s := map[string]any{"args": c.Positional()}
	for _, def := range runFlagDefs() {
		n := def.names[0]
		switch def.kind {
		case boolKind:
			s[n] = c.Bool(n)
		case stringKind:
			s[n] = c.String(n)
		case sliceKind:
			s[n] = c.StringSlice(n)
		case intKind:
			s[n] = c.Int(n)
		case int64Kind:
			s[n] = c.Int64(n)
		}
		s["set:"+n] = c.IsSet(n)
	}
	return s
}

// urfaveRun reads args as NewApp's app does for run, and returns what the run action
// would have read, or urfave's error.
func urfaveRun(args []string) (map[string]any, error) {
	ucli.HelpFlag = &ucli.BoolFlag{Name: "help", Usage: "show help"}
	var got map[string]any
	app := &ucli.App{
		Name: "sbx", Writer: io.Discard, ErrWriter: io.Discard,
		UseShortOptionHandling: true, HideHelpCommand: true, DisableSliceFlagSeparator: true,
		Flags:          []ucli.Flag{&ucli.BoolFlag{Name: "debug"}},
		ExitErrHandler: func(*ucli.Context, error) {},
		Commands: []*ucli.Command{{
			Name: "run", UseShortOptionHandling: true, Flags: quickNames(runFlagList()),
			Action: func(c *ucli.Context) error { got = snapshot(contextFlags{c}); return nil },
		}},
	}
	for _, c := range app.Commands {
		setUsageErrors(c)
	}
	if err := app.RunContext(context.Background(), oneFormEachIn(app.Commands, args)); err != nil {
		return nil, err
	}
	if got == nil {
		return nil, fmt.Errorf("no action (help)")
	}
	return got, nil
}

// Whatever quickRun reads, urfave reads the same way; what it does not read, it leaves to
// urfave. Common command lines are quickRun's.
func TestQuickRunReadsAsUrfave(t *testing.T) {
	if runFlagDefs() == nil {
		t.Fatal("run has a flag of a kind quickRun does not read: teach it (runFlagDefs, newRunFlagSet)")
	}
	common := [][]string{
		{"sbx", "run", "--rm", "busybox", "true"},
		{"sbx", "run", "--rm", "--net=none", "busybox", "true"},
		{"sbx", "--debug", "run", "-it", "--rm", "-v", "/storage:/leader", "java", "bash"},
		{"sbx", "run", "-d", "--name", "web", "-p", "8080:80", "-p", "127.0.0.1:8443:443", "busybox", "httpd", "-f"},
		{"sbx", "run", "-e", " A=1 ", "-e=B=2", "-w", "/tmp", "-u", "1000:1000", "--stop-timeout", "3", "--pids-limit", "64", "img", "sh", "-c", "exit 42"},
		{"sbx", "run", "--rootfs", "/srv/root", "/bin/true"},
		{"sbx", "run", "-dit", "--link", "db:db", "--entrypoint", "", "busybox"},
		{"sbx", "run", "--rm", "--", "busybox", "--rm"},
		{"sbx", "run", "-e", "A=1", "--env", "B=2", "-it", "--interactive", "--rm", "busybox"},
	}
	for _, args := range common {
		q, _, ok := quickRun(args)
		if !ok {
			t.Errorf("quickRun leaves %q to urfave", args)
			continue
		}
		compare(t, args, q)
	}

	r := rand.New(rand.NewSource(1))
	defs := runFlagDefs()
	values := []string{"", "x", " spaced ", "a=b", "8080:80", "-x", "--rm", "0", "5", "010", "0x10", "-3", "+4", "1_0",
		"99999999999999999999", "true", "false", "T", "1", "sl:::[\"a\"]", "it", "help", "-", "--"}
	word := func() string { return values[r.Intn(len(values))] }
	flagArg := func() []string {
		def := defs[r.Intn(len(defs))]
		name := def.names[r.Intn(len(def.names))]
		dash := "--"
		if r.Intn(2) == 0 {
			dash = "-"
		}
		switch r.Intn(8) {
		case 0:
			return []string{dash + name + "=" + word()}
		case 1: // letters run together, as -it
			var b strings.Builder
			b.WriteString("-")
			for range 1 + r.Intn(3) {
				b.WriteString(string("itdPphvewulm"[r.Intn(12)]))
			}
			return []string{b.String()}
		case 2:
			return []string{[]string{"--help", "-help", "--nosuch", "-x", "--debug", "-"}[r.Intn(6)]}
		}
		if def.kind == boolKind {
			return []string{dash + name}
		}
		return []string{dash + name, word()}
	}
	quick, n := 0, 20000
	for range n {
		args := []string{"sbx"}
		if r.Intn(10) == 0 {
			args = append(args, "--debug")
		}
		args = append(args, "run")
		for range r.Intn(6) {
			args = append(args, flagArg()...)
		}
		for range r.Intn(3) {
			args = append(args, word())
		}
		q, _, ok := quickRun(args)
		if !ok {
			if _, foreground := guessRun(args, runValueFlags()); foreground {
				if got, err := urfaveRun(args); err == nil && got["detach"] == true {
					t.Errorf("%q: guessRun takes it for a foreground run, urfave reads -d", args)
				}
			}
			continue
		}
		quick++
		compare(t, args, q)
		if t.Failed() {
			return
		}
	}
	t.Logf("quickRun read %d of %d random command lines", quick, n)
	if quick < n/10 {
		t.Errorf("quickRun read only %d of %d random command lines", quick, n)
	}
}

func compare(t *testing.T, args []string, q *quickFlags) {
	t.Helper()
	// A line guessRun takes for a foreground run lets the main goroutine off the main
	// thread (run.ReleaseMainThread), which a detached supervisor needs: never detached.
	if _, foreground := guessRun(args, runValueFlags()); foreground && q.Bool("detach") {
		t.Errorf("%q: guessRun takes it for a foreground run, quickRun reads -d", args)
	}
	want, err := urfaveRun(args)
	if err != nil {
		t.Errorf("%q: quickRun reads it, urfave refuses it: %v", args, err)
		return
	}
	if got := snapshot(q); !reflect.DeepEqual(got, want) {
		for k := range want {
			if !reflect.DeepEqual(got[k], want[k]) {
				t.Errorf("%q: %s is %#v read by quickRun, %#v by urfave", args, k, got[k], want[k])
			}
		}
	}
}
