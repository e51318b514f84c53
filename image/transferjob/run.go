package transferjob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/sbx-dev/sbx/internal/progfile"
)

// EnvRequest carries the request, as JSON, to the transfer program.
const EnvRequest = "_SBX_TRANSFER_REQUEST"

// resultFD is the descriptor the transfer program writes its Result to.
const resultFD = 3

// Stdio is a transfer's standard streams.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
}

// InProcess does a transfer in this process. A build of sbx without the embedded transfer
// program (plain go build, go test) sets it; `make sbx` builds the program and embeds it.
var InProcess func(context.Context, Request, Stdio) ([]Loaded, error)

// Run does req in the transfer program and returns what was stored. The program runs from
// a memfd filled for this transfer (some 20 MB, a few milliseconds next to any transfer),
// so nothing stays behind in the user's runtime directory; where memfds may not be
// executed, from a file written once per build into programDir. It inherits this process's
// namespaces: the caller has entered the holder's already.
func Run(ctx context.Context, req Request, stdio Stdio, programDir string) ([]Loaded, error) {
	if len(program) == 0 {
		if InProcess == nil {
			return nil, errors.New("this sbx was built without its image transfer program: build it with make")
		}
		return InProcess(ctx, req, stdio)
	}
	path, mem, err := executable(programDir)
	if err != nil {
		return nil, err
	}
	if mem != nil {
		defer mem.Close() // once the program has started, or failed to
	}
	data, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(path)
	cmd.Args[0] = "sbx-transfer"
	cmd.Env = append(os.Environ(), EnvRequest+"="+string(data))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.In, stdio.Out, stdio.Err
	cmd.ExtraFiles = []*os.File{w} // resultFD
	err = cmd.Start()
	w.Close()
	if err != nil {
		return nil, fmt.Errorf("starting the image transfer program: %w", err)
	}
	// Ctrl-C reaches the program from the terminal as well; a cancellation from elsewhere
	// is passed on, and the program cleans up (a half-loaded image's layers) before exiting.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			cmd.Process.Signal(syscall.SIGTERM)
		case <-done:
		}
	}()
	var res Result
	derr := json.NewDecoder(r).Decode(&res)
	werr := cmd.Wait()
	if derr != nil {
		if werr == nil {
			werr = derr
		}
		return nil, fmt.Errorf("the image transfer program failed: %w", werr)
	}
	if res.Error != "" {
		return res.Loaded, errors.New(res.Error)
	}
	return res.Loaded, nil
}

// executable is the transfer program's path: a memfd (mem, for the caller to close once the
// program has started) or a file in dir.
func executable(dir string) (path string, mem *os.File, err error) {
	mem, err = progfile.Memfd("sbx-transfer", program)
	if err != nil || mem == nil {
		path, err = progfile.InDir(dir, "sbx-transfer", program)
		return path, nil, err
	}
	return fmt.Sprintf("/proc/self/fd/%d", mem.Fd()), mem, nil
}

// Serve is the transfer program's main: it reads the request from its environment, does
// it with do, and writes the result. It returns the program's exit status.
func Serve(do func(context.Context, Request, Stdio) ([]Loaded, error)) int {
	out := os.NewFile(resultFD, "result")
	var req Request
	var res Result
	if err := json.Unmarshal([]byte(os.Getenv(EnvRequest)), &req); err != nil {
		res.Error = fmt.Sprintf("reading the transfer request: %v", err)
	} else {
		// Ctrl-C from the terminal, or SIGTERM from sbx, cancels the transfer.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		loaded, err := do(ctx, req, Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
		stop()
		res.Loaded = loaded
		if err != nil {
			res.Error = err.Error()
		}
	}
	if err := json.NewEncoder(out).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "sbx-transfer:", err)
		return 1
	}
	if res.Error != "" {
		return 1
	}
	return 0
}
