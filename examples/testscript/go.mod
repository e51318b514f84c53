module example.com/sbx-testscript-example

go 1.26.0

require github.com/rogpeppe/go-internal v1.16.0

// The same versions as sbx's own go.mod, so that a machine that built sbx has them all
// in its module cache and the example needs nothing from the network.
require (
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/tools v0.51.0 // indirect
)
