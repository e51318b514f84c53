//go:build !sbx_lite

package cli

import (
	"fmt"
	"os"
	"strings"
	"time"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	ucli "github.com/urfave/cli/v2"

	"github.com/sbx-dev/sbx/format"
	"github.com/sbx-dev/sbx/image"
	"github.com/sbx-dev/sbx/image/transferjob"
)

func imageCommands(e *env) []*ucli.Command {
	ls := imagesCommand(e)
	load := loadCommand(e)
	imp := importCommand(e)
	pull := pullCommand(e)
	tag := tagCommand(e)
	rmi := rmiCommand(e)
	inspect := imageInspectCommand(e)
	hist := historyCommand(e)
	save := saveCommand(e)
	// docker has both `docker images` and `docker image ls`: same commands, two homes.
	sub := func(c *ucli.Command, name string, aliases ...string) *ucli.Command {
		cc := *c
		cc.Name, cc.Aliases = name, aliases
		return &cc
	}
	group := &ucli.Command{
		Name:  "image",
		Usage: "Manage images",
		Subcommands: []*ucli.Command{
			sub(ls, "ls", "list"), sub(load, "load"), sub(imp, "import"), sub(pull, "pull"),
			sub(tag, "tag"), sub(rmi, "rm", "remove"), sub(inspect, "inspect"),
			sub(hist, "history"), sub(save, "save"),
		},
	}
	return []*ucli.Command{group, ls, load, imp, pull, tag, rmi, hist, save}
}

var imageColumns = []format.Column{
	{Field: "Repository", Header: "REPOSITORY"},
	{Field: "Tag", Header: "TAG"},
	{Field: "ID", Header: "IMAGE ID"},
	{Field: "CreatedSince", Header: "CREATED"},
	{Field: "Size", Header: "SIZE"},
	{Field: "CreatedAt", Header: "CREATED AT"},
	{Field: "Digest", Header: "DIGEST"},
}

// imageRow is what --format templates of `sbx images` see: docker's field names, all strings.
type imageRow struct {
	Repository, Tag, ID, Digest, CreatedSince, CreatedAt, Size string
	Containers, SharedSize, UniqueSize, VirtualSize            string
}

func imagesCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "images",
		Usage:     "List images",
		ArgsUsage: "[REPOSITORY[:TAG]]",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only show image IDs"},
			&ucli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show all images (sbx has no hidden intermediates)"},
			&ucli.BoolFlag{Name: "no-trunc", Usage: "don't truncate output"},
			&ucli.BoolFlag{Name: "digests", Usage: "show digests"},
			&ucli.StringFlag{Name: "format", Usage: "format output: table, json or a Go template"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 1 {
				return usageError(c, "at most one REPOSITORY[:TAG] filter")
			}
			fmtStr := c.String("format")
			if err := format.Parse(fmtStr); err != nil {
				return err
			}
			m, err := e.images()
			if err != nil {
				return err
			}
			list, err := m.List()
			if err != nil {
				return err
			}
			filter := c.Args().First()
			now := time.Now()
			var rows []imageRow
			seen := map[string]bool{}
			for _, s := range list {
				if filter != "" && !image.MatchesFilter(filter, s) {
					continue
				}
				if c.Bool("quiet") {
					if !seen[s.ID] {
						seen[s.ID] = true
						id := image.ShortID(s.ID)
						if c.Bool("no-trunc") {
							id = "sha256:" + s.ID
						}
						fmt.Fprintln(e.opts.Stdout, id)
					}
					continue
				}
				id := image.ShortID(s.ID)
				if c.Bool("no-trunc") {
					id = "sha256:" + s.ID
				}
				digest := s.Digest
				if digest == "" {
					digest = "<none>"
				}
				rows = append(rows, imageRow{
					Repository: s.Repository, Tag: s.Tag, ID: id, Digest: digest,
					CreatedSince: format.Since(s.Created, now),
					CreatedAt:    s.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
					Size:         format.HumanSize(s.Size), VirtualSize: format.HumanSize(s.Size),
					Containers: "N/A", SharedSize: "N/A", UniqueSize: "N/A",
				})
			}
			if c.Bool("quiet") {
				return nil
			}
			if fmtStr == "" {
				fmtStr = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
				if c.Bool("digests") {
					fmtStr = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
				}
			}
			return format.Table(e.opts.Stdout, fmtStr, imageColumns, rows)
		},
	}
}

func loadCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:  "load",
		Usage: "Load images from a docker or OCI archive (or an OCI layout directory)",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "read from `FILE` or directory instead of standard input"},
			&ucli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "suppress the load progress"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return usageError(c, "takes no arguments; use -i FILE or standard input")
			}
			in := c.String("input")
			if in == "" && isTerminal(e.opts.Stdin) {
				return fmt.Errorf("requested load from stdin, but stdin is a terminal: use -i FILE or pipe an archive in")
			}
			if in != "" {
				// Check before entering the namespaces, so the message names the user's path.
				if _, err := os.Stat(in); err != nil {
					return fmt.Errorf("opening %s: %w", in, unwrapPath(err))
				}
			}
			loaded, err := e.transfer(c.Context, transferjob.Request{Op: transferjob.OpLoad, Input: in}, c.Bool("quiet"))
			for _, l := range loaded {
				if len(l.Names) == 0 {
					fmt.Fprintf(e.opts.Stdout, "Loaded image ID: sha256:%s\n", l.ID)
				}
				for _, n := range l.Names {
					fmt.Fprintf(e.opts.Stdout, "Loaded image: %s\n", image.FamiliarString(n))
				}
			}
			return err
		},
	}
}

func importCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "import",
		Usage:     "Create an image from a root filesystem tarball (plain, gzip, bzip2, xz or zstd)",
		ArgsUsage: "FILE|- [REPOSITORY[:TAG]]",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "set the history comment"},
			&ucli.StringSliceFlag{Name: "change", Aliases: []string{"c"}, Usage: "apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)"},
			&ucli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "suppress the progress"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return usageError(c, "needs FILE (or - for standard input) and an optional REPOSITORY[:TAG]")
			}
			src, name := c.Args().Get(0), c.Args().Get(1)
			if name != "" {
				if _, err := image.ParseNew(name); err != nil {
					return err
				}
			}
			var probe imgspecv1.ImageConfig
			if err := image.ApplyChanges(&probe, c.StringSlice("change")); err != nil {
				return err
			}
			if src != "-" {
				if _, err := os.Stat(src); err != nil {
					return fmt.Errorf("opening %s: %w", src, unwrapPath(err))
				}
			}
			loaded, err := e.transfer(c.Context, transferjob.Request{
				Op: transferjob.OpImport, Input: src, Name: name, Message: c.String("message"),
				Changes: c.StringSlice("change"),
			}, c.Bool("quiet"))
			if err != nil {
				return err
			}
			l := loaded[0]
			fmt.Fprintf(e.opts.Stdout, "sha256:%s\n", l.ID)
			return nil
		},
	}
}

func pullCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "pull",
		Usage:     "Pull an image from a registry",
		ArgsUsage: "NAME[:TAG|@DIGEST]",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "suppress the progress"},
			&ucli.BoolFlag{Name: "tls-verify", Value: true, Usage: "require HTTPS and verify certificates (loopback registries are exempt unless set explicitly)"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() != 1 {
				return usageError(c, "needs exactly one image name")
			}
			if _, err := image.ParsePull(c.Args().First()); err != nil {
				return err
			}
			req := transferjob.Request{Op: transferjob.OpPull, Name: c.Args().First()}
			if c.IsSet("tls-verify") {
				v := c.Bool("tls-verify")
				req.TLSVerify = &v
			}
			loaded, err := e.transfer(c.Context, req, c.Bool("quiet"))
			if err != nil {
				return err
			}
			l := loaded[0]
			if c.Bool("quiet") {
				fmt.Fprintln(e.opts.Stdout, "sha256:"+l.ID)
				return nil
			}
			for _, n := range l.Names {
				fmt.Fprintf(e.opts.Stdout, "Pulled %s (sha256:%s)\n", image.FamiliarString(n), l.ID)
			}
			if len(l.Names) == 0 {
				fmt.Fprintf(e.opts.Stdout, "Pulled sha256:%s\n", l.ID)
			}
			return nil
		},
	}
}

func tagCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "tag",
		Usage:     "Give an image another name",
		ArgsUsage: "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Action: func(c *ucli.Context) error {
			if c.NArg() != 2 {
				return usageError(c, "needs SOURCE and TARGET")
			}
			if _, err := image.ParseNew(c.Args().Get(1)); err != nil {
				return err
			}
			m, err := e.images()
			if err != nil {
				return err
			}
			_, err = m.Tag(c.Args().Get(0), c.Args().Get(1))
			return err
		},
	}
}

func rmiCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "rmi",
		Usage:     "Remove images",
		ArgsUsage: "IMAGE [IMAGE...]",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "remove an image referenced by several names"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() == 0 {
				return usageError(c, "needs at least one image")
			}
			m, err := e.images()
			if err != nil {
				return err
			}
			rt, err := e.runtime()
			if err != nil {
				return err
			}
			m.UsedBy = func(imageID string) (string, bool) {
				ctrs, _ := rt.List()
				for _, c := range ctrs {
					if c.ImageID == imageID {
						return c.Name, true
					}
				}
				return "", false
			}
			var errs []string
			for _, name := range c.Args().Slice() {
				res, err := m.Remove(name, c.Bool("force"))
				for _, u := range res.Untagged {
					fmt.Fprintf(e.opts.Stdout, "Untagged: %s\n", u)
				}
				for _, d := range res.Deleted {
					fmt.Fprintf(e.opts.Stdout, "Deleted: %s\n", d)
				}
				if err != nil {
					errs = append(errs, err.Error())
				}
			}
			if len(errs) > 0 {
				return fmt.Errorf("%s", strings.Join(errs, "; "))
			}
			return nil
		},
	}
}

func imageInspectCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "inspect",
		Usage:     "Show low-level information on images",
		ArgsUsage: "IMAGE [IMAGE...]",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "format output with a Go template"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() == 0 {
				return usageError(c, "needs at least one image")
			}
			if err := format.Parse(c.String("format")); err != nil {
				return err
			}
			m, err := e.images()
			if err != nil {
				return err
			}
			return e.printInspect(c.String("format"), c.Args().Slice(), func(name string) (any, error) {
				return m.InspectImage(name)
			})
		},
	}
}

type historyRow struct {
	ID, CreatedSince, CreatedAt, CreatedBy, Size, Comment string
}

func historyCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "history",
		Usage:     "Show the history of an image",
		ArgsUsage: "IMAGE",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only show image IDs"},
			&ucli.BoolFlag{Name: "no-trunc", Usage: "don't truncate output"},
			&ucli.BoolFlag{Name: "human", Aliases: []string{"H"}, Value: true, Usage: "print sizes and dates in human readable format"},
			&ucli.StringFlag{Name: "format", Usage: "format output: table, json or a Go template"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() != 1 {
				return usageError(c, "needs exactly one image")
			}
			if err := format.Parse(c.String("format")); err != nil {
				return err
			}
			m, err := e.images()
			if err != nil {
				return err
			}
			hist, err := m.History(c.Args().First())
			if err != nil {
				return err
			}
			now := time.Now()
			var rows []historyRow
			for _, h := range hist {
				id := h.ID
				if !c.Bool("no-trunc") && strings.HasPrefix(id, "sha256:") {
					id = image.ShortID(strings.TrimPrefix(id, "sha256:"))
				}
				if c.Bool("quiet") {
					fmt.Fprintln(e.opts.Stdout, id)
					continue
				}
				by := h.CreatedBy
				if !c.Bool("no-trunc") && len(by) > 45 {
					by = by[:44] + "…"
				}
				size := format.HumanSize(h.Size)
				created := format.Since(h.Created, now)
				if !c.Bool("human") {
					size = fmt.Sprint(h.Size)
					created = h.Created.Format(time.RFC3339)
				}
				rows = append(rows, historyRow{ID: id, CreatedSince: created, CreatedAt: h.Created.Format(time.RFC3339),
					CreatedBy: by, Size: size, Comment: h.Comment})
			}
			if c.Bool("quiet") {
				return nil
			}
			f := c.String("format")
			if f == "" {
				f = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
			}
			return format.Table(e.opts.Stdout, f, []format.Column{
				{Field: "ID", Header: "IMAGE"}, {Field: "CreatedSince", Header: "CREATED"},
				{Field: "CreatedBy", Header: "CREATED BY"}, {Field: "Size", Header: "SIZE"},
				{Field: "Comment", Header: "COMMENT"}, {Field: "CreatedAt", Header: "CREATED AT"},
			}, rows)
		},
	}
}

func saveCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "save",
		Usage:     "Save images to a tar archive (docker-archive by default)",
		ArgsUsage: "IMAGE [IMAGE...]",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of standard output"},
			&ucli.StringFlag{Name: "format", Value: transferjob.FormatDockerArchive, Usage: "docker-archive or oci-archive"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() == 0 {
				return usageError(c, "needs at least one image")
			}
			f := c.String("format")
			if f != transferjob.FormatDockerArchive && f != transferjob.FormatOCIArchive {
				return fmt.Errorf("unknown --format %q: use docker-archive or oci-archive", f)
			}
			out := c.String("output")
			if out == "" && isTerminal(e.opts.Stdout) {
				return fmt.Errorf("cowardly refusing to write an archive to a terminal: use -o FILE or redirect standard output")
			}
			_, err := e.transfer(c.Context, transferjob.Request{
				Op: transferjob.OpSave, Output: out, Format: f, Names: c.Args().Slice(),
			}, true)
			return err
		},
	}
}
