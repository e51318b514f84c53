//go:build !sbx_embed

package main

import (
	"github.com/sbx-dev/sbx/image/transfer"
	"github.com/sbx-dev/sbx/image/transferjob"
)

// A build without the embedded transfer program (plain go build) does transfers itself.
func init() { transferjob.InProcess = transfer.Serve }
