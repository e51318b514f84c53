package transfer

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/storage/pkg/archive"

	"github.com/sbx-dev/sbx/image"
)

// ImportOptions describes a root filesystem tarball to turn into an image.
type ImportOptions struct {
	Source  string // file path, or "-" for Reader
	Reader  io.Reader
	Name    string   // "" for an untagged image
	Message string   // history comment
	Changes []string // docker's --change instructions
	TmpDir  string
}

// Import makes a one-layer image from a plain root filesystem tarball (uncompressed, gzip,
// bzip2, xz or zstd). The tarball is checked member by member first: an absolute name or a
// ".." component is refused rather than silently rewritten.
func (m *Images) Import(ctx context.Context, o ImportOptions) (Loaded, error) {
	var name string
	if o.Name != "" {
		n, err := image.ParseNew(o.Name)
		if err != nil {
			return Loaded{}, err
		}
		name = n.String()
	}
	in := o.Reader
	label := "standard input"
	if o.Source != "-" {
		f, err := os.Open(o.Source)
		if err != nil {
			return Loaded{}, fmt.Errorf("opening %s: %w", o.Source, errClean(err))
		}
		defer f.Close()
		in, label = f, o.Source
	}
	dir, err := os.MkdirTemp(o.TmpDir, "import-")
	if err != nil {
		return Loaded{}, err
	}
	defer os.RemoveAll(dir)

	layerDigest, layerSize, err := writeLayerBlob(dir, in, label)
	if errors.Is(err, syscall.ENOSPC) {
		return Loaded{}, fmt.Errorf("no space left on device for the image store %s: free some space (sbx rmi, sbx system reset) and try again", m.Store.GraphRoot())
	}
	if err != nil {
		return Loaded{}, err
	}
	now := time.Now().UTC()
	imgCfg := imgspecv1.ImageConfig{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}
	if err := image.ApplyChanges(&imgCfg, o.Changes); err != nil {
		return Loaded{}, err
	}
	comment := o.Message
	if comment == "" {
		comment = "imported from " + filepath.Base(label)
	}
	cfg := imgspecv1.Image{
		Created:  &now,
		Platform: imgspecv1.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		Config:   imgCfg,
		RootFS:   imgspecv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{layerDigest}},
		History:  []imgspecv1.History{{Created: &now, CreatedBy: "sbx image import " + filepath.Base(label), Comment: comment}},
	}
	cfgDesc, err := writeJSONBlob(dir, imgspecv1.MediaTypeImageConfig, cfg)
	if err != nil {
		return Loaded{}, err
	}
	man := imgspecv1.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    cfgDesc,
		Layers:    []imgspecv1.Descriptor{{MediaType: imgspecv1.MediaTypeImageLayer, Digest: layerDigest, Size: layerSize}},
	}
	manDesc, err := writeJSONBlob(dir, imgspecv1.MediaTypeImageManifest, man)
	if err != nil {
		return Loaded{}, err
	}
	index := imgspecv1.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{manDesc}}
	if err := writeJSON(filepath.Join(dir, imgspecv1.ImageIndexFile), index); err != nil {
		return Loaded{}, err
	}
	if err := writeJSON(filepath.Join(dir, imgspecv1.ImageLayoutFile), imgspecv1.ImageLayout{Version: imgspecv1.ImageLayoutVersion}); err != nil {
		return Loaded{}, err
	}
	ref, err := layout.NewIndexReference(dir, 0)
	if err != nil {
		return Loaded{}, err
	}
	var names []string
	if name != "" {
		names = []string{name}
	}
	return m.storeFrom(ctx, ref, names)
}

// writeLayerBlob decompresses in into an uncompressed layer blob under dir, validating each
// member name on the way, and returns its digest (which is also the layer's diff ID).
func writeLayerBlob(dir string, in io.Reader, label string) (digest.Digest, int64, error) {
	rd, err := archive.DecompressStream(in)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", label, err)
	}
	defer rd.Close()
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o700); err != nil {
		return "", 0, err
	}
	tmp, err := os.CreateTemp(blobs, "layer-")
	if err != nil {
		return "", 0, err
	}
	defer tmp.Close()
	h := sha256.New()
	counter := &countWriter{}
	tr := tar.NewReader(io.TeeReader(rd, io.MultiWriter(tmp, h, counter)))
	members := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", 0, fmt.Errorf("%s is not a valid tar archive (truncated or corrupt?): %w", label, err)
		}
		if _, err := safeMemberName(hdr.Name); err != nil {
			return "", 0, fmt.Errorf("%s: %w", label, err)
		}
		if hdr.Typeflag == tar.TypeLink {
			if _, err := safeMemberName(hdr.Linkname); err != nil {
				return "", 0, fmt.Errorf("%s: hard link target: %w", label, err)
			}
		}
		// Reading the body through the tee is what copies it into the blob.
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return "", 0, fmt.Errorf("%s is truncated: %w", label, err)
		}
		members++
	}
	if members == 0 {
		return "", 0, fmt.Errorf("%s holds no files: is it a root filesystem tarball?", label)
	}
	// Drain the end-of-archive padding into the blob too, so its digest covers the whole tar.
	if _, err := io.Copy(io.Discard, io.TeeReader(rd, io.MultiWriter(tmp, h, counter))); err != nil {
		return "", 0, err
	}
	if err := tmp.Close(); err != nil {
		return "", 0, err
	}
	d := digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(h.Sum(nil)))
	if err := os.Rename(tmp.Name(), filepath.Join(blobs, d.Encoded())); err != nil {
		return "", 0, err
	}
	return d, counter.n, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func writeJSONBlob(dir, mediaType string, v any) (imgspecv1.Descriptor, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return imgspecv1.Descriptor{}, err
	}
	d := digest.FromBytes(data)
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", d.Encoded()), data, 0o600); err != nil {
		return imgspecv1.Descriptor{}, err
	}
	return imgspecv1.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}, nil
}

func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}
