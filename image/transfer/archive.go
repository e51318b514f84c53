package transfer

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"go.podman.io/storage/pkg/archive"
)

// archiveKind is what a file holds, judged by its members rather than its name.
type archiveKind int

const (
	kindUnknown archiveKind = iota
	kindDocker              // manifest.json: docker save / podman save --format docker-archive
	kindOCI                 // oci-layout + index.json: an OCI image layout in a tar
)

// sniffArchive reads the member names of a (possibly compressed) tar file. docker save
// from Docker 25 on writes both manifest.json and an OCI index; manifest.json wins because
// it carries the tags in docker's form.
func sniffArchive(file string) (archiveKind, error) {
	f, err := os.Open(file)
	if err != nil {
		return kindUnknown, err
	}
	defer f.Close()
	rd, err := archive.DecompressStream(f)
	if err != nil {
		return kindUnknown, fmt.Errorf("%s: %w", file, err)
	}
	defer rd.Close()
	tr := tar.NewReader(rd)
	var oci, index bool
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return kindUnknown, fmt.Errorf("%s is not a valid tar archive (truncated or corrupt?): %w", file, err)
		}
		switch path.Clean(h.Name) {
		case "manifest.json":
			return kindDocker, nil
		case "oci-layout":
			oci = true
		case "index.json":
			index = true
		}
	}
	if oci && index {
		return kindOCI, nil
	}
	return kindUnknown, fmt.Errorf("%s is neither a docker archive (no manifest.json) nor an OCI archive (no oci-layout and index.json); for a root filesystem tarball use 'sbx image import'", file)
}

// extractOCIArchive unpacks an OCI archive into dir. An OCI layout holds only plain files
// and directories, so anything else, and any name that would land outside dir, is refused.
func extractOCIArchive(file, dir string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	rd, err := archive.DecompressStream(f)
	if err != nil {
		return err
	}
	defer rd.Close()
	tr := tar.NewReader(rd)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s is not a valid tar archive (truncated or corrupt?): %w", file, err)
		}
		name, err := safeMemberName(h.Name)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if name == "." {
			continue
		}
		target := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
				return err
			}
			out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("%s: extracting %s: %w", file, h.Name, err)
			}
		default:
			return fmt.Errorf("%s: unexpected member %q of type %q in an OCI archive", file, h.Name, string(h.Typeflag))
		}
	}
}

// errUnsafeMember is returned for a tar member that would be written outside the target.
var errUnsafeMember = errors.New("unsafe path in archive")

// safeMemberName cleans a tar member name and refuses absolute names and names that climb
// out with "..": such archives are either broken or hostile.
func safeMemberName(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: %q is an absolute path", errUnsafeMember, name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: %q climbs out of the archive with ..", errUnsafeMember, name)
		}
	}
	return path.Clean(name), nil
}
