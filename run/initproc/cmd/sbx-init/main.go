// Command sbx-init is the container init on its own: package initproc with nothing else
// linked in. The Makefile builds it first and embeds it in sbx (package run/initbin), and the
// supervisor executes it, from memory, instead of re-executing the whole of sbx: sbx's
// package initialisers (the image and storage libraries' regular expressions, tables and
// registries) cost every process about 7 ms before main, and this init needs none of them.
// It is the same code sbx runs for _SBX_INIT; only the program around it is smaller.
package main

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/sbx-dev/sbx/run/initproc"
	"github.com/sbx-dev/sbx/run/proto"
)

func main() {
	if os.Getenv(proto.EnvInit) == "" {
		os.Stderr.WriteString("sbx-init: this program is started by sbx's supervisor only\n")
		os.Exit(125)
	}
	// As in sbx's main: every inherited descriptor closes on execve (the sync socket
	// too: that is how the supervisor learns the command runs).
	unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	os.Exit(initproc.Main())
}
