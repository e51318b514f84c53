package spec

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// User is a resolved -u/--user.
type User struct {
	UID, GID uint32
	// Home is the passwd entry's home directory, "/" if there is no entry (or it is empty).
	Home string
	// AdditionalGIDs are the supplementary groups: the gid of every /etc/group entry that
	// lists the user's name, when the user was found in passwd and no group was given
	// (runc's rule, which docker uses). Never nil. --group-add is the caller's business.
	AdditionalGIDs []uint32
}

// maxID is the largest uid/gid accepted, as runc (1<<31 - 1).
const maxID = 1<<31 - 1

type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// ResolveUser resolves docker's -u/--user forms "name", "uid", "name:group", "uid:gid",
// "uid:groupname", "name:gid" (and "" = root) against the container's /etc/passwd and
// /etc/group, given as readers; either may be nil, meaning the file is absent. It follows
// runc, which docker uses:
//   - a number is always a uid (gid); it need not be in the file: a uid not in passwd gets
//     gid 0 and home "/"; a gid not in group is used as is;
//   - a name must be found: `unable to find user NAME: no matching entries in passwd file`
//     (likewise "group");
//   - a user found in passwd gets its gid and home from there, unless a group is given;
//   - "" means uid 0, with the passwd entry for uid 0 if there is one.
//
// Blank lines, lines starting with # and malformed lines (non-numeric ids) are skipped.
func ResolveUser(spec string, passwd, group io.Reader) (User, error) {
	userArg, groupArg, _ := strings.Cut(spec, ":")
	if strings.Contains(groupArg, ":") {
		return User{}, fmt.Errorf("invalid --user %q: expected USER[:GROUP] (names or numeric ids)", spec)
	}
	uid, isUID, err := parseID(userArg)
	if err != nil {
		return User{}, fmt.Errorf("invalid --user %q: uid %s", spec, err)
	}
	gid, isGID, err := parseID(groupArg)
	if err != nil {
		return User{}, fmt.Errorf("invalid --user %q: gid %s", spec, err)
	}
	if userArg == "" {
		uid, isUID = 0, true
	}

	u := User{Home: "/", AdditionalGIDs: []uint32{}}
	var matched string
	if passwd != nil {
		entries, err := readPasswd(passwd)
		if err != nil {
			return User{}, fmt.Errorf("cannot read the container's /etc/passwd: %v", err)
		}
		for _, e := range entries {
			if (isUID && e.uid == uid) || (!isUID && e.name == userArg) {
				matched = e.name
				u.UID, u.GID = e.uid, e.gid
				if e.home != "" {
					u.Home = e.home
				}
				break
			}
		}
	}
	if matched == "" {
		if !isUID {
			return User{}, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userArg)
		}
		u.UID = uid
	}

	if groupArg == "" && matched == "" {
		return u, nil
	}
	var groups []groupEntry
	if group != nil {
		if groups, err = readGroup(group); err != nil {
			return User{}, fmt.Errorf("cannot read the container's /etc/group: %v", err)
		}
	}
	if groupArg != "" {
		for _, g := range groups {
			if (isGID && g.gid == gid) || (!isGID && g.name == groupArg) {
				u.GID = g.gid
				return u, nil
			}
		}
		if !isGID {
			return User{}, fmt.Errorf("unable to find group %s: no matching entries in group file", groupArg)
		}
		u.GID = gid
		return u, nil
	}
	for _, g := range groups {
		for _, m := range g.members {
			if m == matched {
				u.AdditionalGIDs = append(u.AdditionalGIDs, g.gid)
				break
			}
		}
	}
	return u, nil
}

// AddGroups is --group-add: each of add, a group name in the container's /etc/group (group,
// nil when it has none) or a numeric gid, joins u's supplementary groups, once.
func AddGroups(u *User, add []string, group io.Reader) error {
	if len(add) == 0 {
		return nil
	}
	var groups []groupEntry
	if group != nil {
		var err error
		if groups, err = readGroup(group); err != nil {
			return fmt.Errorf("cannot read the container's /etc/group: %v", err)
		}
	}
	for _, a := range add {
		gid, isGID, err := parseID(a)
		if err != nil {
			return fmt.Errorf("invalid --group-add %q: gid %s", a, err)
		}
		if !isGID {
			i := slices.IndexFunc(groups, func(g groupEntry) bool { return g.name == a })
			if i < 0 {
				return fmt.Errorf("unable to find group %s: no matching entries in group file", a)
			}
			gid = groups[i].gid
		}
		if !slices.Contains(u.AdditionalGIDs, gid) {
			u.AdditionalGIDs = append(u.AdditionalGIDs, gid)
		}
	}
	return nil
}

// parseID reports whether s is numeric and, if so, its value; numbers outside 0..maxID
// (including negative ones) are an error.
func parseID(s string) (uint32, bool, error) {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || digits != s || n > maxID {
		return 0, true, fmt.Errorf("%s is out of range (expected 0-%d)", s, maxID)
	}
	return uint32(n), true, nil
}

func scanLines(r io.Reader, fn func(fields []string)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20) // group member lists can be long
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fn(strings.Split(line, ":"))
	}
	return sc.Err()
}

func fileID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

// readPasswd parses name:password:uid:gid:gecos:home:shell lines.
func readPasswd(r io.Reader) ([]passwdEntry, error) {
	var out []passwdEntry
	err := scanLines(r, func(f []string) {
		if len(f) < 4 {
			return
		}
		uid, ok1 := fileID(f[2])
		gid, ok2 := fileID(f[3])
		if !ok1 || !ok2 {
			return
		}
		e := passwdEntry{name: f[0], uid: uid, gid: gid}
		if len(f) > 5 {
			e.home = f[5]
		}
		out = append(out, e)
	})
	return out, err
}

// readGroup parses name:password:gid:member,member lines.
func readGroup(r io.Reader) ([]groupEntry, error) {
	var out []groupEntry
	err := scanLines(r, func(f []string) {
		if len(f) < 3 {
			return
		}
		gid, ok := fileID(f[2])
		if !ok {
			return
		}
		g := groupEntry{name: f[0], gid: gid}
		if len(f) > 3 && f[3] != "" {
			g.members = strings.Split(f[3], ",")
		}
		out = append(out, g)
	})
	return out, err
}
