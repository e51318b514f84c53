package cli

import (
	"fmt"
	"runtime"

	ucli "github.com/urfave/cli/v2"

	"github.com/sbx-dev/sbx/format"
)

func versionCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:  "version",
		Usage: "Show the sbx version",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "format output with a Go template"},
		},
		Action: func(c *ucli.Context) error {
			v := struct {
				Version, GoVersion, Os, Arch string
			}{e.opts.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH}
			if f := c.String("format"); f != "" {
				if err := format.Parse(f); err != nil {
					return err
				}
				if f == "json" {
					f = "{{json .}}"
				}
				return format.Each(e.opts.Stdout, f, []any{v})
			}
			fmt.Fprintf(e.opts.Stdout, "Version:    %s\nGo version: %s\nOS/Arch:    %s/%s\n", v.Version, v.GoVersion, v.Os, v.Arch)
			return nil
		},
	}
}

// pauseCommand is what a pod's infra container runs: nothing, until its stop signal.
func pauseCommand() *ucli.Command {
	return &ucli.Command{
		Name:   "__pause",
		Hidden: true,
		Action: func(c *ucli.Context) error {
			<-c.Context.Done()
			return nil
		},
	}
}
