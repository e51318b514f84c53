// Package image owns images in sbx's layer store: loading them from docker and OCI archives
// and layouts, importing root filesystem tarballs, pulling from registries, saving, listing,
// tagging, inspecting and removing. It runs host side, inside the holder's namespaces, and
// never inside a container.
package image

import (
	"errors"
	"fmt"
	"github.com/sbx-dev/sbx/image/meta"
	"strings"

	cstorage "go.podman.io/storage"
)

// ErrNotFound is returned when no image matches a name or ID.
var ErrNotFound = meta.ErrNotFound

// ErrAmbiguous is returned when an ID prefix matches several images.
var ErrAmbiguous = errors.New("ambiguous image ID prefix")

// Store is the part of the layer store this package uses.
type Store = cstorage.Store

// Images works on the images of one store.
type Images struct {
	Store Store
	// LayerLock, when set, takes the store-wide exclusive lock for adding image layers and
	// returns its release.
	LayerLock func() (func(), error)
	// UsedBy, when set, names a container that uses the image: containers on a scratch
	// layer (package run) use the image's layers without the store knowing.
	UsedBy func(imageID string) (container string, used bool)
}

// Resolve finds the image a user means by name, short name, full ID or ID prefix. It
// returns the image and, when it was found by name, the stored name that matched.
func (m *Images) Resolve(name string) (*cstorage.Image, string, error) {
	if LooksLikeID(name) {
		id := strings.TrimPrefix(name, "sha256:")
		imgs, err := m.Store.Images()
		if err != nil {
			return nil, "", err
		}
		var found []*cstorage.Image
		for i := range imgs {
			if strings.HasPrefix(imgs[i].ID, id) {
				found = append(found, &imgs[i])
			}
		}
		if len(found) == 1 {
			return found[0], "", nil
		}
		if len(found) > 1 {
			return nil, "", fmt.Errorf("%w %q: matches %d images", ErrAmbiguous, name, len(found))
		}
		// Fall through: "abc" could also be a name.
	}
	cands, err := Candidates(name)
	if err != nil {
		if LooksLikeID(name) {
			return nil, "", fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		return nil, "", err
	}
	for _, c := range cands {
		img, err := m.Store.Image(c)
		if err == nil {
			return img, c, nil
		}
		if !errors.Is(err, cstorage.ErrImageUnknown) {
			return nil, "", err
		}
	}
	return nil, "", fmt.Errorf("%w: %s", ErrNotFound, name)
}
