package cli

import ucli "github.com/urfave/cli/v2"

// Flags whose names are worked out once. urfave/cli works a flag's names out of its Name
// and Aliases with a regular expression at every call, and before a command's action it
// asks, for every flag, whether it is set, looking each name up among all the flags: for
// run's 52 flags that cost every `sbx run` about 0.75 ms. The wrappers answer Names from
// a slice made once; everything else is the flag's own.
type (
	boolFlag struct {
		*ucli.BoolFlag
		names []string
	}
	stringFlag struct {
		*ucli.StringFlag
		names []string
	}
	stringSliceFlag struct {
		*ucli.StringSliceFlag
		names []string
	}
	intFlag struct {
		*ucli.IntFlag
		names []string
	}
)

func (f boolFlag) Names() []string        { return f.names }
func (f stringFlag) Names() []string      { return f.names }
func (f stringSliceFlag) Names() []string { return f.names }
func (f intFlag) Names() []string         { return f.names }

// quickNames wraps the flags of the kinds above; others stay as they are. The names are
// ucli.FlagNames' for names without commas or spaces, which sbx's never have.
func quickNames(flags []ucli.Flag) []ucli.Flag {
	names := func(name string, aliases []string) []string { return append([]string{name}, aliases...) }
	out := make([]ucli.Flag, len(flags))
	for i, f := range flags {
		switch f := f.(type) {
		case *ucli.BoolFlag:
			out[i] = boolFlag{f, names(f.Name, f.Aliases)}
		case *ucli.StringFlag:
			out[i] = stringFlag{f, names(f.Name, f.Aliases)}
		case *ucli.StringSliceFlag:
			out[i] = stringSliceFlag{f, names(f.Name, f.Aliases)}
		case *ucli.IntFlag:
			out[i] = intFlag{f, names(f.Name, f.Aliases)}
		default:
			out[i] = f
		}
	}
	return out
}
