//go:build sbx_lite

package cli

// This is the lite program's side of the command line (see package fullbin). It runs the
// container commands that need no layer store (see serves) without linking the store or
// the image library: their packages cost every process about 2.5 ms before main even
// runs. Every other command, and one it cannot do alone, it hands over to the full program
// it carries: the same command line, executed in place of this process before anything
// was done (handover).

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	ucli "github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/sbx-dev/sbx/config"
	"github.com/sbx-dev/sbx/internal/fullbin"
	"github.com/sbx-dev/sbx/run"
	"github.com/sbx-dev/sbx/userns"
)

// storeState: the lite program opens no store.
type storeState struct{}

func (e *env) close() {}

// errNoStore would mean serves let through a command that needs the store.
var errNoStore = errors.New("this command needs the layer store, which the lite sbx program does not have")

func (e *env) openLayers() (run.Layers, error) { return nil, errNoStore }

// inspectImage: serves lets inspect through only for containers.
func (e *env) inspectImage(string) (any, bool, error) { return nil, false, errNoStore }

// The commands only the full program has.
func imageCommands(*env) []*ucli.Command { return nil }
func buildCommand(*env) *ucli.Command    { return nil }
func builderCommand(*env) *ucli.Command  { return nil }
func kubeCommand(*env) *ucli.Command     { return nil }
func infoCommand(*env) *ucli.Command     { return nil }
func systemCommand(*env) *ucli.Command   { return nil }

// serves says whether this program runs the command args itself: a container's end
// (__finish: this program supervised it, so it needs no store); the version (version,
// --version, -v: a CI job's first check need not start both programs); the commands on
// existing containers, while none has its layer in the store (Containers.HasStoreLayers);
// the start of containers whose image KnownImages still knows; and `sbx run` and `sbx
// create` of what needs no store: a --rootfs directory, or an image KnownImages knows on a
// scratch layer.
func (e *env) serves(args []string) bool {
	i := 1
	if i < len(args) && args[i] == "--debug" {
		i++
	}
	if i >= len(args) {
		return false
	}
	cmd := args[i]
	switch cmd {
	case "__finish", "version", "--version", "-v":
		return true
	}
	if e.resolve() != nil || e.cfg.Storage.Driver != config.DriverOverlay {
		return false // the full program reports what is wrong
	}
	switch cmd {
	case "ps", "rm", "stop", "kill", "wait", "logs", "exec", "port", "network", "volume":
		// They need the store only to unmount or delete a container's layer in it.
		return !e.containers().HasStoreLayers()
	case "inspect":
		// Containers only: docker's inspect looks for an image when no container has the
		// name, and the lite program cannot.
		refs, ok := inspectRefs(args[i+1:])
		if !ok || e.containers().HasStoreLayers() {
			return false
		}
		for _, ref := range refs {
			if _, err := e.containers().Find(ref); err != nil {
				return false
			}
		}
		return true
	case "start":
		refs := args[i+1:]
		for len(refs) > 0 && strings.HasPrefix(refs[0], "-") && refs[0] != "--help" {
			refs = refs[1:] // -a, -i: no flag of start takes a value
		}
		return len(refs) > 0 && e.startableWithoutStore(refs)
	case "__supervise":
		if i+1 < len(args) && e.startableWithoutStore(args[i+1:i+2]) {
			return true
		}
		// The supervisor's ready pipe and holder reference go to the full program.
		for _, fd := range []int{3, 4} {
			unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0)
		}
		return false
	case "run", "create":
	default:
		return false
	}
	r, ok := scanRun(args, runValueFlags())
	if !ok {
		return false
	}
	if r.o.Rootfs != "" {
		return true
	}
	kn, ok := e.knownImages().Get(r.o.Image)
	return ok && kn.Lower != ""
}

// inspectRefs reads `inspect [-f|--format F] [--type T] REF...`: the references, and
// false for --type image, --help, or anything it does not know.
func inspectRefs(args []string) ([]string, bool) {
	var refs []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case len(refs) > 0: // flags end at the first reference, as urfave reads them
			refs = append(refs, a)
		case a == "-f" || a == "--format" || a == "--type":
			if i+1 >= len(args) || (a == "--type" && args[i+1] != "container") {
				return nil, false
			}
			i++
		case strings.HasPrefix(a, "--format=") || strings.HasPrefix(a, "-f="):
		case a == "--type=container":
		case strings.HasPrefix(a, "-"):
			return nil, false
		default:
			refs = append(refs, a)
		}
	}
	return refs, len(refs) > 0
}

// startableWithoutStore says whether every container refs names can start without the
// store: a --rootfs one, or one on a scratch layer over an image KnownImages still knows.
func (e *env) startableWithoutStore(refs []string) bool {
	cs, known := e.containers(), e.knownImages()
	for _, ref := range refs {
		c, err := cs.Find(ref)
		if err != nil {
			return false // the full program says so
		}
		if c.Host.Rootfs != "" {
			continue
		}
		if _, ok := known.LowerOf(c.ImageID); !c.Host.ScratchLayer || !ok {
			return false
		}
	}
	return true
}

// handover executes the full program in place of this one, with the same command line. A
// process inside the holder passes its reference on it, and a detached run its pipe to
// the waiting parent, so that the full program carries on exactly where this one stands.
func (e *env) handover(args []string) error {
	extra, err := userns.HandoverEnv(e.opts.HolderRef)
	if err != nil {
		return err
	}
	env := append(os.Environ(), extra...)
	// The full program is kept on disk, in the data directory, once per build. A full or
	// read-only disk, or one mounted noexec, leaves the runtime directory (a tmpfs, as for
	// the init), and then a memfd filled for this command.
	var dirs []string
	if e.resolve() == nil {
		dirs = []string{filepath.Join(e.paths.DataDir, "programs"), e.programDir()}
	}
	for _, dir := range dirs {
		if path, err := fullbin.InDir(dir); err == nil {
			syscall.Exec(path, args, env) // returns only when it failed
		}
	}
	f, err := fullbin.Memfd()
	if err != nil || f == nil {
		return fmt.Errorf("starting the full sbx program: no directory to keep it in, and no executable memfd: %v", err)
	}
	// execve opens it by this name before close-on-exec shuts it.
	err = syscall.Exec(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), args, env)
	return fmt.Errorf("starting the full sbx program: %w", err)
}
