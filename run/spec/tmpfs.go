package spec

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Tmpfs is one --tmpfs value.
//
// Defaults follow docker: although docker's docs only show examples, the daemon mounts every
// --tmpfs with "noexec,nosuid,nodev" in front of the user's options and lets the user's
// options override them (exec, suid, dev), later options winning (moby's
// MergeTmpfsOptions). Docker passes no size, so the tmpfs gets the kernel default (half of
// RAM), and no mode, so the kernel's 1777.
type Tmpfs struct {
	Dest string
	// Options is the merged option list in docker's order: the defaults noexec, nosuid,
	// nodev, then the user's options, with each flag family (e.g. exec/noexec) and each
	// key=value key kept once, at its last position. "defaults" is dropped. Use Flags and
	// Data to mount.
	Options []string
	// Size is the size= value in bytes, 0 if none was given or it was a percentage of RAM
	// (size=50%), which Options keeps for the kernel.
	Size int64
	// Mode is the mode= value, 01777 (the tmpfs default) if none was given.
	Mode uint32
	// Propagation is the mount propagation option given, if any (private, rprivate, shared,
	// rshared, slave, rslave, unbindable, runbindable); docker's default is rprivate. It is
	// not part of Flags: propagation needs its own mount(2) call.
	Propagation                     string
	NoExec, NoSuid, NoDev, ReadOnly bool
}

// tmpfsFlag describes a flag option: the MS_* bit, whether the option clears it, and the
// key under which docker deduplicates (the bit, or -1 for the propagation family).
func tmpfsFlag(opt string) (flag uintptr, clear, propagation, ok bool) {
	switch opt {
	case "ro":
		return unix.MS_RDONLY, false, false, true
	case "rw":
		return unix.MS_RDONLY, true, false, true
	case "nosuid":
		return unix.MS_NOSUID, false, false, true
	case "suid":
		return unix.MS_NOSUID, true, false, true
	case "nodev":
		return unix.MS_NODEV, false, false, true
	case "dev":
		return unix.MS_NODEV, true, false, true
	case "noexec":
		return unix.MS_NOEXEC, false, false, true
	case "exec":
		return unix.MS_NOEXEC, true, false, true
	case "sync":
		return unix.MS_SYNCHRONOUS, false, false, true
	case "async":
		return unix.MS_SYNCHRONOUS, true, false, true
	case "dirsync":
		return unix.MS_DIRSYNC, false, false, true
	case "mand":
		return unix.MS_MANDLOCK, false, false, true
	case "nomand":
		return unix.MS_MANDLOCK, true, false, true
	case "noatime":
		return unix.MS_NOATIME, false, false, true
	case "atime":
		return unix.MS_NOATIME, true, false, true
	case "nodiratime":
		return unix.MS_NODIRATIME, false, false, true
	case "diratime":
		return unix.MS_NODIRATIME, true, false, true
	case "relatime":
		return unix.MS_RELATIME, false, false, true
	case "norelatime":
		return unix.MS_RELATIME, true, false, true
	case "strictatime":
		return unix.MS_STRICTATIME, false, false, true
	case "nostrictatime":
		return unix.MS_STRICTATIME, true, false, true
	case "private":
		return unix.MS_PRIVATE, false, true, true
	case "rprivate":
		return unix.MS_PRIVATE | unix.MS_REC, false, true, true
	case "shared":
		return unix.MS_SHARED, false, true, true
	case "rshared":
		return unix.MS_SHARED | unix.MS_REC, false, true, true
	case "slave":
		return unix.MS_SLAVE, false, true, true
	case "rslave":
		return unix.MS_SLAVE | unix.MS_REC, false, true, true
	case "unbindable":
		return unix.MS_UNBINDABLE, false, true, true
	case "runbindable":
		return unix.MS_UNBINDABLE | unix.MS_REC, false, true, true
	}
	return 0, false, false, false
}

const tmpfsExpect = "expected flags such as ro, rw, exec, noexec, suid, nosuid, dev, nodev, noatime, " +
	"or size=, mode=, uid=, gid=, nr_inodes=, nr_blocks=, mpol="

// ParseTmpfs parses docker's --tmpfs DEST[:OPTIONS], e.g. "/run" or
// "/run:rw,size=64m,mode=755,noexec". DEST must be absolute, clean and not "/". Options are
// docker's accepted set (mount flags and the tmpfs keys size, mode, uid, gid, nr_inodes,
// nr_blocks, mpol); anything else is an error, as are bind, rbind and remount.
func ParseTmpfs(s string) (Tmpfs, error) {
	bad := func(format string, a ...any) (Tmpfs, error) {
		return Tmpfs{}, fmt.Errorf("invalid --tmpfs %q: %s", s, fmt.Sprintf(format, a...))
	}
	dest, opts, _ := strings.Cut(s, ":")
	switch {
	case dest == "":
		return bad("destination is empty (expected an absolute path, e.g. /run)")
	case !path.IsAbs(dest):
		return bad("destination %q is not an absolute path", dest)
	case dest == "/":
		return bad(`destination cannot be "/"`)
	case path.Clean(dest) != dest:
		return bad("destination %q is not a clean path (expected %q)", dest, path.Clean(dest))
	}
	given := []string{"noexec", "nosuid", "nodev"}
	if opts != "" {
		given = append(given, strings.Split(opts, ",")...)
	}
	t := Tmpfs{Dest: dest, Mode: 0o1777}
	// Validate and deduplicate as moby's MergeTmpfsOptions: walk backwards, keep the last
	// of each flag (keyed by bit, propagation as one family) and of each data key.
	flagSeen := map[uintptr]bool{}
	propSeen := false
	dataSeen := map[string]bool{}
	var merged []string
	for i := len(given) - 1; i >= 0; i-- {
		o := given[i]
		switch o {
		case "defaults":
			continue
		case "bind", "rbind", "remount":
			return bad("option %q is not valid for tmpfs", o)
		}
		if f, _, prop, ok := tmpfsFlag(o); ok {
			if prop {
				if !propSeen {
					propSeen = true
					t.Propagation = o
					merged = append(merged, o)
				}
				continue
			}
			if !flagSeen[f] {
				flagSeen[f] = true
				merged = append(merged, o)
			}
			continue
		}
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			if o == "" {
				return bad("empty option (%s)", tmpfsExpect)
			}
			return bad("unknown option %q (%s)", o, tmpfsExpect)
		}
		if err := t.setData(k, v); err != nil {
			return bad("%v", err)
		}
		if !dataSeen[k] {
			dataSeen[k] = true
			merged = append(merged, o)
		}
	}
	for i, j := 0, len(merged)-1; i < j; i, j = i+1, j-1 {
		merged[i], merged[j] = merged[j], merged[i]
	}
	t.Options = merged
	// Values from the kept (last) data options; setData above saw every one.
	t.Size, t.Mode = 0, 0o1777
	for _, o := range merged {
		if k, v, ok := strings.Cut(o, "="); ok {
			_ = t.setData(k, v)
		}
	}
	f := t.Flags()
	t.ReadOnly = f&unix.MS_RDONLY != 0
	t.NoExec = f&unix.MS_NOEXEC != 0
	t.NoSuid = f&unix.MS_NOSUID != 0
	t.NoDev = f&unix.MS_NODEV != 0
	return t, nil
}

// setData validates one key=value option and records size and mode.
func (t *Tmpfs) setData(k, v string) error {
	o := k + "=" + v
	switch k {
	case "size":
		if p, ok := strings.CutSuffix(v, "%"); ok {
			if n, err := strconv.ParseUint(p, 10, 64); err != nil || n == 0 || n > 100 {
				return fmt.Errorf("option %q is not a size (expected bytes with an optional k, m or g suffix, or 1%%-100%%)", o)
			}
			t.Size = 0
			return nil
		}
		n, ok := parseMemparse(v)
		if !ok {
			return fmt.Errorf("option %q is not a size (expected bytes with an optional k, m or g suffix, or 1%%-100%%)", o)
		}
		t.Size = n
	case "nr_inodes", "nr_blocks":
		if _, ok := parseMemparse(v); !ok {
			return fmt.Errorf("option %q is not a number (expected a count with an optional k, m or g suffix)", o)
		}
	case "mode":
		n, err := strconv.ParseUint(v, 8, 32)
		if err != nil || n > 0o7777 {
			return fmt.Errorf("option %q is not an octal mode (expected e.g. mode=1777)", o)
		}
		t.Mode = uint32(n)
	case "uid", "gid":
		if _, err := strconv.ParseUint(v, 10, 32); err != nil {
			return fmt.Errorf("option %q is not a number (expected a numeric %s)", o, k)
		}
	case "mpol":
		if v == "" {
			return fmt.Errorf("option %q has no value (expected e.g. mpol=interleave)", o)
		}
	default:
		return fmt.Errorf("unknown option %q (%s)", o, tmpfsExpect)
	}
	return nil
}

// parseMemparse parses what the kernel's memparse accepts in tmpfs options: a decimal
// integer with an optional k, m, g, t, p or e suffix (any case), binary units.
func parseMemparse(v string) (int64, bool) {
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[:i], 10, 64)
	if err != nil {
		return 0, false
	}
	shift := 0
	switch strings.ToLower(v[i:]) {
	case "":
	case "k":
		shift = 10
	case "m":
		shift = 20
	case "g":
		shift = 30
	case "t":
		shift = 40
	case "p":
		shift = 50
	case "e":
		shift = 60
	default:
		return 0, false
	}
	if n > (1<<63-1)>>shift {
		return 0, false
	}
	return n << shift, true
}

// Flags returns the MS_* flags for mount(2) from Options, without the propagation ones.
func (t Tmpfs) Flags() uintptr {
	var flags uintptr
	for _, o := range t.Options {
		f, clear, prop, ok := tmpfsFlag(o)
		switch {
		case !ok || prop:
		case clear:
			flags &^= f
		default:
			flags |= f
		}
	}
	return flags
}

// Data returns the key=value options of Options joined by commas, the data argument of
// mount(2).
func (t Tmpfs) Data() string {
	var data []string
	for _, o := range t.Options {
		if strings.Contains(o, "=") {
			data = append(data, o)
		}
	}
	return strings.Join(data, ",")
}
