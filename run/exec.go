package run

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sbx-dev/sbx/internal/progfile"
	"github.com/sbx-dev/sbx/run/proto"
	"github.com/sbx-dev/sbx/run/spec"
)

// ExecOptions are `sbx exec` flags.
type ExecOptions struct {
	Args        []string
	Env         []string
	WorkingDir  string
	User        string
	Tty         bool
	Interactive bool
	Privileged  bool
}

// containerNamespaces are joined by exec, in the nsenter constructor's order.
var containerNamespaces = []string{"ipc", "uts", "net", "pid", "cgroup", "mnt"}

// Exec runs an additional process in a running container, with the container's security
// settings, and returns its exit status. This process stays on the host side relaying
// stdio and signals; the new process joins the container through the nsenter constructor.
func (r *Runtime) Exec(c *Container, o ExecOptions, stdio Stdio) (int, error) {
	if !c.Running() || !c.State.Pid.Alive() {
		return 125, &StatusError{Code: 125, Err: fmt.Errorf("container %s is not running", c.Name)}
	}
	if len(o.Args) == 0 {
		return 125, &StatusError{Code: 125, Err: errors.New("exec needs a command")}
	}
	p, err := r.execProcess(c, o)
	if err != nil {
		return 125, &StatusError{Code: 125, Err: err}
	}
	if err := compileSeccomp(p, r.InitDir)(); err != nil {
		return 125, &StatusError{Code: 125, Err: err}
	}
	pid := strconv.Itoa(c.State.Pid.PID)
	var nsFiles []*os.File
	defer func() {
		for _, f := range nsFiles {
			f.Close()
		}
	}()
	var list []string
	namespaces := containerNamespaces
	if c.Host.Userns == "keep-id" {
		// The container has a user namespace of its own, nested in the holder's.
		namespaces = append([]string{"user"}, namespaces...)
	}
	for _, ns := range namespaces {
		f, err := os.Open("/proc/" + pid + "/ns/" + ns)
		if err != nil {
			return 125, &StatusError{Code: 125, Err: fmt.Errorf("opening the container's %s namespace: %w", ns, err)}
		}
		nsFiles = append(nsFiles, f)
		list = append(list, fmt.Sprintf("%s:%d", ns, 3+len(nsFiles))) // fd 3 is the sync socket
	}
	// Opened by pid: the pid must still be the container's init now that they are open.
	if !c.State.Pid.Alive() {
		return 125, &StatusError{Code: 125, Err: fmt.Errorf("container %s is not running", c.Name)}
	}

	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 125, err
	}
	parentF, childF := os.NewFile(uintptr(fds[0]), "sync"), os.NewFile(uintptr(fds[1]), "sync-child")
	conn, err := net.FileConn(parentF)
	parentF.Close()
	if err != nil {
		childF.Close()
		return 125, err
	}
	syncConn := conn.(*net.UnixConn)
	defer syncConn.Close()
	exe, err := progfile.Executable()
	if err != nil {
		childF.Close()
		return 125, err
	}
	cmd := &exec.Cmd{
		Path:       exe,
		Args:       []string{"sbx"},
		Env:        []string{proto.EnvExec + "=1", "_SBX_NSENTER=" + strings.Join(list, ","), "_SBX_NSENTER_FORK=1"},
		ExtraFiles: append([]*os.File{childF}, nsFiles...),
		Dir:        "/",
	}
	st := &streams{tty: o.Tty, openStdin: o.Interactive}
	if err := st.prepare(cmd, stdio.In != nil); err != nil {
		childF.Close()
		return 125, err
	}
	if err := cmd.Start(); err != nil {
		childF.Close()
		st.abort()
		return 125, &StatusError{Code: 125, Err: fmt.Errorf("starting exec: %w", err)}
	}
	childF.Close()
	st.started()
	if err := proto.Send(hostConn{syncConn}, p); err != nil {
		st.abort()
		cmd.Process.Kill()
		cmd.Wait()
		return 125, &StatusError{Code: 125, Err: fmt.Errorf("starting exec: %w", err)}
	}
	for {
		var m proto.Message
		files, err := proto.Receive(hostConn{syncConn}, &m)
		if proto.IsEOF(err) {
			break
		}
		if err != nil || m.Error != "" {
			st.abort()
			cmd.Wait()
			if err == nil {
				code := m.ExitCode
				if code == 0 {
					code = 126
				}
				return code, &StatusError{Code: code, Err: errors.New(m.Error)}
			}
			why := lastLine(st.errR)
			if why == "" {
				why = err.Error()
			}
			return 126, &StatusError{Code: 126, Err: fmt.Errorf("exec: %s", why)}
		}
		if m.Stage == proto.StagePTY && len(files) > 0 {
			st.master = files[0]
		}
	}
	// The relay in the nsenter constructor passes signals on into the container.
	stopSignals := st.forwardSignals(cmd.Process, stdio, nil)
	st.copy(stdio, nil)
	waitErr := cmd.Wait()
	stopSignals()
	st.wait()
	return exitStatus(cmd.ProcessState, waitErr), nil
}

// execProcess builds the exec'd process from the container's settings and the flags.
func (r *Runtime) execProcess(c *Container, o ExecOptions) (*proto.Process, error) {
	user := c.Config.User
	if o.User != "" {
		user = o.User
	}
	// The container's own account files, read through its root.
	root := "/proc/" + strconv.Itoa(c.State.Pid.PID) + "/root"
	u, err := resolveUser(root, user, c.Host.GroupAdd)
	if err != nil {
		return nil, err
	}
	env := spec.MergeEnv(c.Config.Env, o.Env, c.Config.Hostname)
	if envValueOf(env, "HOME") == "" {
		home := u.Home
		if home == "" {
			home = "/"
		}
		env = append(env, "HOME="+home)
	}
	cwd := c.Config.WorkingDir
	if o.WorkingDir != "" {
		cwd = o.WorkingDir
	}
	caps := c.Host.Caps
	seccompProfile := c.Host.Seccomp
	if o.Privileged || c.Host.Privileged {
		caps, _ = spec.Capabilities(nil, nil, true, spec.CapNames())
		seccompProfile = "unconfined"
	}
	body, err := seccompBody(seccompProfile)
	if err != nil {
		return nil, err
	}
	p := &proto.Process{
		SeccompBody: body,
		Args:        o.Args, Env: env, Cwd: cwd, UID: u.UID, GID: u.GID, AdditionalGIDs: u.AdditionalGIDs,
		Caps: caps, NoNewPrivs: c.Host.NoNewPrivs, Seccomp: seccompProfile, TTY: o.Tty,
	}
	return p, nil
}
