package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	ucli "github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/sbx-dev/sbx/config"
	"github.com/sbx-dev/sbx/format"
	"github.com/sbx-dev/sbx/image/meta"
	"github.com/sbx-dev/sbx/internal/progfile"
	"github.com/sbx-dev/sbx/run"
	"github.com/sbx-dev/sbx/run/spec"
	"github.com/sbx-dev/sbx/state"
	"github.com/sbx-dev/sbx/userns"
	"github.com/sbx-dev/sbx/volumes"
)

// ExitStatus ends sbx with a status and no message (the container's own status).
type ExitStatus struct{ Code int }

func (e *ExitStatus) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// runtime enters the namespaces and returns the container runtime; the store opens at its
// first use.
func (e *env) runtime() (*run.Runtime, error) {
	if err := e.enter(); err != nil {
		return nil, err
	}
	overlay := e.cfg.Storage.Driver == config.DriverOverlay
	var known *meta.KnownImages
	if overlay {
		known = e.knownImages()
	}
	return &run.Runtime{
		OpenStore:     e.openLayers,
		ScratchLayers: overlay,
		KnownImages:   known,
		InitDir:       e.programDir(),
		Containers:    e.containers(),
		Volumes:       e.volumeStore(),
		Rootless:      e.paths.Rootless,
		Logger:        e.logger,
		HolderRef:     e.opts.HolderRef,
		Net:           e.netConfig(),
		LayerLockShared: func() (func(), error) {
			l, err := state.LockFileShared(filepath.Join(e.paths.DataDir, "layers.lock"))
			if err != nil {
				return nil, err
			}
			return l.Unlock, nil
		},
	}, nil
}

// knownImages is what starts of the images users named need (see meta.KnownImages).
func (e *env) knownImages() *meta.KnownImages {
	return &meta.KnownImages{Path: e.knownImagesPath(), GraphRoot: e.graphRoot()}
}

// containers is the user's container records.
func (e *env) containers() *run.Containers {
	return &run.Containers{Dir: filepath.Join(e.paths.DataDir, "containers")}
}

func createFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep standard input open"},
		&ucli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-terminal"},
		&ucli.BoolFlag{Name: "rm", Usage: "remove the container when it exits"},
		&ucli.StringFlag{Name: "name", Usage: "assign a name to the container"},
		&ucli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set environment variables"},
		&ucli.StringSliceFlag{Name: "env-file", Usage: "read environment variables from a file"},
		&ucli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory inside the container"},
		&ucli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "user: name|uid[:group|gid]"},
		&ucli.StringFlag{Name: "entrypoint", Usage: "overwrite the image's ENTRYPOINT"},
		&ucli.StringFlag{Name: "hostname", Aliases: []string{"h"}, Usage: "container host name"},
		&ucli.BoolFlag{Name: "read-only", Usage: "mount the container's root filesystem read-only"},
		&ucli.StringSliceFlag{Name: "tmpfs", Usage: "mount a tmpfs: DEST[:OPTIONS]"},
		&ucli.BoolFlag{Name: "privileged", Usage: "all capabilities, no seccomp, no masked paths"},
		&ucli.StringSliceFlag{Name: "cap-add", Usage: "add Linux capabilities"},
		&ucli.StringSliceFlag{Name: "group-add", Usage: "add supplementary groups to join (a name in the image's /etc/group, or a gid)"},
		&ucli.StringSliceFlag{Name: "cap-drop", Usage: "drop Linux capabilities"},
		&ucli.StringSliceFlag{Name: "security-opt", Usage: "no-new-privileges[=false], seccomp=unconfined|PROFILE.json"},
		&ucli.BoolFlag{Name: "init", Usage: "run an init as PID 1 that forwards signals and reaps processes"},
		&ucli.StringSliceFlag{Name: "ulimit", Usage: "ulimit options, e.g. nofile=1024:2048"},
		&ucli.StringFlag{Name: "memory", Aliases: []string{"m"}, Usage: "memory limit"},
		&ucli.StringFlag{Name: "cpus", Usage: "number of CPUs"},
		&ucli.Int64Flag{Name: "pids-limit", Usage: "process limit"},
		&ucli.StringFlag{Name: "timeout", Usage: "stop the container after DURATION and exit 124 (sbx addition)"},
		&ucli.StringFlag{Name: "rootfs", Usage: "run a plain directory as the root filesystem, no image (sbx addition)"},
		&ucli.StringSliceFlag{Name: "volume", Aliases: []string{"v"}, Usage: "bind mount a volume: [SRC:]DST[:ro]"},
		&ucli.StringSliceFlag{Name: "mount", Usage: "attach a filesystem mount: type=bind|volume|tmpfs,source=,target=,readonly"},
		&ucli.StringSliceFlag{Name: "volumes-from", Usage: "mount the volumes of another container: CONTAINER[:ro|rw]"},
		&ucli.StringFlag{Name: "userns", Usage: "keep-id: run as your own uid inside, owning your files as outside (rootless)"},
		&ucli.StringFlag{Name: "network", Aliases: []string{"net"}, Usage: "connect to a network: bridge (the default), NAME, none, host or container:NAME"},
		&ucli.StringSliceFlag{Name: "publish", Aliases: []string{"p"}, Usage: "publish a port: [IP:][HOSTPORT:]PORT[/udp]"},
		&ucli.BoolFlag{Name: "publish-all", Aliases: []string{"P"}, Usage: "publish every exposed port to a free host port"},
		&ucli.StringSliceFlag{Name: "expose", Usage: "expose a port or range: PORT[-END][/PROTO]"},
		&ucli.StringSliceFlag{Name: "link", Usage: "link to another container: NAME[:ALIAS]"},
		&ucli.StringSliceFlag{Name: "add-host", Usage: "add a custom host-to-IP mapping (host:ip)"},
		&ucli.StringSliceFlag{Name: "dns", Usage: "set custom DNS servers"},
		&ucli.StringSliceFlag{Name: "dns-search", Usage: "set custom DNS search domains"},
		&ucli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "set metadata on the container"},
		&ucli.StringFlag{Name: "stop-signal", Usage: "signal to stop the container"},
		&ucli.IntFlag{Name: "stop-timeout", Usage: "seconds to wait after the stop signal before killing"},
	}
}

// createOptions turns the flags into run.CreateOptions; every value is checked here, so a
// bad one fails before anything is created.
func createOptions(c runFlags) (run.CreateOptions, error) {
	o := run.CreateOptions{
		Name: c.String("name"), WorkingDir: c.String("workdir"), User: c.String("user"),
		Hostname: c.String("hostname"), Tty: c.Bool("tty"), OpenStdin: c.Bool("interactive"),
		AutoRemove: c.Bool("rm"), ReadOnly: c.Bool("read-only"), Privileged: c.Bool("privileged"),
		CapAdd: c.StringSlice("cap-add"), CapDrop: c.StringSlice("cap-drop"), Init: c.Bool("init"),
		GroupAdd: c.StringSlice("group-add"),
		Network:  c.String("network"), Userns: c.String("userns"), ExtraHosts: c.StringSlice("add-host"), DNS: c.StringSlice("dns"),
		DNSSearch: c.StringSlice("dns-search"), StopSignal: c.String("stop-signal"),
		StopTimeout: c.Int("stop-timeout"), Rootfs: c.String("rootfs"), PidsLimit: c.Int64("pids-limit"),
	}
	if c.IsSet("entrypoint") {
		ep := c.String("entrypoint")
		o.Entrypoint = &ep
	}
	args := c.Positional()
	if o.Rootfs == "" {
		if len(args) == 0 {
			return o, c.UsageError("requires at least 1 argument (an image, or --rootfs DIR)")
		}
		o.Image, args = args[0], args[1:]
	}
	o.Cmd = args
	for _, f := range c.StringSlice("env-file") {
		env, err := spec.ParseEnvFile(f, os.LookupEnv)
		if err != nil {
			return o, err
		}
		o.Env = append(o.Env, env...)
	}
	env, err := spec.ParseEnv(c.StringSlice("env"), os.LookupEnv)
	if err != nil {
		return o, err
	}
	o.Env = append(o.Env, env...)
	if o.Security, err = spec.ParseSecurityOpts(c.StringSlice("security-opt")); err != nil {
		return o, err
	}
	if o.Security.Seccomp != "" && o.Security.Seccomp != "unconfined" {
		if err := validateSeccomp(o.Security.Seccomp); err != nil {
			return o, err
		}
	}
	for _, t := range c.StringSlice("tmpfs") {
		tf, err := spec.ParseTmpfs(t)
		if err != nil {
			return o, err
		}
		o.Tmpfs = append(o.Tmpfs, tf)
	}
	for _, u := range c.StringSlice("ulimit") {
		ul, err := spec.ParseUlimit(u)
		if err != nil {
			return o, err
		}
		o.Ulimits = append(o.Ulimits, ul)
	}
	if m := c.String("memory"); m != "" {
		if o.Memory, err = spec.ParseBytes(m); err != nil {
			return o, fmt.Errorf("invalid --memory %q: %w", m, err)
		}
	}
	if cpus := c.String("cpus"); cpus != "" {
		quota, period, err := spec.ParseCPUs(cpus)
		if err != nil {
			return o, err
		}
		o.NanoCPUs = quota * 1e9 / int64(period)
	}
	if t := c.String("timeout"); t != "" {
		if o.Timeout, err = spec.ParseDuration(t); err != nil {
			return o, fmt.Errorf("invalid --timeout %q: %w", t, err)
		}
		if o.Timeout == 0 {
			return o, fmt.Errorf("invalid --timeout %q: must be greater than zero", t)
		}
	}
	if s := o.StopSignal; s != "" {
		if _, err := spec.ParseSignal(s); err != nil {
			return o, err
		}
	}
	for _, l := range c.StringSlice("label") {
		k, v, _ := strings.Cut(l, "=")
		if o.Labels == nil {
			o.Labels = map[string]string{}
		}
		o.Labels[k] = v
	}
	for _, h := range c.StringSlice("add-host") {
		name, ip, ok := strings.Cut(h, ":")
		if !ok || name == "" || ip == "" {
			return o, fmt.Errorf("invalid --add-host %q: use HOST:IP", h)
		}
	}
	for _, v := range c.StringSlice("publish") {
		ports, err := spec.ParsePublish(v)
		if err != nil {
			return o, err
		}
		for _, p := range ports {
			o.Publish = append(o.Publish, run.PortBinding{HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort, Proto: p.Proto})
		}
	}
	o.PublishAll = c.Bool("publish-all")
	for _, v := range c.StringSlice("expose") {
		ports, err := spec.ParseExpose(v)
		if err != nil {
			return o, err
		}
		o.Expose = append(o.Expose, ports...)
	}
	o.Links = c.StringSlice("link")
	o.VolumesFrom = c.StringSlice("volumes-from")
	var specs []volumes.Spec
	for _, v := range c.StringSlice("volume") {
		sp, err := volumes.ParseVolume(v)
		if err != nil {
			return o, err
		}
		specs = append(specs, sp)
	}
	for _, m := range c.StringSlice("mount") {
		sp, err := volumes.ParseMount(m)
		if err != nil {
			return o, err
		}
		specs = append(specs, sp)
	}
	for _, sp := range specs {
		switch sp.Kind {
		case volumes.KindBind:
			m, err := bindMount(sp)
			if err != nil {
				return o, err
			}
			o.Binds = append(o.Binds, m)
		case volumes.KindTmpfs:
			tf, err := spec.ParseTmpfs(sp.Destination + ":" + strings.Join(sp.Options, ","))
			if err != nil {
				return o, err
			}
			tf.ReadOnly = sp.ReadOnly
			o.Tmpfs = append(o.Tmpfs, tf)
		default:
			o.Volumes = append(o.Volumes, sp)
		}
	}
	return o, nil
}

// bindMount checks a bind source on the host: -v creates a missing directory (as docker
// does, owned by the user), --mount refuses a missing source.
func bindMount(sp volumes.Spec) (run.Mount, error) {
	st, err := os.Stat(sp.Source)
	if os.IsNotExist(err) {
		if !sp.CreateHostPath {
			return run.Mount{}, fmt.Errorf("invalid mount config for type \"bind\": bind source path does not exist: %s", sp.Source)
		}
		if err := os.MkdirAll(sp.Source, 0o755); err != nil {
			return run.Mount{}, fmt.Errorf("creating bind source %s: %w", sp.Source, err)
		}
		st, err = os.Stat(sp.Source)
	}
	if err != nil {
		return run.Mount{}, fmt.Errorf("bind source %s: %w", sp.Source, unwrapPath(err))
	}
	mode := "rw"
	if sp.ReadOnly {
		mode = "ro"
	}
	return run.Mount{Type: "bind", Source: sp.Source, Destination: sp.Destination, RW: !sp.ReadOnly, Mode: mode, File: !st.IsDir()}, nil
}

// runFlagList is run's flags: create's and -d.
func runFlagList() []ucli.Flag {
	return append(createFlags(), &ucli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run in the background and print the container ID"})
}

func runCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:                   "run",
		Usage:                  "Create and run a new container from an image",
		ArgsUsage:              "IMAGE [COMMAND] [ARG...]",
		UseShortOptionHandling: true,
		Flags:                  quickNames(runFlagList()),
		Action: func(c *ucli.Context) error {
			return e.run(c.Context, contextFlags{c})
		},
	}
}

// run is `sbx run`, its command line read by urfave or by quickRun.
func (e *env) run(ctx context.Context, c runFlags) error {
	// From here on a signal for sbx is kept for the container (a CI runner cancelling the
	// step while the container is being set up); one that came earlier ended the
	// command's context, and nothing has been made yet. They stay caught until sbx exits,
	// so that none cuts the cleanup after the container short.
	var sigs chan os.Signal
	if !c.Bool("detach") {
		sigs = e.caught.Signals()
	}
	if ctx.Err() != nil {
		return &run.StatusError{Code: 125, Err: errors.New("stopped by a signal before the container was created")}
	}
	o, err := createOptions(c)
	if err != nil {
		return &run.StatusError{Code: 125, Err: err}
	}
	rt, err := e.runtime()
	if err != nil {
		return &run.StatusError{Code: 125, Err: err}
	}
	o.StartNow = true
	// This process supervises the container, unless a detached one is started for it.
	o.SuperviseHere = !c.Bool("detach") || userns.DetachPipe() != nil
	o.Detach = c.Bool("detach")
	// The init starts while the container is created; in the foreground on a thread of its
	// own, detached on this one (see run.Runtime.StartEarly).
	detachPipe := userns.DetachPipe()
	var early *run.EarlyInit
	switch {
	case !c.Bool("detach"):
		withStdin := o.OpenStdin && e.opts.Stdin != nil
		if early, e.early = e.early, nil; !early.Suits(o, withStdin) {
			early.Discard()
			early = rt.StartEarly(o, withStdin, false)
		}
	case detachPipe != nil:
		early = rt.StartEarly(o, false, true)
	}
	defer early.Discard()
	ctr, err := rt.Create(o)
	if err != nil {
		return &run.StatusError{Code: 125, Err: err}
	}
	if c.Bool("detach") {
		if detachPipe != nil {
			return e.superviseHere(rt, ctr, detachPipe, early)
		}
		if err := e.startDetached(rt, ctr); err != nil {
			return err
		}
		fmt.Fprintln(e.opts.Stdout, ctr.ID)
		return nil
	}
	return e.attach(rt, ctr, sigs, early)
}

// attach runs the container in the foreground: this process is its supervisor. sigs holds
// the signals caught since the command started (nil: from now on).
func (e *env) attach(rt *run.Runtime, ctr *run.Container, sigs chan os.Signal, early *run.EarlyInit) error {
	stdio := run.Stdio{Out: e.opts.Stdout, Err: e.opts.Stderr, Signals: sigs, Early: early}
	if ctr.Config.OpenStdin {
		stdio.In = e.opts.Stdin
	}
	if ctr.Config.Tty {
		if f, ok := e.opts.Stdin.(*os.File); ok && isTerminal(f) {
			stdio.Terminal = f
		}
	}
	code, err := rt.SuperviseContainer(ctr, stdio, nil)
	if err != nil {
		var se *run.StatusError
		if errors.As(err, &se) {
			return err
		}
		return &run.StatusError{Code: 125, Err: err}
	}
	if code != 0 {
		return &ExitStatus{Code: code}
	}
	return nil
}

// superviseHere makes this process the detached container's supervisor: the constructor
// forked `sbx run -d`, and the parent the caller waits for exits with what is written to
// parent (see userns.DetachPipe). Starting sbx again as `sbx __supervise` (startDetached)
// would cost a whole second start of sbx. The supervisor lets go of the caller's terminal
// and standard streams as startDetached's does: its own output goes to supervisor.log.
func (e *env) superviseHere(rt *run.Runtime, ctr *run.Container, parent *os.File, early *run.EarlyInit) error {
	logf, err := os.OpenFile(rt.Containers.Path(ctr.ID, "supervisor.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	// The caller's standard output and error stay reachable for the ID or the error, and
	// are closed before the parent exits: $(sbx run -d ...) reads until they are.
	out, err := dupCloexec(1)
	if err != nil {
		return err
	}
	errOut, err := dupCloexec(2)
	if err != nil {
		return err
	}
	for fd, f := range []*os.File{null, logf, logf} {
		if err := unix.Dup3(int(f.Fd()), fd, 0); err != nil {
			return err
		}
	}
	null.Close()
	logf.Close()
	unix.Setsid()
	os.Chdir("/")
	var hold []*os.File
	if rt.HolderRef != nil {
		hold = append(hold, rt.HolderRef)
	}
	reported := false
	report := func(err error) {
		reported = true
		if err == nil {
			fmt.Fprintln(out, ctr.ID)
			out.Close()
			errOut.Close()
			fmt.Fprintln(parent, "ok")
			return
		}
		code := 125
		var se *run.StatusError
		if errors.As(err, &se) {
			code = se.Code
		}
		fmt.Fprintf(errOut, "sbx: %s\n", OneLine(err))
		out.Close()
		errOut.Close()
		fmt.Fprintln(parent, code)
		parent.Close()
	}
	_, err = rt.SuperviseContainer(ctr, run.Stdio{Hold: hold, Ready: parent, Early: early}, report)
	if err != nil && !reported {
		report(err)
	}
	return err
}

// dupCloexec duplicates fd; the copy does not reach children.
func dupCloexec(fd int) (*os.File, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(nfd), "stdio"), nil
}

// startDetached starts a supervisor process for the container and waits until the
// container's command runs (or failed to).
func (e *env) startDetached(rt *run.Runtime, ctr *run.Container) error {
	exe, err := progfile.Executable()
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	logf, err := os.OpenFile(rt.Containers.Path(ctr.ID, "supervisor.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		w.Close()
		return err
	}
	defer logf.Close()
	null, _ := os.Open(os.DevNull)
	defer null.Close()
	extra := []*os.File{w}
	if rt.HolderRef != nil {
		extra = append(extra, rt.HolderRef)
	}
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        []string{"sbx", "__supervise", ctr.ID},
		Env:         os.Environ(),
		Stdin:       null,
		Stdout:      logf,
		Stderr:      logf,
		ExtraFiles:  extra,
		Dir:         "/",
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		w.Close()
		return &run.StatusError{Code: 125, Err: fmt.Errorf("starting the supervisor: %w", err)}
	}
	w.Close()
	cmd.Process.Release()
	var msg [4096]byte
	n, _ := r.Read(msg[:])
	line := strings.TrimSpace(string(msg[:n]))
	if line == "ok" {
		// The supervisor closes the pipe once it has settled (the idle supervisor in place,
		// see run.Stdio.Ready): from then on it is found as it will stay.
		io.Copy(io.Discard, r)
		return nil
	}
	if line == "" {
		line = "125 the supervisor exited before the container started; see " + rt.Containers.Path(ctr.ID, "supervisor.log")
	}
	code, text, _ := strings.Cut(line, " ")
	var status int
	fmt.Sscan(code, &status)
	if status == 0 {
		status = 125
	}
	return &run.StatusError{Code: status, Err: errors.New(text)}
}

// finishCommand is the detached supervisor's last stage (hidden): the idle supervisor
// (package run/idlesup) executes it in its own process once the container has exited, with
// the exit status, and it records the exit and releases what the container held. The
// reference on the holder is still fd 4, inherited; it stays open until this process exits.
func finishCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:   "__finish",
		Hidden: true,
		Action: func(c *ucli.Context) error {
			status, err := strconv.Atoi(c.Args().Get(1))
			if err != nil || c.NArg() != 2 {
				return errors.New("usage: sbx __finish ID STATUS")
			}
			rt, err := e.runtime()
			if err != nil {
				return err
			}
			return rt.FinishDetached(c.Args().First(), status)
		},
	}
}

// superviseCommand is the detached supervisor's entry point (hidden).
func superviseCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:   "__supervise",
		Hidden: true,
		Action: func(c *ucli.Context) error {
			ready := os.NewFile(3, "ready")
			ref := os.NewFile(4, "holder-ref") // kept open: the namespaces live while we do
			defer ref.Close()
			rt, err := e.runtime()
			if err != nil {
				fmt.Fprintf(ready, "125 %v\n", err)
				return err
			}
			// The reference goes along when the supervisor becomes the idle one (Hold), and
			// the starter waits until it has (Ready).
			stdio := run.Stdio{Hold: []*os.File{ref}, Ready: ready}
			_, err = rt.Supervise(c.Args().First(), stdio, func(err error) {
				if err != nil {
					code := 125
					var se *run.StatusError
					if errors.As(err, &se) {
						code = se.Code
					}
					fmt.Fprintf(ready, "%d %s\n", code, OneLine(err))
					ready.Close()
				} else {
					fmt.Fprintln(ready, "ok")
				}
			})
			return err
		},
	}
}

func createCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:                   "create",
		Usage:                  "Create a new container without starting it",
		ArgsUsage:              "IMAGE [COMMAND] [ARG...]",
		UseShortOptionHandling: true,
		Flags:                  quickNames(createFlags()),
		Action: func(c *ucli.Context) error {
			o, err := createOptions(contextFlags{c})
			if err != nil {
				return &run.StatusError{Code: 125, Err: err}
			}
			rt, err := e.runtime()
			if err != nil {
				return err
			}
			ctr, err := rt.Create(o)
			if err != nil {
				return &run.StatusError{Code: 125, Err: err}
			}
			fmt.Fprintln(e.opts.Stdout, ctr.ID)
			return nil
		},
	}
}

func startCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:                   "start",
		Usage:                  "Start one or more stopped containers",
		ArgsUsage:              "CONTAINER [CONTAINER...]",
		UseShortOptionHandling: true,
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "attach", Aliases: []string{"a"}, Usage: "attach stdout/stderr and forward signals"},
			&ucli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "attach standard input"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() == 0 {
				return usageError(c, "requires at least 1 argument")
			}
			rt, err := e.runtime()
			if err != nil {
				return err
			}
			if c.Bool("attach") {
				if c.NArg() != 1 {
					return usageError(c, "can attach to only one container")
				}
				ctr, err := rt.Find(c.Args().First())
				if err != nil {
					return err
				}
				if ctr.Running() {
					return fmt.Errorf("container %s is already running", ctr.Name)
				}
				return e.attach(rt, ctr, nil, nil)
			}
			return eachArg(e, c.Args().Slice(), func(ref string) (string, error) {
				ctr, err := rt.Find(ref)
				if err == nil && !ctr.Running() {
					err = e.startDetached(rt, ctr)
				}
				return ref, err
			})
		},
	}
}

func stopCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "stop",
		Usage:     "Stop running containers: the stop signal, then SIGKILL after a grace period",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "time", Aliases: []string{"t"}, Usage: "seconds to wait before killing (default: the container's stop timeout, 10)"},
			&ucli.StringFlag{Name: "signal", Aliases: []string{"s"}, Usage: "signal to send instead of the container's stop signal"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() == 0 {
				return usageError(c, "requires at least 1 argument")
			}
			var grace *time.Duration
			if t := c.String("time"); t != "" {
				d, err := spec.ParseDuration(t)
				if err != nil {
					return fmt.Errorf("invalid --time %q: %w", t, err)
				}
				grace = &d
			}
			if s := c.String("signal"); s != "" {
				if _, err := spec.ParseSignal(s); err != nil {
					return err
				}
			}
			rt, err := e.runtime()
			if err != nil {
				return err
			}
			return eachContainer(e, rt, c.Args().Slice(), func(ctr *run.Container) error {
				return rt.Stop(ctr, c.String("signal"), grace)
			})
		},
	}
}

func killCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "kill",
		Usage:     "Send a signal (SIGKILL by default) to running containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "signal", Aliases: []string{"s"}, Value: "KILL", Usage: "signal to send"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() == 0 {
				return usageError(c, "requires at least 1 argument")
			}
			sig, err := spec.ParseSignal(c.String("signal"))
			if err != nil {
				return err
			}
			rt, err := e.runtime()
			if err != nil {
				return err
			}
			return eachContainer(e, rt, c.Args().Slice(), func(ctr *run.Container) error {
				return rt.Kill(ctr, syscall.Signal(sig))
			})
		},
	}
}

func rmCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "rm",
		Usage:     "Remove containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill a running container first"},
			&ucli.BoolFlag{Name: "volumes", Aliases: []string{"v"}, Usage: "remove the container's anonymous volumes"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() == 0 {
				return usageError(c, "requires at least 1 argument")
			}
			rt, err := e.runtime()
			if err != nil {
				return err
			}
			return eachContainer(e, rt, c.Args().Slice(), func(ctr *run.Container) error {
				return rt.Remove(ctr, c.Bool("force"), c.Bool("volumes"))
			})
		},
	}
}

// eachContainer applies fn to every named container.
func eachContainer(e *env, rt *run.Runtime, refs []string, fn func(*run.Container) error) error {
	return eachArg(e, refs, func(ref string) (string, error) {
		ctr, err := rt.Find(ref)
		if err == nil {
			err = fn(ctr)
		}
		return ref, err
	})
}

// eachArg runs fn for every argument, printing what it returns on success (docker prints
// each name it acted on), and joins the failures into one line.
func eachArg(e *env, args []string, fn func(arg string) (string, error)) error {
	var errs []string
	for _, a := range args {
		out, err := fn(a)
		if err != nil {
			errs = append(errs, OneLine(err))
			continue
		}
		fmt.Fprintln(e.opts.Stdout, out)
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func waitCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "wait",
		Usage:     "Block until containers stop, then print their exit codes",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Action: func(c *ucli.Context) error {
			if c.NArg() == 0 {
				return usageError(c, "requires at least 1 argument")
			}
			rt, err := e.runtime()
			if err != nil {
				return err
			}
			return eachArg(e, c.Args().Slice(), func(ref string) (string, error) {
				code, err := rt.Wait(ref)
				return fmt.Sprint(code), err
			})
		},
	}
}

func logsCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "logs",
		Usage:     "Fetch the output of a container",
		ArgsUsage: "CONTAINER",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "follow log output"},
			&ucli.StringFlag{Name: "tail", Aliases: []string{"n"}, Value: "all", Usage: "number of lines to show from the end"},
			&ucli.BoolFlag{Name: "timestamps", Aliases: []string{"t"}, Usage: "show timestamps"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() != 1 {
				return usageError(c, "requires exactly 1 argument")
			}
			tail := -1
			if t := c.String("tail"); t != "all" {
				if _, err := fmt.Sscan(t, &tail); err != nil || tail < 0 {
					return fmt.Errorf("invalid --tail %q: use a number or all", t)
				}
			}
			rt, err := e.runtime()
			if err != nil {
				return err
			}
			ctr, err := rt.Find(c.Args().First())
			if err != nil {
				return err
			}
			o := run.LogOptions{Tail: tail, Timestamps: c.Bool("timestamps")}
			off, err := run.ReadLogs(rt.LogPath(ctr.ID), o, e.opts.Stdout, e.opts.Stderr)
			if err != nil || !c.Bool("follow") {
				return err
			}
			sup := ctr.State.Supervisor
			return run.FollowLogs(rt.LogPath(ctr.ID), off, o, e.opts.Stdout, e.opts.Stderr, func() bool { return !sup.Alive() })
		},
	}
}

// psRow is what `sbx ps --format` templates see: docker's names.
type psRow struct {
	ID, Image, Command, CreatedAt, RunningFor, Status, State, Ports, Names, Labels, Mounts, Networks, Size string
	LocalVolumes                                                                                           string
}

// psLabels is docker's Labels column: k=v pairs, sorted, comma-separated.
func psLabels(labels map[string]string) string {
	var out []string
	for k, v := range labels {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// psPorts is docker's PORTS column: the ports bound while the container runs
// ("0.0.0.0:8080->80/tcp"), then the exposed ports nothing publishes ("443/tcp").
// Unlike docker, runs of consecutive ports are not folded into ranges.
func psPorts(c *run.Container) string {
	var out []string
	bound := map[string]bool{}
	if c.Running() {
		for _, p := range c.State.Ports {
			ip := p.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			key := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
			bound[key] = true
			out = append(out, fmt.Sprintf("%s->%s", net.JoinHostPort(ip, strconv.Itoa(p.HostPort)), key))
		}
	}
	for _, p := range c.Config.ExposedPorts {
		if !bound[p] {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}

// psMounts is docker's Mounts column: volume names and bind sources (truncated to 15
// characters unless asked not to), and LocalVolumes the number of volumes.
func psMounts(mounts []run.Mount, trunc bool) (string, string) {
	var names []string
	volumes := 0
	for _, m := range mounts {
		name := m.Name
		switch m.Type {
		case "volume":
			volumes++
		case "bind":
			name = m.Source
		default:
			continue
		}
		if trunc && len(name) > 15 {
			name = name[:14] + "…"
		}
		names = append(names, name)
	}
	return strings.Join(names, ","), strconv.Itoa(volumes)
}

func psCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:  "ps",
		Usage: "List containers",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show all containers (default shows just running)"},
			&ucli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display container IDs"},
			&ucli.BoolFlag{Name: "no-trunc", Usage: "don't truncate output"},
			&ucli.StringFlag{Name: "format", Usage: "format output: table, json or a Go template"},
		},
		Action: func(c *ucli.Context) error {
			if err := format.Parse(c.String("format")); err != nil {
				return err
			}
			rt, err := e.runtime()
			if err != nil {
				return err
			}
			all, err := rt.List()
			if err != nil {
				return err
			}
			now := time.Now()
			var rows []psRow
			for i := len(all) - 1; i >= 0; i-- { // newest first
				ctr := all[i]
				if !c.Bool("all") && !ctr.Running() {
					continue
				}
				id := ctr.ShortID()
				if c.Bool("no-trunc") {
					id = ctr.ID
				}
				if c.Bool("quiet") {
					fmt.Fprintln(e.opts.Stdout, id)
					continue
				}
				command := strings.Join(append(append([]string{}, ctr.Config.Entrypoint...), ctr.Config.Cmd...), " ")
				if !c.Bool("no-trunc") && len(command) > 20 {
					command = command[:19] + "…"
				}
				rows = append(rows, psRow{
					ID: id, Image: ctr.Image, Command: fmt.Sprintf("%q", command),
					CreatedAt:  ctr.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
					RunningFor: format.Since(ctr.Created, now), Status: statusText(ctr, now),
					State: ctr.State.Status, Names: ctr.Name, Networks: ctr.Host.NetworkMode,
					Labels: psLabels(ctr.Config.Labels), Size: "0B",
				})
				row := &rows[len(rows)-1]
				row.Mounts, row.LocalVolumes = psMounts(ctr.Host.Mounts, !c.Bool("no-trunc"))
				row.Ports = psPorts(ctr)
			}
			if c.Bool("quiet") {
				return nil
			}
			f := c.String("format")
			if f == "" {
				f = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
			}
			return format.Table(e.opts.Stdout, f, []format.Column{
				{Field: "ID", Header: "CONTAINER ID"}, {Field: "RunningFor", Header: "CREATED"},
				{Field: "CreatedAt", Header: "CREATED AT"},
			}, rows)
		},
	}
}

// statusText is docker's STATUS column: "Up 3 seconds", "Exited (0) 2 minutes ago".
func statusText(c *run.Container, now time.Time) string {
	switch c.State.Status {
	case run.StatusRunning:
		return "Up " + format.HumanDuration(now.Sub(c.State.StartedAt))
	case run.StatusExited:
		return fmt.Sprintf("Exited (%d) %s", c.State.ExitCode, format.Since(c.State.FinishedAt, now))
	}
	return "Created"
}

func validateSeccomp(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("opening seccomp profile %s: %w", path, unwrapPath(err))
	}
	return seccompValidate(path)
}
