//go:build !sbx_embed

package initbin

// program and cprogram are empty in a build without the embedded inits.
var program, cprogram string
