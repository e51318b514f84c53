//go:build !sbx_embed

package initbin

// program is empty in a build without the embedded init.
var program string
