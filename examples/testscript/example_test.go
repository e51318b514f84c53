// Package example shows how to test a containerised program with testscript and sbx: each
// testdata/*.txtar file is a shell-like script that runs sbx commands and checks what they
// print. Copy this directory, keep example_test.go, and write your own scripts.
//
// sbx is found on PATH, or named by SBX=/path/to/sbx. The scripts need a busybox image:
// it is built once per run from the host's static busybox (Debian: busybox-static), or
// from the file BUSYBOX names, and handed to the scripts as $BUSYBOX_TAR, a root filesystem
// tarball for `sbx image import`.
package example

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestScripts(t *testing.T) {
	sbx, err := findSbx()
	if err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(t.TempDir(), "busybox-rootfs.tar")
	if err := writeBusyboxRootfs(tarball); err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			// Only sbx is put first on PATH; the rest of PATH is the caller's.
			bin := filepath.Join(e.WorkDir, ".bin")
			if err := os.Mkdir(bin, 0o755); err != nil {
				return err
			}
			if err := os.Symlink(sbx, filepath.Join(bin, "sbx")); err != nil {
				return err
			}
			e.Setenv("PATH", bin+string(os.PathListSeparator)+e.Getenv("PATH"))
			e.Setenv("BUSYBOX_TAR", tarball)
			// Every script gets a store of its own inside its work directory, so scripts
			// run in parallel and never touch the user's images and containers. A script
			// that clears SBX_ROOT (fallback.txtar) uses sbx's default directories.
			e.Setenv("SBX_ROOT", filepath.Join(e.WorkDir, "sbx"))
			// A rootless store holds files owned by the user's subordinate ids, which the
			// user cannot delete from the host, so the work directory could not be
			// removed: sbx removes its store itself, from inside its user namespace.
			vars := e.Vars
			e.Defer(func() {
				cmd := exec.Command(sbx, "system", "reset", "--force")
				cmd.Env = vars
				cmd.Dir = e.WorkDir
				if out, err := cmd.CombinedOutput(); err != nil {
					e.T().Log(fmt.Sprintf("sbx system reset: %v: %s", err, out))
				}
			})
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Getuid() == 0, nil
			case "sbxbuild":
				// `sbx build` is newer than this example: its script runs once sbx has it.
				return exec.Command(sbx, "build", "--help").Run() == nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// findSbx returns the absolute path of the sbx binary under test: $SBX, else sbx on PATH.
func findSbx() (string, error) {
	path := os.Getenv("SBX")
	if path == "" {
		p, err := exec.LookPath("sbx")
		if err != nil {
			return "", fmt.Errorf("sbx is not on PATH: put it there, or set SBX=/path/to/sbx")
		}
		path = p
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(abs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("SBX=%s: not an executable file", path)
	}
	return abs, nil
}

// writeBusyboxRootfs writes a root filesystem tarball holding a static busybox, a link per
// applet and the /etc files a shell expects. busybox must be static: inside the container
// there is no C library for it to load.
func writeBusyboxRootfs(out string) error {
	busybox := os.Getenv("BUSYBOX")
	if busybox == "" {
		p, err := exec.LookPath("busybox")
		if err != nil {
			return fmt.Errorf("no busybox on PATH: install busybox-static, or set BUSYBOX=/path/to/a/static/busybox")
		}
		busybox = p
	}
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	list, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %w", busybox, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(1700000000, 0)
	add := func(h *tar.Header, data []byte) {
		h.ModTime = mtime
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(data))
		}
		// Writing to a bytes.Buffer cannot fail; the final Close reports a bad header.
		tw.WriteHeader(h)
		tw.Write(data)
	}
	for _, d := range []string{"bin", "etc", "root", "tmp", "var", "var/www"} {
		mode := int64(0o755)
		if d == "tmp" {
			mode = 0o1777
		}
		add(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: mode}, nil)
	}
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755}, bin)
	for _, applet := range strings.Fields(string(list)) {
		if applet != "busybox" {
			add(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777}, nil)
		}
	}
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd", Mode: 0o644}, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"))
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/group", Mode: 0o644}, []byte("root:x:0:\nnogroup:x:65534:\n"))
	if err := tw.Close(); err != nil {
		return fmt.Errorf("building the busybox image: %w", err)
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}
