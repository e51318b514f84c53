package userns

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// IDRange is one line of /etc/subuid or /etc/subgid that applies to the user.
type IDRange struct {
	Start, Count int
}

// ParseSubIDs returns the ranges in r (the /etc/subuid format: "name-or-id:start:count")
// that belong to the user with the given name or numeric id, in file order.
func ParseSubIDs(r io.Reader, name string, id int) ([]IDRange, error) {
	var out []IDRange
	sc := bufio.NewScanner(r)
	idStr := strconv.Itoa(id)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ":")
		if len(parts) != 3 {
			continue // malformed lines are ignored, as shadow-utils does
		}
		if parts[0] != name && parts[0] != idStr {
			continue
		}
		start, err1 := strconv.Atoi(parts[1])
		count, err2 := strconv.Atoi(parts[2])
		if err1 != nil || err2 != nil || start < 0 || count <= 0 {
			continue
		}
		out = append(out, IDRange{Start: start, Count: count})
	}
	return out, sc.Err()
}

// Mapping is one line of a uid_map or gid_map: Count ids from Host appear as Container.
type Mapping struct {
	Container, Host, Count int
}

// BuildMap maps container id 0 to the user's own id and container ids 1.. onto the
// subordinate ranges in order, as podman does, so that "root in the container" owns the
// user's own files and every other id lands in the user's delegated range.
func BuildMap(own int, ranges []IDRange) []Mapping {
	m := []Mapping{{Container: 0, Host: own, Count: 1}}
	next := 1
	for _, r := range ranges {
		m = append(m, Mapping{Container: next, Host: r.Start, Count: r.Count})
		next += r.Count
	}
	return m
}

// Args renders m as the argument triples newuidmap/newgidmap take.
func Args(m []Mapping) []string {
	var a []string
	for _, e := range m {
		a = append(a, strconv.Itoa(e.Container), strconv.Itoa(e.Host), strconv.Itoa(e.Count))
	}
	return a
}

// ReadMap parses /proc/PID/uid_map or gid_map ("self" for the caller).
func ReadMap(path string) ([]Mapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m []Mapping
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		c, _ := strconv.Atoi(f[0])
		h, _ := strconv.Atoi(f[1])
		n, _ := strconv.Atoi(f[2])
		m = append(m, Mapping{Container: c, Host: h, Count: n})
	}
	return m, nil
}

// FormatMap renders m the way `sbx info` shows it: "0:1000:1,1:100000:65536".
func FormatMap(m []Mapping) string {
	var parts []string
	for _, e := range m {
		parts = append(parts, fmt.Sprintf("%d:%d:%d", e.Container, e.Host, e.Count))
	}
	return strings.Join(parts, ",")
}
