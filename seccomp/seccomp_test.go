package seccomp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The tests install real filters. A filter cannot be removed, so each one
// goes into a child: the test binary re-executed with childModeEnv set, which
// TestMain turns into a run of child() instead of the tests.
const (
	childModeEnv    = "SBX_SECCOMP_TEST_CHILD"
	childDirEnv     = "SBX_SECCOMP_TEST_DIR"
	childProfileEnv = "SBX_SECCOMP_TEST_PROFILE"
)

// readImpliesExec is a personality(2) flag docker's profile does not allow.
const readImpliesExec = 0x0400000

// dockerCaps is docker's default capability set for a container.
var dockerCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(childModeEnv); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

// probe makes one syscall and reports its errno (0: it succeeded). Each is
// chosen so that, without a filter, it fails with something other than the
// filter's answer, whatever the user's privileges: the answer then proves
// the filter decided.
type probe struct {
	name string
	run  func(dir string) unix.Errno
}

func errnoOf(err error) unix.Errno {
	if err == nil {
		return 0
	}
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.EIO
}

var probes = []probe{
	{"tsync", func(string) unix.Errno {
		// Every thread, not only the one that installed it, must be
		// filtered: ESRCH if one is not.
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return errnoOf(err)
		}
		for _, task := range tasks {
			b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
			if err != nil {
				return errnoOf(err)
			}
			if !bytes.Contains(b, []byte("\nSeccomp:\t2")) {
				return unix.ESRCH
			}
		}
		return 0
	}},
	{"getpid", func(string) unix.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_GETPID, 0, 0, 0)
		return e
	}},
	{"file", func(dir string) unix.Errno {
		f, err := os.Create(filepath.Join(dir, "file"))
		if err != nil {
			return errnoOf(err)
		}
		_, err = f.WriteString("hello\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			_, err = os.ReadFile(filepath.Join(dir, "file"))
		}
		return errnoOf(err)
	}},
	{"mkdir", func(dir string) unix.Errno {
		return errnoOf(os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	}},
	{"socket_inet", func(string) unix.Errno {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err == nil {
			unix.Close(fd)
		}
		return errnoOf(err)
	}},
	{"socket_vsock", func(string) unix.Errno {
		// docker blocks AF_VSOCK; unfiltered this works or EAFNOSUPPORT.
		fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM, 0)
		if err == nil {
			unix.Close(fd)
		}
		return errnoOf(err)
	}},
	{"personality_query", func(string) unix.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
		return e
	}},
	{"kexec_load", func(string) unix.Errno {
		// Too many segments and unknown flags: even unfiltered, as root,
		// this can load or unload nothing.
		_, _, e := unix.Syscall6(unix.SYS_KEXEC_LOAD, 0, 1000, 0, 0x8000, 0, 0)
		return e
	}},
	{"mount", func(string) unix.Errno {
		// An unreadable fstype makes the kernel answer EFAULT before it
		// checks privilege; only the filter answers EPERM.
		src, _ := unix.BytePtrFromString("none")
		dst, _ := unix.BytePtrFromString("/nonexistent-sbx-seccomp-test")
		_, _, e := unix.Syscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(src)), uintptr(unsafe.Pointer(dst)), 1, 0, 0, 0)
		return e
	}},
	{"clone3", func(string) unix.Errno {
		// A zero size is EINVAL to the kernel; docker's profile answers
		// ENOSYS without CAP_SYS_ADMIN so that libcs fall back to clone.
		_, _, e := unix.RawSyscall(unix.SYS_CLONE3, 0, 0, 0)
		return e
	}},
	{"personality_bad", func(string) unix.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, readImpliesExec, 0, 0)
		if e == 0 {
			unix.RawSyscall(unix.SYS_PERSONALITY, 0, 0, 0)
		}
		return e
	}},
	{"unshare_user", func(string) unix.Errno {
		// A Go process has several threads, so the kernel answers EINVAL
		// before any privilege check; only the filter answers EPERM.
		return errnoOf(unix.Unshare(unix.CLONE_NEWUSER))
	}},
	{"unshare_ns", func(string) unix.Errno {
		// On a thread of its own, which exits with the goroutine, so the
		// new mount namespace touches nothing else.
		res := make(chan unix.Errno)
		go func() {
			runtime.LockOSThread()
			res <- errnoOf(unix.Unshare(unix.CLONE_NEWNS))
		}()
		return <-res
	}},
}

// child installs the filter its mode asks for and prints "probe errno" lines.
func child(mode string) int {
	var o Options
	switch mode {
	case "none":
	case "default":
		o.Caps = dockerCaps
	case "sysadmin":
		o.Caps = append(append([]string{}, dockerCaps...), "CAP_SYS_ADMIN")
	case "profile", "kill":
		o.Profile = os.Getenv(childProfileEnv)
	default:
		fmt.Fprintf(os.Stderr, "unknown child mode %q\n", mode)
		return 3
	}
	if mode != "none" {
		f, err := Compile(o)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		// no_new_privs lets an unprivileged user install a filter.
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			fmt.Fprintln(os.Stderr, "no_new_privs:", err)
			return 3
		}
		if err := f.Install(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
	}
	if mode == "kill" {
		unix.Getppid()
		fmt.Println("survived")
		return 0
	}
	dir := os.Getenv(childDirEnv)
	for _, p := range probes {
		fmt.Printf("%s %d\n", p.name, int(p.run(dir)))
	}
	return 0
}

// runChild runs child(mode) and returns its probe results.
func runChild(t *testing.T, mode, profile string) map[string]unix.Errno {
	t.Helper()
	out, err := startChild(t, mode, profile)
	if err != nil {
		t.Fatalf("child %s: %v\n%s", mode, err, out)
	}
	res := map[string]unix.Errno{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, num, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			t.Fatalf("child %s: bad line %q", mode, sc.Text())
		}
		res[name] = unix.Errno(n)
	}
	if len(res) != len(probes) {
		t.Fatalf("child %s: %d results, want %d:\n%s", mode, len(res), len(probes), out)
	}
	return res
}

func startChild(t *testing.T, mode, profile string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childModeEnv+"="+mode,
		childDirEnv+"="+t.TempDir(),
		childProfileEnv+"="+profile,
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return append(out, stderr.Bytes()...), err
	}
	return out, nil
}

// outerFiltered tells whether this test already runs under a seccomp filter
// (say, in a docker container), which can make unfiltered probes fail the
// way ours do.
func outerFiltered(t *testing.T) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, []byte("\nSeccomp:\t2"))
}

type expect map[string]unix.Errno

func check(t *testing.T, mode string, got map[string]unix.Errno, want expect) {
	t.Helper()
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %s: errno %d (%v), want %d (%v)", mode, name, got[name], got[name], w, w)
		}
	}
}

// checkDistinguishes makes sure a probe's filtered answer is not also what
// the kernel answers without a filter, so that the answer proves the filter.
func checkDistinguishes(t *testing.T, base map[string]unix.Errno, want expect, hard ...string) {
	t.Helper()
	for name, w := range want {
		if base[name] != w {
			continue
		}
		mustDiffer := false
		for _, h := range hard {
			mustDiffer = mustDiffer || h == name
		}
		if mustDiffer && !outerFiltered(t) {
			t.Errorf("%s answers %v without a filter too: the probe proves nothing", name, w)
		} else {
			t.Logf("%s answers %v without a filter too: not distinguishing here", name, w)
		}
	}
}

func TestDefaultProfile(t *testing.T) {
	base := runChild(t, "none", "")
	got := runChild(t, "default", "")
	check(t, "default", got, expect{
		"tsync": 0, "getpid": 0, "file": 0, "mkdir": 0, "socket_inet": 0, "personality_query": 0,
	})
	blocked := expect{
		"kexec_load":      unix.EPERM,
		"mount":           unix.EPERM,
		"personality_bad": unix.EPERM,
		"unshare_user":    unix.EPERM,
		"unshare_ns":      unix.EPERM,
		"socket_vsock":    unix.EPERM,
		"clone3":          unix.ENOSYS,
	}
	check(t, "default", got, blocked)
	checkDistinguishes(t, base, blocked, "mount", "personality_bad", "unshare_user", "clone3")
	if os.Geteuid() == 0 {
		checkDistinguishes(t, base, expect{"unshare_ns": unix.EPERM}, "unshare_ns")
	}
}

func TestDefaultProfileWithSysAdmin(t *testing.T) {
	got := runChild(t, "sysadmin", "")
	check(t, "sysadmin", got, expect{
		"tsync": 0, "getpid": 0, "file": 0, "personality_query": 0,
		// Let through by the filter, refused by the kernel.
		"unshare_user": unix.EINVAL,
		"mount":        unix.EFAULT,
		"clone3":       unix.EINVAL,
		// Still blocked: CAP_SYS_ADMIN does not open these.
		"kexec_load":      unix.EPERM,
		"personality_bad": unix.EPERM,
	})
	if os.Geteuid() == 0 {
		check(t, "sysadmin", got, expect{"unshare_ns": 0})
	} else if got["unshare_ns"] != 0 && got["unshare_ns"] != unix.EPERM {
		t.Errorf("unshare_ns: errno %v, want success or the kernel's EPERM", got["unshare_ns"])
	}
}

func TestCustomProfile(t *testing.T) {
	profile, err := filepath.Abs("testdata/mkdir.json")
	if err != nil {
		t.Fatal(err)
	}
	base := runChild(t, "none", "")
	got := runChild(t, "profile", profile)
	check(t, "profile", got, expect{"mkdir": unix.EPERM, "tsync": 0})
	// Everything else behaves as with no filter at all.
	for _, p := range probes {
		if p.name != "mkdir" && p.name != "tsync" && got[p.name] != base[p.name] {
			t.Errorf("profile: %s: errno %v, unfiltered %v", p.name, got[p.name], base[p.name])
		}
	}
}

func TestKillAction(t *testing.T) {
	profile, err := filepath.Abs("testdata/kill.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := startChild(t, "kill", profile)
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("child was not killed: %v\n%s", err, out)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
		t.Fatalf("child ended with %v, want killed by SIGSYS\n%s", ee, out)
	}
}

func TestUnconfined(t *testing.T) {
	f, err := Compile(Options{Profile: "unconfined"})
	if f != nil || err != nil {
		t.Fatalf("Compile(unconfined) = %v, %v; want nil, nil", f, err)
	}
	if err := f.Install(); err != nil {
		t.Fatalf("nil filter Install: %v", err)
	}
	if f.Len() != 0 {
		t.Fatalf("nil filter Len = %d", f.Len())
	}
	if err := Validate("unconfined"); err != nil {
		t.Fatal(err)
	}
}

func TestProfileErrors(t *testing.T) {
	dir := t.TempDir()
	hidden := filepath.Join(dir, "hidden.json")
	// The bad rule applies only with CAP_SYS_ADMIN; it must be refused
	// whatever the capabilities, so that the host-side Validate is enough.
	if err := os.WriteFile(hidden, []byte(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
		{"names":["mount"],"action":"SCMP_ACT_ALOW","includes":{"caps":["CAP_SYS_ADMIN"]}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		path string
		want string
	}{
		{"testdata/malformed.json", "line 5, column 2: invalid character"},
		{"testdata/badaction.json", `syscalls[1] (read): unknown action "SCMP_ACT_BOGUS"`},
		{hidden, `unknown action "SCMP_ACT_ALOW"`},
		{filepath.Join(dir, "missing.json"), "no such file or directory"},
		{write("empty.json", `{}`), "defaultAction is missing"},
		{write("op.json", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_BETWEEN"}]}]}`), `unknown operator "SCMP_CMP_BETWEEN"`},
		{write("index.json", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}`), "argument index 6 is out of range"},
		{write("arch.json", `{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_VAX"],"syscalls":[]}`), `unknown architecture "SCMP_ARCH_VAX"`},
		{write("notify.json", `{"defaultAction":"SCMP_ACT_NOTIFY","syscalls":[]}`), `action "SCMP_ACT_NOTIFY" is not supported`},
		{write("errno.json", `{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":70000,"syscalls":[]}`), "errnoRet 70000 is larger than 4095"},
		{write("type.json", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":"read","action":"SCMP_ACT_ALLOW"}]}`), "line 1, column"},
	}
	for _, c := range cases {
		for _, fn := range []struct {
			name string
			err  func() error
		}{
			{"Validate", func() error { return Validate(c.path) }},
			{"Compile", func() error { _, err := Compile(Options{Profile: c.path, Caps: dockerCaps}); return err }},
		} {
			err := fn.err()
			if err == nil {
				t.Errorf("%s(%s): no error", fn.name, c.path)
				continue
			}
			msg := err.Error()
			if !strings.Contains(msg, c.path) || !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("%s(%s) = %q; want one line naming the file and containing %q", fn.name, c.path, msg, c.want)
			}
		}
	}
	for _, ok := range []string{"", "testdata/mkdir.json", "testdata/kill.json"} {
		if err := Validate(ok); err != nil {
			t.Errorf("Validate(%q): %v", ok, err)
		}
	}
}

// The rest checks the generated BPF in a userspace VM, with seccomp_data
// made up for ABIs and arguments a test process cannot produce (i386, x32,
// 64-bit personality values). golang.org/x/net/bpf's VM loads words
// big-endian, so the buffer is written big-endian to give it the values the
// kernel's little-endian loads see.

type vmFilter struct {
	t  *testing.T
	vm *bpf.VM
}

func newVM(t *testing.T, f *Filter) vmFilter {
	t.Helper()
	raw := make([]bpf.RawInstruction, len(f.prog))
	for i, in := range f.prog {
		raw[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	insns, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("filter does not disassemble")
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatal(err)
	}
	return vmFilter{t, vm}
}

func (v vmFilter) run(arch, nr uint32, args ...uint64) uint32 {
	v.t.Helper()
	buf := make([]byte, 64)
	be := binary.BigEndian
	be.PutUint32(buf[offNr:], nr)
	be.PutUint32(buf[offArch:], arch)
	for i, a := range args {
		be.PutUint32(buf[offArgs+8*i:], uint32(a))
		be.PutUint32(buf[offArgs+8*i+4:], uint32(a>>32))
	}
	r, err := v.vm.Run(buf)
	if err != nil {
		v.t.Fatal(err)
	}
	return uint32(r)
}

const (
	allow = unix.SECCOMP_RET_ALLOW
	eperm = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
)

func needAMD64(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("syscall numbers below are amd64's")
	}
}

func mustCompile(t *testing.T, o Options) *Filter {
	t.Helper()
	f, err := Compile(o)
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() == 0 || f.Len() > maxInsns {
		t.Fatalf("filter has %d instructions", f.Len())
	}
	return f
}

func TestDefaultFilterABIs(t *testing.T) {
	needAMD64(t)
	f := mustCompile(t, Options{Caps: dockerCaps})
	t.Logf("default profile: %d instructions", f.Len())
	v := newVM(t, f)
	const (
		x86_64 = unix.AUDIT_ARCH_X86_64
		i386   = unix.AUDIT_ARCH_I386
		x32    = x32SyscallBit
	)
	cases := []struct {
		name     string
		arch, nr uint32
		args     []uint64
		want     uint32
	}{
		{"getpid", x86_64, 39, nil, allow},
		{"kexec_load", x86_64, 246, nil, eperm},
		{"unassigned 1000", x86_64, 1000, nil, eperm},
		{"just below x32", x86_64, x32 - 1, nil, eperm},
		{"-1", x86_64, 0xffffffff, nil, eperm},
		{"clone thread", x86_64, 56, []uint64{unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND}, allow},
		{"clone newuser", x86_64, 56, []uint64{unix.CLONE_NEWUSER}, eperm},
		{"clone3", x86_64, 435, nil, unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{"personality query", x86_64, 135, []uint64{0xffffffff}, allow},
		{"personality 64-bit", x86_64, 135, []uint64{0x1_ffffffff}, eperm},
		{"personality linux32", x86_64, 135, []uint64{8}, allow},
		{"socket inet", x86_64, 41, []uint64{unix.AF_INET}, allow},
		{"socket inet high word", x86_64, 41, []uint64{1<<32 | unix.AF_INET}, eperm},
		{"socket vsock", x86_64, 41, []uint64{unix.AF_VSOCK}, eperm},
		{"socket alg", x86_64, 41, []uint64{unix.AF_ALG}, eperm},
		{"i386 getpid", i386, 20, nil, allow},
		{"i386 socketcall", i386, 102, nil, allow},
		{"i386 kexec_load", i386, 283, nil, eperm},
		// The kernel's i386 handlers see the low word only.
		{"i386 personality", i386, 136, []uint64{0x1_ffffffff}, allow},
		{"i386 personality bad", i386, 136, []uint64{readImpliesExec}, eperm},
		{"x32 getpid", x86_64, x32 | 39, nil, allow},
		{"x32 rt_sigaction", x86_64, x32 | 512, nil, allow},
		{"x32 at x86_64's rt_sigaction", x86_64, x32 | 13, nil, eperm},
		{"aarch64", unix.AUDIT_ARCH_AARCH64, 172, nil, unix.SECCOMP_RET_KILL_PROCESS},
	}
	for _, c := range cases {
		if got := v.run(c.arch, c.nr, c.args...); got != c.want {
			t.Errorf("%s: %#x, want %#x", c.name, got, c.want)
		}
	}

	// The capability decides the clone rules.
	v = newVM(t, mustCompile(t, Options{Caps: []string{"sys_admin"}}))
	if got := v.run(x86_64, 56, unix.CLONE_NEWUSER); got != allow {
		t.Errorf("clone newuser with sys_admin: %#x, want allow", got)
	}
	if got := v.run(x86_64, 435); got != allow {
		t.Errorf("clone3 with sys_admin: %#x, want allow", got)
	}
}

func writeProfile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "profile.json")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUnlistedABIsAreKilled(t *testing.T) {
	needAMD64(t)
	// No architectures: only the native ABI is covered, and the allow
	// default must not extend to i386 or x32, or they would dodge the rule.
	p := writeProfile(t, `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}`)
	v := newVM(t, mustCompile(t, Options{Profile: p}))
	kill := uint32(unix.SECCOMP_RET_KILL_PROCESS)
	for _, c := range []struct {
		name     string
		arch, nr uint32
		want     uint32
	}{
		{"mkdir", unix.AUDIT_ARCH_X86_64, 83, eperm},
		{"getpid", unix.AUDIT_ARCH_X86_64, 39, allow},
		{"-1", unix.AUDIT_ARCH_X86_64, 0xffffffff, allow},
		{"x32 mkdir", unix.AUDIT_ARCH_X86_64, x32SyscallBit | 83, kill},
		{"i386 mkdir", unix.AUDIT_ARCH_I386, 39, kill},
	} {
		if got := v.run(c.arch, c.nr); got != c.want {
			t.Errorf("%s: %#x, want %#x", c.name, got, c.want)
		}
	}
}

// TestArgumentOps checks every operator against its definition on 64-bit
// arguments (x86_64) and on low-word arguments (i386), at the boundaries.
func TestArgumentOps(t *testing.T) {
	needAMD64(t)
	type ref func(arg, v, v2 uint64) bool
	ops := map[string]ref{
		"SCMP_CMP_EQ":        func(a, v, _ uint64) bool { return a == v },
		"SCMP_CMP_NE":        func(a, v, _ uint64) bool { return a != v },
		"SCMP_CMP_LT":        func(a, v, _ uint64) bool { return a < v },
		"SCMP_CMP_LE":        func(a, v, _ uint64) bool { return a <= v },
		"SCMP_CMP_GT":        func(a, v, _ uint64) bool { return a > v },
		"SCMP_CMP_GE":        func(a, v, _ uint64) bool { return a >= v },
		"SCMP_CMP_MASKED_EQ": func(a, v, v2 uint64) bool { return a&v == v2 },
	}
	values := []uint64{0, 1, 0x7fffffff, 0xffffffff, 1 << 32, 0x1_00000005, 0xffffffff_fffffffe}
	var args []uint64
	for _, v := range values {
		args = append(args, v-1, v, v+1, v^(1<<32), v^0xff)
	}
	const hit = unix.SECCOMP_RET_ERRNO | 99
	for op, fn := range ops {
		for _, v := range values {
			for _, v2 := range []uint64{0, v & 0xf0f0f0f0_f0f0f0f0, v} {
				if op != "SCMP_CMP_MASKED_EQ" && v2 != 0 {
					continue
				}
				p := writeProfile(t, fmt.Sprintf(`{"defaultAction":"SCMP_ACT_ALLOW",
					"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
					"syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":99,
					"args":[{"index":3,"value":%d,"valueTwo":%d,"op":%q}]}]}`, v, v2, op))
				vm := newVM(t, mustCompile(t, Options{Profile: p}))
				for _, a := range args {
					want := func(arg uint64) uint32 {
						if fn(arg, v, v2) {
							return hit
						}
						return allow
					}
					if got := vm.run(unix.AUDIT_ARCH_X86_64, 39, 0, 0, 0, a); got != want(a) {
						t.Errorf("x86_64 %s(%#x, %#x) on %#x: %#x, want %#x", op, v, v2, a, got, want(a))
					}
					if got := vm.run(unix.AUDIT_ARCH_I386, 20, 0, 0, 0, a); got != want(uint64(uint32(a))) {
						t.Errorf("i386 %s(%#x, %#x) on %#x: %#x, want %#x", op, v, v2, a, got, want(uint64(uint32(a))))
					}
				}
			}
		}
	}
}

func TestRuleCombination(t *testing.T) {
	needAMD64(t)
	// Distinct indexes AND; a repeated index makes each condition a rule of
	// its own (OR), as runc does; an unconditional rule does not hide a
	// conditional one written before or after it.
	p := writeProfile(t, `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
		{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[
			{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":1,"value":2,"op":"SCMP_CMP_EQ"}]},
		{"names":["write"],"action":"SCMP_ACT_ALLOW","args":[
			{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]},
		{"names":["close"],"action":"SCMP_ACT_ALLOW"},
		{"names":["close"],"action":"SCMP_ACT_ERRNO","errnoRet":9,"args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"}]}
	]}`)
	v := newVM(t, mustCompile(t, Options{Profile: p}))
	const x86_64 = unix.AUDIT_ARCH_X86_64
	for _, c := range []struct {
		name string
		nr   uint32
		args []uint64
		want uint32
	}{
		{"read 1 2", 0, []uint64{1, 2}, allow},
		{"read 1 3", 0, []uint64{1, 3}, eperm},
		{"write 1", 1, []uint64{1}, allow},
		{"write 2", 1, []uint64{2}, allow},
		{"write 3", 1, []uint64{3}, eperm},
		{"close 0", 3, []uint64{0}, unix.SECCOMP_RET_ERRNO | 9},
		{"close 5", 3, []uint64{5}, allow},
	} {
		if got := v.run(x86_64, c.nr, c.args...); got != c.want {
			t.Errorf("%s: %#x, want %#x", c.name, got, c.want)
		}
	}
}

func TestLongJumps(t *testing.T) {
	needAMD64(t)
	// 200 alternatives for one syscall make a body far longer than a
	// conditional jump reaches.
	var args []string
	for i := range 200 {
		args = append(args, fmt.Sprintf(`{"index":0,"value":%d,"op":"SCMP_CMP_EQ"}`, i*3))
	}
	p := writeProfile(t, `{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
		"syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ERRNO","args":[`+strings.Join(args, ",")+`]},
		{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":7}]}`)
	f := mustCompile(t, Options{Profile: p})
	if f.Len() < 3*256 {
		t.Fatalf("filter has only %d instructions; the test needs long jumps", f.Len())
	}
	jumps := 0
	for _, in := range f.prog {
		if in.Code == unix.BPF_JMP|unix.BPF_JA {
			jumps++
		}
	}
	if jumps == 0 {
		t.Fatal("no BPF_JA in the filter: the long jumps were not exercised")
	}
	v := newVM(t, f)
	for _, arch := range []struct {
		audit        uint32
		getpid, ppid uint32
	}{
		{unix.AUDIT_ARCH_X86_64, 39, 110},
		{unix.AUDIT_ARCH_I386, 20, 64},
		{unix.AUDIT_ARCH_X86_64, x32SyscallBit | 39, x32SyscallBit | 110},
	} {
		for _, c := range []struct {
			nr   uint32
			arg  uint64
			want uint32
		}{
			{arch.getpid, 0, eperm},
			{arch.getpid, 597, eperm},
			{arch.getpid, 598, allow},
			{arch.getpid, 600, allow},
			{arch.ppid, 0, unix.SECCOMP_RET_ERRNO | 7},
			{1, 0, allow},
		} {
			if got := v.run(arch.audit, c.nr, c.arg); got != c.want {
				t.Errorf("arch %#x nr %#x arg %d: %#x, want %#x", arch.audit, c.nr, c.arg, got, c.want)
			}
		}
	}
}

// TestTables spot-checks the generated native table against x/sys's own
// constants, which are built for this GOARCH only.
func TestTables(t *testing.T) {
	abis, err := abisFor(runtime.GOARCH)
	if err != nil {
		t.Skip(err)
	}
	for name, want := range map[string]uintptr{
		"getpid": unix.SYS_GETPID, "mkdirat": unix.SYS_MKDIRAT, "clone3": unix.SYS_CLONE3,
		"personality": unix.SYS_PERSONALITY, "socket": unix.SYS_SOCKET, "kexec_load": unix.SYS_KEXEC_LOAD,
		"mount": unix.SYS_MOUNT, "unshare": unix.SYS_UNSHARE, "getppid": unix.SYS_GETPPID,
	} {
		if got, ok := abis[0].nr(name); !ok || uintptr(got) != want {
			t.Errorf("%s: %d, %v; want %d", name, got, ok, want)
		}
	}
}

// The host side compiles and the container's init installs: the program must cross intact.
func TestEncodeDecode(t *testing.T) {
	f, err := Compile(Options{})
	if err != nil {
		t.Fatal(err)
	}
	prog, flags := f.Encode()
	g, err := Decode(prog, flags)
	if err != nil {
		t.Fatal(err)
	}
	if g.Len() != f.Len() || g.flags != f.flags {
		t.Fatalf("decoded %d instructions, flags %#x; compiled %d, %#x", g.Len(), g.flags, f.Len(), f.flags)
	}
	for i := range f.prog {
		if f.prog[i] != g.prog[i] {
			t.Fatalf("instruction %d: decoded %+v, compiled %+v", i, g.prog[i], f.prog[i])
		}
	}
	for _, bad := range [][]byte{nil, prog[:len(prog)-1]} {
		if _, err := Decode(bad, 0); err == nil {
			t.Errorf("Decode of %d bytes: no error", len(bad))
		}
	}
}
