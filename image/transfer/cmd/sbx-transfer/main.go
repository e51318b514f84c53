// Command sbx-transfer moves images into and out of sbx's layer store: sbx runs it for
// load, import, pull and save (see package transferjob), inside the user's namespaces.
package main

import (
	"os"

	"go.podman.io/storage/pkg/reexec"

	"github.com/sbx-dev/sbx/image/transfer"
	"github.com/sbx-dev/sbx/image/transferjob"
)

func main() {
	// The store unpacks layers in a re-executed copy of this program (storage-untar).
	if reexec.Init() {
		return
	}
	os.Exit(transferjob.Serve(transfer.Serve))
}
