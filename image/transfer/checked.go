package transfer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"

	"go.podman.io/image/v5/types"
	"go.podman.io/storage/pkg/archive"
)

// checkedRef wraps a source reference so that every layer it serves is checked member by
// member while it is copied: the store would quietly fold "../x" and "/x" back into the
// layer, but an archive holding such names is broken or hostile and the user should hear so.
type checkedRef struct {
	types.ImageReference
}

func (r checkedRef) NewImageSource(ctx context.Context, sys *types.SystemContext) (types.ImageSource, error) {
	src, err := r.ImageReference.NewImageSource(ctx, sys)
	if err != nil {
		return nil, err
	}
	return checkedSource{src}, nil
}

type checkedSource struct {
	types.ImageSource
}

func (s checkedSource) Reference() types.ImageReference { return checkedRef{s.ImageSource.Reference()} }

func (s checkedSource) GetBlob(ctx context.Context, info types.BlobInfo, cache types.BlobInfoCache) (io.ReadCloser, int64, error) {
	rc, size, err := s.ImageSource.GetBlob(ctx, info, cache)
	if err != nil {
		return rc, size, err
	}
	return newCheckedReader(rc, info.Digest.String()), size, nil
}

// checkedReader passes a blob through unchanged while a goroutine parses a copy of it as a
// (possibly compressed) tar. Configs and manifests are not tars: a blob that does not parse
// as one is passed as is; only a parsed member with an unsafe name fails the read.
type checkedReader struct {
	src  io.ReadCloser
	pw   *io.PipeWriter
	done chan error
	name string
}

func newCheckedReader(src io.ReadCloser, name string) *checkedReader {
	pr, pw := io.Pipe()
	c := &checkedReader{src: src, pw: pw, done: make(chan error, 1), name: name}
	go func() {
		err := scanTar(pr)
		// Drain so the writer side never blocks on a reader that stopped early.
		io.Copy(io.Discard, pr)
		c.done <- err
	}()
	return c
}

func scanTar(r io.Reader) error {
	rd, err := archive.DecompressStream(r)
	if err != nil {
		return nil
	}
	defer rd.Close()
	tr := tar.NewReader(rd)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil // end, or not a tar at all (a config blob): nothing to judge
		}
		if _, err := safeMemberName(h.Name); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeLink {
			if _, err := safeMemberName(h.Linkname); err != nil {
				return fmt.Errorf("hard link target: %w", err)
			}
		}
	}
}

func (c *checkedReader) Read(p []byte) (int, error) {
	// An unsafe member found while the copy is under way stops it at once.
	select {
	case verr := <-c.done:
		if verr != nil {
			return 0, &LayerError{Layer: c.name, Err: verr}
		}
		c.done <- nil
	default:
	}
	n, err := c.src.Read(p)
	if n > 0 {
		c.pw.Write(p[:n]) // never blocks for long: the scanner drains what it does not parse
	}
	if errors.Is(err, io.EOF) {
		c.pw.Close()
		verr := <-c.done
		c.done <- verr
		if verr != nil {
			return n, &LayerError{Layer: c.name, Err: verr}
		}
	}
	return n, err
}

func (c *checkedReader) Close() error {
	c.pw.CloseWithError(io.ErrClosedPipe)
	return c.src.Close()
}

// LayerError says which layer of an image held an unsafe member.
type LayerError struct {
	Layer string
	Err   error
}

func (e *LayerError) Error() string { return fmt.Sprintf("layer %s: %v", e.Layer, e.Err) }
func (e *LayerError) Unwrap() error { return e.Err }
