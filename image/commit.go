package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	digest "github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/manifest"
	cstorage "go.podman.io/storage"
)

// CommitOptions describes an image to make from layers already in the store.
type CommitOptions struct {
	// TopLayer is the image's top layer ("" for an image without layers); its chain of
	// parents is the image's root filesystem, bottom up.
	TopLayer string
	// Config is the image's configuration; RootFS is filled in from the layers.
	Config Config
	// Names are full references (already normalized), moved to the new image from any
	// other image that holds them, as docker does with tags.
	Names []string
}

// Commit records an image whose layers are already in the store (made with PutLayer, so
// that each knows its uncompressed digest): no layer data is copied. The manifest is
// docker's schema 2, which keeps the fields OCI has no place for (Healthcheck, Shell).
// The image ID is the config's digest, so committing identical content again finds the
// same image and only adds the names. The caller keeps the layers from an image load's
// clean-up (holding the layer lock shared) until the image holds them.
func (m *Images) Commit(o CommitOptions) (string, error) {
	var chain []*cstorage.Layer
	for id := o.TopLayer; id != ""; {
		l, err := m.Store.Layer(id)
		if err != nil {
			return "", fmt.Errorf("reading layer %s: %w", short(id), err)
		}
		if l.UncompressedDigest == "" {
			return "", fmt.Errorf("layer %s has no recorded digest", short(id))
		}
		chain = append([]*cstorage.Layer{l}, chain...)
		id = l.Parent
	}
	cfg := o.Config
	cfg.RootFS = RootFS{Type: "layers", DiffIDs: []string{}}
	man := manifest.Schema2{
		SchemaVersion:     2,
		MediaType:         manifest.DockerV2Schema2MediaType,
		LayersDescriptors: []manifest.Schema2Descriptor{},
	}
	for _, l := range chain {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.UncompressedDigest.String())
		man.LayersDescriptors = append(man.LayersDescriptors, manifest.Schema2Descriptor{
			MediaType: manifest.DockerV2SchemaLayerMediaTypeUncompressed,
			Size:      l.UncompressedSize,
			Digest:    l.UncompressedDigest,
		})
	}
	cfgBlob, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	cfgDigest := digest.FromBytes(cfgBlob)
	man.ConfigDescriptor = manifest.Schema2Descriptor{
		MediaType: manifest.DockerV2Schema2ConfigMediaType,
		Size:      int64(len(cfgBlob)),
		Digest:    cfgDigest,
	}
	manBlob, err := json.Marshal(man)
	if err != nil {
		return "", err
	}
	manDigest := digest.FromBytes(manBlob)
	id := cfgDigest.Encoded()
	when := time.Now().UTC()
	if cfg.Created != nil {
		when = *cfg.Created
	}
	// Names are added after: CreateImage refuses a name another image holds, AddNames
	// moves it.
	_, err = m.Store.CreateImage(id, nil, o.TopLayer, "", &cstorage.ImageOptions{
		CreationDate: when,
		Digest:       manDigest,
		BigData: []cstorage.ImageBigDataOption{
			{Key: cfgDigest.String(), Data: cfgBlob, Digest: cfgDigest},
			{Key: "manifest-" + manDigest.String(), Data: manBlob, Digest: manDigest},
			{Key: cstorage.ImageDigestBigDataKey, Data: manBlob, Digest: manDigest},
		},
	})
	isNew := err == nil
	if err != nil && !errors.Is(err, cstorage.ErrDuplicateID) {
		return "", fmt.Errorf("creating image: %w", err)
	}
	// The same content built again finds the image there: it only gains the names.
	if len(o.Names) > 0 {
		if err := m.Store.AddNames(id, o.Names); err != nil {
			if isNew {
				m.Store.DeleteImage(id, false)
			}
			return "", fmt.Errorf("tagging image %s: %w", short(id), err)
		}
	}
	return id, nil
}
