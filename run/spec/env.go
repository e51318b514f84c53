package spec

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultPath is docker's PATH for Linux containers, used when neither the image nor the
// user sets PATH.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ParseEnv parses -e/--env values. "K=V" sets K (V may be empty). "K" alone takes its value
// from lookup (os.LookupEnv in production); if lookup does not know K, or lookup is nil, the
// bare "K" is kept, as docker does: MergeEnv then treats it as "unset K", so an image's K is
// removed and the container has no K at all. Names are not otherwise validated (docker
// leaves that to the program in the container).
func ParseEnv(args []string, lookup func(string) (string, bool)) ([]string, error) {
	out := make([]string, 0, len(args))
	for _, a := range args {
		k, _, hasValue := strings.Cut(a, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid --env %q: variable name is empty (expected NAME=VALUE or NAME)", a)
		}
		if !hasValue && lookup != nil {
			if v, ok := lookup(k); ok {
				a = k + "=" + v
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// ParseEnvFile reads a file in docker's --env-file format: one NAME=VALUE per line, taken
// literally (no quote or escape processing, trailing whitespace is part of the value);
// leading whitespace, blank lines and lines starting with # are skipped; a UTF-8 BOM is
// dropped; a bare NAME takes its value from lookup and is left out if lookup does not know
// it (or lookup is nil). Names must not be empty or contain blanks.
func ParseEnvFile(path string, lookup func(string) (string, bool)) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read --env-file %q: %v", path, err)
	}
	defer f.Close()
	return parseEnvFile(path, f, lookup)
}

func parseEnvFile(path string, r io.Reader, lookup func(string) (string, bool)) ([]string, error) {
	out := []string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		if n == 1 {
			b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
		}
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("invalid --env-file %q line %d: not valid UTF-8", path, n)
		}
		line := strings.TrimLeftFunc(string(b), unicode.IsSpace)
		if line == "" || line[0] == '#' {
			continue
		}
		k, _, hasValue := strings.Cut(line, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid --env-file %q line %d: variable name is empty (expected NAME=VALUE or NAME)", path, n)
		}
		if strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("invalid --env-file %q line %d: variable name %q contains whitespace (expected NAME=VALUE or NAME)", path, n, k)
		}
		if hasValue {
			out = append(out, line)
			continue
		}
		if lookup != nil {
			if v, ok := lookup(k); ok {
				out = append(out, k+"="+v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("invalid --env-file %q line %d: line longer than 1 MiB", path, n+1)
		}
		return nil, fmt.Errorf("cannot read --env-file %q: %v", path, err)
	}
	return out, nil
}

// MergeEnv builds a container's environment the way docker does: PATH=DefaultPath and
// HOSTNAME=hostname (left out if hostname is empty) first, then the image's env, then
// overrides (the -e/--env-file values). A later entry for a key replaces the earlier one
// in the earlier one's position; a bare "K" (no "=") removes K. Entries with an empty name
// are ignored. HOME is not set here (it depends on the resolved user).
//
// Docker lists the user's variables before the image's remaining ones; here the image's come
// first, which only changes the order of distinct keys.
func MergeEnv(image, overrides []string, hostname string) []string {
	env := make([]string, 0, 2+len(image)+len(overrides))
	index := make(map[string]int, cap(env))
	apply := func(e string) {
		k, _, hasValue := strings.Cut(e, "=")
		if k == "" {
			return
		}
		i, seen := index[k]
		switch {
		case !hasValue:
			if seen {
				env[i] = ""
				delete(index, k)
			}
		case seen:
			env[i] = e
		default:
			index[k] = len(env)
			env = append(env, e)
		}
	}
	apply("PATH=" + DefaultPath)
	if hostname != "" {
		apply("HOSTNAME=" + hostname)
	}
	for _, e := range image {
		apply(e)
	}
	for _, e := range overrides {
		apply(e)
	}
	out := env[:0]
	for _, e := range env {
		if e != "" {
			out = append(out, e)
		}
	}
	return out
}
