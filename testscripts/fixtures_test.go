package testscripts

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// makeFixtures writes the test images into dir:
//
//	busybox-rootfs.tar   a root filesystem built from the host's busybox-static, with files
//	                     owned by uid 1000 and 0 so id mapping is exercised
//	busybox.docker.tar   the same, as `podman save --format docker-archive` writes it
//	busybox.oci.tar      the same, as `podman save --format oci-archive` writes it
//
// The archives come from podman, not from sbx, so sbx is checked against files it did not
// write. Without podman (or not as root) only the rootfs tarball is made.
func makeFixtures(dir string) (podman bool, err error) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return false, fmt.Errorf("busybox-static is needed to build the test image: %w", err)
	}
	rootfs := filepath.Join(dir, "busybox-rootfs.tar")
	if err := writeBusyboxRootfs(busybox, rootfs); err != nil {
		return false, err
	}
	if _, err := exec.LookPath("podman"); err != nil || os.Getuid() != 0 {
		return false, nil
	}
	pdir, err := os.MkdirTemp("", "sbx-podman-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(pdir)
	p := []string{"--root", filepath.Join(pdir, "root"), "--runroot", filepath.Join(pdir, "run"),
		"--storage-driver", "vfs", "--events-backend", "none", "--cgroup-manager", "cgroupfs"}
	run := func(args ...string) error {
		out, err := exec.Command("podman", append(p, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("podman %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run("import", "--change", "CMD [\"sh\"]", "--change", "ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin", rootfs, "docker.io/library/busybox:latest"); err != nil {
		return false, err
	}
	if err := run("save", "--format", "docker-archive", "-o", filepath.Join(dir, "busybox.docker.tar"), "busybox:latest"); err != nil {
		return false, err
	}
	if err := run("save", "--format", "oci-archive", "-o", filepath.Join(dir, "busybox.oci.tar"), "busybox:latest"); err != nil {
		return false, err
	}
	return true, nil
}

// writeBusyboxRootfs builds a minimal root filesystem tarball: busybox and a symlink per
// applet, /etc/passwd and /etc/group, and an app user's home owned by 1000:1000.
func writeBusyboxRootfs(busybox, out string) error {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	list, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Unix(1700000000, 0)
	dir := func(name string, mode int64, uid int) {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: uid, ModTime: now})
	}
	file := func(name string, mode int64, uid int, data []byte) {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Uid: uid, Gid: uid, Size: int64(len(data)), ModTime: now})
		tw.Write(data)
	}
	for _, d := range []string{"bin", "dev", "etc", "proc", "sys", "root", "var", "usr", "usr/bin", "usr/sbin", "sbin"} {
		dir(d, 0o755, 0)
	}
	dir("tmp", 0o1777, 0)
	dir("home", 0o755, 0)
	dir("home/app", 0o750, 1000)
	file("home/app/owned-by-app", 0o640, 1000, []byte("app's file\n"))
	file("bin/busybox", 0o755, 0, bin)
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" {
			continue
		}
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777, ModTime: now})
	}
	file("etc/passwd", 0o644, 0, []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))
	file("etc/group", 0o644, 0, []byte("root:x:0:\napp:x:1000:\nnogroup:x:65534:\n"))
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// copyFile copies src to dst with mode.
func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
