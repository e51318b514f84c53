// Package build makes images from Dockerfiles (`sbx build`). It runs host side, inside the
// holder's namespaces, and uses the others' parts rather than its own: buildkit's
// Dockerfile parser and shell lexer read the file, the layer store holds every step's
// result, and RUN steps run through package run, in the same namespaces and with the same
// defaults as `sbx run`.
//
// A step that changes files gets a scratch layer on top of the stage's layer, mounted and
// changed in place (a RUN container's root is that mount; COPY writes into it). Its diff
// against the parent, which the storage driver computes with whiteouts for deleted files
// (overlay from its upper directory, vfs by comparing the two trees), then becomes the
// image layer through PutLayer, which records the digest an image needs; the scratch layer
// is deleted. So a layer holds only its own step's changes and lower layers never change.
//
// See cache.go for the build cache and how a killed build's layers are collected.
package build

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	cstorage "go.podman.io/storage"
	"go.podman.io/storage/pkg/archive"

	"github.com/sbx-dev/sbx/image"
	"github.com/sbx-dev/sbx/run"
	"github.com/sbx-dev/sbx/run/spec"
	"github.com/sbx-dev/sbx/state"
)

// Builder builds images into one user's store.
type Builder struct {
	Images  *image.Images
	Runtime *run.Runtime
	// StateDir holds the build cache (cache.toml and its lock).
	StateDir string
	// TmpDir is scratch space for fetched ADD URLs.
	TmpDir string
	// LayerLockShared keeps an image load's clean-up from taking the build's layers, which
	// no image uses until the build commits; it returns the release.
	LayerLockShared func() (func(), error)
	Logger          *slog.Logger
}

// Options are `sbx build`'s flags, checked by the caller except where noted.
type Options struct {
	ContextDir string
	Dockerfile string            // "" for CONTEXT/Dockerfile
	Tags       []string          // full references
	BuildArgs  map[string]string // see ParseBuildArgs
	Target     string
	NoCache    bool
	Network    string // "" (the default network), "none" or "host"
	Labels     map[string]string
	Out        io.Writer // progress and RUN output
	Timings    bool      // show each step's time (a terminal)
	Quiet      bool      // print only the image ID
}

// StepError is a build that failed at a step.
type StepError struct {
	File string
	Line int
	Text string
	Err  error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %v", e.File, e.Line, e.Text, e.Err)
}
func (e *StepError) Unwrap() error { return e.Err }

// result is where a stage stands after a step.
type result struct {
	key     string // cache key
	layer   string // top layer, "" for an empty scratch stage
	history []image.HistoryEntry
	author  string
}

// build is one run of Build.
type build struct {
	*Builder
	o        Options
	file     string // Dockerfile's name in messages
	ctxTree  *tree
	self     state.Process
	cache    *cache
	entries  map[string]cacheEntry // what the cache held at the start
	newEntry map[string]cacheEntry
	baseIDs  map[string]*resolved
	out      io.Writer
}

type resolved struct {
	id, top string
	cfg     *image.Config
}

// Build builds the Dockerfile and returns the new image's ID. On failure nothing is
// tagged and the layers the build made are deleted.
func (b *Builder) Build(ctx context.Context, o Options) (string, error) {
	ctxDir, err := filepath.Abs(o.ContextDir)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(ctxDir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("the build context %s is not a directory", o.ContextDir)
	}
	dfPath := o.Dockerfile
	switch {
	case dfPath == "":
		dfPath = filepath.Join(ctxDir, "Dockerfile")
	case dfPath == "-":
		return "", fmt.Errorf("-f -: reading the Dockerfile from standard input is not supported")
	}
	df, err := os.ReadFile(dfPath)
	if err != nil {
		return "", fmt.Errorf("reading the Dockerfile: %w", cleanErr(err))
	}
	x := &build{Builder: b, o: o, file: filepath.Base(dfPath), newEntry: map[string]cacheEntry{}, baseIDs: map[string]*resolved{}}
	x.out = o.Out
	if o.Quiet || x.out == nil {
		x.out = io.Discard
	}
	if x.ctxTree, err = openContext(ctxDir); err != nil {
		return "", err
	}
	plan, err := MakePlan(PlanOptions{
		Dockerfile: df, Name: x.file, BuildArgs: o.BuildArgs, Target: o.Target,
		Resolve: x.resolve,
	})
	if err != nil {
		return "", err
	}
	if err := x.checkSources(plan); err != nil {
		return "", err
	}
	for _, k := range plan.Unused {
		fmt.Fprintf(x.out, "[Warning] the build argument %s was not consumed: no ARG declares it\n", k)
	}

	// From here on layers are made: keep image loads' clean-up away from them.
	if b.LayerLockShared != nil {
		unlock, err := b.LayerLockShared()
		if err != nil {
			return "", err
		}
		defer unlock()
	}
	if x.self, err = state.Self(); err != nil {
		return "", err
	}
	if x.cache, err = newCache(b.StateDir); err != nil {
		return "", err
	}
	// RUN containers of builds that were killed go first (they stand on pending layers).
	if _, err := b.Runtime.List(); err != nil {
		b.Logger.Debug("reconciling containers", "err", err)
	}
	if err := x.cache.collect(b.Images.Store, nil); err != nil {
		b.Logger.Debug("collecting the layers of killed builds", "err", err)
	}
	if x.entries, err = x.cache.read(); err != nil {
		return "", err
	}
	id, err := x.run(ctx, plan)
	if err != nil {
		if cerr := x.cache.collect(b.Images.Store, &x.self); cerr != nil {
			b.Logger.Debug("deleting the failed build's layers", "err", cerr)
		}
		return "", err
	}
	return id, nil
}

func cleanErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// checkSources finds missing context files before any step runs, so that a typo in a
// COPY costs no layers.
func (x *build) checkSources(plan *Plan) error {
	for _, st := range plan.Stages {
		for _, step := range st.Steps {
			if (step.Kind != KindCopy && step.Kind != KindAdd) || step.FromStage != nil || step.FromImage != "" {
				continue
			}
			for _, src := range step.Sources {
				if isURL(src) {
					continue
				}
				if _, err := x.ctxTree.match(src); err != nil {
					return lineError(x.file, step.Line, "%s: %v", strings.Fields(step.Text)[0], err)
				}
			}
		}
	}
	return nil
}

// resolve is the planner's view of local images.
func (x *build) resolve(ref string) (*image.Config, error) {
	if r, ok := x.baseIDs[ref]; ok {
		return r.cfg, nil
	}
	img, _, err := x.Images.Resolve(ref)
	if errors.Is(err, image.ErrNotFound) {
		return nil, ErrNoImage
	}
	if err != nil {
		return nil, err
	}
	cfg, err := x.Images.Config(img)
	if err != nil {
		return nil, err
	}
	x.baseIDs[ref] = &resolved{id: img.ID, top: img.TopLayer, cfg: cfg}
	return cfg, nil
}

func (x *build) run(ctx context.Context, plan *Plan) (string, error) {
	results := map[int]*result{}
	total := 0
	for _, st := range plan.Stages {
		total += 1 + len(st.Steps)
	}
	for si, st := range plan.Stages {
		prefix := ""
		if len(plan.Stages) > 1 {
			prefix = fmt.Sprintf("[%d/%d] ", si+1, len(plan.Stages))
		}
		n := 1 + len(st.Steps)
		fmt.Fprintf(x.out, "%sSTEP 1/%d: %s\n", prefix, n, st.Text)
		var cur *result
		switch {
		case st.Scratch:
			cur = &result{key: "scratch"}
		case st.From != nil:
			from := results[st.From.Index]
			cur = &result{key: from.key, layer: from.layer, history: append([]image.HistoryEntry(nil), from.history...), author: from.author}
		default:
			r := x.baseIDs[st.Image]
			cur = &result{key: "image:" + r.id, layer: r.top, history: append([]image.HistoryEntry(nil), r.cfg.History...), author: r.cfg.Author}
		}
		for i, step := range st.Steps {
			if err := ctx.Err(); err != nil {
				return "", err
			}
			fmt.Fprintf(x.out, "%sSTEP %d/%d: %s\n", prefix, i+2, n, step.Text)
			next, err := x.step(ctx, cur, step, results)
			if err != nil {
				return "", &StepError{File: x.file, Line: step.Line, Text: step.Text, Err: err}
			}
			cur = next
		}
		if st.Author != "" {
			cur.author = st.Author
		}
		results[st.Index] = cur
	}
	last := plan.Stages[len(plan.Stages)-1]
	final := results[last.Index]
	cfg := last.Config
	if len(x.o.Labels) > 0 {
		cfg = cloneConfig(cfg)
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for k, v := range x.o.Labels {
			cfg.Labels[k] = v
		}
	}
	var created time.Time
	if len(final.history) > 0 && final.history[len(final.history)-1].Created != nil {
		created = *final.history[len(final.history)-1].Created
	} else {
		created = time.Now().UTC()
	}
	if len(x.o.Tags) > 0 {
		fmt.Fprintf(x.out, "COMMIT %s\n", x.o.Tags[0])
	} else {
		fmt.Fprintf(x.out, "COMMIT\n")
	}
	id, err := x.Images.Commit(image.CommitOptions{
		TopLayer: final.layer,
		Names:    x.o.Tags,
		Config: image.Config{
			Created: &created, Author: final.author, Architecture: runtime.GOARCH, OS: "linux",
			Config: cfg, History: final.history,
		},
	})
	if err != nil {
		return "", err
	}
	if err := x.cache.finish(x.self, x.newEntry, x.Images.Store); err != nil {
		return "", err
	}
	fmt.Fprintf(x.out, "--> %s\n", image.ShortID(id))
	for _, t := range x.o.Tags {
		fmt.Fprintf(x.out, "Successfully tagged %s\n", t)
	}
	return id, nil
}

// step runs one step, or takes its result from the cache.
func (x *build) step(ctx context.Context, cur *result, step *Step, results map[int]*result) (*result, error) {
	start := time.Now()
	prep, err := x.prepare(ctx, step, results)
	if err != nil {
		return nil, err
	}
	defer prep.release()
	extra := step.KeyExtra + "\x00" + prep.extra
	if step.Kind == KindRun {
		// The network a command ran with can change what it made.
		extra += "\x00network=" + x.o.Network
	}
	key := stepKey(cur.key, step.Text, extra)
	next := &result{key: key, history: append([]image.HistoryEntry(nil), cur.history...), author: cur.author}
	if e, ok := x.entries[key]; ok && !x.o.NoCache && (e.Layer == "" || layerExists(x.Images.Store, e.Layer)) {
		next.layer = e.Layer
		created := e.Created
		next.history = append(next.history, image.HistoryEntry{Created: &created, CreatedBy: step.Text, EmptyLayer: e.Layer == cur.layer})
		x.newEntry[key] = e
		x.progress(start, "Using cache "+image.ShortID(layerOrScratch(e.Layer)))
		return next, nil
	}
	next.layer = cur.layer
	if step.Kind != KindConfig {
		layer, err := x.fsStep(cur.layer, func(root string) (bool, error) {
			return x.apply(ctx, root, step, prep)
		})
		if err != nil {
			return nil, err
		}
		next.layer = layer
	}
	created := time.Now().UTC()
	next.history = append(next.history, image.HistoryEntry{Created: &created, CreatedBy: step.Text, EmptyLayer: next.layer == cur.layer})
	x.newEntry[key] = cacheEntry{Layer: next.layer, Created: created}
	if next.layer != cur.layer {
		x.progress(start, image.ShortID(next.layer))
	} else {
		x.progress(start, "")
	}
	return next, nil
}

func layerOrScratch(l string) string {
	if l == "" {
		return "scratch"
	}
	return l
}

// progress ends a step's output: what it made, and on a terminal how long it took.
func (x *build) progress(start time.Time, what string) {
	switch {
	case x.o.Timings && what != "":
		fmt.Fprintf(x.out, "--> %s (%.2fs)\n", what, time.Since(start).Seconds())
	case x.o.Timings:
		fmt.Fprintf(x.out, "--> (%.2fs)\n", time.Since(start).Seconds())
	case what != "":
		fmt.Fprintf(x.out, "--> %s\n", what)
	}
}

// newLayerID is a random ID of the store's shape, chosen here so the cache can record the
// layer as pending before it exists.
func newLayerID() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// fsStep makes the layer of a step that changes files (see the package doc). apply reports
// whether it changed anything; when it did not, the step has no layer of its own.
func (x *build) fsStep(parent string, apply func(root string) (bool, error)) (string, error) {
	store := x.Images.Store
	work := newLayerID()
	if err := x.cache.addPending(work, x.self); err != nil {
		return "", err
	}
	if _, err := store.CreateLayer(work, parent, nil, "", true, nil); err != nil {
		return "", fmt.Errorf("creating a layer: %w", err)
	}
	defer store.DeleteLayer(work)
	root, err := store.Mount(work, "")
	if err != nil {
		return "", fmt.Errorf("mounting a layer: %w", err)
	}
	changed, err := apply(root)
	if _, uerr := store.Unmount(work, true); uerr != nil && err == nil {
		err = fmt.Errorf("unmounting a layer: %w", uerr)
	}
	if err != nil || !changed {
		return parent, err
	}
	// The store keeps its layer lock while a diff is read, and PutLayer needs it: the diff
	// is spooled to a file first.
	spool, err := x.spoolDiff(parent, work)
	if err != nil {
		return "", err
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	id := newLayerID()
	if err := x.cache.addPending(id, x.self); err != nil {
		return "", err
	}
	if _, _, err := store.PutLayer(id, parent, nil, "", false, nil, spool); err != nil {
		return "", fmt.Errorf("storing the step's layer: %w", err)
	}
	return id, nil
}

// spoolDiff writes the changes of layer work against parent to a temporary file.
func (x *build) spoolDiff(parent, work string) (*os.File, error) {
	uncompressed := archive.Uncompressed
	diff, err := x.Images.Store.Diff(parent, work, &cstorage.DiffOptions{Compression: &uncompressed})
	if err != nil {
		return nil, fmt.Errorf("reading the step's changes: %w", err)
	}
	f, err := os.CreateTemp(x.TmpDir, "layer-")
	if err != nil {
		diff.Close()
		return nil, err
	}
	if _, err := io.Copy(f, diff); err != nil {
		diff.Close()
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("reading the step's changes: %w", err)
	}
	if err := diff.Close(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("reading the step's changes: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// prepared is what a step needs besides its plan: the sources of a COPY/ADD, and what
// their content adds to the cache key.
type prepared struct {
	extra   string
	src     *tree
	matches []string          // per source, in order; URLs are fetched files
	fetched map[string]string // URL -> file
	release func()
}

func (x *build) prepare(ctx context.Context, step *Step, results map[int]*result) (*prepared, error) {
	p := &prepared{release: func() {}, fetched: map[string]string{}}
	if step.Kind != KindCopy && step.Kind != KindAdd {
		return p, nil
	}
	h := sha256.New()
	store := x.Images.Store
	switch {
	case step.FromStage != nil:
		r := results[step.FromStage.Index]
		fmt.Fprintf(h, "stage %s\n", r.key)
		t, release, err := mountTree(store, r.layer, "stage "+stageLabel(step.FromStage))
		if err != nil {
			return nil, err
		}
		p.src, p.release = t, release
	case step.FromImage != "":
		r := x.baseIDs[step.FromImage]
		fmt.Fprintf(h, "image %s\n", r.id)
		t, release, err := mountTree(store, r.top, "image "+step.FromImage)
		if err != nil {
			return nil, err
		}
		p.src, p.release = t, release
	default:
		p.src = x.ctxTree
	}
	fail := func(err error) (*prepared, error) {
		p.release()
		return nil, err
	}
	for _, src := range step.Sources {
		if isURL(src) {
			file, sum, err := x.fetch(ctx, src, step.Checksum)
			if err != nil {
				return fail(err)
			}
			p.fetched[src] = file
			fmt.Fprintf(h, "url %s %s\n", src, sum)
			continue
		}
		m, err := p.src.match(src)
		if err != nil {
			return fail(err)
		}
		p.matches = append(p.matches, m...)
		if step.FromStage == nil && step.FromImage == "" {
			if err := p.src.hashSources(h, m); err != nil {
				return fail(err)
			}
		} else {
			fmt.Fprintf(h, "%q\n", m)
		}
	}
	for _, hd := range step.Heredocs {
		fmt.Fprintf(h, "heredoc %s %d %s\n", hd.Path, len(hd.Data), hd.Data)
	}
	release := p.release
	p.release = func() {
		release()
		for _, f := range p.fetched {
			os.RemoveAll(filepath.Dir(f))
		}
	}
	p.extra = hex.EncodeToString(h.Sum(nil))
	return p, nil
}

func stageLabel(s *Stage) string {
	if s.Name != "" {
		return s.Name
	}
	return fmt.Sprint(s.Index)
}

// mountTree mounts a layer (the top of a stage or an image) to copy from.
func mountTree(store cstorage.Store, layer, label string) (*tree, func(), error) {
	if layer == "" {
		dir, err := os.MkdirTemp("", "sbx-empty-")
		if err != nil {
			return nil, nil, err
		}
		return &tree{root: dir, label: label}, func() { os.Remove(dir) }, nil
	}
	mp, err := store.Mount(layer, "")
	if err != nil {
		return nil, nil, fmt.Errorf("mounting %s: %w", label, err)
	}
	return &tree{root: mp, label: label}, func() { store.Unmount(layer, false) }, nil
}

// apply carries a step out on the mounted root; it reports whether anything changed.
func (x *build) apply(ctx context.Context, root string, step *Step, p *prepared) (bool, error) {
	switch step.Kind {
	case KindWorkdir:
		full, err := securejoin.SecureJoin(root, step.Config.WorkingDir)
		if err != nil {
			return false, err
		}
		if fi, err := os.Stat(full); err == nil && fi.IsDir() {
			return false, nil
		}
		return true, mkdirAllIn(root, step.Config.WorkingDir, owner{})
	case KindRun:
		return true, x.runStep(root, step)
	case KindCopy, KindAdd:
		return true, x.copyStep(root, step, p)
	}
	return false, nil
}

// runMountPoints are what a container's init creates in its root when they are missing;
// they are taken out again so that they do not end up in the layer.
var runMountPoints = []string{"/etc", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/proc", "/dev", "/sys"}

func (x *build) runStep(root string, step *Step) error {
	wd := step.Before.WorkingDir
	if wd != "" {
		if err := mkdirAllIn(root, wd, owner{}); err != nil {
			return err
		}
	}
	var missing []string
	for _, p := range runMountPoints {
		if _, err := os.Lstat(filepath.Join(root, p)); err != nil {
			missing = append(missing, p)
		}
	}
	defer func() {
		for i := len(missing) - 1; i >= 0; i-- {
			full := filepath.Join(root, missing[i])
			// Only what is still empty: the command may have made the file for real.
			if fi, err := os.Lstat(full); err == nil && (fi.IsDir() || fi.Size() == 0) {
				os.Remove(full)
			}
		}
	}()
	ctr, err := x.Runtime.Create(run.CreateOptions{
		Rootfs: root, Cmd: step.Args, Env: step.Env, WorkingDir: wd, User: step.Before.User,
		// Removed when it exits, and by the next sbx command if this build is killed.
		Network: x.o.Network, AutoRemove: true,
	})
	if err != nil {
		return err
	}
	defer func() {
		if c, err := x.Runtime.Containers.Load(ctr.ID); err == nil {
			x.Runtime.Delete(c)
		}
	}()
	code, err := x.Runtime.Supervise(ctr.ID, run.Stdio{Out: x.out, Err: x.out}, nil)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("the command exited with status %d", code)
	}
	return nil
}

func (x *build) copyStep(root string, step *Step, p *prepared) error {
	if wd := step.Before.WorkingDir; wd != "" {
		if err := mkdirAllIn(root, wd, owner{}); err != nil {
			return err
		}
	}
	o := copyOptions{chmod: step.Chmod}
	if step.FromStage != nil || step.FromImage != "" {
		o.owner.keep = true
	}
	if step.Chown != "" {
		u, err := resolveOwner(root, step.Chown)
		if err != nil {
			return err
		}
		o.owner = owner{uid: int(u.UID), gid: int(u.GID)}
	}
	intoDir := step.DestDir || len(p.matches)+len(p.fetched) > 1
	if intoDir {
		if err := mkdirAllIn(root, step.Dest, o.owner); err != nil {
			return err
		}
	}
	for _, rel := range p.matches {
		if step.Kind == KindAdd {
			full, err := p.src.resolve(rel)
			if err != nil {
				return err
			}
			if fi, err := os.Stat(full); err == nil && fi.Mode().IsRegular() && isArchive(full) {
				ao := o
				if step.Chown == "" {
					ao.owner.keep = true
				}
				if err := extract(full, root, step.Dest, ao); err != nil {
					return fmt.Errorf("unpacking %s: %w", rel, err)
				}
				continue
			}
		}
		if err := p.src.copyInto(rel, root, step.Dest, intoDir, o); err != nil {
			return fmt.Errorf("copying %s: %w", rel, err)
		}
	}
	for _, src := range step.Sources {
		file, ok := p.fetched[src]
		if !ok {
			continue
		}
		ft := &tree{root: filepath.Dir(file), label: src}
		fo := o
		if fo.chmod == 0 {
			fo.chmod = 0o600
		}
		if err := ft.copyInto(filepath.Base(file), root, step.Dest, intoDir, fo); err != nil {
			return fmt.Errorf("adding %s: %w", src, err)
		}
	}
	for _, hd := range step.Heredocs {
		dst := step.Dest
		if intoDir {
			dst = path.Join(step.Dest, hd.Path)
		}
		if err := mkdirAllIn(root, path.Dir(dst), owner{}); err != nil {
			return err
		}
		full, err := securejoin.SecureJoin(root, dst)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if step.Chmod != 0 {
			mode = os.FileMode(step.Chmod & 0o777)
		}
		if err := os.WriteFile(full, []byte(hd.Data), mode); err != nil {
			return err
		}
		os.Chmod(full, mode)
		if err := os.Lchown(full, o.owner.uid, o.owner.gid); err != nil {
			return chownError(dst, err)
		}
	}
	return nil
}

// passwdHas reports whether a passwd file has an entry for uid.
func passwdHas(passwd io.Reader, uid uint32) bool {
	if passwd == nil {
		return false
	}
	data, _ := io.ReadAll(passwd)
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) > 2 && f[2] == strconv.FormatUint(uint64(uid), 10) {
			return true
		}
	}
	return false
}

// resolveOwner reads --chown's user and group with the image's own passwd and group.
func resolveOwner(root, chown string) (spec.User, error) {
	open := func(p string) io.Reader {
		full, err := securejoin.SecureJoin(root, p)
		if err != nil {
			return nil
		}
		data, err := os.ReadFile(full)
		if err != nil {
			return nil
		}
		return strings.NewReader(string(data))
	}
	u, err := spec.ResolveUser(chown, open("/etc/passwd"), open("/etc/group"))
	if err != nil {
		return u, fmt.Errorf("--chown=%s: %w", chown, err)
	}
	// docker: a numeric uid without a group is also the gid.
	if !strings.Contains(chown, ":") {
		if n, err := strconv.ParseUint(chown, 10, 32); err == nil && uint32(n) == u.UID {
			if passwdHas(open("/etc/passwd"), u.UID) {
				return u, nil
			}
			u.GID = u.UID
		}
	}
	return u, nil
}
