//go:build !sbx_lite

package cli

import (
	"errors"

	"github.com/sbx-dev/sbx/image"
)

// inspectImage is an image's inspect record, found says whether ref names one. The store
// opens at the first image asked for, not for containers.
func (e *env) inspectImage(ref string) (in any, found bool, err error) {
	imgs, err := e.images()
	if err != nil {
		return nil, false, err
	}
	if in, err := imgs.InspectImage(ref); err == nil {
		return in, true, nil
	} else if !errors.Is(err, image.ErrNotFound) {
		return nil, false, err
	}
	return nil, false, nil
}
