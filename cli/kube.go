//go:build !sbx_lite

package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/sbx-dev/sbx/internal/progfile"
	"github.com/sbx-dev/sbx/kube"
	"github.com/sbx-dev/sbx/run"
	"github.com/sbx-dev/sbx/run/spec"
)

func kubeCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:  "kube",
		Usage: "Generate Kubernetes YAML from containers, and run such YAML locally",
		Subcommands: []*ucli.Command{
			{
				Name:      "generate",
				Usage:     "Print a Pod (or a Deployment) that runs the named containers, or a played pod",
				ArgsUsage: "CONTAINER|POD [CONTAINER|POD...]",
				Description: "Containers that share a network namespace (--network container:NAME) are one pod;\n" +
					"naming any of them generates the whole pod. Several pods are separate YAML documents.\n" +
					"What has no pod equivalent is left out, with a warning on standard error.",
				Flags: []ucli.Flag{
					&ucli.StringFlag{Name: "type", Value: "pod", Usage: "pod or deployment"},
				},
				Action: func(c *ucli.Context) error {
					if c.NArg() == 0 {
						return usageError(c, "requires at least 1 argument")
					}
					typ := c.String("type")
					if typ != "pod" && typ != "deployment" {
						return fmt.Errorf("invalid --type %q: use pod or deployment", typ)
					}
					h, err := e.kubeHost()
					if err != nil {
						return err
					}
					pods, err := h.Collect(c.Args().Slice())
					if err != nil {
						return err
					}
					var out bytes.Buffer
					for i, in := range pods {
						var obj any
						var warn []string
						if typ == "pod" {
							obj, warn = kube.NewPod(in)
						} else {
							obj, warn = kube.NewDeployment(in)
						}
						for _, w := range warn {
							fmt.Fprintf(e.opts.Stderr, "sbx: kube generate: warning: %s\n", w)
						}
						y, err := kube.Marshal(obj)
						if err != nil {
							return err
						}
						if i > 0 {
							out.WriteString("---\n")
						}
						out.Write(y)
					}
					_, err = out.WriteTo(e.opts.Stdout)
					return err
				},
			},
			{
				Name:      "play",
				Usage:     "Create and start the containers of the Pods and Deployments in a YAML file (- for standard input)",
				ArgsUsage: "FILE",
				Description: "Each pod gets an infra container, POD-infra, that holds its network namespace and host\n" +
					"name, and one detached container per pod container, named POD-NAME. hostPath volumes\n" +
					"are bind mounts, persistentVolumeClaims are named volumes (made if missing), emptyDir\n" +
					"volumes are made for the pod and go with it (medium Memory: a tmpfs). A Deployment runs\n" +
					"its template once, as one pod named after it; sbx does not restart containers. A field\n" +
					"sbx does not carry out is refused, and nothing is created.",
				Action: func(c *ucli.Context) error {
					if c.NArg() != 1 {
						return usageError(c, "requires exactly 1 argument")
					}
					file := c.Args().First()
					data, err := e.readFileArg(file)
					if err != nil {
						return err
					}
					pods, err := kube.Parse(data)
					if err != nil {
						return fmt.Errorf("kube play %s: %w", file, err)
					}
					h, err := e.kubeHost()
					if err != nil {
						return err
					}
					names, err := h.Play(pods)
					if err != nil {
						// %v: a container's start status (125-127) is not this command's.
						return fmt.Errorf("kube play %s: %v", file, err)
					}
					for _, n := range names {
						fmt.Fprintln(e.opts.Stdout, n)
					}
					return nil
				},
			},
			{
				Name:      "down",
				Usage:     "Stop and remove the containers and emptyDir volumes of the pods in a YAML file that was played",
				ArgsUsage: "FILE",
				Flags: []ucli.Flag{
					&ucli.StringFlag{Name: "time", Aliases: []string{"t"}, Usage: "seconds to wait after the stop signal before killing (default: each container's stop timeout)"},
				},
				Action: func(c *ucli.Context) error {
					if c.NArg() != 1 {
						return usageError(c, "requires exactly 1 argument")
					}
					var grace *time.Duration
					if t := c.String("time"); t != "" {
						d, err := spec.ParseDuration(t)
						if err != nil {
							return fmt.Errorf("invalid --time %q: %w", t, err)
						}
						grace = &d
					}
					file := c.Args().First()
					data, err := e.readFileArg(file)
					if err != nil {
						return err
					}
					names, err := kube.PodNames(data)
					if err != nil {
						return fmt.Errorf("kube down %s: %w", file, err)
					}
					h, err := e.kubeHost()
					if err != nil {
						return err
					}
					removed, err := h.Down(names, grace)
					for _, n := range removed {
						fmt.Fprintln(e.opts.Stdout, n)
					}
					if err != nil {
						return fmt.Errorf("kube down %s: %w", file, err)
					}
					return nil
				},
			},
		},
	}
}

// readFileArg reads a file named on the command line, or standard input for "-".
func (e *env) readFileArg(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(e.opts.Stdin)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, unwrapPath(err))
	}
	return data, nil
}

// kubeHost opens the store and sets up what play needs: the infra containers' empty root.
func (e *env) kubeHost() (*kube.Host, error) {
	rt, err := e.runtime()
	if err != nil {
		return nil, err
	}
	imgs, err := e.images()
	if err != nil {
		return nil, err
	}
	exe, err := progfile.Executable()
	if err != nil {
		return nil, err
	}
	root := filepath.Join(e.paths.DataDir, "kube", "infra-root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", root, err)
	}
	return &kube.Host{
		Runtime: rt, Images: imgs, InfraRoot: root, Binary: exe,
		Start: func(c *run.Container) error { return e.startDetached(rt, c) },
	}, nil
}
