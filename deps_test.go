package main

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/sbx-dev/sbx/"

// sbxImports returns the sbx packages that dir's non-test files import, directly.
func sbxImports(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if strings.HasPrefix(p, module) {
				seen[strings.TrimPrefix(p, module)] = true
			}
		}
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// closure is every sbx package dir reaches, directly or not.
func closure(t *testing.T, dir string) map[string]bool {
	all := map[string]bool{}
	var walk func(string)
	walk = func(d string) {
		for _, p := range sbxImports(t, d) {
			if !all[p] {
				all[p] = true
				walk(p)
			}
		}
	}
	walk(dir)
	return all
}

// TestImportDirection keeps the architecture standing: leaves import nothing of sbx, and the
// code that runs inside a container's namespaces never pulls in image or storage code.
func TestImportDirection(t *testing.T) {
	leaves := []string{"config", "format", "volumes", "links", "run/spec", "run/proto", "internal/progfile", "seccomp", "state", "userns/nsenter", "run/idlesup"}
	for _, l := range leaves {
		if _, err := os.Stat(l); err != nil {
			t.Fatalf("leaf %s: %v", l, err)
		}
		if imps := sbxImports(t, l); len(imps) > 0 {
			t.Errorf("%s is a leaf but imports %v", l, imps)
		}
	}
	for p := range closure(t, "run/initbin") {
		if p != "internal/progfile" {
			t.Errorf("run/initbin reaches %s; it may use only internal/progfile", p)
		}
	}
	// The image library's copy machinery costs every process that links it milliseconds of
	// start-up: only the transfer program (and a plain go build's main) may link it.
	for _, pkg := range []string{"cli", "run", "build", "kube", "image", "image/transferjob"} {
		if closure(t, pkg)["image/transfer"] {
			t.Errorf("%s reaches image/transfer; only the transfer program may", pkg)
		}
	}
	inside := closure(t, "run/initproc")
	for p := range inside {
		switch p {
		case "run/proto", "seccomp":
		default:
			t.Errorf("run/initproc (inside the container) reaches %s; it may use only run/proto and seccomp", p)
		}
	}
	// kube translates to and from the container records; nothing below the CLI needs it.
	for _, low := range []string{"run", "image", "storage", "volumes", "state"} {
		if closure(t, low)["kube"] {
			t.Errorf("%s reaches kube; only cli may use it", low)
		}
	}
	// The bridge namespace knows networks, not containers: run uses netns, never the reverse.
	for p := range closure(t, "netns") {
		if p != "state" {
			t.Errorf("netns reaches %s; it may use only state", p)
		}
	}
	// The init program embedded in sbx is that same inside code and nothing more: what it
	// links is what every container start pays for before main.
	for p := range closure(t, "run/initproc/cmd/sbx-init") {
		switch p {
		case "run/initproc", "run/proto", "seccomp":
		default:
			t.Errorf("run/initproc/cmd/sbx-init reaches %s; it may use only run/initproc, run/proto and seccomp", p)
		}
	}
	for _, host := range []string{"image", "storage"} {
		for p := range closure(t, host) {
			if strings.HasPrefix(p, "run") || p == "cli" || p == "build" {
				t.Errorf("%s must not depend on %s", host, p)
			}
		}
	}
	// build uses the image and run packages; nothing below the CLI uses build.
	for _, pkg := range []string{"image", "run", "storage", "volumes"} {
		if closure(t, pkg)["build"] {
			t.Errorf("%s must not depend on build", pkg)
		}
	}
	for p := range closure(t, "build") {
		if p == "cli" {
			t.Error("build must not depend on cli")
		}
	}
}

// TestLiteProgramLinksNoStore keeps the lite program (tag sbx_lite, see internal/fullbin)
// what it is for: every container start pays before main for what it links, and the layer
// store, the image library, the Dockerfile parser and YAML are the full program's.
func TestLiteProgramLinksNoStore(t *testing.T) {
	out, err := exec.Command("go", "list", "-e", "-deps", "-tags", "sbx_lite sbx_embed netgo osusergo", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 || !slices.Contains(deps, module+"run") {
		t.Fatalf("go list gave no sensible dependency list: %q", out)
	}
	for _, p := range deps {
		switch {
		case p == "go.podman.io/storage/pkg/reexec": // main's re-execution hook: no dependencies
		case strings.HasPrefix(p, "go.podman.io/"), strings.HasPrefix(p, "github.com/moby/buildkit"),
			strings.HasPrefix(p, "sigs.k8s.io/"), p == module+"image", p == module+"storage",
			p == module+"build", p == module+"kube", p == module+"run/layers":
			t.Errorf("the lite program links %s", p)
		}
	}
}
