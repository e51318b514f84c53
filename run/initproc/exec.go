package initproc

import (
	"fmt"
	"os"
	"runtime"

	"github.com/sbx-dev/sbx/run/proto"
)

// ExecMain is the exec stage: a process already moved into a running container's
// namespaces by the nsenter constructor (and forked into its pid namespace). It reads its
// proto.Process from the sync socket, becomes it, and executes the command.
func ExecMain() int {
	runtime.LockOSThread()
	sync, err := proto.SyncConn()
	if err != nil {
		fmt.Fprintf(os.Stderr, "sbx exec: sync socket: %v\n", err)
		return 125
	}
	var p proto.Process
	if _, err := proto.Receive(sync, &p); err != nil {
		fmt.Fprintf(os.Stderr, "sbx exec: reading the process: %v\n", err)
		return 125
	}
	err = startProcess(sync, &p, false)
	code := 125
	if se, ok := err.(*setupError); ok {
		code = se.code
	}
	proto.Send(sync, proto.Message{Error: err.Error(), ExitCode: code})
	return code
}
