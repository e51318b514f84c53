package netns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sbx-dev/sbx/state"
)

// Options say where the namespace lives and how it reaches the world.
type Options struct {
	Dir string // in the holder's tmpfs
	// Outbound is "slirp4netns" or "pasta"; "none" gives a namespace with no way out.
	Outbound string
	MTU      int
	// HolderPID is the namespace holder: slirp4netns watches its lifeline pipe
	// (/proc/HOLDERPID/fd/100) and exits with it (pasta exits with the namespace itself).
	HolderPID int
}

// outboundRecord is DIR/outbound.toml.
type outboundRecord struct {
	Kind    string        `toml:"kind"`
	Process state.Process `toml:"process"`
}

// OutboundDevice is the interface through which the namespace reaches the world.
const OutboundDevice = "tap0"

// Open returns the user's bridge namespace, making it and starting its outbound helper
// when they are missing (the first container, or after the helper died).
func Open(o Options) (*Space, error) {
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, err
	}
	lk, err := state.LockFile(filepath.Join(o.Dir, "lock"))
	if err != nil {
		return nil, err
	}
	defer lk.Unlock()
	path := filepath.Join(o.Dir, "ns")
	f, err := openExisting(path)
	if err != nil {
		if f, err = create(path); err != nil {
			return nil, err
		}
	}
	s := &Space{Dir: o.Dir, File: f}
	if o.Outbound == "none" {
		return s, nil
	}
	recPath := filepath.Join(o.Dir, "outbound.toml")
	var rec outboundRecord
	if err := state.ReadTOML(recPath, &rec); err == nil && rec.Process.Alive() {
		return s, nil
	}
	rec, err = startOutbound(o, f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := state.ReplaceTOML(recPath, rec); err != nil {
		syscall.Kill(rec.Process.PID, syscall.SIGKILL)
		f.Close()
		return nil, err
	}
	return s, nil
}

// CheckOutbound says, in one line with the fix, why outbound networking cannot work here.
func CheckOutbound(kind string) error {
	switch kind {
	case "none":
		return nil
	case "slirp4netns", "pasta":
	default:
		return fmt.Errorf("unknown outbound network stack %q in config.toml: use slirp4netns or pasta", kind)
	}
	if _, err := exec.LookPath(kind); err != nil {
		pkg := kind
		if kind == "pasta" {
			pkg = "passt"
		}
		return fmt.Errorf("outbound networking needs %s, which is not installed: install the %s package (apt-get install %s), or run with --net=none", kind, pkg, pkg)
	}
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return errors.New("outbound networking needs /dev/net/tun, which you may not open: run 'sudo chmod 0666 /dev/net/tun' (udev does it on most hosts), or run with --net=none")
		}
		return fmt.Errorf("outbound networking needs /dev/net/tun: %v; load the tun module, or run with --net=none", err)
	}
	f.Close()
	return nil
}

// startOutbound starts the helper that links the namespace ns (bind-mounted at nsPath) to
// the world, and returns once it serves. It is started detached from us (its own session)
// and ends when the holder does.
func startOutbound(o Options, ns *os.File, nsPath string) (outboundRecord, error) {
	if err := CheckOutbound(o.Outbound); err != nil {
		return outboundRecord{}, err
	}
	logPath := filepath.Join(o.Dir, o.Outbound+".log")
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return outboundRecord{}, err
	}
	defer log.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return outboundRecord{}, err
	}
	defer readyR.Close()
	var cmd *exec.Cmd
	switch o.Outbound {
	case "slirp4netns":
		lifeline, err := os.Open(fmt.Sprintf("/proc/%d/fd/100", o.HolderPID))
		if err != nil {
			readyW.Close()
			return outboundRecord{}, fmt.Errorf("opening the holder's lifeline: %w", err)
		}
		defer lifeline.Close()
		// fd 3 is the lifeline, fd 4 the ready pipe. The host's loopback stays out of reach
		// (as with docker, a container cannot reach the host's 127.0.0.1).
		cmd = exec.Command("slirp4netns", "--configure", fmt.Sprintf("--mtu=%d", o.MTU),
			"--disable-host-loopback", "--exit-fd=3", "--ready-fd=4",
			"--netns-type=path", nsPath, OutboundDevice)
		cmd.ExtraFiles = []*os.File{lifeline, readyW}
	case "pasta":
		var files []*os.File
		cmd, files, err = pastaCommand(o, ns, logPath)
		if err != nil {
			readyW.Close()
			return outboundRecord{}, err
		}
		defer closeAll(files)
		cmd.ExtraFiles = append(cmd.ExtraFiles, readyW) // fd 5
	default:
		readyW.Close()
		return outboundRecord{}, fmt.Errorf("unknown outbound network stack %q", o.Outbound)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		readyW.Close()
		return outboundRecord{}, fmt.Errorf("starting %s: %w", o.Outbound, err)
	}
	readyW.Close()
	// The helper writes to the ready pipe once it serves (slirp4netns a byte, pasta its pid);
	// a dead helper closes the pipe; a wedged one is given a generous deadline.
	readyR.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	if n, err := readyR.Read(b[:]); n != 1 {
		cmd.Process.Kill()
		cmd.Wait()
		why, _ := os.ReadFile(logPath)
		return outboundRecord{}, fmt.Errorf("%s did not start: %s", o.Outbound, lastLine(string(why), err))
	}
	p, err := state.Identify(cmd.Process.Pid)
	cmd.Process.Release() // it outlives us; init reaps it
	if err != nil {
		return outboundRecord{}, fmt.Errorf("%s exited at start", o.Outbound)
	}
	return outboundRecord{Kind: o.Outbound, Process: p}, nil
}

// logPrefix is pasta's "SECONDS: LEVEL: " before each line of its log file.
var logPrefix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+\.[0-9]+:\s+[A-Za-z]+:\s+`) })

func lastLine(s string, fallback error) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if l := logPrefix().ReplaceAllString(strings.TrimSpace(lines[len(lines)-1]), ""); l != "" {
		return l
	}
	return fallback.Error()
}
