package build

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"go.podman.io/storage/pkg/archive"
	"golang.org/x/sys/unix"
)

// tree is where COPY reads from: the context directory with its .dockerignore, or the
// root filesystem of a stage or an image (no exclusions; symlinks resolve inside it).
type tree struct {
	root   string
	ignore *patternmatcher.PatternMatcher // nil: nothing excluded
	label  string                         // "the build context", "stage build"
}

// openContext reads the context's .dockerignore.
func openContext(dir string) (*tree, error) {
	t := &tree{root: dir, label: "the build context"}
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	if len(patterns) == 0 {
		return t, nil
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	t.ignore = pm
	return t, nil
}

// excluded reports whether the context path rel (slash-separated, relative) is left out
// by .dockerignore.
func (t *tree) excluded(rel string) bool {
	if t.ignore == nil || rel == "." || rel == "" {
		return false
	}
	ok, err := t.ignore.MatchesOrParentMatches(rel)
	return err == nil && ok
}

// hasGlob reports whether a source path is a pattern.
func hasGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// match expands a source path (a glob, or a plain path) into the existing, not excluded
// paths it names, relative to the root and sorted.
func (t *tree) match(src string) ([]string, error) {
	clean := path.Clean("/" + src)[1:]
	if clean == "" {
		clean = "."
	}
	if !hasGlob(clean) {
		full, err := securejoin.SecureJoin(t.root, clean)
		if err != nil {
			return nil, err
		}
		if _, err := os.Lstat(full); err != nil || t.excluded(clean) {
			return nil, fmt.Errorf("%s: no such file or directory in %s", src, t.label)
		}
		return []string{clean}, nil
	}
	if _, err := path.Match(clean, ""); err != nil {
		return nil, fmt.Errorf("%s: bad pattern: %v", src, err)
	}
	// Walk only as deep as the pattern goes: each of its components matches one level.
	depth := strings.Count(clean, "/") + 1
	var out []string
	err := filepath.WalkDir(t.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(t.root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		n := strings.Count(rel, "/") + 1
		if ok, _ := path.Match(clean, rel); ok && n == depth && !t.excluded(rel) {
			out = append(out, rel)
		}
		if d.IsDir() && n >= depth {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no files match in %s", src, t.label)
	}
	sort.Strings(out)
	return out, nil
}

// resolve is rel's path on the host, symlinks resolved inside the root.
func (t *tree) resolve(rel string) (string, error) {
	return securejoin.SecureJoin(t.root, rel)
}

// hashSources feeds everything that decides what a COPY produces into h: each file's
// path, type, mode, size, link target and content. Owners are not in it: COPY sets them.
func (t *tree) hashSources(h hash.Hash, rels []string) error {
	for _, rel := range rels {
		full, err := t.resolve(rel)
		if err != nil {
			return err
		}
		err = filepath.WalkDir(full, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			sub, _ := filepath.Rel(full, p)
			ctxRel := path.Join(rel, filepath.ToSlash(sub))
			if p != full && t.excluded(ctxRel) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			st, err := os.Lstat(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s\x00%o\x00%d\x00", ctxRel, st.Mode(), st.Size())
			switch {
			case st.Mode()&fs.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return err
				}
				fmt.Fprintf(h, "%s\x00", target)
			case st.Mode().IsRegular():
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				_, err = io.Copy(h, f)
				f.Close()
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reading %s: %w", rel, err)
		}
	}
	return nil
}

// owner is who copied files belong to: a fixed uid/gid, or (keep) the source's.
type owner struct {
	uid, gid int
	keep     bool
}

// copyOptions say how files land in the image.
type copyOptions struct {
	owner owner
	chmod uint32 // 0: keep the source's mode
}

// copyInto copies the source rel of t to dst inside root: a directory's contents go into
// dst, a file becomes dst (or dst/NAME when intoDir).
func (t *tree) copyInto(rel, root, dst string, intoDir bool, o copyOptions) error {
	src, err := t.resolve(rel)
	if err != nil {
		return err
	}
	st, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if st.IsDir() {
		if err := mkdirAllIn(root, dst, o.owner); err != nil {
			return err
		}
		return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			sub, _ := filepath.Rel(src, p)
			sub = filepath.ToSlash(sub)
			if sub == "." {
				return nil
			}
			if t.excluded(path.Join(rel, sub)) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			return copyOne(p, root, path.Join(dst, sub), o)
		})
	}
	target := dst
	if intoDir {
		target = path.Join(dst, path.Base(rel))
	} else if full, err := securejoin.SecureJoin(root, dst); err == nil {
		if fi, err := os.Stat(full); err == nil && fi.IsDir() {
			target = path.Join(dst, path.Base(rel))
		}
	}
	if err := mkdirAllIn(root, path.Dir(target), owner{}); err != nil {
		return err
	}
	return copyOne(src, root, target, o)
}

// copyOne copies one file, directory (not its content) or symlink to dst inside root,
// keeping mode and times.
func copyOne(src, root, dst string, o copyOptions) error {
	st, err := os.Lstat(src)
	if err != nil {
		return err
	}
	full, err := securejoin.SecureJoin(root, path.Dir(dst))
	if err != nil {
		return err
	}
	full = filepath.Join(full, path.Base(dst))
	mode := st.Mode()
	uid, gid := o.owner.uid, o.owner.gid
	if o.owner.keep {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(sys.Uid), int(sys.Gid)
		}
	}
	perm := mode.Perm() | mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
	if o.chmod != 0 {
		perm = fs.FileMode(o.chmod & 0o777)
	}
	switch {
	case mode.IsDir():
		if fi, err := os.Lstat(full); err != nil || !fi.IsDir() {
			os.Remove(full)
			if err := os.Mkdir(full, 0o700); err != nil {
				return err
			}
		}
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		removeNonDir(full)
		if err := os.Symlink(target, full); err != nil {
			return err
		}
		if err := os.Lchown(full, uid, gid); err != nil {
			return chownError(dst, err)
		}
		return nil
	case mode.IsRegular():
		removeNonDir(full)
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		out, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			in.Close()
			return err
		}
		_, err = io.Copy(out, in)
		in.Close()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("%s: copying a %s is not supported", dst, mode.Type())
	}
	if err := os.Lchown(full, uid, gid); err != nil {
		return chownError(dst, err)
	}
	if err := os.Chmod(full, perm); err != nil {
		return err
	}
	return os.Chtimes(full, st.ModTime(), st.ModTime())
}

func chownError(dst string, err error) error {
	if errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("%s: the owner is not mapped in this user namespace (add a subuid/subgid range for your user): %w", dst, err)
	}
	return err
}

func removeNonDir(p string) {
	if fi, err := os.Lstat(p); err == nil && !fi.IsDir() {
		os.Remove(p)
	}
}

// mkdirAllIn makes dir (absolute, in the image) and its missing parents inside root,
// new ones 0755 and owned by o.
func mkdirAllIn(root, dir string, o owner) error {
	cur := "/"
	for _, part := range strings.Split(strings.Trim(path.Clean(dir), "/"), "/") {
		if part == "" {
			continue
		}
		cur = path.Join(cur, part)
		full, err := securejoin.SecureJoin(root, cur)
		if err != nil {
			return err
		}
		fi, err := os.Stat(full)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s is not a directory in the image", cur)
			}
			continue
		}
		if err := os.Mkdir(full, 0o755); err != nil {
			return err
		}
		if !o.keep {
			if err := os.Lchown(full, o.uid, o.gid); err != nil {
				return chownError(cur, err)
			}
		}
	}
	return nil
}

// isArchive reports whether a file is a tar archive, plain or compressed (ADD unpacks
// those).
func isArchive(file string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	rd, err := archive.DecompressStream(f)
	if err != nil {
		return false
	}
	defer rd.Close()
	_, err = tar.NewReader(rd).Next()
	return err == nil
}

// extract unpacks a tar archive (plain, gz, bz2, xz or zstd) into dir inside root. Member
// names resolve inside dir, so "../" or absolute names cannot escape it. Owners come from
// the archive unless o sets them.
func extract(file, root, dir string, o copyOptions) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	rd, err := archive.DecompressStream(f)
	if err != nil {
		return err
	}
	defer rd.Close()
	if err := mkdirAllIn(root, dir, owner{}); err != nil {
		return err
	}
	base, err := securejoin.SecureJoin(root, dir)
	if err != nil {
		return err
	}
	type dirTime struct {
		path string
		t    time.Time
	}
	var dirs []dirTime
	tr := tar.NewReader(rd)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the archive: %w", err)
		}
		name := path.Clean("/" + hdr.Name)
		if name == "/" {
			continue
		}
		parent, err := securejoin.SecureJoin(base, path.Dir(name))
		if err != nil {
			return err
		}
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return err
		}
		full := filepath.Join(parent, path.Base(name))
		uid, gid := hdr.Uid, hdr.Gid
		if !o.owner.keep {
			uid, gid = o.owner.uid, o.owner.gid
		}
		mode := fs.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if fi, err := os.Lstat(full); err != nil || !fi.IsDir() {
				os.Remove(full)
				if err := os.Mkdir(full, 0o755); err != nil {
					return err
				}
			}
			dirs = append(dirs, dirTime{full, hdr.ModTime})
		case tar.TypeReg:
			removeNonDir(full)
			out, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			removeNonDir(full)
			if err := os.Symlink(hdr.Linkname, full); err != nil {
				return err
			}
			if err := os.Lchown(full, uid, gid); err != nil {
				return chownError(name, err)
			}
			continue
		case tar.TypeLink:
			target, err := securejoin.SecureJoin(base, path.Clean("/"+hdr.Linkname))
			if err != nil {
				return err
			}
			removeNonDir(full)
			if err := os.Link(target, full); err != nil {
				return err
			}
			continue
		default:
			// Devices, fifos: an unprivileged build cannot make them; skip as buildkit
			// does in a rootless build.
			continue
		}
		if err := os.Lchown(full, uid, gid); err != nil {
			return chownError(name, err)
		}
		if o.chmod != 0 {
			hdr.Mode = int64(o.chmod)
			mode = fs.FileMode(o.chmod & 0o777)
		}
		if hdr.Mode&0o4000 != 0 {
			mode |= fs.ModeSetuid
		}
		if hdr.Mode&0o2000 != 0 {
			mode |= fs.ModeSetgid
		}
		if hdr.Mode&0o1000 != 0 {
			mode |= fs.ModeSticky
		}
		if err := os.Chmod(full, mode); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			os.Chtimes(full, hdr.ModTime, hdr.ModTime)
		}
	}
	// Directory times last: filling a directory changes its mtime.
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Chtimes(dirs[i].path, dirs[i].t, dirs[i].t)
	}
	return nil
}

// hashFile is the sha256 of a file's content.
func hashFile(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
