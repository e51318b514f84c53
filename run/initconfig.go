package run

import (
	"fmt"
	"io"
	"os"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/sbx-dev/sbx/run/proto"
	"github.com/sbx-dev/sbx/run/spec"
)

// Docker's lists of paths hidden from containers and made read-only in them.
var (
	maskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	readonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// resolveUser is -u (user) and --group-add (groupAdd) as the container's account files
// under root say.
func resolveUser(root, user string, groupAdd []string) (spec.User, error) {
	passwd, _ := openIn(root, "/etc/passwd")
	group, _ := openIn(root, "/etc/group")
	u, err := spec.ResolveUser(user, readerOrNil(passwd), readerOrNil(group))
	if passwd != nil {
		passwd.Close()
	}
	if group != nil {
		group.Close()
	}
	if err != nil || len(groupAdd) == 0 {
		return u, err
	}
	group, _ = openIn(root, "/etc/group")
	err = spec.AddGroups(&u, groupAdd, readerOrNil(group))
	if group != nil {
		group.Close()
	}
	return u, err
}

// initConfig resolves everything the container init needs, now that the root filesystem
// is mounted: the user from the image's /etc/passwd, the mounts, the security settings.
func (r *Runtime) initConfig(c *Container, rootfs string, nw *netSetup) (*proto.Config, error) {
	u, err := resolveUser(rootfs, c.Config.User, c.Host.GroupAdd)
	if err != nil {
		return nil, err
	}
	env := c.Config.Env
	if envValueOf(env, "HOME") == "" {
		home := u.Home
		if home == "" {
			home = "/"
		}
		env = append(env, "HOME="+home)
	}
	if nw != nil {
		// Link variables never override the container's own.
		for _, kv := range nw.env {
			k, _, _ := strings.Cut(kv, "=")
			if envValueOf(env, k) == "" {
				env = append(env, kv)
			}
		}
	}
	args := append(append([]string{}, c.Config.Entrypoint...), c.Config.Cmd...)
	if len(args) == 0 {
		return nil, fmt.Errorf("no command specified: the image has no CMD or ENTRYPOINT; give one after the image name")
	}
	cfg := &proto.Config{
		Process: proto.Process{
			Args:           args,
			Env:            env,
			Cwd:            c.Config.WorkingDir,
			UID:            u.UID,
			GID:            u.GID,
			AdditionalGIDs: u.AdditionalGIDs,
			Caps:           c.Host.Caps,
			NoNewPrivs:     c.Host.NoNewPrivs,
			Seccomp:        c.Host.Seccomp,
			TTY:            c.Config.Tty,
			Init:           c.Host.Init,
		},
		Rootfs:    rootfs,
		ReadOnly:  c.Host.ReadOnly,
		Hostname:  c.Config.Hostname,
		NewNet:    c.Host.NetworkMode != "host" && !strings.HasPrefix(c.Host.NetworkMode, "container:"),
		DevptsGID: -1,
	}
	if c.Host.NetworkMode == "host" {
		// The host's network comes with the host's name, as with docker.
		cfg.Hostname = ""
	}
	if gidMapped(5) {
		cfg.DevptsGID = 5
	}
	for _, l := range c.Host.Ulimits {
		cfg.Process.Rlimits = append(cfg.Process.Rlimits, proto.Rlimit{Resource: l.Resource, Soft: l.Soft, Hard: l.Hard})
	}
	if body, err := seccompBody(cfg.Process.Seccomp); err != nil {
		return nil, err
	} else {
		cfg.Process.SeccompBody = body
	}
	if c.Host.Privileged {
		cfg.Process.Seccomp = "unconfined"
		cfg.Process.SeccompBody = nil
	} else {
		cfg.MaskedPaths = maskedPaths
		cfg.ReadonlyPaths = readonlyPaths
	}
	ud, err := r.userdata(c, nw)
	if err != nil {
		return nil, err
	}
	for _, m := range append(ud, c.Host.Mounts...) {
		pm := proto.Mount{Source: m.Source, Destination: m.Destination, Type: m.Type, File: m.File}
		switch m.Type {
		case "bind", "volume":
			pm.Type = "bind"
			pm.Options = append(pm.Options, "rbind")
			if !m.RW {
				pm.Options = append(pm.Options, "ro")
			}
		case "tmpfs":
			pm.Source = "tmpfs"
			pm.Options = m.Options
		}
		cfg.Mounts = append(cfg.Mounts, pm)
	}
	return cfg, nil
}

func openIn(rootfs, p string) (*os.File, error) {
	full, err := securejoin.SecureJoin(rootfs, p)
	if err != nil {
		return nil, err
	}
	return os.Open(full)
}

// readerOrNil keeps a missing file a nil io.Reader (not a non-nil interface holding nil).
func readerOrNil(f *os.File) io.Reader {
	if f == nil {
		return nil
	}
	return f
}

func envValueOf(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if len(env[i]) > len(key) && env[i][:len(key)+1] == key+"=" {
			return env[i][len(key)+1:]
		}
	}
	return ""
}

// gidMapped reports whether gid exists in this user namespace (devpts' gid=5 option needs
// it; a single-id mapping lacks it).
func gidMapped(gid int) bool {
	data, err := os.ReadFile("/proc/self/gid_map")
	if err != nil {
		return false
	}
	var c, h, n int
	for _, line := range strings.Split(string(data), "\n") {
		if _, err := fmt.Sscan(line, &c, &h, &n); err == nil && gid >= c && gid < c+n {
			return true
		}
	}
	return false
}

// seccompBody reads a custom profile on the host: the container init compiles it after
// its root has changed, where the host path no longer exists.
func seccompBody(profile string) ([]byte, error) {
	if profile == "" || profile == "unconfined" {
		return nil, nil
	}
	body, err := os.ReadFile(profile)
	if err != nil {
		return nil, fmt.Errorf("reading seccomp profile: %w", err)
	}
	return body, nil
}
