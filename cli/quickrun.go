package cli

import (
	"errors"
	"flag"
	"io"
	"strconv"
	"strings"
	"sync"

	ucli "github.com/urfave/cli/v2"
)

// runFlags is what run and create read of their command line: urfave's parse of it
// (contextFlags), or quickRun's (quickFlags).
type runFlags interface {
	String(name string) string
	Bool(name string) bool
	StringSlice(name string) []string
	Int(name string) int
	Int64(name string) int64
	IsSet(name string) bool
	// Positional is what follows the flags: the image, then the command and its arguments.
	Positional() []string
	// UsageError reports a calling mistake as the command's other usage errors are.
	UsageError(msg string) error
}

// contextFlags is urfave's parse of a command line.
type contextFlags struct{ *ucli.Context }

func (c contextFlags) Positional() []string        { return c.Args().Slice() }
func (c contextFlags) UsageError(msg string) error { return usageError(c.Context, msg) }

// quickRun reads the command line of a `sbx [--debug] run ...` as urfave would, without
// urfave: building its app and reading run's 52 flags through it lies on a container's
// start, before the container's init can be given its configuration (a run is about
// 0.1 ms faster without it: interleaved A/B, 500 runs each). It reads the flags with Go's
// flag package, which urfave uses too, splits combined one-letter flags (-it) exactly
// when urfave does, and writes a flag given in two forms in one, as App.RunContext does
// before urfave reads the line (see oneFormEach). It says no (ok
// false) to anything else, and to any line urfave would answer with help or an error:
// those go through urfave. A test holds the two to the same answers over many command
// lines (quickrun_test.go).
func quickRun(args []string) (flags *quickFlags, debug bool, ok bool) {
	i := 1
	if i < len(args) && args[i] == "--debug" {
		debug = true
		i++
	}
	if i >= len(args) || args[i] != "run" || runFlagDefs() == nil {
		return nil, false, false
	}
	set, values := newRunFlagSet()
	line, _ := runForms().oneFormEach(args[i+1:])
	if !parseLikeUrfave(set, line) {
		return nil, false, false
	}
	q := &quickFlags{values: map[string]any{}, set: map[string]bool{}, args: set.Args()}
	visited := map[string]bool{}
	set.Visit(func(f *flag.Flag) { visited[f.Name] = true })
	for _, def := range runFlagDefs() {
		used := ""
		for _, n := range def.names {
			if visited[n] {
				if used != "" {
					return nil, false, false // not after oneFormEach: urfave would refuse it
				}
				used = n
			}
		}
		if used == "" {
			used = def.names[0]
		} else {
			q.set[def.names[0]] = true
		}
		q.values[def.names[0]] = values[used]
	}
	for _, v := range values {
		if s, ok := v.(*sliceValue); ok && s.refused {
			return nil, false, false
		}
	}
	if len(q.args) == 0 && q.String("rootfs") == "" {
		return nil, false, false // urfave's usage error says what is missing
	}
	return q, debug, true
}

// parseLikeUrfave parses args into set as urfave's parseIter does with short-option
// handling: a flag Go's parser does not know, written with one dash, is taken apart into
// one-letter flags when every letter is one, and the parse goes on from there. It reports
// whether the parse succeeded.
func parseLikeUrfave(set *flag.FlagSet, args []string) bool {
	for {
		err := set.Parse(args)
		if err == nil {
			return true
		}
		unknown, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -")
		if !ok || unknown == "help" {
			return false // urfave knows -help and --help: its help
		}
		// urfave looks for the first argument of this round that reads as the unknown
		// flag without its dashes (even a value that happens to), and splits that one or
		// gives up.
		split := -1
		for k, a := range args {
			if strings.TrimLeft(a, "-") == unknown {
				split = k
				break
			}
		}
		if split < 0 {
			return false
		}
		a := args[split]
		if !strings.HasPrefix(a, "-") || strings.HasPrefix(a, "--") || len(a) <= 2 {
			return false
		}
		var letters []string
		for _, c := range a[1:] {
			if set.Lookup(string(c)) == nil {
				return false
			}
			letters = append(letters, "-"+string(c))
		}
		args = append(letters, args[split+1:]...)
	}
}

// runFlagDef is one of run's flags as quickRun reads it: its names, the first its own.
type runFlagDef struct {
	names []string
	kind  flagKind
}

type flagKind int

const (
	boolKind flagKind = iota
	stringKind
	sliceKind
	intKind
	int64Kind
)

// runFlagDefs are run's flags (runFlagList), read off their urfave definitions; nil if
// one is of a kind quickRun does not read (run's command lines then all go to urfave, and
// the test says so).
var runFlagDefs = sync.OnceValue(func() []runFlagDef {
	var defs []runFlagDef
	for _, f := range runFlagList() {
		var def runFlagDef
		switch f := f.(type) {
		case *ucli.BoolFlag:
			def = runFlagDef{append([]string{f.Name}, f.Aliases...), boolKind}
		case *ucli.StringFlag:
			def = runFlagDef{append([]string{f.Name}, f.Aliases...), stringKind}
		case *ucli.StringSliceFlag:
			def = runFlagDef{append([]string{f.Name}, f.Aliases...), sliceKind}
		case *ucli.IntFlag:
			def = runFlagDef{append([]string{f.Name}, f.Aliases...), intKind}
		case *ucli.Int64Flag:
			def = runFlagDef{append([]string{f.Name}, f.Aliases...), int64Kind}
		default:
			return nil
		}
		defs = append(defs, def)
	}
	return defs
})

// runForms are run's flags by name, for oneFormEach.
var runForms = sync.OnceValue(func() flagForms {
	forms := flagForms{}
	for _, def := range runFlagDefs() {
		for _, n := range def.names {
			forms[n] = flagForm{first: def.names[0], value: def.kind != boolKind}
		}
	}
	return forms
})

// newRunFlagSet makes a flag set with every name of every run flag, and the values behind
// them by name: *boolValue, *stringValue, *sliceValue, or the flag package's own *int and
// *int64 (urfave's int flags are the flag package's).
func newRunFlagSet() (*flag.FlagSet, map[string]any) {
	set := flag.NewFlagSet("run", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	set.Usage = func() {}
	values := map[string]any{}
	for _, def := range runFlagDefs() {
		for _, n := range def.names {
			switch def.kind {
			case boolKind:
				v := new(boolValue)
				set.Var(v, n, "")
				values[n] = v
			case stringKind:
				v := new(stringValue)
				set.Var(v, n, "")
				values[n] = v
			case sliceKind:
				v := new(sliceValue)
				set.Var(v, n, "")
				values[n] = v
			case intKind:
				values[n] = set.Int(n, 0, "")
			case int64Kind:
				values[n] = set.Int64(n, 0, "")
			}
		}
	}
	return set, values
}

// The values behind quickRun's flags, parsed as urfave's flags parse theirs.
type (
	boolValue   bool
	stringValue string
	// sliceValue gathers a repeated flag: each value whole (sbx sets urfave's
	// DisableSliceFlagSeparator), trimmed of spaces as urfave trims them. refused marks
	// a value urfave would read as its own serialised form of a whole slice.
	sliceValue struct {
		values  []string
		refused bool
	}
)

func (b *boolValue) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("parse error")
	}
	*b = boolValue(v)
	return nil
}
func (b *boolValue) String() string   { return strconv.FormatBool(bool(*b)) }
func (b *boolValue) IsBoolFlag() bool { return true }

func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }
func (s *stringValue) String() string     { return string(*s) }

func (s *sliceValue) Set(v string) error {
	if strings.HasPrefix(v, "sl:::") {
		s.refused = true
	}
	s.values = append(s.values, strings.TrimSpace(v))
	return nil
}
func (s *sliceValue) String() string { return strings.Join(s.values, ",") }

// quickFlags is quickRun's reading of a command line, by each flag's first name.
type quickFlags struct {
	values map[string]any // as newRunFlagSet makes them
	set    map[string]bool
	args   []string
}

func (q *quickFlags) String(name string) string {
	if v, ok := q.values[name].(*stringValue); ok {
		return string(*v)
	}
	return ""
}

func (q *quickFlags) Bool(name string) bool {
	v, ok := q.values[name].(*boolValue)
	return ok && bool(*v)
}

func (q *quickFlags) StringSlice(name string) []string {
	if v, ok := q.values[name].(*sliceValue); ok {
		return v.values
	}
	return nil
}

func (q *quickFlags) Int(name string) int {
	if v, ok := q.values[name].(*int); ok {
		return *v
	}
	return 0
}

func (q *quickFlags) Int64(name string) int64 {
	if v, ok := q.values[name].(*int64); ok {
		return *v
	}
	return 0
}

func (q *quickFlags) IsSet(name string) bool      { return q.set[name] }
func (q *quickFlags) Positional() []string        { return q.args }
func (q *quickFlags) UsageError(msg string) error { return &UsageError{Msg: "run: " + msg} }
