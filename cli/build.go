//go:build !sbx_lite

package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/sbx-dev/sbx/build"
	"github.com/sbx-dev/sbx/image"
)

// builder returns the image builder on the opened store.
func (e *env) builder() (*build.Builder, error) {
	rt, err := e.runtime()
	if err != nil {
		return nil, err
	}
	imgs, err := e.images()
	if err != nil {
		return nil, err
	}
	tmp, err := e.tmpDir()
	if err != nil {
		return nil, err
	}
	return &build.Builder{
		Images: imgs, Runtime: rt, TmpDir: tmp, Logger: e.logger,
		StateDir:        filepath.Join(e.paths.DataDir, "build"),
		LayerLockShared: rt.LayerLockShared,
	}, nil
}

// builderCommand is docker's `builder` group: the build cache.
func builderCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:  "builder",
		Usage: "Manage the build cache",
		Subcommands: []*ucli.Command{{
			Name:  "prune",
			Usage: "Remove the build cache and the layers only it keeps",
			Flags: []ucli.Flag{
				&ucli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "accepted for docker compatibility (sbx never prompts)"},
				&ucli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "accepted for docker compatibility (all of the cache goes)"},
			},
			Action: func(c *ucli.Context) error {
				if c.NArg() > 0 {
					return usageError(c, "accepts no arguments")
				}
				b, err := e.builder()
				if err != nil {
					return err
				}
				n, err := b.Prune()
				if err != nil {
					return fmt.Errorf("builder prune: %w", err)
				}
				fmt.Fprintf(e.opts.Stdout, "Deleted build cache: %d layers\n", n)
				return nil
			},
		}},
	}
}

func buildCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "build",
		Usage:     "Build an image from a Dockerfile",
		ArgsUsage: "CONTEXT_DIR",
		Flags: []ucli.Flag{
			&ucli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "name the image NAME[:TAG] (repeatable)"},
			&ucli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "the Dockerfile (default: CONTEXT_DIR/Dockerfile)"},
			&ucli.StringSliceFlag{Name: "build-arg", Usage: "set a build-time variable: NAME=VALUE, or NAME to take it from the environment"},
			&ucli.StringFlag{Name: "target", Usage: "build up to this stage"},
			&ucli.BoolFlag{Name: "no-cache", Usage: "do not use the build cache"},
			&ucli.StringFlag{Name: "network", Usage: "network for RUN: none, host, or bridge (the default network, as sbx run's)"},
			&ucli.StringSliceFlag{Name: "label", Usage: "set a label on the image: KEY=VALUE"},
			&ucli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the image ID"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() != 1 {
				return usageError(c, "requires exactly 1 argument (the context directory)")
			}
			o := build.Options{
				ContextDir: c.Args().First(), Dockerfile: c.String("file"), Target: c.String("target"),
				NoCache: c.Bool("no-cache"), Quiet: c.Bool("quiet"), Out: e.opts.Stdout,
				Timings: isTerminal(e.opts.Stdout),
			}
			// Every flag is checked before the store is touched: bad input creates nothing.
			for _, t := range c.StringSlice("tag") {
				n, err := image.ParseNew(t)
				if err != nil {
					return fmt.Errorf("invalid tag %q: %w", t, err)
				}
				o.Tags = append(o.Tags, n.String())
			}
			var err error
			if o.BuildArgs, err = build.ParseBuildArgs(c.StringSlice("build-arg"), os.LookupEnv); err != nil {
				return err
			}
			switch n := c.String("network"); n {
			case "", "default", "bridge":
				// The default network of sbx run.
			case "none", "host":
				o.Network = n
			default:
				return fmt.Errorf("invalid --network %q: use none, host or bridge", n)
			}
			for _, l := range c.StringSlice("label") {
				k, v, _ := strings.Cut(l, "=")
				if k == "" {
					return fmt.Errorf("invalid --label %q: expected KEY=VALUE", l)
				}
				if o.Labels == nil {
					o.Labels = map[string]string{}
				}
				o.Labels[k] = v
			}
			if st, err := os.Stat(o.ContextDir); err != nil || !st.IsDir() {
				return fmt.Errorf("build: the context %s is not a directory", o.ContextDir)
			}
			b, err := e.builder()
			if err != nil {
				return err
			}
			id, err := b.Build(c.Context, o)
			if err != nil {
				return fmt.Errorf("build: %w", err)
			}
			fmt.Fprintln(e.opts.Stdout, id)
			return nil
		},
	}
}
