package cli

import (
	"slices"
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// flagForms maps each name of a command's flags (e, env) to the flag it names.
type flagForms map[string]flagForm

type flagForm struct {
	first string // the flag's first name, which oneFormEach writes it with
	value bool   // it takes a value (it is not a bool flag)
}

// formsOf reads a command's flags.
func formsOf(flags []ucli.Flag) flagForms {
	forms := flagForms{}
	for _, f := range flags {
		names := f.Names()
		value := true
		if tv, ok := f.(interface{ TakesValue() bool }); ok {
			value = tv.TakesValue()
		}
		for _, n := range names {
			forms[n] = flagForm{first: names[0], value: value}
		}
	}
	return forms
}

// oneFormEach rewrites the flags at the start of args (the command's own, as Go's flag
// package reads them: up to the first argument that is not one) so that a flag given under
// two of its names is given under its first name throughout. urfave refuses such a line
// ("Cannot use two forms of the same flag": `sbx run -e A=1 --env B=2`), and docker reads
// it as two -e, which a CI script that builds its command line piece by piece relies on.
// Combined one-letter flags (-it) are taken apart as urfave takes them apart. A line with
// no such flag comes back as it was (changed false), so whatever urfave says of it stays
// the same.
func (forms flagForms) oneFormEach(args []string) (out []string, changed bool) {
	type token struct {
		text   string
		form   *flagForm // nil: a flag's value
		suffix string    // "=value" written with the flag
	}
	var (
		toks     []token
		used     = map[string]string{} // first name -> a name it was given under
		twoForms = false
		work     = args
	)
	for len(work) > 0 {
		a := work[0]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			break
		}
		body := strings.TrimPrefix(a[1:], "-")
		oneDash := len(a)-len(body) == 1
		if body == "" || body[0] == '-' || body[0] == '=' {
			break // Go's parser: bad flag syntax
		}
		name, value, hasValue := strings.Cut(body, "=")
		form, known := forms[name]
		if !known {
			// urfave takes an unknown one-dash flag apart into one-letter flags when
			// every letter is one; the parse goes on from the first letter.
			if !oneDash || hasValue || len(name) < 2 {
				break
			}
			letters := make([]string, 0, len(name)+len(work)-1)
			for _, c := range name {
				if _, ok := forms[string(c)]; !ok {
					return args, false
				}
				letters = append(letters, "-"+string(c))
			}
			work = append(letters, work[1:]...)
			continue
		}
		if u, ok := used[form.first]; ok && u != name {
			twoForms = true
		}
		used[form.first] = name
		suffix := ""
		if hasValue {
			suffix = "=" + value
		}
		toks = append(toks, token{text: a, form: &form, suffix: suffix})
		work = work[1:]
		if form.value && !hasValue && len(work) > 0 {
			toks = append(toks, token{text: work[0]})
			work = work[1:]
		}
	}
	if !twoForms {
		return args, false
	}
	out = make([]string, 0, len(toks)+len(work))
	for _, t := range toks {
		if t.form != nil {
			t.text = "--" + t.form.first + t.suffix
		}
		out = append(out, t.text)
	}
	return append(out, work...), true
}

// oneFormEachIn is oneFormEach for a whole sbx command line: it finds the command (and
// subcommand) that args name among commands and rewrites what follows with its flags.
func oneFormEachIn(commands []*ucli.Command, args []string) []string {
	i := 1
	if i < len(args) && args[i] == "--debug" {
		i++
	}
	var cmd *ucli.Command
	for i < len(args) {
		next := findCommand(commands, args[i])
		if next == nil {
			break
		}
		cmd, commands = next, next.Subcommands
		i++
	}
	if cmd == nil {
		return args
	}
	rest, changed := formsOf(cmd.Flags).oneFormEach(args[i:])
	if !changed {
		return args
	}
	return append(slices.Clone(args[:i]), rest...)
}

func findCommand(commands []*ucli.Command, name string) *ucli.Command {
	for _, c := range commands {
		if c.Name == name || slices.Contains(c.Aliases, name) {
			return c
		}
	}
	return nil
}
