package image

import (
	"encoding/json"
	"fmt"
	"github.com/sbx-dev/sbx/image/meta"
	"time"

	"go.podman.io/image/v5/manifest"
	cstorage "go.podman.io/storage"
)

// Config is an image's configuration in docker's shape, a superset of the OCI image config:
// the fields docker's schema2 adds (Healthcheck, Shell, ...) survive a round trip.
type Config struct {
	Created      *time.Time      `json:"created,omitempty"`
	Author       string          `json:"author,omitempty"`
	Architecture string          `json:"architecture,omitempty"`
	Variant      string          `json:"variant,omitempty"`
	OS           string          `json:"os,omitempty"`
	Config       ContainerConfig `json:"config"`
	RootFS       RootFS          `json:"rootfs"`
	History      []HistoryEntry  `json:"history,omitempty"`
	Comment      string          `json:"comment,omitempty"`
	Extra        map[string]any  `json:"-"`
}

// ContainerConfig is the part of an image config that seeds a container (package meta, which
// a start of a known image reads without the store).
type ContainerConfig = meta.ContainerConfig

// Healthcheck is docker's HEALTHCHECK record.
type Healthcheck = meta.Healthcheck

// RootFS lists the layers' diff IDs.
type RootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

// HistoryEntry is one step of how the image was made.
type HistoryEntry struct {
	Created    *time.Time `json:"created,omitempty"`
	CreatedBy  string     `json:"created_by,omitempty"`
	Author     string     `json:"author,omitempty"`
	Comment    string     `json:"comment,omitempty"`
	EmptyLayer bool       `json:"empty_layer,omitempty"`
}

// Config reads the stored configuration of img.
func (m *Images) Config(img *cstorage.Image) (*Config, error) {
	raw, err := m.Store.ImageBigData(img.ID, cstorage.ImageDigestBigDataKey)
	if err != nil {
		return nil, fmt.Errorf("reading the manifest of image %s: %w", short(img.ID), err)
	}
	man, err := manifest.FromBlob(raw, manifest.GuessMIMEType(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing the manifest of image %s: %w", short(img.ID), err)
	}
	blob, err := m.Store.ImageBigData(img.ID, man.ConfigInfo().Digest.String())
	if err != nil {
		return nil, fmt.Errorf("reading the config of image %s: %w", short(img.ID), err)
	}
	var c Config
	if err := json.Unmarshal(blob, &c); err != nil {
		return nil, fmt.Errorf("parsing the config of image %s: %w", short(img.ID), err)
	}
	return &c, nil
}

// short is the 12-character ID docker prints.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// ShortID is the 12-character form of an image ID.
func ShortID(id string) string { return short(id) }
