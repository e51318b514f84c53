// Package transfer moves images into and out of sbx's layer store with the image library's
// copy machinery: docker and OCI archives and layouts, root filesystem tarballs, registries.
// It runs in the transfer program (cmd/sbx-transfer), not in sbx itself: see transferjob.
package transfer

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"go.podman.io/image/v5/types"

	"github.com/sbx-dev/sbx/image"
	"github.com/sbx-dev/sbx/image/transferjob"
	"github.com/sbx-dev/sbx/state"
	"github.com/sbx-dev/sbx/storage"
)

// Images adds the transfers to the image service of one store.
type Images struct {
	*image.Images
	// Progress receives copy progress (nil: quiet), a terminal in practice.
	Progress io.Writer
	// Sys carries registry settings: auth file, TLS verification.
	Sys *types.SystemContext
}

// Loaded is one image a transfer stored.
type Loaded = transferjob.Loaded

// Stdio is the transfer's standard streams.
type Stdio = transferjob.Stdio

// Serve opens the store that req names and runs req.
func Serve(ctx context.Context, req transferjob.Request, stdio Stdio) ([]Loaded, error) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if req.Debug {
		logger = slog.New(slog.NewTextHandler(stdio.Err, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	req.Store.Logger = logger
	s, err := storage.Open(req.Store)
	if err != nil {
		return nil, err
	}
	defer s.Shutdown(false)
	m := &Images{
		Images: &image.Images{Store: s},
		Sys: &types.SystemContext{
			BlobInfoCacheDir: req.BlobInfoCacheDir,
			// Big blobs are staged beside the store, not in /var/tmp (which may be small,
			// or shared with other users).
			BigFilesTemporaryDir: req.TmpDir,
			AuthFilePath:         req.AuthFile,
			// Registries' short-name aliases and search lists are podman's, not docker's.
			SystemRegistriesConfPath:    "/dev/null",
			SystemRegistriesConfDirPath: "/nonexistent/sbx-no-registries.conf.d",
		},
	}
	if req.LayerLock != "" {
		m.LayerLock = func() (func(), error) {
			l, err := state.LockFile(req.LayerLock)
			if err != nil {
				return nil, err
			}
			return l.Unlock, nil
		}
	}
	if req.Progress {
		m.Progress = stdio.Err
	}
	switch req.Op {
	case transferjob.OpLoad:
		if req.Input == "" {
			return m.LoadReader(ctx, stdio.In, req.TmpDir)
		}
		return m.Load(ctx, req.Input, req.TmpDir)
	case transferjob.OpImport:
		l, err := m.Import(ctx, ImportOptions{
			Source: req.Input, Reader: stdio.In, Name: req.Name, Message: req.Message,
			Changes: req.Changes, TmpDir: req.TmpDir,
		})
		return loadedOne(l, err)
	case transferjob.OpPull:
		l, err := m.Pull(ctx, req.Name, PullOptions{TLSVerify: req.TLSVerify})
		return loadedOne(l, err)
	case transferjob.OpSave:
		if req.Output == "" {
			return nil, m.SaveTo(ctx, stdio.Out, req.TmpDir, req.Format, req.Names)
		}
		return nil, m.Save(ctx, req.Output, req.Format, req.Names)
	}
	return nil, fmt.Errorf("unknown image transfer %q", req.Op)
}

func loadedOne(l Loaded, err error) ([]Loaded, error) {
	if err != nil {
		return nil, err
	}
	return []Loaded{l}, nil
}
