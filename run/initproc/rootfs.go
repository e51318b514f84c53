package initproc

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"

	"github.com/sbx-dev/sbx/run/proto"
)

// setupRootfs builds the container's mount tree under cfg.Rootfs and pivots into it.
func setupRootfs(cfg *proto.Config) error {
	// Our mounts must not propagate back into the holder's (or the host's) namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fail(125, "making / a slave mount: %v", err)
	}
	root := cfg.Rootfs
	// pivot_root needs the new root to be a mount point of its own: the tree the supervisor
	// handed over, or a bind of the directory.
	if cfg.Tree != nil {
		err := unix.MoveMount(int(cfg.Tree.Fd()), "", unix.AT_FDCWD, root, unix.MOVE_MOUNT_F_EMPTY_PATH)
		cfg.Tree.Close()
		if err != nil {
			return fail(125, "attaching the root filesystem: %v", err)
		}
	} else if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fail(125, "binding the root filesystem: %v", err)
	}
	if err := mountProc(root); err != nil {
		return err
	}
	if err := mountDev(root, cfg.DevptsGID); err != nil {
		return err
	}
	if err := mountSys(root, cfg.NewNet || cfg.JoinNet != 0); err != nil {
		return err
	}
	for _, m := range cfg.Mounts {
		if err := mountOne(root, m); err != nil {
			return err
		}
	}
	if err := pivot(root); err != nil {
		return err
	}
	for _, p := range cfg.MaskedPaths {
		if err := maskPath(p); err != nil {
			return err
		}
	}
	for _, p := range cfg.ReadonlyPaths {
		if err := readonlyPath(p); err != nil {
			return err
		}
	}
	if cfg.ReadOnly {
		if err := remountReadonly("/"); err != nil {
			return fail(125, "making the root filesystem read-only: %v", err)
		}
	}
	return nil
}

// target resolves dest inside root without letting symlinks in the image escape it, and
// creates it as a directory (or an empty file).
func target(root, dest string, file bool) (string, error) {
	p, err := securejoin.SecureJoin(root, dest)
	if err != nil {
		return "", fail(125, "resolving %s in the container: %v", dest, err)
	}
	if file {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", fail(125, "creating %s: %v", dest, err)
		}
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return "", fail(125, "creating %s: %v", dest, err)
			}
			f.Close()
		}
		return p, nil
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return "", fail(125, "creating mount point %s: %v", dest, err)
	}
	return p, nil
}

func mountProc(root string) error {
	p, err := target(root, "/proc", false)
	if err != nil {
		return err
	}
	if err := unix.Mount("proc", p, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fail(125, "mounting /proc: %v", err)
	}
	return nil
}

// mountDev gives the container a minimal /dev: a tmpfs with the harmless device nodes
// bind-mounted from the host (an unprivileged user namespace cannot mknod), its own devpts
// instance, /dev/shm and /dev/mqueue.
func mountDev(root string, ptsGID int) error {
	dev, err := target(root, "/dev", false)
	if err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k"); err != nil {
		return fail(125, "mounting /dev: %v", err)
	}
	for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		p := filepath.Join(dev, n)
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o666)
		if err != nil {
			return fail(125, "creating /dev/%s: %v", n, err)
		}
		f.Close()
		if err := unix.Mount("/dev/"+n, p, "", unix.MS_BIND, ""); err != nil {
			return fail(125, "binding /dev/%s: %v", n, err)
		}
	}
	links := map[string]string{
		"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
		"stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx", "core": "/proc/kcore",
	}
	for name, to := range links {
		if err := os.Symlink(to, filepath.Join(dev, name)); err != nil {
			return fail(125, "creating /dev/%s: %v", name, err)
		}
	}
	for _, d := range []string{"pts", "shm", "mqueue"} {
		if err := os.Mkdir(filepath.Join(dev, d), 0o755); err != nil {
			return fail(125, "creating /dev/%s: %v", d, err)
		}
	}
	opts := "newinstance,ptmxmode=0666,mode=0620"
	if ptsGID >= 0 {
		opts += ",gid=" + strconv.Itoa(ptsGID)
	}
	if err := unix.Mount("devpts", filepath.Join(dev, "pts"), "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, opts); err != nil {
		return fail(125, "mounting /dev/pts: %v", err)
	}
	if err := unix.Mount("shm", filepath.Join(dev, "shm"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k"); err != nil {
		return fail(125, "mounting /dev/shm: %v", err)
	}
	if err := unix.Mount("mqueue", filepath.Join(dev, "mqueue"), "mqueue", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fail(125, "mounting /dev/mqueue: %v", err)
	}
	return nil
}

// mountSys mounts a read-only sysfs. A fresh sysfs shows the network namespace it was
// mounted from, so with the host's network (--net=host) the host's /sys is bound instead.
func mountSys(root string, newNet bool) error {
	p, err := target(root, "/sys", false)
	if err != nil {
		return err
	}
	if newNet {
		if err := unix.Mount("sysfs", p, "sysfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_RDONLY, ""); err == nil {
			return nil
		}
	}
	if err := unix.Mount("/sys", p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fail(125, "binding /sys: %v", err)
	}
	if err := unix.MountSetattr(-1, p, unix.AT_RECURSIVE, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
		return fail(125, "making /sys read-only: %v", err)
	}
	return nil
}

func mountOne(root string, m proto.Mount) error {
	p, err := target(root, m.Destination, m.File)
	if err != nil {
		return err
	}
	flags, data := parseOptions(m.Options)
	switch m.Type {
	case "bind":
		if err := unix.Mount(m.Source, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fail(125, "mounting %s on %s: %v", m.Source, m.Destination, err)
		}
		if flags&(unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC) != 0 {
			if err := remount(p, flags); err != nil {
				return fail(125, "remounting %s: %v", m.Destination, err)
			}
		}
	default:
		if err := unix.Mount(m.Source, p, m.Type, flags, data); err != nil {
			return fail(125, "mounting %s on %s: %v", m.Type, m.Destination, err)
		}
	}
	return nil
}

func parseOptions(opts []string) (uintptr, string) {
	var flags uintptr
	var data []string
	for _, o := range opts {
		switch o {
		case "ro":
			flags |= unix.MS_RDONLY
		case "rw", "rbind", "bind", "rprivate", "private":
		case "nosuid":
			flags |= unix.MS_NOSUID
		case "nodev":
			flags |= unix.MS_NODEV
		case "noexec":
			flags |= unix.MS_NOEXEC
		case "suid", "dev", "exec":
		default:
			data = append(data, o)
		}
	}
	return flags, strings.Join(data, ",")
}

// remount applies flags to a bind mount, keeping the flags the kernel locked on it (a
// user namespace may not clear nosuid, nodev or noexec that the host set).
func remount(p string, flags uintptr) error {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return err
	}
	locked := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	return unix.Mount("", p, "", unix.MS_REMOUNT|unix.MS_BIND|flags|locked, "")
}

func remountReadonly(p string) error { return remount(p, unix.MS_RDONLY) }

// pivot makes root the container's / and detaches the old root entirely, so nothing of
// the host's filesystem stays reachable.
func pivot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return fail(125, "entering the root filesystem: %v", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fail(125, "pivot_root: %v", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fail(125, "detaching the old root: %v", err)
	}
	return unix.Chdir("/")
}

// maskPath hides a path: files behind /dev/null, directories behind an empty read-only
// tmpfs. Paths the kernel does not have are skipped.
func maskPath(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return nil
	}
	if st.IsDir() {
		err = unix.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, "size=0k,mode=555")
	} else {
		err = unix.Mount("/dev/null", p, "", unix.MS_BIND, "")
	}
	if err != nil {
		return fail(125, "masking %s: %v", p, err)
	}
	return nil
}

func readonlyPath(p string) error {
	if _, err := os.Stat(p); err != nil {
		return nil
	}
	if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fail(125, "binding %s read-only: %v", p, err)
	}
	if err := remountReadonly(p); err != nil {
		return fail(125, "making %s read-only: %v", p, err)
	}
	return nil
}

func setHostname(cfg *proto.Config) error {
	if cfg.Hostname == "" {
		return nil
	}
	if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
		return fail(125, "setting the hostname: %v", err)
	}
	return nil
}

// loopbackUp brings up lo in the container's fresh network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
