//go:build !sbx_lite

package fullbin

// program is empty in the full program itself.
var program string
