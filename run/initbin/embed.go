//go:build sbx_embed

package initbin

import _ "embed"

// program is the init, built by `make sbx` before sbx itself. A string, not a []byte: the
// linker puts it with the read-only data, where a detached supervisor can drop its pages
// once the container runs (run.ShedStartupMemory); a []byte lands in writable data.
//
//go:embed sbx-init
var program string

// cprogram is the C init (run/cinit), built by `make sbx` too: what most containers run.
//
//go:embed sbx-cinit
var cprogram string
