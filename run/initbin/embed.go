//go:build sbx_leaninit

package initbin

import _ "embed"

// program is the init, built by `make sbx` before sbx itself.
//
//go:embed sbx-init
var program []byte
