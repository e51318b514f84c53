package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/sbx-dev/sbx/format"
	"github.com/sbx-dev/sbx/run"
	"github.com/sbx-dev/sbx/run/spec"
	"github.com/sbx-dev/sbx/seccomp"
)

func seccompValidate(path string) error { return seccomp.Validate(path) }

// containerJSON is docker's container inspect shape (the fields sbx has).
type containerJSON struct {
	ID              string `json:"Id"`
	Created         string
	Path            string
	Args            []string
	State           stateJSON
	Image           string
	Name            string
	RestartCount    int
	Driver          string
	HostConfig      hostConfigJSON
	Mounts          []mountJSON
	Config          configJSON
	NetworkSettings networkJSON
	LogPath         string
}

type stateJSON struct {
	Status                                 string
	Running, Paused, Restarting, OOMKilled bool
	Dead                                   bool
	Pid                                    int
	ExitCode                               int
	Error                                  string
	StartedAt, FinishedAt                  string
}

type hostConfigJSON struct {
	Binds            []string
	NetworkMode      string
	AutoRemove       bool
	Privileged       bool
	ReadonlyRootfs   bool
	CapAdd, CapDrop  []string
	GroupAdd         []string
	SecurityOpt      []string
	Init             bool
	Tmpfs            map[string]string
	Memory, NanoCpus int64
	PidsLimit        int64
	ExtraHosts, Dns  []string
	DnsSearch        []string
	Ulimits          []ulimitJSON
	PortBindings     map[string][]portJSON
	PublishAllPorts  bool
	Links            []string
}

type ulimitJSON struct {
	Name       string
	Soft, Hard uint64
}

type mountJSON struct {
	Type, Name, Source, Destination, Driver, Mode string
	RW                                            bool
	Propagation                                   string
}

type configJSON struct {
	Hostname, User, WorkingDir, Image, StopSignal string
	Tty, OpenStdin, AttachStdin                   bool
	Env, Cmd, Entrypoint                          []string
	Labels                                        map[string]string
	ExposedPorts                                  map[string]struct{}
	Volumes                                       map[string]struct{}
}

type networkJSON struct {
	IPAddress   string
	IPPrefixLen int
	Gateway     string
	MacAddress  string
	Networks    map[string]endpointJSON
	Ports       map[string][]portJSON
}

type endpointJSON struct {
	Links       []string
	Aliases     []string
	NetworkID   string
	EndpointID  string
	Gateway     string
	IPAddress   string
	IPPrefixLen int
	MacAddress  string
}

type portJSON struct {
	HostIp   string
	HostPort string
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// storeDriver names the layer store's driver, as docker's inspect shows it: overlay for a
// scratch layer, which is one, and for a --rootfs container on an overlay store.
func storeDriver(rt *run.Runtime, c *run.Container) string {
	if c.Host.ScratchLayer || (c.Host.Rootfs != "" && rt.ScratchLayers) {
		return "overlay"
	}
	s, err := rt.Store()
	if err != nil {
		return ""
	}
	return s.Driver()
}

func toContainerJSON(rt *run.Runtime, c *run.Container) containerJSON {
	args := append(append([]string{}, c.Config.Entrypoint...), c.Config.Cmd...)
	j := containerJSON{
		ID: c.ID, Created: timeString(c.Created), Image: "sha256:" + c.ImageID, Name: "/" + c.Name,
		Driver: storeDriver(rt, c), LogPath: rt.LogPath(c.ID),
		State: stateJSON{
			Status: c.State.Status, Running: c.Running(), ExitCode: c.State.ExitCode, Error: c.State.Error,
			StartedAt: timeString(c.State.StartedAt), FinishedAt: timeString(c.State.FinishedAt),
		},
		HostConfig: hostConfigJSON{
			NetworkMode: c.Host.NetworkMode, AutoRemove: c.Host.AutoRemove, Privileged: c.Host.Privileged,
			ReadonlyRootfs: c.Host.ReadOnly, CapAdd: c.Host.CapAdd, CapDrop: c.Host.CapDrop, GroupAdd: c.Host.GroupAdd, Init: c.Host.Init,
			Memory: c.Host.Memory, NanoCpus: c.Host.NanoCPUs, PidsLimit: c.Host.PidsLimit,
			ExtraHosts: c.Host.ExtraHosts, Dns: c.Host.DNS, DnsSearch: c.Host.DNSSearch, Tmpfs: map[string]string{},
		},
		Config: configJSON{
			Hostname: c.Config.Hostname, User: c.Config.User, WorkingDir: c.Config.WorkingDir, Image: c.Image,
			StopSignal: c.Config.StopSignal, Tty: c.Config.Tty, OpenStdin: c.Config.OpenStdin, AttachStdin: c.Config.OpenStdin,
			Env: c.Config.Env, Cmd: c.Config.Cmd, Entrypoint: c.Config.Entrypoint, Labels: c.Config.Labels,
		},
		Mounts: []mountJSON{},
	}
	if c.ImageID == "" {
		j.Image = ""
	}
	if c.Running() {
		j.State.Pid = c.State.Pid.PID
	}
	if len(args) > 0 {
		j.Path, j.Args = args[0], args[1:]
	}
	if j.Args == nil {
		j.Args = []string{}
	}
	if c.Host.NoNewPrivs {
		j.HostConfig.SecurityOpt = append(j.HostConfig.SecurityOpt, "no-new-privileges")
	}
	if c.Host.Seccomp != "" {
		j.HostConfig.SecurityOpt = append(j.HostConfig.SecurityOpt, "seccomp="+c.Host.Seccomp)
	}
	for _, u := range c.Host.Ulimits {
		j.HostConfig.Ulimits = append(j.HostConfig.Ulimits, ulimitJSON{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	if len(c.Config.ExposedPorts) > 0 {
		j.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range c.Config.ExposedPorts {
			j.Config.ExposedPorts[p] = struct{}{}
		}
	}
	if len(c.Config.Volumes) > 0 {
		j.Config.Volumes = map[string]struct{}{}
		for _, v := range c.Config.Volumes {
			j.Config.Volumes[v] = struct{}{}
		}
	}
	for _, m := range c.Host.Mounts {
		switch m.Type {
		case "tmpfs":
			j.HostConfig.Tmpfs[m.Destination] = strings.Join(m.Options, ",")
			continue
		case "bind":
			bind := m.Source + ":" + m.Destination
			if !m.RW {
				bind += ":ro"
			}
			j.HostConfig.Binds = append(j.HostConfig.Binds, bind)
		}
		mj := mountJSON{Type: m.Type, Name: m.Name, Source: m.Source, Destination: m.Destination, Mode: m.Mode, RW: m.RW, Propagation: "rprivate"}
		if m.Type == "volume" {
			mj.Driver, mj.Propagation = "local", ""
		}
		j.Mounts = append(j.Mounts, mj)
	}
	j.HostConfig.PortBindings = map[string][]portJSON{}
	for _, p := range c.Host.PortBindings {
		key := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
		hp := ""
		if p.HostPort != 0 {
			hp = strconv.Itoa(p.HostPort)
		}
		j.HostConfig.PortBindings[key] = append(j.HostConfig.PortBindings[key], portJSON{HostIp: p.HostIP, HostPort: hp})
	}
	j.HostConfig.PublishAllPorts, j.HostConfig.Links = c.Host.PublishAll, c.Host.Links
	j.NetworkSettings.Networks = map[string]endpointJSON{}
	j.NetworkSettings.Ports = map[string][]portJSON{}
	nets := c.Host.Networks
	if len(nets) == 0 {
		nets = []string{c.Host.NetworkMode}
	}
	for i, name := range nets {
		ep := c.State.Networks[name]
		ej := endpointJSON{NetworkID: ep.NetworkID, Gateway: ep.Gateway, IPAddress: ep.IPAddress,
			IPPrefixLen: ep.PrefixLen, MacAddress: ep.MacAddress}
		if ep.IPAddress != "" {
			ej.EndpointID = c.ID
			ej.Aliases = []string{c.Name, c.ID[:12]}
		}
		if i == 0 {
			ej.Links = c.Host.Links
			j.NetworkSettings.IPAddress, j.NetworkSettings.IPPrefixLen = ep.IPAddress, ep.PrefixLen
			j.NetworkSettings.Gateway, j.NetworkSettings.MacAddress = ep.Gateway, ep.MacAddress
		}
		j.NetworkSettings.Networks[name] = ej
	}
	if c.Running() {
		for _, p := range c.Config.ExposedPorts {
			j.NetworkSettings.Ports[p] = nil
		}
		for _, p := range c.State.Ports {
			key := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
			host := p.HostIP
			if host == "" {
				host = "0.0.0.0"
			}
			j.NetworkSettings.Ports[key] = append(j.NetworkSettings.Ports[key], portJSON{HostIp: host, HostPort: strconv.Itoa(p.HostPort)})
		}
	}
	return j
}

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
			return e.printInspect(c.String("format"), c.Args().Slice(), func(ref string) (any, error) {
				if typ != "image" {
					if ctr, err := rt.Find(ref); err == nil {
						return toContainerJSON(rt, ctr), nil
					} else if !errors.Is(err, run.ErrNotFound) {
						return nil, err
					}
				}
				if typ != "container" {
					if in, found, err := e.inspectImage(ref); found || err != nil {
						return in, err
					}
				}
				return nil, errors.New("no such object: " + ref)
			})
		},
	}
}

func execCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:                   "exec",
		Usage:                  "Run a command in a running container",
		ArgsUsage:              "CONTAINER COMMAND [ARG...]",
		UseShortOptionHandling: true,
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep standard input open"},
			&ucli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-terminal"},
			&ucli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run the command in the background"},
			&ucli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set environment variables"},
			&ucli.StringSliceFlag{Name: "env-file", Usage: "read environment variables from a file"},
			&ucli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory inside the container"},
			&ucli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "user: name|uid[:group|gid]"},
			&ucli.BoolFlag{Name: "privileged", Usage: "give the command all capabilities and no seccomp filter"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() < 2 {
				return usageError(c, "requires at least 2 arguments: CONTAINER COMMAND")
			}
			o := run.ExecOptions{
				Args: c.Args().Slice()[1:], WorkingDir: c.String("workdir"), User: c.String("user"),
				Tty: c.Bool("tty"), Interactive: c.Bool("interactive"), Privileged: c.Bool("privileged"),
			}
			if o.WorkingDir != "" && !strings.HasPrefix(o.WorkingDir, "/") {
				return &run.StatusError{Code: 125, Err: fmt.Errorf("the working directory %q is invalid: it needs to be an absolute path", o.WorkingDir)}
			}
			for _, f := range c.StringSlice("env-file") {
				env, err := spec.ParseEnvFile(f, os.LookupEnv)
				if err != nil {
					return &run.StatusError{Code: 125, Err: err}
				}
				o.Env = append(o.Env, env...)
			}
			env, err := spec.ParseEnv(c.StringSlice("env"), os.LookupEnv)
			if err != nil {
				return &run.StatusError{Code: 125, Err: err}
			}
			o.Env = append(o.Env, env...)
			rt, err := e.runtime()
			if err != nil {
				return err
			}
			ctr, err := rt.Find(c.Args().First())
			if err != nil {
				return &run.StatusError{Code: 125, Err: err}
			}
			stdio := run.Stdio{Out: e.opts.Stdout, Err: e.opts.Stderr}
			if o.Interactive {
				stdio.In = e.opts.Stdin
			}
			if o.Tty {
				if f, ok := e.opts.Stdin.(*os.File); ok && isTerminal(f) {
					stdio.Terminal = f
				}
			}
			if c.Bool("detach") {
				stdio = run.Stdio{}
				o.Interactive = false
			}
			code, err := rt.Exec(ctr, o, stdio)
			if err != nil {
				return err
			}
			if code != 0 {
				return &ExitStatus{Code: code}
			}
			return nil
		},
	}
}

// printInspect is docker's inspect output: every ref that lookup finds, as one JSON array or
// through the template, and then a single error naming the ones it did not.
func (e *env) printInspect(tmpl string, refs []string, lookup func(ref string) (any, error)) error {
	var out []any
	var errs []string
	for _, ref := range refs {
		v, err := lookup(ref)
		if err != nil {
			errs = append(errs, OneLine(err))
			continue
		}
		j, err := asJSON(v)
		if err != nil {
			return err
		}
		out = append(out, j)
	}
	if err := format.Each(e.opts.Stdout, tmpl, out); err != nil {
		return err
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// unwrapPath drops the path and operation an *os.PathError adds, for messages that name the
// file themselves.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// asJSON turns v into the generic form of its JSON encoding, so --format templates see
// docker's JSON field names ({{.Id}}, {{.Config.Env}}) exactly as docker inspect's do.
// Numbers stay json.Number so sizes print as integers, not in exponent form.
func asJSON(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}
