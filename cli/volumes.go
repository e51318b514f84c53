package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/sbx-dev/sbx/format"
	"github.com/sbx-dev/sbx/state"
	"github.com/sbx-dev/sbx/volumes"
)

func (e *env) volumeStore() *volumes.Store {
	return &volumes.Store{
		Dir: filepath.Join(e.paths.DataDir, "volumes"),
		Lock: func(path string) (func(), error) {
			l, err := state.LockFile(path)
			if err != nil {
				return nil, err
			}
			return l.Unlock, nil
		},
	}
}

// volumeJSON is docker's volume inspect shape.
type volumeJSON struct {
	CreatedAt  string
	Driver     string
	Labels     map[string]string
	Mountpoint string
	Name       string
	Options    map[string]string
	Scope      string
}

func toVolumeJSON(v *volumes.Volume) volumeJSON {
	labels := v.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return volumeJSON{CreatedAt: v.CreatedAt.Format(time.RFC3339), Driver: v.Driver, Labels: labels,
		Mountpoint: v.Mountpoint, Name: v.Name, Options: map[string]string{}, Scope: "local"}
}

func volumeCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:  "volume",
		Usage: "Manage volumes",
		Subcommands: []*ucli.Command{
			{
				Name:      "create",
				Usage:     "Create a volume",
				ArgsUsage: "[VOLUME]",
				Flags:     []ucli.Flag{&ucli.StringSliceFlag{Name: "label", Usage: "set metadata on the volume"}},
				Action: func(c *ucli.Context) error {
					name := c.Args().First()
					if c.NArg() > 1 {
						return usageError(c, "takes at most one name")
					}
					if name == "" {
						name = volumes.NewAnonymousName()
					} else if err := volumes.ValidName(name); err != nil {
						return err
					}
					labels := map[string]string{}
					for _, l := range c.StringSlice("label") {
						k, v, _ := strings.Cut(l, "=")
						labels[k] = v
					}
					if _, err := e.enterForVolumes(); err != nil {
						return err
					}
					v, _, err := e.volumeStore().Ensure(name, labels, false)
					if err != nil {
						return err
					}
					fmt.Fprintln(e.opts.Stdout, v.Name)
					return nil
				},
			},
			{
				Name:    "ls",
				Aliases: []string{"list"},
				Usage:   "List volumes",
				Flags: []ucli.Flag{
					&ucli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display volume names"},
					&ucli.StringFlag{Name: "format", Usage: "format output: table, json or a Go template"},
				},
				Action: func(c *ucli.Context) error {
					if err := format.Parse(c.String("format")); err != nil {
						return err
					}
					if _, err := e.enterForVolumes(); err != nil {
						return err
					}
					vols, err := e.volumeStore().List()
					if err != nil {
						return err
					}
					// docker's fields; those of cluster volumes and of `system df` are N/A.
					type row struct {
						Name, Driver, Scope, Mountpoint, Labels, Links, Size, Group, Availability, Status string
					}
					var rows []row
					for _, v := range vols {
						if c.Bool("quiet") {
							fmt.Fprintln(e.opts.Stdout, v.Name)
							continue
						}
						var labels []string
						for k, val := range v.Labels {
							labels = append(labels, k+"="+val)
						}
						sort.Strings(labels)
						rows = append(rows, row{Driver: v.Driver, Name: v.Name, Mountpoint: v.Mountpoint, Scope: "local",
							Labels: strings.Join(labels, ","), Links: "N/A", Size: "N/A", Group: "N/A", Availability: "N/A", Status: "N/A"})
					}
					if c.Bool("quiet") {
						return nil
					}
					f := c.String("format")
					if f == "" {
						f = "table {{.Driver}}\t{{.Name}}"
					}
					return format.Table(e.opts.Stdout, f, []format.Column{{Field: "Name", Header: "VOLUME NAME"}}, rows)
				},
			},
			{
				Name:      "inspect",
				Usage:     "Show volumes in detail",
				ArgsUsage: "VOLUME [VOLUME...]",
				Flags:     []ucli.Flag{&ucli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "format output with a Go template"}},
				Action: func(c *ucli.Context) error {
					if c.NArg() == 0 {
						return usageError(c, "requires at least 1 argument")
					}
					if err := format.Parse(c.String("format")); err != nil {
						return err
					}
					if _, err := e.enterForVolumes(); err != nil {
						return err
					}
					return e.printInspect(c.String("format"), c.Args().Slice(), func(name string) (any, error) {
						v, err := e.volumeStore().Get(name)
						if err != nil {
							return nil, err
						}
						return toVolumeJSON(v), nil
					})
				},
			},
			{
				Name:      "rm",
				Aliases:   []string{"remove"},
				Usage:     "Remove volumes that no container uses",
				ArgsUsage: "VOLUME [VOLUME...]",
				Flags:     []ucli.Flag{&ucli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "no error for a volume that does not exist"}},
				Action: func(c *ucli.Context) error {
					if c.NArg() == 0 {
						return usageError(c, "requires at least 1 argument")
					}
					rt, err := e.runtime()
					if err != nil {
						return err
					}
					var args []string
					for _, name := range c.Args().Slice() {
						// -f: a volume that is not there is no error.
						if _, err := rt.Volumes.Get(name); c.Bool("force") && errors.Is(err, volumes.ErrNotFound) {
							continue
						}
						args = append(args, name)
					}
					return eachArg(e, args, func(name string) (string, error) {
						users, err := rt.VolumeUsers(name, "")
						if err == nil {
							err = rt.Volumes.Remove(name, users)
						}
						return name, err
					})
				},
			},
			{
				Name:  "prune",
				Usage: "Remove unused anonymous volumes (with --all, unused named ones too)",
				Flags: []ucli.Flag{
					&ucli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove unused named volumes too"},
					&ucli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do it (sbx never prompts)"},
				},
				Action: func(c *ucli.Context) error {
					if !c.Bool("force") {
						return fmt.Errorf("volume prune deletes every unused volume's data; pass --force to do it")
					}
					rt, err := e.runtime()
					if err != nil {
						return err
					}
					vols, err := rt.Volumes.List()
					if err != nil {
						return err
					}
					fmt.Fprintln(e.opts.Stdout, "Deleted Volumes:")
					for _, v := range vols {
						if !v.Anonymous && !c.Bool("all") {
							continue
						}
						users, err := rt.VolumeUsers(v.Name, "")
						if err != nil || len(users) > 0 {
							continue
						}
						if rt.Volumes.Remove(v.Name, nil) == nil {
							fmt.Fprintln(e.opts.Stdout, v.Name)
						}
					}
					return nil
				},
			},
		},
	}
}

// enterForVolumes joins the user's namespaces: volume data belongs to ids of the user
// namespace, so it is read and written from inside it.
func (e *env) enterForVolumes() (bool, error) {
	if err := e.enter(); err != nil {
		return false, err
	}
	return true, nil
}
