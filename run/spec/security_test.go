package spec

import (
	"reflect"
	"testing"
)

func TestParseSecurityOpts(t *testing.T) {
	const expect = "expected no-new-privileges[=true|false], seccomp=unconfined|PROFILE.json, " +
		"systempaths=unconfined, label=..., or apparmor=..."
	tests := []struct {
		name    string
		opts    []string
		want    Security
		wantErr string
	}{
		{name: "defaults", want: Security{NoNewPrivileges: true}},
		{name: "nnp bare", opts: []string{"no-new-privileges"}, want: Security{NoNewPrivileges: true}},
		{name: "nnp false", opts: []string{"no-new-privileges=false"}, want: Security{}},
		{name: "nnp colon false", opts: []string{"no-new-privileges:false"}, want: Security{}},
		{name: "nnp true", opts: []string{"no-new-privileges:false", "no-new-privileges=true"}, want: Security{NoNewPrivileges: true}},
		{name: "nnp later wins", opts: []string{"no-new-privileges=1", "no-new-privileges=0"}, want: Security{}},
		{name: "seccomp unconfined", opts: []string{"seccomp=unconfined"}, want: Security{NoNewPrivileges: true, Seccomp: "unconfined"}},
		{name: "seccomp path", opts: []string{"seccomp=/etc/p.json"}, want: Security{NoNewPrivileges: true, Seccomp: "/etc/p.json"}},
		{name: "seccomp old form", opts: []string{"seccomp:rel/p.json"}, want: Security{NoNewPrivileges: true, Seccomp: "rel/p.json"}},
		{name: "seccomp builtin", opts: []string{"seccomp=unconfined", "seccomp=builtin"}, want: Security{NoNewPrivileges: true}},
		{name: "systempaths", opts: []string{"systempaths=unconfined"}, want: Security{NoNewPrivileges: true, SystemPathsUnconfined: true}},
		{name: "ignored", opts: []string{"label=disable", "apparmor=unconfined", "label:type:svirt_t", "label=nested", "apparmor:docker-default"},
			want: Security{NoNewPrivileges: true, Ignored: []string{"label=disable", "apparmor=unconfined", "label:type:svirt_t", "label=nested", "apparmor:docker-default"}}},
		{name: "nnp junk", opts: []string{"no-new-privileges=maybe"}, wantErr: `invalid --security-opt "no-new-privileges=maybe": "maybe" is not a boolean (expected no-new-privileges=true or no-new-privileges=false)`},
		{name: "nnp empty", opts: []string{"no-new-privileges="}, wantErr: `invalid --security-opt "no-new-privileges=": "" is not a boolean (expected no-new-privileges=true or no-new-privileges=false)`},
		{name: "seccomp empty", opts: []string{"seccomp="}, wantErr: `invalid --security-opt "seccomp=": seccomp needs a value (` + expect + `)`},
		{name: "seccomp bare", opts: []string{"seccomp"}, wantErr: `invalid --security-opt "seccomp": seccomp needs a value (` + expect + `)`},
		{name: "systempaths other", opts: []string{"systempaths=confined"}, wantErr: `invalid --security-opt "systempaths=confined": expected systempaths=unconfined`},
		{name: "label junk", opts: []string{"label=foo"}, wantErr: `invalid --security-opt "label=foo": expected label=disable, label=nested or label=user|role|type|level|filetype:VALUE`},
		{name: "unknown key", opts: []string{"selinux=off"}, wantErr: `invalid --security-opt "selinux=off": unknown option "selinux" (` + expect + `)`},
		{name: "unknown bare", opts: []string{"privileged"}, wantErr: `invalid --security-opt "privileged": ` + expect},
		{name: "empty", opts: []string{""}, wantErr: `invalid --security-opt "": ` + expect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSecurityOpts(tt.opts)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
