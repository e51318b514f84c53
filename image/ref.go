package image

import (
	"errors"
	"fmt"
	"strings"

	"go.podman.io/image/v5/docker/reference"
)

// ErrInvalidReference marks a name that is not a valid image reference.
var ErrInvalidReference = errors.New("invalid reference format")

// RefError words a parse failure once: "invalid reference format: "X": why".
func RefError(name string, err error) error {
	why := strings.TrimPrefix(err.Error(), ErrInvalidReference.Error())
	why = strings.TrimPrefix(why, ": ")
	if why == "" {
		return fmt.Errorf("%w: %q", ErrInvalidReference, name)
	}
	return fmt.Errorf("%w: %q: %s", ErrInvalidReference, name, why)
}

// hasDomain reports whether the first path component of name is a registry, with docker's
// rule: it contains a dot or a colon, or is "localhost".
func hasDomain(name string) bool {
	i := strings.IndexRune(name, '/')
	if i < 0 {
		return false
	}
	first := name[:i]
	return strings.ContainsAny(first, ".:") || first == "localhost"
}

// ParseNew turns a name a user gives to a new image (tag, import, build -t) into the
// fully qualified name it is stored under. Names without a registry are local images and go
// under localhost/, as podman does, so they can never be mistaken for something pulled from
// Docker Hub; a missing tag means "latest".
func ParseNew(name string) (reference.NamedTagged, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty name", ErrInvalidReference)
	}
	full := name
	if !hasDomain(name) {
		full = "localhost/" + name
	}
	n, err := reference.ParseNormalizedNamed(full)
	if err != nil {
		return nil, RefError(name, err)
	}
	if _, ok := n.(reference.Digested); ok {
		return nil, fmt.Errorf("%w: %q: a digest cannot name a new image", ErrInvalidReference, name)
	}
	n = reference.TagNameOnly(n)
	nt, ok := n.(reference.NamedTagged)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrInvalidReference, name)
	}
	return nt, nil
}

// ParsePull turns a user's pull argument into the fully qualified name to fetch, with
// docker's rules: no registry means Docker Hub, no tag means latest.
func ParsePull(name string) (reference.Named, error) {
	n, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return nil, RefError(name, err)
	}
	return reference.TagNameOnly(n), nil
}

// Candidates lists the stored names that a user's name may mean, in the order they are
// tried: the name as given, then localhost/, then docker.io/library/ (or docker.io/ for
// names with a path), as a docker user expects "busybox" to find a local busybox:latest.
// A name with a registry has exactly one candidate.
func Candidates(name string) ([]string, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty name", ErrInvalidReference)
	}
	if hasDomain(name) {
		n, err := reference.ParseNormalizedNamed(name)
		if err != nil {
			return nil, RefError(name, err)
		}
		return []string{reference.TagNameOnly(n).String()}, nil
	}
	if c, ok := simpleCandidates(name); ok {
		return c, nil
	}
	// Validate with a registry prefix so that "busybox" parses as a short name.
	n, err := reference.ParseNormalizedNamed("localhost/" + name)
	if err != nil {
		return nil, RefError(name, err)
	}
	tagged := reference.TagNameOnly(n).String()
	short := strings.TrimPrefix(tagged, "localhost/")
	hub, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return nil, RefError(name, err)
	}
	return []string{short, tagged, reference.TagNameOnly(hub).String()}, nil
}

// simpleCandidates is Candidates for the names nearly every command gives, "busybox" or
// "me/app:1.2", worked out without the reference library: its regular expressions are
// compiled at their first use, which cost every `sbx run` about half a millisecond. ok is
// false for anything else (a digest, an odd separator, a long name), which the library
// then reads; ref_test.go holds the two to the same answers.
func simpleCandidates(name string) (c []string, ok bool) {
	if len(name) > 200 || strings.ContainsRune(name, '@') {
		return nil, false
	}
	path, tag := name, "latest"
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		path, tag = name[:i], name[i+1:]
		if !simpleTag(tag) {
			return nil, false
		}
	}
	parts := strings.Split(path, "/")
	for _, p := range parts {
		if !simpleComponent(p) {
			return nil, false
		}
	}
	hub := "docker.io/"
	if len(parts) == 1 {
		hub += "library/"
	}
	short := path + ":" + tag
	return []string{short, "localhost/" + short, hub + short}, true
}

// simpleComponent is docker's path component, [a-z0-9]+ joined by ".", "_", "__" or runs
// of "-".
func simpleComponent(p string) bool {
	if p == "" {
		return false
	}
	alnum := func(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }
	for i := 0; i < len(p); {
		if !alnum(p[i]) {
			return false
		}
		for i < len(p) && alnum(p[i]) {
			i++
		}
		if i == len(p) {
			return true
		}
		switch {
		case p[i] == '.' || p[i] == '_' && (i+1 == len(p) || p[i+1] != '_'):
			i++
		case p[i] == '_':
			i += 2
		case p[i] == '-':
			for i < len(p) && p[i] == '-' {
				i++
			}
		default:
			return false
		}
		if i == len(p) {
			return false // a separator must be followed by more
		}
	}
	return true
}

// simpleTag is docker's tag: a word character, then up to 127 word characters, dots and
// dashes.
func simpleTag(t string) bool {
	word := func(b byte) bool {
		return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_'
	}
	if t == "" || len(t) > 128 || !word(t[0]) {
		return false
	}
	for i := 1; i < len(t); i++ {
		if !word(t[i]) && t[i] != '.' && t[i] != '-' {
			return false
		}
	}
	return true
}

// LooksLikeID reports whether s could be an image ID or an ID prefix: 3 to 64 lowercase
// hex digits, "sha256:" before them or not. (Checked by hand: a regular expression here
// was compiled at the start of every sbx command.)
func LooksLikeID(s string) bool {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) < 3 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// Familiar splits a stored name into docker's REPOSITORY and TAG columns, with Docker Hub's
// prefixes dropped as docker shows them ("docker.io/library/busybox:1" -> "busybox", "1").
func Familiar(stored string) (repo, tag string) {
	n, err := reference.ParseNormalizedNamed(stored)
	if err != nil {
		return stored, "<none>"
	}
	repo = reference.FamiliarName(n)
	tag = "<none>"
	if t, ok := n.(reference.Tagged); ok {
		tag = t.Tag()
	}
	return repo, tag
}

// FamiliarString is the name as docker prints it in messages: "busybox:latest".
func FamiliarString(stored string) string {
	n, err := reference.ParseNormalizedNamed(stored)
	if err != nil {
		return stored
	}
	return reference.FamiliarString(n)
}
