package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/docker/reference"
	ociarchive "go.podman.io/image/v5/oci/archive"
	"go.podman.io/image/v5/types"

	"github.com/sbx-dev/sbx/image"
	"github.com/sbx-dev/sbx/image/transferjob"
)

// PullOptions tunes a pull.
type PullOptions struct {
	// TLSVerify false allows plain http and unverified certificates. Unset (nil) follows
	// docker: registries on loopback addresses are insecure, all others are verified.
	TLSVerify *bool
}

// Pull fetches name from its registry (docker:// transport) and stores it under its full
// name. Registry credentials come from the usual auth.json / ~/.docker/config.json.
func (m *Images) Pull(ctx context.Context, name string, o PullOptions) (Loaded, error) {
	n, err := image.ParsePull(name)
	if err != nil {
		return Loaded{}, err
	}
	src, err := docker.NewReference(n)
	if err != nil {
		return Loaded{}, image.RefError(name, err)
	}
	sys := *m.Sys
	insecure := isLoopbackRegistry(reference.Domain(n))
	if o.TLSVerify != nil {
		insecure = !*o.TLSVerify
	}
	if insecure {
		sys.DockerInsecureSkipTLSVerify = types.OptionalBoolTrue
	}
	saved := m.Sys
	m.Sys = &sys
	defer func() { m.Sys = saved }()
	names := []string{n.String()}
	if _, ok := n.(reference.Digested); ok {
		// Stored by digest only: a digest is not a tag.
		names = nil
	}
	l, err := m.storeFrom(ctx, src, names)
	if err != nil {
		return Loaded{}, fmt.Errorf("pulling %s: %w", reference.FamiliarString(n), err)
	}
	return l, nil
}

// isLoopbackRegistry applies docker's default: registries on localhost and 127.0.0.0/8 may
// speak plain http.
func isLoopbackRegistry(domain string) bool {
	host := domain
	if h, _, err := net.SplitHostPort(domain); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Save writes images to out (a file path) in a format podman and docker can load.
// docker-archive holds any number of images; oci-archive exactly one.
func (m *Images) Save(ctx context.Context, out, format string, names []string) error {
	if len(names) == 0 {
		return errors.New("no image given to save")
	}
	type item struct {
		id   string
		name reference.NamedTagged // nil when saved by ID
	}
	var items []item
	for _, nm := range names {
		img, matched, err := m.Resolve(nm)
		if err != nil {
			return err
		}
		it := item{id: img.ID}
		if matched != "" {
			if n, err := reference.ParseNormalizedNamed(matched); err == nil {
				if nt, ok := n.(reference.NamedTagged); ok {
					it.name = nt
				}
			}
		}
		items = append(items, it)
	}
	switch format {
	case "", transferjob.FormatDockerArchive:
		// One entry per image with all its requested tags: writing the same image twice
		// would make the archive writer skip its config the second time.
		var order []string
		tags := map[string][]reference.NamedTagged{}
		for _, it := range items {
			if _, ok := tags[it.id]; !ok {
				order = append(order, it.id)
				tags[it.id] = nil
			}
			if it.name != nil {
				tags[it.id] = append(tags[it.id], it.name)
			}
		}
		w, err := archive.NewWriter(m.Sys, out)
		if err != nil {
			return fmt.Errorf("creating %s: %w", out, err)
		}
		for _, id := range order {
			dst, err := w.NewReference(nil)
			if err != nil {
				w.Close()
				return err
			}
			src, err := m.storeRef("", id)
			if err != nil {
				w.Close()
				return err
			}
			sys := *m.Sys
			sys.DockerArchiveAdditionalTags = tags[id]
			saved := m.Sys
			m.Sys = &sys
			_, err = m.copyImage(ctx, dst, src)
			m.Sys = saved
			if err != nil {
				w.Close()
				os.Remove(out)
				return err
			}
		}
		return w.Close()
	case transferjob.FormatOCIArchive:
		if len(items) != 1 {
			return errors.New("an oci-archive holds one image: save one image, or use --format docker-archive")
		}
		refName := ""
		if items[0].name != nil {
			refName = items[0].name.String()
		}
		dst, err := ociarchive.NewReference(out, refName)
		if err != nil {
			return err
		}
		src, err := m.storeRef("", items[0].id)
		if err != nil {
			return err
		}
		if _, err := m.copyImage(ctx, dst, src); err != nil {
			os.Remove(out)
			return err
		}
		return nil
	default:
		return fmt.Errorf("unknown --format %q: use docker-archive or oci-archive", format)
	}
}

// SaveTo is Save into a writer (standard output), through a temporary file because the
// archive writers need a path.
func (m *Images) SaveTo(ctx context.Context, w io.Writer, tmpDir, format string, names []string) error {
	f, err := os.CreateTemp(tmpDir, "save-*.tar")
	if err != nil {
		return err
	}
	f.Close()
	defer os.Remove(f.Name())
	os.Remove(f.Name()) // the writers create it themselves
	if err := m.Save(ctx, f.Name(), format, names); err != nil {
		return err
	}
	in, err := os.Open(f.Name())
	if err != nil {
		return err
	}
	defer in.Close()
	_, err = io.Copy(w, in)
	return err
}
