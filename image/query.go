package image

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.podman.io/image/v5/docker/reference"
	cstorage "go.podman.io/storage"
)

// Summary is one row of `sbx images`: an image under one of its names.
type Summary struct {
	ID         string // full hex ID
	Repository string
	Tag        string
	Digest     string
	Created    time.Time
	Size       int64
	Name       string   // the stored name this row shows; "" for an unnamed image
	Names      []string // all of the image's names
}

// List returns one Summary per image name (an unnamed image once, as <none>), newest first.
func (m *Images) List() ([]Summary, error) {
	imgs, err := m.Store.Images()
	if err != nil {
		return nil, err
	}
	var out []Summary
	for i := range imgs {
		img := &imgs[i]
		size := m.size(img)
		base := Summary{ID: img.ID, Created: img.Created, Size: size, Digest: img.Digest.String(), Names: img.Names}
		if len(img.Names) == 0 {
			s := base
			s.Repository, s.Tag = "<none>", "<none>"
			out = append(out, s)
			continue
		}
		for _, n := range img.Names {
			s := base
			s.Name = n
			s.Repository, s.Tag = Familiar(n)
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].Repository+":"+out[i].Tag < out[j].Repository+":"+out[j].Tag
	})
	return out, nil
}

// size is the image's uncompressed size: the sum of its layers, as docker reports it.
func (m *Images) size(img *cstorage.Image) int64 {
	var total int64
	for id := img.TopLayer; id != ""; {
		l, err := m.Store.Layer(id)
		if err != nil {
			break
		}
		if l.UncompressedSize > 0 {
			total += l.UncompressedSize
		}
		id = l.Parent
	}
	return total
}

// Inspect is `sbx image inspect` output, with docker's field names.
type Inspect struct {
	ID           string `json:"Id"`
	RepoTags     []string
	RepoDigests  []string
	Parent       string
	Comment      string
	Created      string
	Author       string
	Config       ContainerConfig
	Architecture string
	Variant      string `json:",omitempty"`
	Os           string
	Size         int64
	VirtualSize  int64
	RootFS       struct {
		Type   string
		Layers []string
	}
	Names []string // sbx's stored, fully qualified names
}

// InspectImage gathers what docker image inspect shows.
func (m *Images) InspectImage(name string) (*Inspect, error) {
	img, _, err := m.Resolve(name)
	if err != nil {
		return nil, err
	}
	cfg, err := m.Config(img)
	if err != nil {
		return nil, err
	}
	in := &Inspect{
		ID:           "sha256:" + img.ID,
		RepoTags:     []string{},
		RepoDigests:  []string{},
		Comment:      cfg.Comment,
		Author:       cfg.Author,
		Config:       cfg.Config,
		Architecture: cfg.Architecture,
		Variant:      cfg.Variant,
		Os:           cfg.OS,
		Names:        img.Names,
	}
	for _, n := range img.Names {
		in.RepoTags = append(in.RepoTags, FamiliarString(n))
		if img.Digest != "" {
			repo, _ := Familiar(n)
			in.RepoDigests = append(in.RepoDigests, repo+"@"+img.Digest.String())
		}
	}
	created := img.Created
	if cfg.Created != nil {
		created = *cfg.Created
	}
	in.Created = created.UTC().Format(time.RFC3339Nano)
	in.Size = m.size(img)
	in.VirtualSize = in.Size
	in.RootFS.Type = cfg.RootFS.Type
	in.RootFS.Layers = cfg.RootFS.DiffIDs
	if in.RootFS.Layers == nil {
		in.RootFS.Layers = []string{}
	}
	return in, nil
}

// HistoryRow is one line of `sbx image history`, newest first.
type HistoryRow struct {
	ID        string // "sha256:..." for the top entry, "<missing>" below, as docker shows
	Created   time.Time
	CreatedBy string
	Size      int64
	Comment   string
	Tags      []string
}

// History lists how the image was made, pairing each non-empty history step with its layer.
func (m *Images) History(name string) ([]HistoryRow, error) {
	img, _, err := m.Resolve(name)
	if err != nil {
		return nil, err
	}
	cfg, err := m.Config(img)
	if err != nil {
		return nil, err
	}
	// Layers bottom-up, to pair with the non-empty history steps.
	var layers []int64
	for id := img.TopLayer; id != ""; {
		l, err := m.Store.Layer(id)
		if err != nil {
			break
		}
		layers = append([]int64{l.UncompressedSize}, layers...)
		id = l.Parent
	}
	var rows []HistoryRow
	li := 0
	for _, h := range cfg.History {
		r := HistoryRow{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment}
		if h.Created != nil {
			r.Created = *h.Created
		}
		if !h.EmptyLayer && li < len(layers) {
			r.Size = layers[li]
			li++
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		// No history recorded (some tools omit it): one row per layer.
		for _, s := range layers {
			rows = append(rows, HistoryRow{ID: "<missing>", Size: s, Created: img.Created})
		}
	}
	// Newest first, as docker prints it.
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	if len(rows) > 0 {
		rows[0].ID = "sha256:" + img.ID
		for _, n := range img.Names {
			rows[0].Tags = append(rows[0].Tags, FamiliarString(n))
		}
	}
	return rows, nil
}

// ErrInUse is returned when an image cannot go because a container uses it.
var ErrInUse = errors.New("image is being used by a container")

// RemoveResult is what one `sbx rmi` argument did, in docker's words.
type RemoveResult struct {
	Untagged []string
	Deleted  []string
}

// Remove untags or deletes the image name refers to, with docker's rules: by name it drops
// that name and deletes the image only when no other name is left; by ID it deletes the
// image, which needs force when the image has several names. A container using the image
// blocks deletion, even with force (the container must go first).
func (m *Images) Remove(name string, force bool) (RemoveResult, error) {
	img, matched, err := m.Resolve(name)
	if err != nil {
		return RemoveResult{}, err
	}
	var res RemoveResult
	if matched != "" && len(img.Names) > 1 {
		if err := m.Store.RemoveNames(img.ID, []string{matched}); err != nil {
			return res, err
		}
		res.Untagged = append(res.Untagged, FamiliarString(matched))
		return res, nil
	}
	if matched == "" && len(img.Names) > 1 && !force {
		return res, fmt.Errorf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", short(img.ID))
	}
	if m.LayerLock != nil {
		// A container being created holds the lock shared: it either sees the image gone
		// or is seen using it below.
		unlock, err := m.LayerLock()
		if err != nil {
			return res, err
		}
		defer unlock()
	}
	if m.UsedBy != nil {
		if cname, used := m.UsedBy(img.ID); used {
			return res, fmt.Errorf("%w: unable to delete %s: container %s uses it; remove the container first (sbx rm %s)", ErrInUse, name, cname, cname)
		}
	}
	ctrs, err := m.Store.Containers()
	if err != nil {
		return res, err
	}
	for _, c := range ctrs {
		if c.ImageID == img.ID {
			cname := short(c.ID)
			if len(c.Names) > 0 {
				cname = c.Names[0]
			}
			return res, fmt.Errorf("%w: unable to delete %s: container %s uses it; remove the container first (sbx rm %s)", ErrInUse, name, cname, cname)
		}
	}
	if _, err := m.Store.DeleteImage(img.ID, true); err != nil {
		if errors.Is(err, cstorage.ErrImageUsedByContainer) {
			return res, fmt.Errorf("%w: unable to delete %s", ErrInUse, name)
		}
		return res, err
	}
	for _, n := range img.Names {
		res.Untagged = append(res.Untagged, FamiliarString(n))
	}
	res.Deleted = append(res.Deleted, "sha256:"+img.ID)
	return res, nil
}

// TrimID drops a sha256: prefix.
func TrimID(id string) string { return strings.TrimPrefix(id, "sha256:") }

// MatchesFilter applies `sbx images REPO[:TAG]`: REPO as a user would type it (short,
// familiar or fully qualified) and the tag when one is given.
func MatchesFilter(filter string, s Summary) bool {
	cands, err := Candidates(filter)
	if err != nil {
		return false
	}
	hasTag := false
	if n, err := reference.ParseNormalizedNamed(filter); err == nil {
		_, hasTag = n.(reference.Tagged)
	}
	if s.Name == "" {
		return false
	}
	for _, c := range cands {
		if hasTag && s.Name == c {
			return true
		}
		if !hasTag && repoOf(s.Name) == repoOf(c) {
			return true
		}
	}
	return false
}

func repoOf(name string) string {
	n, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return name
	}
	return n.Name()
}
