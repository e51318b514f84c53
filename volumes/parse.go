// Package volumes owns volume specifications: docker's -v and --mount syntax parsed into
// typed mounts (pure, host side, table-tested), and the named and anonymous volumes kept
// in the store.
package volumes

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"
)

// Kinds of mount a -v or --mount asks for.
const (
	KindBind   = "bind"
	KindVolume = "volume" // named, or anonymous when Name is ""
	KindTmpfs  = "tmpfs"
)

// Spec is one parsed -v or --mount.
type Spec struct {
	Kind        string
	Source      string // host path for binds
	Name        string // volume name; "" for an anonymous volume
	Destination string
	ReadOnly    bool
	// CreateHostPath: -v creates a missing bind source (docker), --mount refuses it.
	CreateHostPath bool
	Options        []string // tmpfs options (size=, mode=)
}

// ErrInvalid marks every parse error.
var ErrInvalid = errors.New("invalid volume specification")

var validName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`) })

// ValidName checks a volume name as docker does.
func ValidName(name string) error {
	if !validName().MatchString(name) {
		return fmt.Errorf("%q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path", name)
	}
	return nil
}

// ParseVolume parses -v [SOURCE:]DESTINATION[:MODE]. A source that is an absolute path is a
// bind mount; any other source is a volume name; no source is an anonymous volume.
func ParseVolume(s string) (Spec, error) {
	parts := strings.Split(s, ":")
	var src, dst, mode string
	switch len(parts) {
	case 1:
		dst = parts[0]
	case 2:
		if isMode(parts[1]) && !strings.HasPrefix(parts[1], "/") {
			dst, mode = parts[0], parts[1]
		} else {
			src, dst = parts[0], parts[1]
		}
	case 3:
		src, dst, mode = parts[0], parts[1], parts[2]
	default:
		return Spec{}, fmt.Errorf("%w: %q: too many colons", ErrInvalid, s)
	}
	if dst == "" {
		return Spec{}, fmt.Errorf("%w: %q: empty destination", ErrInvalid, s)
	}
	if !path.IsAbs(dst) {
		return Spec{}, fmt.Errorf("%w: %q: the destination %q must be an absolute path", ErrInvalid, s, dst)
	}
	if dst == "/" {
		return Spec{}, fmt.Errorf("%w: %q: the destination can't be '/'", ErrInvalid, s)
	}
	sp := Spec{Destination: path.Clean(dst)}
	for _, m := range strings.Split(mode, ",") {
		switch m {
		case "":
		case "ro":
			sp.ReadOnly = true
		case "rw":
		case "z", "Z", "rprivate", "private", "rslave", "slave", "rshared", "shared", "nocopy", "copy":
			// SELinux labels and propagation modes have no effect in sbx: accepted so that
			// docker command lines work unchanged.
		default:
			return Spec{}, fmt.Errorf("%w: %q: unknown mode %q (use ro or rw)", ErrInvalid, s, m)
		}
	}
	switch {
	case src == "":
		sp.Kind = KindVolume
	case strings.HasPrefix(src, "/"):
		sp.Kind, sp.Source, sp.CreateHostPath = KindBind, path.Clean(src), true
	default:
		if err := ValidName(src); err != nil {
			return Spec{}, err
		}
		sp.Kind, sp.Name = KindVolume, src
	}
	return sp, nil
}

func isMode(s string) bool {
	for _, m := range strings.Split(s, ",") {
		switch m {
		case "ro", "rw", "z", "Z", "rprivate", "private", "rslave", "slave", "rshared", "shared", "nocopy", "copy":
		default:
			return false
		}
	}
	return true
}

// ParseMount parses --mount type=bind|volume|tmpfs,source=...,target=...,readonly,...
func ParseMount(s string) (Spec, error) {
	sp := Spec{Kind: KindVolume}
	for _, field := range strings.Split(s, ",") {
		k, v, hasV := strings.Cut(field, "=")
		switch strings.ToLower(k) {
		case "type":
			switch v {
			case KindBind, KindVolume, KindTmpfs:
				sp.Kind = v
			default:
				return Spec{}, fmt.Errorf("%w: --mount %q: unknown type %q (use bind, volume or tmpfs)", ErrInvalid, s, v)
			}
		case "source", "src":
			sp.Source = v
		case "target", "destination", "dst":
			sp.Destination = v
		case "readonly", "ro":
			if !hasV || v == "true" || v == "1" {
				sp.ReadOnly = true
			} else if v != "false" && v != "0" {
				return Spec{}, fmt.Errorf("%w: --mount %q: readonly takes true or false", ErrInvalid, s)
			}
		case "tmpfs-size":
			sp.Options = append(sp.Options, "size="+v)
		case "tmpfs-mode":
			sp.Options = append(sp.Options, "mode="+v)
		case "bind-propagation", "consistency", "volume-nocopy", "volume-driver", "volume-label", "volume-opt":
			// Accepted for docker compatibility; they have no effect in sbx.
		case "":
		default:
			return Spec{}, fmt.Errorf("%w: --mount %q: unknown field %q", ErrInvalid, s, k)
		}
	}
	if sp.Destination == "" {
		return Spec{}, fmt.Errorf("%w: --mount %q: target is required", ErrInvalid, s)
	}
	if !path.IsAbs(sp.Destination) {
		return Spec{}, fmt.Errorf("%w: --mount %q: the target %q must be an absolute path", ErrInvalid, s, sp.Destination)
	}
	sp.Destination = path.Clean(sp.Destination)
	switch sp.Kind {
	case KindBind:
		if sp.Source == "" {
			return Spec{}, fmt.Errorf("%w: --mount %q: a bind mount needs a source", ErrInvalid, s)
		}
		if !path.IsAbs(sp.Source) {
			return Spec{}, fmt.Errorf("%w: --mount %q: the bind source %q must be an absolute path", ErrInvalid, s, sp.Source)
		}
		sp.Source = path.Clean(sp.Source)
	case KindVolume:
		if sp.Source != "" {
			if err := ValidName(sp.Source); err != nil {
				return Spec{}, err
			}
		}
		sp.Name, sp.Source = sp.Source, ""
	case KindTmpfs:
		if sp.Source != "" {
			return Spec{}, fmt.Errorf("%w: --mount %q: a tmpfs mount takes no source", ErrInvalid, s)
		}
	}
	return sp, nil
}
