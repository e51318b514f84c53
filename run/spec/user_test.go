package spec

import (
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const testPasswd = `root:x:0:0:root:/root:/bin/sh
# comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin

  app:x:1000:1000:App:/home/app:/bin/sh
broken:x:abc:1:bad uid:/nowhere:/bin/sh
nohome:x:1001:1001::::
short:x
dup:x:1002:1002::/first:/bin/sh
dup:x:1003:1003::/second:/bin/sh
`

const testGroup = `root:x:0:root
daemon:x:1:
app:x:1000:
wheel:x:10:root,app
# hidden:x:11:app
video:x:44:other, app ,app
audio:x:63:app
staff:x:50:
broken:x:x:app
`

func TestResolveUser(t *testing.T) {
	tests := []struct {
		spec          string
		passwd, group string
		noPasswd      bool
		noGroup       bool
		want          User
		wantErr       string
	}{
		{spec: "", want: User{UID: 0, GID: 0, Home: "/root", AdditionalGIDs: []uint32{0, 10}}},
		{spec: "root", want: User{UID: 0, GID: 0, Home: "/root", AdditionalGIDs: []uint32{0, 10}}},
		{spec: "0", want: User{UID: 0, GID: 0, Home: "/root", AdditionalGIDs: []uint32{0, 10}}},
		{spec: "app", want: User{UID: 1000, GID: 1000, Home: "/home/app", AdditionalGIDs: []uint32{10, 44, 63}}},
		{spec: "1000", want: User{UID: 1000, GID: 1000, Home: "/home/app", AdditionalGIDs: []uint32{10, 44, 63}}},
		{spec: "daemon", want: User{UID: 1, GID: 1, Home: "/usr/sbin", AdditionalGIDs: []uint32{}}},
		{spec: "nohome", want: User{UID: 1001, GID: 1001, Home: "/", AdditionalGIDs: []uint32{}}},
		{spec: "dup", want: User{UID: 1002, GID: 1002, Home: "/first", AdditionalGIDs: []uint32{}}},
		{spec: "4242", want: User{UID: 4242, GID: 0, Home: "/", AdditionalGIDs: []uint32{}}},
		{spec: "app:staff", want: User{UID: 1000, GID: 50, Home: "/home/app", AdditionalGIDs: []uint32{}}},
		{spec: "app:50", want: User{UID: 1000, GID: 50, Home: "/home/app", AdditionalGIDs: []uint32{}}},
		{spec: "app:777", want: User{UID: 1000, GID: 777, Home: "/home/app", AdditionalGIDs: []uint32{}}},
		{spec: "1000:1000", want: User{UID: 1000, GID: 1000, Home: "/home/app", AdditionalGIDs: []uint32{}}},
		{spec: "4242:wheel", want: User{UID: 4242, GID: 10, Home: "/", AdditionalGIDs: []uint32{}}},
		{spec: "4242:4343", want: User{UID: 4242, GID: 4343, Home: "/", AdditionalGIDs: []uint32{}}},
		{spec: ":wheel", want: User{UID: 0, GID: 10, Home: "/root", AdditionalGIDs: []uint32{}}},
		{spec: "app:", want: User{UID: 1000, GID: 1000, Home: "/home/app", AdditionalGIDs: []uint32{10, 44, 63}}},
		{spec: "app", noGroup: true, want: User{UID: 1000, GID: 1000, Home: "/home/app", AdditionalGIDs: []uint32{}}},
		{spec: "", noPasswd: true, noGroup: true, want: User{Home: "/", AdditionalGIDs: []uint32{}}},
		{spec: "1000:1000", noPasswd: true, noGroup: true, want: User{UID: 1000, GID: 1000, Home: "/", AdditionalGIDs: []uint32{}}},
		{spec: "", passwd: "daemon:x:1:1::/d:/bin/sh\n", want: User{Home: "/", AdditionalGIDs: []uint32{}}},
		{spec: "nobody", wantErr: "unable to find user nobody: no matching entries in passwd file"},
		{spec: "broken", wantErr: "unable to find user broken: no matching entries in passwd file"},
		{spec: "app", noPasswd: true, wantErr: "unable to find user app: no matching entries in passwd file"},
		{spec: "app:nogroup", wantErr: "unable to find group nogroup: no matching entries in group file"},
		{spec: "app:wheel", noGroup: true, wantErr: "unable to find group wheel: no matching entries in group file"},
		{spec: "a:b:c", wantErr: `invalid --user "a:b:c": expected USER[:GROUP] (names or numeric ids)`},
		{spec: "-1", wantErr: `invalid --user "-1": uid -1 is out of range (expected 0-2147483647)`},
		{spec: "2147483648", wantErr: `invalid --user "2147483648": uid 2147483648 is out of range (expected 0-2147483647)`},
		{spec: "app:99999999999", wantErr: `invalid --user "app:99999999999": gid 99999999999 is out of range (expected 0-2147483647)`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			var passwd, group io.Reader
			if !tt.noPasswd {
				p := tt.passwd
				if p == "" {
					p = testPasswd
				}
				passwd = strings.NewReader(p)
			}
			if !tt.noGroup {
				group = strings.NewReader(testGroup)
			}
			got, err := ResolveUser(tt.spec, passwd, group)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAddGroups(t *testing.T) {
	group := "root:x:0:\nwheel:x:10:alice\nstaff:x:50:\n"
	for _, tc := range []struct {
		add     []string
		start   []uint32
		want    []uint32
		wantErr string
	}{
		{add: []string{"10", "staff", "10"}, start: []uint32{}, want: []uint32{10, 50}},
		{add: []string{"wheel", "4711"}, start: []uint32{10}, want: []uint32{10, 4711}},
		{add: nil, start: []uint32{10}, want: []uint32{10}},
		{add: []string{"nosuch"}, wantErr: "unable to find group nosuch"},
		{add: []string{"-1"}, wantErr: "invalid --group-add"},
	} {
		u := User{AdditionalGIDs: tc.start}
		err := AddGroups(&u, tc.add, strings.NewReader(group))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("AddGroups(%q) = %v, want an error with %q", tc.add, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(u.AdditionalGIDs, tc.want) {
			t.Errorf("AddGroups(%q) = %v, %v; want %v", tc.add, u.AdditionalGIDs, err, tc.want)
		}
	}
	// No /etc/group: gids only.
	u := User{}
	if err := AddGroups(&u, []string{"5"}, nil); err != nil || !slices.Equal(u.AdditionalGIDs, []uint32{5}) {
		t.Errorf("without a group file: %v, %v", u.AdditionalGIDs, err)
	}
}
