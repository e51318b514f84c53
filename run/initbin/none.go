//go:build !sbx_leaninit

package initbin

// program is empty in a build without the embedded init.
var program string
