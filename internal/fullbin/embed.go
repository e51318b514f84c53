//go:build sbx_lite

package fullbin

import _ "embed"

// program is the full sbx, built by `make sbx` before the lite one. A string, so that it
// stays in read-only data, untouched unless a command is handed over.
//
//go:embed sbx-full
var program string
