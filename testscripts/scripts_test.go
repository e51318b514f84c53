// Package testscripts drives the real sbx binary with testscript scripts (testdata/*.txtar).
// Run as root with SBX_TEST_USER set, every script runs twice: as root, and as that
// unprivileged user (who needs /etc/subuid and /etc/subgid ranges), each in its own store.
package testscripts

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"registry":  registryMain,
		"mkevil":    mkevilMain,
		"ptyrun":    ptyrunMain,
		"httpserve": httpserveMain,
		// Run inside containers: the test binary is built static (see run.sh).
		"udpechoserver": udpEchoServerMain,
		"tcppeerserver": tcpPeerServerMain,
	})
}

const nestedEnv = "SBX_TEST_NESTED"

func TestScripts(t *testing.T) {
	sbx := os.Getenv("SBX_BIN")
	if sbx == "" {
		t.Fatal("SBX_BIN must name the sbx binary under test (make test-scripts sets it)")
	}
	fixtures := os.Getenv("SBX_FIXTURES")
	podman := os.Getenv("SBX_FIXTURES_PODMAN") == "1"
	if fixtures == "" {
		// Shared with the unprivileged run: world-readable, outside any 0700 directory.
		dir, err := os.MkdirTemp("", "sbx-fixtures-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		os.Chmod(dir, 0o755)
		if podman, err = makeFixtures(dir); err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(dir, "sbx")
		if err := copyFile(sbx, bin, 0o755); err != nil {
			t.Fatal(err)
		}
		sbx, fixtures = bin, dir
	}
	testUser := os.Getenv("SBX_TEST_USER")
	if os.Getuid() != 0 || testUser == "" || os.Getenv(nestedEnv) != "" {
		runScripts(t, sbx, fixtures, podman)
		return
	}
	t.Run("root", func(t *testing.T) { runScripts(t, sbx, fixtures, podman) })
	t.Run("unprivileged", func(t *testing.T) { runAsUser(t, testUser, sbx, fixtures, podman) })
}

func runScripts(t *testing.T, sbx, fixtures string, podman bool) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Deadline:            deadline(t),
		Setup: func(e *testscript.Env) error {
			e.Setenv("PATH", filepath.Dir(sbx)+":"+e.Getenv("PATH"))
			e.Setenv("SBX_ROOT", filepath.Join(e.WorkDir, ".sbx"))
			e.Setenv("FIXTURES", fixtures)
			e.Setenv("BUSYBOX_ROOTFS", filepath.Join(fixtures, "busybox-rootfs.tar"))
			e.Setenv("HOST_ADDR", hostAddr())
			e.Setenv("SBX_TEST_USER", os.Getenv("SBX_TEST_USER"))
			// A rootless store holds files owned by subordinate ids that the user cannot
			// delete from the host; sbx removes them from inside its namespace.
			e.Defer(func() {
				cmd := exec.Command(sbx, "system", "reset", "--force")
				cmd.Env = e.Vars
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
			case "podman":
				return podman, nil
			case "testuser":
				// root, with an unprivileged user to run sbx as, next to root's own sbx
				return os.Getuid() == 0 && os.Getenv("SBX_TEST_USER") != "", nil
			case "hostaddr":
				return hostAddr() != "", nil
			case "ipv6":
				// the host's IPv6 loopback can be listened on
				ln, err := net.Listen("tcp6", "[::1]:0")
				if err == nil {
					ln.Close()
				}
				return err == nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile": cmdWaitfile,
			"envfile":  cmdEnvfile,
			"waitlog":  cmdWaitlog,
			"freeport": cmdFreeport,
			"waithttp": cmdWaithttp,
			"udpecho":  cmdUDPEcho,
			"tcppeer":  cmdTCPPeer,
			"tcphold":  cmdTCPHold,
			"tcpcap":   cmdTCPCap,
			"waitgrep": cmdWaitgrep,
			"jsonkeys": cmdJSONKeys,
			"jsonpath": cmdJSONPath,
		},
	})
}

// cmdWaitfile polls until a file exists (a server's "ready" signal), with a deadline
// instead of a sleep.
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Fatalf("%s did not appear within 30s", args[0])
}

// cmdWaitlog polls `sbx logs NAME` until it shows TEXT (a detached container's output
// arrives asynchronously), with a deadline instead of a sleep.
func cmdWaitlog(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitlog CONTAINER TEXT")
	}
	var env []string
	for _, k := range []string{"PATH", "SBX_ROOT", "HOME", "TMPDIR", "SBX_CONFIG", "XDG_RUNTIME_DIR"} {
		env = append(env, k+"="+ts.Getenv(k))
	}
	// The script's PATH, not the test binary's, says which sbx.
	sbx := ""
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(dir, "sbx")); err == nil {
			sbx = filepath.Join(dir, "sbx")
			break
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	var out []byte
	for time.Now().Before(deadline) {
		cmd := exec.Command(sbx, "logs", args[0])
		cmd.Env = env
		cmd.Dir = ts.Getenv("WORK")
		out, _ = cmd.CombinedOutput()
		if strings.Contains(string(out), args[1]) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("logs of %s did not show %q within 30s; last output:\n%s", args[0], args[1], out)
}

// cmdEnvfile sets an environment variable to a file's content (a server's address).
func cmdEnvfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envfile NAME FILE")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile(args[1])))
}

func deadline(t *testing.T) time.Time {
	if d, ok := t.Deadline(); ok {
		return d.Add(-30 * time.Second)
	}
	return time.Time{}
}

// runAsUser reruns this test binary as the unprivileged user, sharing the fixtures.
func runAsUser(t *testing.T, name, sbx, fixtures string, podman bool) {
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("SBX_TEST_USER=%s: %v (create the user with subuid/subgid ranges, as .ci/setup does)", name, err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary lives in a root-only build directory: copy it where the user can run it.
	bin := filepath.Join(fixtures, "testscripts.test")
	if err := copyFile(self, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// So are the scripts: the checkout may sit in a directory only root can read.
	scripts := filepath.Join(fixtures, "testdata")
	if err := os.MkdirAll(scripts, 0o755); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/*.txtar")
	for _, f := range files {
		if err := copyFile(f, filepath.Join(scripts, filepath.Base(f)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tmp, err := os.MkdirTemp("", "sbx-user-")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	os.Chown(tmp, uid, gid)
	t.Cleanup(func() { os.RemoveAll(tmp) })
	args := []string{"-u", name, "--", "env", "-i",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + u.HomeDir, "USER=" + name, "TMPDIR=" + tmp,
		"SBX_BIN=" + sbx, "SBX_FIXTURES=" + fixtures, nestedEnv + "=1",
		"SBX_FIXTURES_PODMAN=" + map[bool]string{true: "1", false: "0"}[podman],
		bin, "-test.run", runPattern()}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout", time.Until(d).Round(time.Second).String())
	}
	cmd := exec.Command("runuser", args...)
	cmd.Dir = fixtures
	out, err := cmd.CombinedOutput()
	if testing.Verbose() || err != nil {
		t.Logf("as %s:\n%s", name, out)
	}
	if err != nil {
		t.Fatalf("scripts failed as %s: %v", name, err)
	}
}

// runPattern passes a script filter such as TestScripts/unprivileged/image_load on to the
// nested run, where the scripts sit directly under TestScripts.
func runPattern() string {
	parts := strings.SplitN(flagValue("test.run"), "/", 3)
	if len(parts) == 3 {
		return "^TestScripts$/" + parts[2]
	}
	return "^TestScripts$"
}

func flagValue(name string) string {
	for i, a := range os.Args {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(os.Args) {
			return os.Args[i+1]
		}
	}
	return ""
}
