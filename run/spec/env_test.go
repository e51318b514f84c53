package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func fakeLookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

func TestParseEnv(t *testing.T) {
	host := fakeLookup(map[string]string{"HOSTVAR": "fromhost", "EMPTY": ""})
	tests := []struct {
		name    string
		args    []string
		lookup  func(string) (string, bool)
		want    []string
		wantErr string
	}{
		{name: "none", args: nil, lookup: host, want: []string{}},
		{name: "set", args: []string{"A=1", "B=", "C=x=y"}, lookup: host, want: []string{"A=1", "B=", "C=x=y"}},
		{name: "from host", args: []string{"HOSTVAR"}, lookup: host, want: []string{"HOSTVAR=fromhost"}},
		{name: "from host empty", args: []string{"EMPTY"}, lookup: host, want: []string{"EMPTY="}},
		{name: "unset on host stays bare", args: []string{"NOPE", "A=1"}, lookup: host, want: []string{"NOPE", "A=1"}},
		{name: "nil lookup", args: []string{"HOSTVAR"}, lookup: nil, want: []string{"HOSTVAR"}},
		{name: "spaces kept", args: []string{" A = 1 "}, lookup: host, want: []string{" A = 1 "}},
		{name: "empty", args: []string{""}, lookup: host, wantErr: `invalid --env "": variable name is empty (expected NAME=VALUE or NAME)`},
		{name: "no name", args: []string{"A=1", "=V"}, lookup: host, wantErr: `invalid --env "=V": variable name is empty (expected NAME=VALUE or NAME)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnv(tt.args, tt.lookup)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseEnvFile(t *testing.T) {
	dir := t.TempDir()
	host := fakeLookup(map[string]string{"HOSTVAR": "fromhost"})
	tests := []struct {
		name    string
		content string
		lookup  func(string) (string, bool)
		want    []string
		wantErr string // %s is the file's path
	}{
		{name: "empty file", content: "", lookup: host, want: []string{}},
		{
			name:    "docker format",
			content: "\ufeffA=1\n# comment\n\n   \n  B=two words  \nC=\"quoted\"\n\tD='single'\nHOSTVAR\nNOPE\nE=x=y\r\n#F=no\n",
			lookup:  host,
			want:    []string{"A=1", "B=two words  ", `C="quoted"`, "D='single'", "HOSTVAR=fromhost", "E=x=y"},
		},
		{name: "nil lookup drops bare", content: "HOSTVAR\nA=1", lookup: nil, want: []string{"A=1"}},
		{name: "no name", content: "A=1\n=2\n", lookup: host, wantErr: `invalid --env-file "%s" line 2: variable name is empty (expected NAME=VALUE or NAME)`},
		{name: "blank in name", content: "\n\nA B=1\n", lookup: host, wantErr: `invalid --env-file "%s" line 3: variable name "A B" contains whitespace (expected NAME=VALUE or NAME)`},
		{name: "trailing blank in name", content: "A =1\n", lookup: host, wantErr: `invalid --env-file "%s" line 1: variable name "A " contains whitespace (expected NAME=VALUE or NAME)`},
		{name: "bad utf8", content: "A=1\nB=\xff\n", lookup: host, wantErr: `invalid --env-file "%s" line 2: not valid UTF-8`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "env"+string(rune('a'+i)))
			if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ParseEnvFile(p, tt.lookup)
			checkErr(t, err, sprintfIf(tt.wantErr, p))
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		p := filepath.Join(dir, "missing")
		_, err := ParseEnvFile(p, host)
		checkErr(t, err, `cannot read --env-file "`+p+`": no such file or directory`)
	})
}

func TestMergeEnv(t *testing.T) {
	const path = "PATH=" + DefaultPath
	tests := []struct {
		name      string
		image     []string
		overrides []string
		hostname  string
		want      []string
	}{
		{name: "nothing", hostname: "abc", want: []string{path, "HOSTNAME=abc"}},
		{name: "no hostname", want: []string{path}},
		{
			name:     "image path replaces default in place",
			image:    []string{"A=1", "PATH=/bin", "B=2"},
			hostname: "h",
			want:     []string{"PATH=/bin", "HOSTNAME=h", "A=1", "B=2"},
		},
		{
			name:      "overrides replace keeping first position",
			image:     []string{"A=1", "B=2", "C=3"},
			overrides: []string{"B=two", "D=4", "A=", "D=four"},
			hostname:  "h",
			want:      []string{path, "HOSTNAME=h", "A=", "B=two", "C=3", "D=four"},
		},
		{
			name:      "bare name unsets",
			image:     []string{"A=1", "B=2"},
			overrides: []string{"A", "NOTSET", "PATH"},
			hostname:  "h",
			want:      []string{"HOSTNAME=h", "B=2"},
		},
		{
			name:      "unset then set again appends",
			image:     []string{"A=1", "B=2"},
			overrides: []string{"A", "A=3"},
			want:      []string{path, "B=2", "A=3"},
		},
		{
			name:      "user sets hostname and path",
			overrides: []string{"HOSTNAME=mine", "PATH=/x"},
			hostname:  "h",
			want:      []string{"PATH=/x", "HOSTNAME=mine"},
		},
		{
			name:      "empty names ignored",
			image:     []string{"=x", ""},
			overrides: []string{"=y"},
			want:      []string{path},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			image := append([]string(nil), tt.image...)
			got := MergeEnv(tt.image, tt.overrides, tt.hostname)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if !reflect.DeepEqual(image, tt.image) {
				t.Errorf("image env modified: %q", tt.image)
			}
		})
	}
}
