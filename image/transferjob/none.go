//go:build !sbx_embed

package transferjob

// program is empty in a build without the embedded transfer program.
var program string
