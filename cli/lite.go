//go:build sbx_lite

package cli

// This is the lite program's side of the command line (see package fullbin). It runs `sbx
// run` of an image that KnownImages knows, on a scratch layer, and that container's
// supervisor, without linking the layer store or the image library: their packages cost
// every process about 2.5 ms before main even runs. Every other command, and a run it
// cannot do alone, it hands over to the full program it carries: the same command line,
// executed in place of this process before anything was done (handover).

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	ucli "github.com/urfave/cli/v2"

	"github.com/sbx-dev/sbx/config"
	"github.com/sbx-dev/sbx/image/meta"
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

// The commands only the full program has.
func imageCommands(*env) []*ucli.Command { return nil }
func buildCommand(*env) *ucli.Command    { return nil }
func builderCommand(*env) *ucli.Command  { return nil }
func inspectCommand(*env) *ucli.Command  { return nil }
func kubeCommand(*env) *ucli.Command     { return nil }
func infoCommand(*env) *ucli.Command     { return nil }
func systemCommand(*env) *ucli.Command   { return nil }

// serves says whether this program runs the command args itself: a container's supervisor
// (this program started the container, so it needs no store); the commands on existing
// containers, while none has its layer in the store (Containers.HasStoreLayers); and `sbx
// run` of what needs no store: a --rootfs directory, or an image KnownImages knows on a
// scratch layer.
func (e *env) serves(args []string) bool {
	i := 1
	if i < len(args) && args[i] == "--debug" {
		i++
	}
	if i >= len(args) {
		return false
	}
	switch args[i] {
	case "__supervise", "__finish", "version":
		return true
	case "ps", "rm", "stop", "kill", "wait", "logs", "exec", "port", "network", "volume":
		// They need the store only to unmount or delete a container's layer in it.
		if e.resolve() != nil {
			return false
		}
		return e.cfg.Storage.Driver == config.DriverOverlay && !e.containers().HasStoreLayers()
	case "run":
	default:
		return false
	}
	r, ok := scanRun(args, runValueFlags())
	if !ok || e.resolve() != nil {
		return false // the full program reports what is wrong
	}
	if r.o.Rootfs != "" {
		return true
	}
	if e.cfg.Storage.Driver != config.DriverOverlay {
		return false
	}
	known := &meta.KnownImages{Path: e.knownImagesPath(), GraphRoot: e.graphRoot()}
	kn, ok := known.Get(r.o.Image)
	return ok && kn.Lower != ""
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
