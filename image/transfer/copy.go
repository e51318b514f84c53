package transfer

import (
	"context"

	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/signature"
	istorage "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/types"
)

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
