package image

import (
	"errors"
	"math/rand/v2"
	"strings"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"reflect"
	"testing"

	"go.podman.io/image/v5/docker/reference"
)

func TestCandidates(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"busybox", []string{"busybox:latest", "localhost/busybox:latest", "docker.io/library/busybox:latest"}},
		{"busybox:1.36", []string{"busybox:1.36", "localhost/busybox:1.36", "docker.io/library/busybox:1.36"}},
		{"me/app", []string{"me/app:latest", "localhost/me/app:latest", "docker.io/me/app:latest"}},
		{"localhost/mybox:1", []string{"localhost/mybox:1"}},
		{"127.0.0.1:5000/busybox", []string{"127.0.0.1:5000/busybox:latest"}},
		{"quay.io/x/y:2", []string{"quay.io/x/y:2"}},
	}
	for _, tt := range tests {
		got, err := Candidates(tt.in)
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "Busybox", "a b", "x:", "::", "busybox:bad tag"} {
		if _, err := Candidates(bad); !errors.Is(err, ErrInvalidReference) {
			t.Errorf("%q: got %v, want ErrInvalidReference", bad, err)
		}
	}
}

func TestParseNew(t *testing.T) {
	tests := map[string]string{
		"mybox":                 "localhost/mybox:latest",
		"mybox:1":               "localhost/mybox:1",
		"127.0.0.1:5000/x/y:3":  "127.0.0.1:5000/x/y:3",
		"docker.io/library/b:2": "docker.io/library/b:2",
		"localhost/a/b":         "localhost/a/b:latest",
	}
	for in, want := range tests {
		got, err := ParseNew(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got.String() != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
	for _, bad := range []string{"", "UPPER", "a@sha256:0123456789012345678901234567890123456789012345678901234567890123", "bad//name"} {
		if _, err := ParseNew(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestFamiliar(t *testing.T) {
	tests := []struct{ in, repo, tag string }{
		{"docker.io/library/busybox:latest", "busybox", "latest"},
		{"docker.io/me/app:2", "me/app", "2"},
		{"localhost/mybox:1", "localhost/mybox", "1"},
		{"127.0.0.1:5000/b:x", "127.0.0.1:5000/b", "x"},
	}
	for _, tt := range tests {
		r, g := Familiar(tt.in)
		if r != tt.repo || g != tt.tag {
			t.Errorf("%s: got %s %s", tt.in, r, g)
		}
	}
	if !LooksLikeID("abc123") || LooksLikeID("busybox") || !LooksLikeID("sha256:abcd") {
		t.Error("LooksLikeID")
	}
}

func TestApplyChanges(t *testing.T) {
	var cfg imgspecv1.ImageConfig
	err := ApplyChanges(&cfg, []string{
		`CMD ["echo", "hi"]`, `ENTRYPOINT /bin/app --flag`, `ENV A=1 B="two words"`, `ENV C 3`,
		`EXPOSE 80 53/udp`, `WORKDIR /srv`, `USER app`, `VOLUME ["/data"]`, `STOPSIGNAL SIGINT`, `LABEL k=v`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Cmd, []string{"echo", "hi"}) || !reflect.DeepEqual(cfg.Entrypoint, []string{"/bin/sh", "-c", "/bin/app --flag"}) {
		t.Errorf("cmd/entrypoint: %v %v", cfg.Cmd, cfg.Entrypoint)
	}
	if !reflect.DeepEqual(cfg.Env, []string{"A=1", "B=two words", "C=3"}) {
		t.Errorf("env: %q", cfg.Env)
	}
	if _, ok := cfg.ExposedPorts["80/tcp"]; !ok {
		t.Errorf("expose: %v", cfg.ExposedPorts)
	}
	if cfg.WorkingDir != "/srv" || cfg.User != "app" || cfg.StopSignal != "SIGINT" || cfg.Labels["k"] != "v" {
		t.Errorf("cfg: %+v", cfg)
	}
	if err := ApplyChanges(&cfg, []string{"RUN rm -rf /"}); err == nil {
		t.Error("RUN accepted")
	}
}

// libraryCandidates is what Candidates answers without its shortcut.
func libraryCandidates(name string) ([]string, error) {
	n, err := reference.ParseNormalizedNamed("localhost/" + name)
	if err != nil {
		return nil, err
	}
	tagged := reference.TagNameOnly(n).String()
	hub, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return nil, err
	}
	return []string{strings.TrimPrefix(tagged, "localhost/"), tagged, reference.TagNameOnly(hub).String()}, nil
}

// The shortcut answers exactly as the reference library does, or leaves the name to it.
func TestSimpleCandidatesAgreeWithTheLibrary(t *testing.T) {
	names := []string{
		"busybox", "busybox:1.36", "me/app", "me/app:v1.2-rc_3", "a", "a/b/c/d", "a.b", "a_b",
		"a__b", "a___b", "a-b", "a--b", "a.-b", "a..b", "a_.b", "-a", "a-", "a.", "_a", "a_",
		"a/", "/a", "a//b", "A", "a:B", "a:_x", "a:.x", "a:-x", "a:", "a::b", "a:b:c", "a b",
		"a@sha256:" + strings.Repeat("0", 64), "x:" + strings.Repeat("t", 128),
		"x:" + strings.Repeat("t", 129), strings.Repeat("a", 200), strings.Repeat("a", 260),
		"library/busybox", "docker.io/busybox", "localhost", "localhost:5000", "a:1.0.0",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ab0._-/:A@"
	for i := 0; i < 20000; i++ {
		b := make([]byte, 1+rng.IntN(12))
		for k := range b {
			b[k] = alphabet[rng.IntN(len(alphabet))]
		}
		names = append(names, string(b))
	}
	for _, name := range names {
		if hasDomain(name) {
			continue // Candidates reads those with the library alone
		}
		got, ok := simpleCandidates(name)
		want, err := libraryCandidates(name)
		switch {
		case ok && err != nil:
			t.Errorf("%q: shortcut says %v, the library refuses it: %v", name, got, err)
		case ok && !reflect.DeepEqual(got, want):
			t.Errorf("%q: shortcut says %v, the library %v", name, got, want)
		}
	}
}

func TestLooksLikeID(t *testing.T) {
	for s, want := range map[string]bool{
		"abc": true, "sha256:abc": true, "0123456789abcdef": true, strings.Repeat("a", 64): true,
		"ab": false, strings.Repeat("a", 65): false, "sha256:": false, "ABC": false, "abg": false,
		"busybox": false, "sha256:ab": false, "sha512:abc": false, "": false,
	} {
		if got := LooksLikeID(s); got != want {
			t.Errorf("LooksLikeID(%q) = %v, want %v", s, got, want)
		}
	}
}
