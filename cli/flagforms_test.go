package cli

import (
	"slices"
	"testing"

	ucli "github.com/urfave/cli/v2"
)

func TestOneFormEach(t *testing.T) {
	forms := formsOf([]ucli.Flag{
		&ucli.StringSliceFlag{Name: "env", Aliases: []string{"e"}},
		&ucli.BoolFlag{Name: "interactive", Aliases: []string{"i"}},
		&ucli.BoolFlag{Name: "tty", Aliases: []string{"t"}},
		&ucli.StringFlag{Name: "name"},
	})
	for _, tc := range []struct{ in, want []string }{
		// Two forms of one flag: all written with its first name, values kept in order.
		{[]string{"-e", "A=1", "--env", "B=2", "img"}, []string{"--env", "A=1", "--env", "B=2", "img"}},
		{[]string{"--env=A", "-e=B", "img", "-e", "x"}, []string{"--env=A", "--env=B", "img", "-e", "x"}},
		// Combined letters are taken apart, as urfave takes them apart.
		{[]string{"-it", "--interactive", "img"}, []string{"--interactive", "--tty", "--interactive", "img"}},
		// A value that looks like a flag is a value.
		{[]string{"-e", "--env", "--env", "-e", "img"}, []string{"--env", "--env", "--env", "-e", "img"}},
		// One form only, or the second after the first argument: unchanged.
		{[]string{"-e", "A", "-e", "B", "img"}, nil},
		{[]string{"-e", "A", "img", "--env", "B"}, nil},
		{[]string{"-it", "img"}, nil},
		// What urfave refuses anyway is left for it to say so.
		{[]string{"-e", "A", "--nosuch", "--env", "B"}, nil},
		{[]string{"-ix", "--interactive", "img"}, nil},
		{[]string{"---env", "A", "-e", "B"}, nil},
		{[]string{"--", "-e", "A", "--env", "B"}, nil},
	} {
		got, changed := forms.oneFormEach(tc.in)
		want := tc.want
		if want == nil {
			want = tc.in
		}
		if !slices.Equal(got, want) || changed != (tc.want != nil) {
			t.Errorf("oneFormEach(%q) = %q, %v; want %q", tc.in, got, changed, want)
		}
	}
}

func TestOneFormEachIn(t *testing.T) {
	cmds := []*ucli.Command{
		{Name: "network", Subcommands: []*ucli.Command{{Name: "create", Flags: []ucli.Flag{
			&ucli.StringSliceFlag{Name: "opt", Aliases: []string{"o"}},
		}}}},
		{Name: "rm", Flags: []ucli.Flag{&ucli.BoolFlag{Name: "force", Aliases: []string{"f"}}}},
	}
	for _, tc := range []struct{ in, want []string }{
		{[]string{"sbx", "network", "create", "-o", "a=1", "--opt", "b=2", "n"}, []string{"sbx", "network", "create", "--opt", "a=1", "--opt", "b=2", "n"}},
		{[]string{"sbx", "--debug", "rm", "-f", "--force", "c"}, []string{"sbx", "--debug", "rm", "--force", "--force", "c"}},
		{[]string{"sbx", "rm", "-f", "c"}, []string{"sbx", "rm", "-f", "c"}},
		{[]string{"sbx", "nosuch", "-f", "--force"}, []string{"sbx", "nosuch", "-f", "--force"}},
	} {
		if got := oneFormEachIn(cmds, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("oneFormEachIn(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
