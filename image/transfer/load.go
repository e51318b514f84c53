package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/types"
)

// Load stores every image of a docker archive, an OCI archive or an OCI layout directory.
// tmpDir is scratch space on a filesystem with room for the unpacked archive.
func (m *Images) Load(ctx context.Context, src, tmpDir string) ([]Loaded, error) {
	st, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", src, errClean(err))
	}
	if st.IsDir() {
		if _, err := os.Stat(filepath.Join(src, imgspecv1.ImageLayoutFile)); err != nil {
			return nil, fmt.Errorf("%s is a directory but not an OCI image layout (no oci-layout file)", src)
		}
		return m.loadOCILayout(ctx, src)
	}
	kind, err := sniffArchive(src)
	if err != nil {
		return nil, err
	}
	if kind == kindDocker {
		return m.loadDockerArchive(ctx, src)
	}
	dir, err := os.MkdirTemp(tmpDir, "load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := extractOCIArchive(src, dir); err != nil {
		return nil, err
	}
	return m.loadOCILayout(ctx, dir)
}

// LoadReader is Load for an archive arriving on a stream (stdin): it is spooled to tmpDir
// first because both archive formats need random access.
func (m *Images) LoadReader(ctx context.Context, r io.Reader, tmpDir string) ([]Loaded, error) {
	f, err := os.CreateTemp(tmpDir, "stdin-*.tar")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("reading the archive from standard input: %w", err)
	}
	if st, err := os.Stat(f.Name()); err == nil && st.Size() == 0 {
		return nil, fmt.Errorf("standard input is empty: pipe an archive in or use -i FILE")
	}
	loaded, err := m.Load(ctx, f.Name(), tmpDir)
	if err != nil {
		return nil, fmt.Errorf("%s", strings.ReplaceAll(err.Error(), f.Name(), "standard input"))
	}
	return loaded, nil
}

func (m *Images) loadDockerArchive(ctx context.Context, file string) ([]Loaded, error) {
	rd, err := archive.NewReader(m.Sys, file)
	if err != nil {
		return nil, fmt.Errorf("reading docker archive %s: %w", file, err)
	}
	defer rd.Close()
	images, err := rd.List()
	if err != nil {
		return nil, fmt.Errorf("reading docker archive %s: %w", file, err)
	}
	var out []Loaded
	for _, refs := range images {
		if len(refs) == 0 {
			continue
		}
		var names []string
		for _, r := range refs {
			if n := r.DockerReference(); n != nil {
				names = append(names, n.String())
			}
		}
		l, err := m.storeFrom(ctx, refs[0], names)
		if err != nil {
			return out, fmt.Errorf("loading from %s: %w", file, err)
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no images", file)
	}
	return out, nil
}

func (m *Images) loadOCILayout(ctx context.Context, dir string) ([]Loaded, error) {
	list, err := layout.List(dir)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout: %w", err)
	}
	var out []Loaded
	for _, item := range list {
		var names []string
		if n := ociRefName(item.ManifestDescriptor.Annotations); n != "" {
			names = append(names, n)
		}
		ref := item.Reference
		if len(names) > 0 {
			// The by-name reference would be ambiguous if a tag repeats; the index is not.
			if r, err := layout.NewIndexReference(dir, indexOf(list, item)); err == nil {
				ref = r
			}
		}
		l, err := m.storeFrom(ctx, ref, names)
		if err != nil {
			return out, fmt.Errorf("loading from OCI layout: %w", err)
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the OCI layout holds no images")
	}
	return out, nil
}

func indexOf(list []layout.ListResult, item layout.ListResult) int {
	for i := range list {
		if list[i].ManifestDescriptor.Digest == item.ManifestDescriptor.Digest &&
			list[i].ManifestDescriptor.Annotations[imgspecv1.AnnotationRefName] == item.ManifestDescriptor.Annotations[imgspecv1.AnnotationRefName] {
			return i
		}
	}
	return -1
}

// ociRefName turns an OCI ref.name annotation into a stored name. podman and skopeo write
// a full name ("docker.io/library/busybox:latest"); other tools write just a tag, which
// names no repository, so the image is stored untagged as docker would.
func ociRefName(ann map[string]string) string {
	for _, key := range []string{"io.containerd.image.name", imgspecv1.AnnotationRefName} {
		v := ann[key]
		if v == "" || !strings.ContainsAny(v, "/:") {
			continue
		}
		n, err := reference.ParseNormalizedNamed(v)
		if err != nil {
			continue
		}
		return reference.TagNameOnly(n).String()
	}
	return ""
}

// storeFrom copies one image into the store under names (the first name is used for the
// copy, the rest are added afterwards).
func (m *Images) storeFrom(ctx context.Context, src types.ImageReference, names []string) (Loaded, error) {
	id, err := configID(ctx, m.Sys, src)
	if err != nil {
		return Loaded{}, err
	}
	first := ""
	if len(names) > 0 {
		first = names[0]
	}
	dst, err := m.storeRef(first, id)
	if err != nil {
		return Loaded{}, err
	}
	// Writers of new layers exclude each other and container creation, so that the
	// clean-up after a failed copy only ever removes layers this copy made.
	if m.LayerLock != nil {
		unlock, err := m.LayerLock()
		if err != nil {
			return Loaded{}, err
		}
		defer unlock()
	}
	before := m.layerSet()
	if _, err := m.copyImage(ctx, dst, checkedRef{src}); err != nil {
		// A failed copy leaves the layers it had committed; the store must stay as it was.
		m.cleanupNewLayers(before)
		// The copy machinery wraps a bad layer in three layers of temp-file detail.
		var le *LayerError
		if errors.As(err, &le) {
			return Loaded{}, le
		}
		if errors.Is(err, syscall.ENOSPC) {
			return Loaded{}, fmt.Errorf("no space left on device for the image store %s: free some space (sbx rmi, sbx system reset) and try again", m.Store.GraphRoot())
		}
		return Loaded{}, err
	}
	if len(names) > 1 {
		if err := m.Store.AddNames(id, names[1:]); err != nil {
			return Loaded{}, err
		}
	}
	return Loaded{ID: id, Names: names}, nil
}

// configID is the image ID an image will get in the store: its config's digest.
func configID(ctx context.Context, sys *types.SystemContext, ref types.ImageReference) (string, error) {
	src, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		return "", err
	}
	defer src.Close()
	raw, mt, err := src.GetManifest(ctx, nil)
	if err != nil {
		return "", err
	}
	if manifest.MIMETypeIsMultiImage(mt) {
		return "", fmt.Errorf("multi-platform image indexes are not supported yet; load a single-platform image")
	}
	man, err := manifest.FromBlob(raw, mt)
	if err != nil {
		return "", err
	}
	return man.ConfigInfo().Digest.Encoded(), nil
}

// errClean drops Go's "open PATH:" prefix duplication from os errors.
func errClean(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
