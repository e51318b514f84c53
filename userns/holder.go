package userns

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sbx-dev/sbx/internal/progfile"
	"github.com/sbx-dev/sbx/state"
	"github.com/sbx-dev/sbx/userns/nsenter"
	"golang.org/x/sys/unix"
)

const (
	envNSEnter = "_SBX_NSENTER"    // consumed by the nsenter constructor
	envRefFD   = "_SBX_REFFD"      // the inherited shared lock on holder.refs
	envHolder  = "_SBX_HOLDER"     // set in the holder process: the runtime dir
	envTmpfs   = "_SBX_HOLDER_RUN" // set in the holder process: where to mount the tmpfs
	// set in a rootless holder; stage 2 marks its second exec, the one with capabilities
	envRootlessHolder = "_SBX_HOLDER_ROOTLESS"
	envHolderStage    = "_SBX_HOLDER_STAGE"

	// Read by go.podman.io/storage to decide it runs rootless inside a user namespace.
	envContainersUserns = "_CONTAINERS_USERNS_CONFIGURED"
	envContainersUID    = "_CONTAINERS_ROOTLESS_UID"
)

// Options says where the holder keeps its files and who it is for.
type Options struct {
	RuntimeDir string // per-user runtime directory (locks, holder.toml)
	TmpfsDir   string // mounted as a tmpfs inside the holder's mount namespace
	Rootless   bool
	Logger     *slog.Logger
}

// holderRecord is RUNTIME/holder.toml.
type holderRecord struct {
	Process  state.Process `toml:"process"`
	UIDMap   string        `toml:"uid_map"`
	GIDMap   string        `toml:"gid_map"`
	Warnings []string      `toml:"warnings"`
}

// envInside marks processes that run in the holder's namespaces, so that the children sbx
// starts there (detached supervisors) do not try to join again.
const envInside = "_SBX_INSIDE"

// Inside reports whether this process already runs in the holder's namespaces.
func Inside() bool { return nsenter.Joined() || os.Getenv(envInside) == "1" }

// DetachPipe is, in `sbx run -d`, the pipe to the waiting parent when the constructor forked
// the command to be its own detached supervisor (see nsenter.DetachPipe), or when the
// process that did handed the command over to this one (HandoverEnv); nil otherwise.
func DetachPipe() *os.File {
	if p := nsenter.DetachPipe(); p != nil {
		return p
	}
	return handedDetachPipe()
}

// envDetachFD passes the detach pipe on to the program a process hands its command over to.
const envDetachFD = "_SBX_DETACHFD"

var handedDetachPipe = sync.OnceValue(func() *os.File { return inheritedFile(envDetachFD, "detach") })

// inheritedFile takes the descriptor whose number the environment variable env holds, as
// the process that executed this one passed it on: close-on-exec from now on, and the
// variable gone, so that it reaches no child. nil when there is none.
func inheritedFile(env, name string) *os.File {
	v := os.Getenv(env)
	if v == "" {
		return nil
	}
	os.Unsetenv(env)
	fd, err := strconv.Atoi(v)
	if err != nil {
		return nil
	}
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), name)
}

// HandoverEnv readies this process to execute another sbx program in its place that
// carries on with the same command (the lite program handing over to the full one): the
// holder reference ref (see HeldRef) and the detach pipe stay open across the exec, and
// the returned environment entries tell the next program about them, as Enter tells a
// re-executed sbx.
func HandoverEnv(ref *os.File) ([]string, error) {
	var env []string
	if ref != nil {
		if _, err := unix.FcntlInt(ref.Fd(), unix.F_SETFD, 0); err != nil {
			return nil, fmt.Errorf("passing the holder reference on: %w", err)
		}
		env = append(env, fmt.Sprintf("%s=%d", envRefFD, ref.Fd()), envInside+"=1")
	}
	if p := DetachPipe(); p != nil {
		if _, err := unix.FcntlInt(p.Fd(), unix.F_SETFD, 0); err != nil {
			return nil, fmt.Errorf("passing the detach pipe on: %w", err)
		}
		env = append(env, fmt.Sprintf("%s=%d", envDetachFD, p.Fd()))
	}
	return env, nil
}

// CompleteHolder finishes the start of a holder that the constructor began and joined
// before its id maps were written (see nsenter.CompleteHolder), so that the maps are
// written while the Go runtime starts and the command line is read. It must run before
// this process starts any other (an exec or a child would get no capabilities in the
// unmapped namespace) and before anything looks at ids or at the holder's mounts; until
// then os.Getuid says 65534. If the start failed, sbx exits with the error.
func CompleteHolder() {
	if err := nsenter.CompleteHolder(); err != nil {
		fmt.Fprintf(os.Stderr, "sbx: %v\n", err)
		os.Exit(125)
	}
}

// HeldRef returns the shared lock this process inherited on holder.refs (nil outside), so
// a process that outlives its parent (a detached supervisor) can keep the namespaces alive.
// It is made close-on-exec here so that it never leaks into containers.
func HeldRef() *os.File {
	if fd, uid, gid, ok := nsenter.FastJoin(); ok {
		// The constructor joined on its own: set what Enter would have handed over in the
		// environment, for this process (the store reads it) and for its children.
		os.Setenv(envInside, "1")
		if uid != 0 {
			os.Setenv(envContainersUserns, "done")
			os.Setenv(envContainersUID, strconv.Itoa(uid))
			os.Setenv("_SBX_ROOTLESS_GID", strconv.Itoa(gid))
		}
		unix.CloseOnExec(fd)
		return os.NewFile(uintptr(fd), "holder.refs")
	}
	return inheritedFile(envRefFD, "holder.refs")
}

// Enter makes the calling process run inside the user's holder namespaces, starting the
// holder if there is none. It re-executes the current binary with the same arguments and
// does not return on success. Any warning (such as a missing subuid range) is written to
// stderr once, by the invocation that starts the holder.
func Enter(opts Options) error {
	if Inside() {
		return nil
	}
	if err := os.MkdirAll(opts.RuntimeDir, 0o700); err != nil {
		return fmt.Errorf("creating runtime directory: %w", err)
	}
	if err := ownDir(opts.RuntimeDir, os.Getuid()); err != nil {
		return err
	}
	if err := os.MkdirAll(opts.TmpfsDir, 0o700); err != nil {
		return fmt.Errorf("creating runtime directory: %w", err)
	}
	// The shared lock comes first: from here on a running holder cannot leave.
	refs, err := state.LockFileShared(filepath.Join(opts.RuntimeDir, "holder.refs"))
	if err != nil {
		return err
	}
	lk, err := state.LockFile(filepath.Join(opts.RuntimeDir, "holder.lock"))
	if err != nil {
		refs.Unlock()
		return err
	}
	userFD, mntFD, err := joinFDs(opts)
	lk.Unlock()
	if err != nil {
		refs.Unlock()
		return err
	}

	// Pass the namespaces and the reference to the re-executed sbx: clear close-on-exec on
	// exactly these three descriptors.
	for _, fd := range []int{userFD, mntFD, int(refs.File().Fd())} {
		if fd >= 0 {
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
				return fmt.Errorf("passing namespace descriptor: %w", err)
			}
		}
	}
	env := append(os.Environ(),
		envNSEnter+"="+nsList(userFD, mntFD), "_SBX_NSENTER_KEEPCWD=1",
		fmt.Sprintf("%s=%d", envRefFD, refs.File().Fd()),
		envInside+"=1")
	if opts.Rootless {
		env = append(env, envContainersUserns+"=done", envContainersUID+"="+strconv.Itoa(os.Getuid()),
			"_SBX_ROOTLESS_GID="+strconv.Itoa(os.Getgid()))
	}
	exe, err := progfile.Executable()
	if err != nil {
		return err
	}
	return syscall.Exec(exe, os.Args, env)
}

// joinFDs opens the holder's namespace files, starting a holder when none is alive.
// Called with holder.lock held.
func joinFDs(opts Options) (userFD, mntFD int, err error) {
	recPath := filepath.Join(opts.RuntimeDir, "holder.toml")
	var rec holderRecord
	err = state.ReadTOML(recPath, &rec)
	if err != nil && !errors.Is(err, state.ErrNotExist) {
		opts.Logger.Debug("ignoring unreadable holder record", "err", err)
	}
	if err != nil || !rec.Process.Alive() {
		rec, err = startHolder(opts)
		if err != nil {
			return -1, -1, err
		}
		// Runtime state: a reboot makes it stale anyway (the pid no longer runs), so the
		// record needs no fsync.
		if err := state.ReplaceTOML(recPath, rec); err != nil {
			syscall.Kill(rec.Process.PID, syscall.SIGKILL)
			return -1, -1, err
		}
		for _, w := range rec.Warnings {
			fmt.Fprintln(os.Stderr, "sbx: warning: "+w)
		}
	}
	pid := strconv.Itoa(rec.Process.PID)
	userFD = -1
	if opts.Rootless {
		userFD, err = unix.Open("/proc/"+pid+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, -1, fmt.Errorf("opening the holder's user namespace: %w", err)
		}
	}
	mntFD, err = unix.Open("/proc/"+pid+"/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("opening the holder's mount namespace: %w", err)
	}
	// Opened by pid: make sure the pid still names the same process now that the files
	// are open, so a recycled pid can never hand us someone else's namespaces.
	if !rec.Process.Alive() {
		return -1, -1, errors.New("the namespace holder exited while sbx was joining it; run the command again")
	}
	return userFD, mntFD, nil
}

// startHolder starts the holder process and waits until its namespaces are ready.
func startHolder(opts Options) (holderRecord, error) {
	exe, err := progfile.Executable()
	if err != nil {
		return holderRecord{}, err
	}
	goR, goW, err := os.Pipe()
	if err != nil {
		return holderRecord{}, err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return holderRecord{}, err
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return holderRecord{}, err
	}
	defer null.Close()
	cmd := &exec.Cmd{
		Path:       exe,
		Args:       []string{"sbx"}, // never a name that reexec.Init would claim
		Env:        holderEnv(opts),
		Stdin:      null,
		Stdout:     null,
		Stderr:     null,
		ExtraFiles: []*os.File{goR, readyW}, // fd 3, fd 4
		Dir:        "/",
		SysProcAttr: &syscall.SysProcAttr{
			Setsid:     true,
			Cloneflags: syscall.CLONE_NEWNS,
		},
	}
	if opts.Rootless {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
	}
	if err := cmd.Start(); err != nil {
		goR.Close()
		goW.Close()
		readyR.Close()
		readyW.Close()
		return holderRecord{}, fmt.Errorf("starting the namespace holder: %w", err)
	}
	goR.Close()
	readyW.Close()
	defer readyR.Close()
	fail := func(err error) (holderRecord, error) {
		cmd.Process.Kill()
		cmd.Wait()
		goW.Close()
		return holderRecord{}, err
	}
	var rec holderRecord
	if opts.Rootless {
		warnings, err := writeMaps(cmd.Process.Pid)
		if err != nil {
			return fail(err)
		}
		rec.Warnings = warnings
	}
	if _, err := goW.Write([]byte("go\n")); err != nil {
		return fail(fmt.Errorf("starting the namespace holder: %w", err))
	}
	goW.Close()
	readyR.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(readyR).ReadString('\n')
	if err != nil {
		return fail(fmt.Errorf("the namespace holder did not start: %w", err))
	}
	if line != "ok\n" {
		return fail(fmt.Errorf("the namespace holder did not start: %s", strings.TrimSpace(line)))
	}
	// The holder runs on after this process exits; nobody waits for it but init.
	pid := cmd.Process.Pid
	cmd.Process.Release()
	rec.Process, err = state.Identify(pid)
	if err != nil {
		return holderRecord{}, fmt.Errorf("the namespace holder exited at start: %w", err)
	}
	if um, err := ReadMap(fmt.Sprintf("/proc/%d/uid_map", pid)); err == nil {
		rec.UIDMap = FormatMap(um)
	}
	if gm, err := ReadMap(fmt.Sprintf("/proc/%d/gid_map", pid)); err == nil {
		rec.GIDMap = FormatMap(gm)
	}
	// A holder started: the constructor may start the next ones itself again (see
	// nsenter's sbx_spawn_holder).
	os.Remove(filepath.Join(opts.RuntimeDir, fastFailedMarker))
	return rec, nil
}

// fastFailedMarker is nsenter's SBX_FAST_FAILED: a holder start of the constructor's own
// failed, and the Go path starts them until one succeeds.
const fastFailedMarker = "holder-fast-failed"

func nsList(userFD, mntFD int) string {
	s := fmt.Sprintf("mnt:%d", mntFD)
	if userFD >= 0 {
		s = fmt.Sprintf("user:%d,", userFD) + s
	}
	return s
}

func holderEnv(opts Options) []string {
	env := append(os.Environ(), envHolder+"="+opts.RuntimeDir, envTmpfs+"="+opts.TmpfsDir)
	if opts.Rootless {
		env = append(env, envRootlessHolder+"=1")
	}
	return env
}

// writeMaps gives the holder's user namespace the user's full subordinate ranges through the
// setuid newuidmap/newgidmap, or, when those or the ranges are missing, the user alone.
func writeMaps(pid int) (warnings []string, err error) {
	uid, gid := os.Getuid(), os.Getgid()
	name := strconv.Itoa(uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	subuid := readRanges("/etc/subuid", name, uid)
	subgid := readRanges("/etc/subgid", name, uid)
	newuidmap, errU := exec.LookPath("newuidmap")
	newgidmap, errG := exec.LookPath("newgidmap")
	switch {
	case len(subuid) == 0 || len(subgid) == 0:
		warnings = append(warnings, fmt.Sprintf("no subordinate id range for %s in /etc/subuid and /etc/subgid: only your own uid is mapped, so images with files of other owners cannot be used; add a line like %q to both files", name, name+":100000:65536"))
	case errU != nil || errG != nil:
		warnings = append(warnings, "newuidmap/newgidmap not found: only your own uid is mapped; install the uidmap package")
	default:
		p := strconv.Itoa(pid)
		if out, err := exec.Command(newuidmap, append([]string{p}, Args(BuildMap(uid, subuid))...)...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("newuidmap: %s: check the ranges for %s in /etc/subuid", strings.TrimSpace(string(out)), name)
		}
		if out, err := exec.Command(newgidmap, append([]string{p}, Args(BuildMap(gid, subgid))...)...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("newgidmap: %s: check the ranges for %s in /etc/subgid", strings.TrimSpace(string(out)), name)
		}
		return nil, nil
	}
	// Single-id fallback: an unprivileged process may map its own ids once setgroups is denied.
	p := fmt.Sprintf("/proc/%d/", pid)
	if err := os.WriteFile(p+"uid_map", []byte(fmt.Sprintf("0 %d 1\n", uid)), 0); err != nil {
		return nil, fmt.Errorf("writing uid_map: %w", err)
	}
	if err := os.WriteFile(p+"setgroups", []byte("deny"), 0); err != nil {
		return nil, fmt.Errorf("writing setgroups: %w", err)
	}
	if err := os.WriteFile(p+"gid_map", []byte(fmt.Sprintf("0 %d 1\n", gid)), 0); err != nil {
		return nil, fmt.Errorf("writing gid_map: %w", err)
	}
	return warnings, nil
}

func readRanges(path, name string, id int) []IDRange {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	r, _ := ParseSubIDs(f, name, id)
	return r
}

// Record describes the running holder, for `sbx info`.
type Record struct {
	PID            int
	UIDMap, GIDMap string
}

// Current reads the holder record of the runtime directory.
func Current(runtimeDir string) (Record, error) {
	var rec holderRecord
	if err := state.ReadTOML(filepath.Join(runtimeDir, "holder.toml"), &rec); err != nil {
		return Record{}, err
	}
	return Record{PID: rec.Process.PID, UIDMap: rec.UIDMap, GIDMap: rec.GIDMap}, nil
}

// ownDir refuses a runtime directory that is not the user's: the holder record in it names
// the namespaces every sbx command joins, and in a shared /tmp (the fallback when there is
// no XDG_RUNTIME_DIR) another user could have made the directory first. A directory every
// user may write to is refused too; one the user's group may write to is not (a user's
// private group is common).
func ownDir(dir string, uid int) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("checking runtime directory: %w", err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return fmt.Errorf("the runtime directory %s is not a directory: remove it, or set XDG_RUNTIME_DIR to a directory of your own", dir)
	case int(st.Uid) != uid:
		return fmt.Errorf("the runtime directory %s belongs to uid %d, not to you: remove it, or set XDG_RUNTIME_DIR to a directory of your own", dir, st.Uid)
	case st.Mode&0o002 != 0:
		return fmt.Errorf("anyone may write to the runtime directory %s: chmod o-w it, or set XDG_RUNTIME_DIR to a directory of your own", dir)
	}
	return nil
}
