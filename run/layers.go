package run

import "github.com/sbx-dev/sbx/image/meta"

// Layers is what the runtime needs of the layer store (go.podman.io/storage). The runtime
// reaches it through this interface, so that a program that only starts containers of
// known images on scratch layers (see KnownImages and scratch.go) does not link the store
// at all; package run/layers implements it on the store.
type Layers interface {
	// Image finds the image a user named: its ID and the config a container starts from.
	// An unknown name is an error wrapping meta.ErrNotFound.
	Image(name string) (id string, cfg meta.ContainerConfig, err error)
	// Driver names the store's driver: "overlay", "vfs".
	Driver() string
	// LowerDirs is the overlay lowerdir of an image's layers, top first.
	LowerDirs(imageID string) (string, error)
	// CreateContainer gives a container a writable layer of its own on the image.
	// volatile layers are written without fsync (see createLayer).
	CreateContainer(id, imageID string, volatile bool) error
	// Mount mounts a container's layer and returns its root.
	Mount(id string) (string, error)
	// Unmount unmounts a container's layer; an unknown container is not an error.
	Unmount(id string) error
	// DeleteContainer removes a container's layer; an unknown container is not an error.
	DeleteContainer(id string) error
}
