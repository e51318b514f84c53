// Package image owns images in sbx's layer store: loading them from docker and OCI archives
// and layouts, importing root filesystem tarballs, pulling from registries, saving, listing,
// tagging, inspecting and removing. It runs host side, inside the holder's namespaces, and
// never inside a container.
package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/signature"
	istorage "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/types"
	cstorage "go.podman.io/storage"
)

// ErrNotFound is returned when no image matches a name or ID.
var ErrNotFound = errors.New("no such image")

// ErrAmbiguous is returned when an ID prefix matches several images.
var ErrAmbiguous = errors.New("ambiguous image ID prefix")

// Store is the part of the layer store this package uses.
type Store = cstorage.Store

// Images works on the images of one store.
type Images struct {
	Store Store
	// Progress receives copy progress (nil: quiet), a terminal in practice.
	Progress io.Writer
	// Sys carries registry settings: auth file, TLS verification.
	Sys *types.SystemContext
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

// policy accepts every image, as docker does: sbx verifies digests, not signatures.
func policy() (*signature.PolicyContext, error) {
	return signature.NewPolicyContext(&signature.Policy{
		Default: []signature.PolicyRequirement{signature.NewPRInsecureAcceptAnything()},
	})
}

// copyImage copies src to dst with sbx's policy and progress settings.
func (m *Images) copyImage(ctx context.Context, dst, src types.ImageReference) ([]byte, error) {
	pc, err := policy()
	if err != nil {
		return nil, err
	}
	defer pc.Destroy()
	return copy.Image(ctx, pc, dst, src, &copy.Options{
		ReportWriter:   m.Progress,
		SourceCtx:      m.Sys,
		DestinationCtx: m.Sys,
	})
}

// storeRef names an image in the store: by name, or by ID for unnamed images.
func (m *Images) storeRef(name string, id string) (types.ImageReference, error) {
	if name != "" {
		return istorage.Transport.ParseStoreReference(m.Store, name)
	}
	return istorage.Transport.ParseStoreReference(m.Store, "@"+id)
}

// cleanupNewLayers removes layers created since before that no image or container uses:
// what a failed copy leaves behind, so that a failed load leaves the store as it was.
func (m *Images) cleanupNewLayers(before map[string]bool) {
	layers, err := m.Store.Layers()
	if err != nil {
		return
	}
	used := map[string]bool{}
	imgs, _ := m.Store.Images()
	for _, img := range imgs {
		used[img.TopLayer] = true
	}
	ctrs, _ := m.Store.Containers()
	for _, c := range ctrs {
		used[c.LayerID] = true
	}
	// Parents of used layers are used too.
	byID := map[string]string{}
	for _, l := range layers {
		byID[l.ID] = l.Parent
	}
	for id := range used {
		for p := byID[id]; p != ""; p = byID[p] {
			used[p] = true
		}
	}
	// Delete children before parents: repeat until nothing more goes.
	for progress := true; progress; {
		progress = false
		for _, l := range layers {
			if before[l.ID] || used[l.ID] {
				continue
			}
			if err := m.Store.DeleteLayer(l.ID); err == nil {
				before[l.ID] = true // gone; don't try again
				progress = true
			}
		}
	}
}

func (m *Images) layerSet() map[string]bool {
	set := map[string]bool{}
	layers, _ := m.Store.Layers()
	for _, l := range layers {
		set[l.ID] = true
	}
	return set
}
