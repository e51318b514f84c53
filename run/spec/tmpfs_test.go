package spec

import (
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseTmpfs(t *testing.T) {
	const expect = "expected flags such as ro, rw, exec, noexec, suid, nosuid, dev, nodev, noatime, " +
		"or size=, mode=, uid=, gid=, nr_inodes=, nr_blocks=, mpol="
	const sizeExpect = "(expected bytes with an optional k, m or g suffix, or 1%-100%)"
	secure := uintptr(unix.MS_NOEXEC | unix.MS_NOSUID | unix.MS_NODEV)
	tests := []struct {
		in        string
		want      Tmpfs
		wantFlags uintptr
		wantData  string
		wantErr   string
	}{
		{
			in:        "/run",
			want:      Tmpfs{Dest: "/run", Options: []string{"noexec", "nosuid", "nodev"}, Mode: 0o1777, NoExec: true, NoSuid: true, NoDev: true},
			wantFlags: secure,
		},
		{
			in:        "/run:",
			want:      Tmpfs{Dest: "/run", Options: []string{"noexec", "nosuid", "nodev"}, Mode: 0o1777, NoExec: true, NoSuid: true, NoDev: true},
			wantFlags: secure,
		},
		{
			in: "/run:rw,size=64m,mode=755,noexec",
			want: Tmpfs{Dest: "/run", Options: []string{"nosuid", "nodev", "rw", "size=64m", "mode=755", "noexec"},
				Size: 64 << 20, Mode: 0o755, NoExec: true, NoSuid: true, NoDev: true},
			wantFlags: secure,
			wantData:  "size=64m,mode=755",
		},
		{
			in: "/tmp:exec,suid,dev,ro",
			want: Tmpfs{Dest: "/tmp", Options: []string{"exec", "suid", "dev", "ro"},
				Mode: 0o1777, ReadOnly: true},
			wantFlags: unix.MS_RDONLY,
		},
		{
			in: "/tmp:size=1m,size=2G,exec,noexec,defaults,uid=1000,gid=1000",
			want: Tmpfs{Dest: "/tmp", Options: []string{"nosuid", "nodev", "size=2G", "noexec", "uid=1000", "gid=1000"},
				Size: 2 << 30, Mode: 0o1777, NoExec: true, NoSuid: true, NoDev: true},
			wantFlags: secure,
			wantData:  "size=2G,uid=1000,gid=1000",
		},
		{
			in: "/cache:size=50%,nr_inodes=10k,nr_blocks=100,mpol=interleave,noatime,rshared,private",
			want: Tmpfs{Dest: "/cache", Options: []string{"noexec", "nosuid", "nodev", "size=50%", "nr_inodes=10k", "nr_blocks=100", "mpol=interleave", "noatime", "private"},
				Mode: 0o1777, Propagation: "private", NoExec: true, NoSuid: true, NoDev: true},
			wantFlags: secure | unix.MS_NOATIME,
			wantData:  "size=50%,nr_inodes=10k,nr_blocks=100,mpol=interleave",
		},
		{
			in: "/x:size=4096,mode=01777,sync,dirsync,relatime,strictatime,nodiratime,mand",
			want: Tmpfs{Dest: "/x", Options: []string{"noexec", "nosuid", "nodev", "size=4096", "mode=01777", "sync", "dirsync", "relatime", "strictatime", "nodiratime", "mand"},
				Size: 4096, Mode: 0o1777, NoExec: true, NoSuid: true, NoDev: true},
			wantFlags: secure | unix.MS_SYNCHRONOUS | unix.MS_DIRSYNC | unix.MS_RELATIME | unix.MS_STRICTATIME | unix.MS_NODIRATIME | unix.MS_MANDLOCK,
			wantData:  "size=4096,mode=01777",
		},
		{in: "", wantErr: `invalid --tmpfs "": destination is empty (expected an absolute path, e.g. /run)`},
		{in: ":size=1m", wantErr: `invalid --tmpfs ":size=1m": destination is empty (expected an absolute path, e.g. /run)`},
		{in: "run", wantErr: `invalid --tmpfs "run": destination "run" is not an absolute path`},
		{in: "/", wantErr: `invalid --tmpfs "/": destination cannot be "/"`},
		{in: "/run/", wantErr: `invalid --tmpfs "/run/": destination "/run/" is not a clean path (expected "/run")`},
		{in: "/a/../b", wantErr: `invalid --tmpfs "/a/../b": destination "/a/../b" is not a clean path (expected "/b")`},
		{in: "/run:foo", wantErr: `invalid --tmpfs "/run:foo": unknown option "foo" (` + expect + `)`},
		{in: "/run:huge=always", wantErr: `invalid --tmpfs "/run:huge=always": unknown option "huge=always" (` + expect + `)`},
		{in: "/run:rw,,size=1m", wantErr: `invalid --tmpfs "/run:rw,,size=1m": empty option (` + expect + `)`},
		{in: "/run:bind", wantErr: `invalid --tmpfs "/run:bind": option "bind" is not valid for tmpfs`},
		{in: "/run:size=abc", wantErr: `invalid --tmpfs "/run:size=abc": option "size=abc" is not a size ` + sizeExpect},
		{in: "/run:size=1.5g", wantErr: `invalid --tmpfs "/run:size=1.5g": option "size=1.5g" is not a size ` + sizeExpect},
		{in: "/run:size=", wantErr: `invalid --tmpfs "/run:size=": option "size=" is not a size ` + sizeExpect},
		{in: "/run:size=101%", wantErr: `invalid --tmpfs "/run:size=101%": option "size=101%" is not a size ` + sizeExpect},
		{in: "/run:size=99999999e", wantErr: `invalid --tmpfs "/run:size=99999999e": option "size=99999999e" is not a size ` + sizeExpect},
		{in: "/run:mode=999", wantErr: `invalid --tmpfs "/run:mode=999": option "mode=999" is not an octal mode (expected e.g. mode=1777)`},
		{in: "/run:mode=17777", wantErr: `invalid --tmpfs "/run:mode=17777": option "mode=17777" is not an octal mode (expected e.g. mode=1777)`},
		{in: "/run:uid=root", wantErr: `invalid --tmpfs "/run:uid=root": option "uid=root" is not a number (expected a numeric uid)`},
		{in: "/run:nr_inodes=x", wantErr: `invalid --tmpfs "/run:nr_inodes=x": option "nr_inodes=x" is not a number (expected a count with an optional k, m or g suffix)`},
		{in: "/run:mpol=", wantErr: `invalid --tmpfs "/run:mpol=": option "mpol=" has no value (expected e.g. mpol=interleave)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTmpfs(tt.in)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if f := got.Flags(); f != tt.wantFlags {
				t.Errorf("Flags() = %#x, want %#x", f, tt.wantFlags)
			}
			if d := got.Data(); d != tt.wantData {
				t.Errorf("Data() = %q, want %q", d, tt.wantData)
			}
		})
	}
}
