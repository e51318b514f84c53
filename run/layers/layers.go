// Package layers is the layer store that package run needs (run.Layers), on
// go.podman.io/storage and sbx's image service. Only the programs that link the store use
// it; run itself does not import the store.
package layers

import (
	"errors"

	cstorage "go.podman.io/storage"

	"github.com/sbx-dev/sbx/image"
	"github.com/sbx-dev/sbx/image/meta"
	"github.com/sbx-dev/sbx/run"
)

// Store is run.Layers on an opened image service.
type Store struct{ Images *image.Images }

var _ run.Layers = (*Store)(nil)

func (s *Store) Image(name string) (string, meta.ContainerConfig, error) {
	img, _, err := s.Images.Resolve(name)
	if err != nil {
		return "", meta.ContainerConfig{}, err
	}
	cfg, err := s.Images.Config(img)
	if err != nil {
		return "", meta.ContainerConfig{}, err
	}
	return img.ID, cfg.Config, nil
}

func (s *Store) Driver() string { return s.Images.Store.GraphDriverName() }

func (s *Store) LowerDirs(imageID string) (string, error) {
	img, err := s.Images.Store.Image(imageID)
	if err != nil {
		return "", err
	}
	if img.TopLayer == "" {
		return "", errors.New("the image has no layers")
	}
	drv, err := s.Images.Store.GraphDriver()
	if err != nil {
		return "", err
	}
	md, err := drv.Metadata(img.TopLayer)
	if err != nil {
		return "", err
	}
	lower := md["UpperDir"]
	if l := md["LowerDir"]; l != "" {
		lower += ":" + l
	}
	if lower == "" {
		return "", errors.New("the image's layers have no directories")
	}
	return lower, nil
}

func (s *Store) CreateContainer(id, imageID string, volatile bool) error {
	_, err := s.Images.Store.CreateContainer(id, nil, imageID, "", "", &cstorage.ContainerOptions{Volatile: volatile})
	return err
}

func (s *Store) Mount(id string) (string, error) { return s.Images.Store.Mount(id, "") }

func (s *Store) Unmount(id string) error {
	_, err := s.Images.Store.Unmount(id, true)
	if unknown(err) {
		return nil
	}
	return err
}

func (s *Store) DeleteContainer(id string) error {
	err := s.Images.Store.DeleteContainer(id)
	if err != nil && !unknown(err) {
		// The layer may still count a mount from the dead init: drop it and try again.
		s.Images.Store.Unmount(id, true)
		err = s.Images.Store.DeleteContainer(id)
	}
	if unknown(err) {
		return nil
	}
	return err
}

// unknown says the store has no such container or layer: already gone.
func unknown(err error) bool {
	return errors.Is(err, cstorage.ErrContainerUnknown) || errors.Is(err, cstorage.ErrLayerUnknown) ||
		errors.Is(err, cstorage.ErrNotAContainer)
}
