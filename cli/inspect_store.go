//go:build !sbx_lite

package cli

import (
	"errors"
	"fmt"

	ucli "github.com/urfave/cli/v2"

	"github.com/sbx-dev/sbx/format"
	"github.com/sbx-dev/sbx/image"
	"github.com/sbx-dev/sbx/run"
)

func inspectCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "inspect",
		Usage:     "Show low-level information on containers or images",
		ArgsUsage: "NAME|ID [NAME|ID...]",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "format output with a Go template"},
			&ucli.StringFlag{Name: "type", Usage: "container or image (default: both, containers first)"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() == 0 {
				return usageError(c, "requires at least 1 argument")
			}
			if err := format.Parse(c.String("format")); err != nil {
				return err
			}
			typ := c.String("type")
			if typ != "" && typ != "container" && typ != "image" {
				return fmt.Errorf("invalid --type %q: use container or image", typ)
			}
			rt, err := e.runtime()
			if err != nil {
				return err
			}
			imgs, err := e.images()
			if err != nil {
				return err
			}
			return e.printInspect(c.String("format"), c.Args().Slice(), func(ref string) (any, error) {
				if typ != "image" {
					if ctr, err := rt.Find(ref); err == nil {
						return toContainerJSON(rt, ctr), nil
					} else if !errors.Is(err, run.ErrNotFound) {
						return nil, err
					}
				}
				if typ != "container" {
					if in, err := imgs.InspectImage(ref); err == nil {
						return in, nil
					} else if !errors.Is(err, image.ErrNotFound) {
						return nil, err
					}
				}
				return nil, errors.New("no such object: " + ref)
			})
		},
	}
}
