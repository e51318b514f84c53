package netns

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The outbound link's addresses are slirp4netns's defaults (what its --configure sets up),
// and pasta is given the same, so containers see one network whichever stack runs: the
// bridge namespace is 10.0.2.100/24 on tap0, routes everything to 10.0.2.2, and the
// containers' resolver is 10.0.2.3, which the stack forwards to the host's.
const (
	outboundAddr    = "10.0.2.100"
	outboundPrefix  = 24
	outboundGateway = "10.0.2.2"
	outboundDNS     = "10.0.2.3"
)

// pastaCommand prepares pasta for the bridge namespace ns. The returned files must be
// closed once pasta has started (it has its own copies).
//
// Lifetime. pasta (2023 builds included) has no --exit-fd, does not quit when a PID target
// exits, and quits on its own only when a filesystem-bound namespace is unlinked, which
// nothing does when the holder dies. So sbx ties it to the namespace instead: sbx makes the
// tap device itself and hands pasta only its descriptor (--fd). pasta treats such a
// descriptor as a one-off connection and exits as soon as it reports an error, which a tap
// does once its device is gone, and the device goes with the bridge namespace, which goes
// with the holder (its only lasting reference is the bind mount in the holder's tmpfs).
// For that, pasta must hold no reference to the bridge namespace: the tap is opened in a
// namespace of its own (a tap's descriptor pins the namespace it was opened in), moved
// into the bridge namespace, and pasta is pointed at that first namespace (--netns), where
// it keeps its own sockets. pasta leaves the holder's mount namespace when it sandboxes
// itself, so it pins nothing of the holder either.
func pastaCommand(o Options, ns *os.File, logPath string) (*exec.Cmd, []*os.File, error) {
	if err := In(ns, removeStaleTap); err != nil {
		return nil, nil, fmt.Errorf("removing a stale %s: %w", OutboundDevice, err)
	}
	tap, own, err := pastaTap(ns)
	if err != nil {
		return nil, nil, err
	}
	files := []*os.File{tap, own}
	if err := In(ns, func() error { return configureOutbound(o.MTU) }); err != nil {
		closeAll(files)
		return nil, nil, err
	}
	cmd := exec.Command("pasta",
		"--foreground", "--quiet", "--ipv4-only",
		"--fd", "3", // the tap
		"--netns", "/proc/self/fd/4", "--no-netns-quit", // the tap's own namespace
		// The pid is written once pasta has sandboxed itself and is about to serve: the
		// ready signal, through the pipe at fd 5.
		"--pid", "/proc/self/fd/5",
		"--log-file", logPath,
		// As root in the host's user namespace pasta would switch to nobody, who may not
		// enter the namespace it is given; our own ids are what slirp4netns runs with.
		"--runas", fmt.Sprintf("%d:%d", os.Geteuid(), os.Getegid()),
		// No port forwarding by pasta: the supervisors publish ports, pasta binds nothing.
		"-t", "none", "-u", "none", "-T", "none", "-U", "none",
		"--address", outboundAddr, "--netmask", strconv.Itoa(outboundPrefix),
		"--gateway", outboundGateway, "--dns-forward", outboundDNS,
		// The gateway is not the host's loopback (slirp4netns --disable-host-loopback).
		"--no-map-gw", "--no-dhcp",
		"--mtu", strconv.Itoa(o.MTU))
	cmd.ExtraFiles = files
	return cmd, files, nil
}

// pastaTap makes tap0 in a namespace of its own and moves it into ns. It returns the tap's
// descriptor (non-blocking, as pasta expects) and the namespace it was opened in.
func pastaTap(ns *os.File) (tap, own *os.File, err error) {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends in the new namespace
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("creating pasta's namespace: %w", err)
			return
		}
		if own, err = os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())); err != nil {
			done <- err
			return
		}
		if tap, err = openTap(OutboundDevice); err != nil {
			done <- err
			return
		}
		l, err := netlink.LinkByName(OutboundDevice)
		if err == nil {
			err = netlink.LinkSetNsFd(l, int(ns.Fd()))
		}
		if err != nil {
			err = fmt.Errorf("moving %s into the bridge namespace: %w", OutboundDevice, err)
		}
		done <- err
	}()
	if err := <-done; err != nil {
		closeAll([]*os.File{tap, own})
		return nil, nil, err
	}
	return tap, own, nil
}

// openTap creates the tap device name in the calling thread's namespace.
func openTap(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening /dev/net/tun: %w", err)
	}
	var req struct {
		name  [unix.IFNAMSIZ]byte
		flags uint16
		_     [22]byte
	}
	copy(req.name[:], name)
	req.flags = unix.IFF_TAP | unix.IFF_NO_PI
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req))); e != 0 {
		unix.Close(fd)
		return nil, fmt.Errorf("creating %s: %w", name, e)
	}
	// A descriptor that was non-blocking when it was wrapped stays so: Fd() (which exec
	// calls) only resets descriptors that Go itself made non-blocking.
	return os.NewFile(uintptr(fd), "/dev/net/tun"), nil
}

// configureOutbound addresses tap0 and routes through it, as slirp4netns --configure
// does; it runs inside the bridge namespace.
func configureOutbound(mtu int) error {
	l, err := netlink.LinkByName(OutboundDevice)
	if err != nil {
		return fmt.Errorf("finding %s in the bridge namespace: %w", OutboundDevice, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(outboundAddr).To4(), Mask: net.CIDRMask(outboundPrefix, 32)}}
	steps := []struct {
		what string
		do   func() error
	}{
		{"setting its mtu", func() error { return netlink.LinkSetMTU(l, mtu) }},
		{"addressing it", func() error { return netlink.AddrReplace(l, addr) }},
		{"bringing it up", func() error { return netlink.LinkSetUp(l) }},
		{"routing through it", func() error {
			return netlink.RouteReplace(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: net.ParseIP(outboundGateway)})
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %s: %w", OutboundDevice, s.what, err)
		}
	}
	return nil
}

// removeStaleTap deletes a tap0 left in the bridge namespace by an outbound helper that
// is gone (a tap normally vanishes with its last descriptor); it runs inside the namespace.
func removeStaleTap() error {
	l, err := netlink.LinkByName(OutboundDevice)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return netlink.LinkDel(l)
}

func closeAll(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}
