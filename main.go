// Command sbx runs containers without root and without a daemon. main wires the command
// line to the packages that do the work; it alone prints errors and picks the exit status.
package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"go.podman.io/storage/pkg/reexec"
	"golang.org/x/sys/unix"

	"github.com/sbx-dev/sbx/cli"
	"github.com/sbx-dev/sbx/run"
	_ "github.com/sbx-dev/sbx/run/idlesup" // a detached container's supervisor once it only waits
	"github.com/sbx-dev/sbx/run/initproc"
	"github.com/sbx-dev/sbx/run/proto"
	"github.com/sbx-dev/sbx/userns"
	_ "github.com/sbx-dev/sbx/userns/nsenter" // joins the holder's namespaces before Go starts
)

// version is set at build time by the Makefile.
var version = "dev"

// startupHeapLimit bounds the heap while the collector is off at start (see quietStart).
const startupHeapLimit = 64 << 20

func main() {
	quietStart()
	// go.podman.io/storage re-executes this binary as storage-untar and friends: hand those
	// over before anything else looks at the arguments.
	if reexec.Init() {
		return
	}
	// Descriptors inherited from whoever started sbx (a shell's, a CI runner's pipes) must
	// not reach its children: a detached supervisor holding a CI step's output pipe would
	// keep the step from ever finishing. sbx passes what its children need explicitly.
	unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if os.Getenv(proto.EnvInit) != "" {
		os.Exit(initproc.Main())
	}
	if os.Getenv(proto.EnvExec) != "" {
		os.Exit(initproc.ExecMain())
	}
	// The shared reference on the holder (when this process joined it) must live exactly
	// as long as this process: keep the file reachable so no finalizer closes it early.
	ref := userns.HeldRef()
	status := runCLI(ref)
	runtime.KeepAlive(ref)
	os.Exit(status)
}

// interruptContext is signal.NotifyContext(background, SIGINT, SIGTERM), the signals caught
// on a goroutine of its own: enabling each is a round trip to the Go runtime's signal-mask
// thread, and the first one starts that thread, several hundred microseconds on a
// container's start that the app's own work (NewApp) now overlaps. A signal that comes
// before they are caught ends sbx as Go does (and a container's init with it: Pdeathsig),
// as one before this call always did. Never stopped: sbx exits once the app returns, and
// signal.Stop would first wait for Go's signal loop to settle.
func interruptContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		<-sigs
		cancel()
	}()
	return ctx
}

// quietStart turns the garbage collector off for the first second of the process. Most sbx
// commands are over by then, and a collection in the middle of starting a container (the
// layer store's JSON, the container's config) costs a start several milliseconds on a
// small machine. The heap limit still makes the runtime collect if a command allocates a
// lot quickly (an image load), and processes that live on (a supervisor, logs -f) go back
// to the default after the second.
func quietStart() {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(startupHeapLimit)
	time.AfterFunc(time.Second, func() {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	})
}

func runCLI(ref *os.File) int {
	ctx := interruptContext()
	app, done, err := cli.NewApp(cli.Options{Version: version, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, HolderRef: ref}, os.Args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sbx: %s\n", cli.OneLine(err))
		return 125
	}
	defer done()
	err = app.RunContext(ctx, os.Args)
	if err == nil {
		return 0
	}
	// The container's own status: nothing to say.
	var es *cli.ExitStatus
	if errors.As(err, &es) {
		return es.Code
	}
	fmt.Fprintf(os.Stderr, "sbx: %s\n", cli.OneLine(err))
	// In run, docker's statuses: 125 for sbx's own errors, 126/127 for the command.
	var se *run.StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 1
}
