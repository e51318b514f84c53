//go:build sbx_embed

package transferjob

import _ "embed"

// program is the transfer program (image/transfer/cmd/sbx-transfer), built by `make sbx`
// before sbx itself. A string keeps it with the read-only data, where it costs nothing
// until a transfer writes it out.
//
//go:embed sbx-transfer
var program string
