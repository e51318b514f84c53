package image

// Tag gives the image that src names the additional name dst.
func (m *Images) Tag(src, dst string) (string, error) {
	img, _, err := m.Resolve(src)
	if err != nil {
		return "", err
	}
	n, err := ParseNew(dst)
	if err != nil {
		return "", err
	}
	// AddNames moves the name away from any image that had it, as docker's tag does.
	if err := m.Store.AddNames(img.ID, []string{n.String()}); err != nil {
		return "", err
	}
	return n.String(), nil
}
