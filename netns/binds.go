package netns

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Handing published ports to the container's servers.
//
// A relay runs two more TCP stacks and a splice per byte, and on two cores that halves
// what a published port carries. So when a process in the container binds a port that is
// published (TCP, on the container's address or on any address), the supervisor hands it
// the port's listening socket on the host instead: the container's init sends its bind
// calls here (a seccomp user notification, see proto.Config.BindNotify), the supervisor
// binds the process's own socket as asked, in the container's namespace, and puts the
// host's listener in its place (SECCOMP_IOCTL_NOTIF_ADDFD). The server then accepts the
// host's connections itself: the bytes take the host's loopback path, and the server sees
// each client's real address.
//
// The container's own socket stays bound where the server asked, and the supervisor relays
// what reaches it (the container itself, other containers, links) to the host's port, so
// the port answers everywhere it did; those connections come from the host's loopback.
//
// The supervisor keeps the listener too, so the host's port stays the container's while it
// runs: a server that closes the port and binds it again (a restart) is handed the same
// listener, and connections made in between wait in its backlog.
//
// The server's socket and the host's listener must be of one kind. A port published on
// every address has one listener for both families, which an IPv6 server that is not
// IPv6-only takes; for an IPv4 or IPv6-only server it is split in two (see listenerFor). A
// port published more than once, a port published on one address of the other family, or
// any step failing leaves the port to the relay, as before.

// The kernel's struct seccomp_notif, seccomp_notif_resp and seccomp_notif_addfd.
type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

type seccompResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

type seccompAddFD struct {
	ID         uint64
	Flags      uint32
	SrcFD      uint32
	NewFD      uint32
	NewFDFlags uint32
}

func notifIoctl(fd int, req uint, arg unsafe.Pointer) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
	if e != 0 {
		return e
	}
	return nil
}

// ServeBinds answers the bind calls of the container's processes, sent on notify (the
// init's seccomp listener), for as long as the container runs. Call it after Serve. The
// listener waits in Go's poller: no thread is kept for it.
func (f *Forwarder) ServeBinds(notify *os.File) {
	dup, err := unix.FcntlInt(notify.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	notify.Close()
	if err != nil {
		return
	}
	if err := unix.SetNonblock(dup, true); err != nil {
		unix.Close(dup)
		return
	}
	pollable := os.NewFile(uintptr(dup), "bind listener") // non-blocking: in the poller
	rc, err := pollable.SyscallConn()
	if err != nil {
		pollable.Close()
		return
	}
	go func() {
		defer pollable.Close()
		// The function answers every call that waits, and is called again when more do;
		// once no process of the container is left (POLLHUP), it is done.
		rc.Read(func(fd uintptr) bool {
			for {
				ready := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
				n, err := unix.Poll(ready, 0)
				if err == unix.EINTR {
					continue
				}
				if err != nil || n == 0 {
					return err != nil
				}
				if ready[0].Revents&unix.POLLIN == 0 {
					return true
				}
				f.answer(int(fd))
			}
		})
	}()
}

// answer receives one bind call and answers it.
func (f *Forwarder) answer(fd int) {
	var n seccompNotif
	// ENOENT: the caller was interrupted or killed as it was being told about.
	if notifIoctl(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&n)) != nil {
		return
	}
	resp := seccompResp{ID: n.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	if errno, done := f.bind(fd, &n); done {
		resp.Flags = 0
		resp.Error = -int32(errno)
	}
	// ENOENT: the caller went away meanwhile.
	notifIoctl(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp))
}

// bind carries out one bind call, or leaves it to the kernel (done false): it does it
// itself only for a published port it can hand over.
func (f *Forwarder) bind(notify int, n *seccompNotif) (errno unix.Errno, done bool) {
	if n.Nr != unix.SYS_BIND || n.Args[2] < 16 || n.Args[2] > 128 {
		return 0, false
	}
	raw := make([]byte, n.Args[2])
	local := []unix.Iovec{{Base: &raw[0], Len: uint64(len(raw))}}
	remote := []unix.RemoteIovec{{Base: uintptr(n.Args[1]), Len: len(raw)}}
	got, err := unix.ProcessVMReadv(int(n.Pid), local, remote, 0)
	// The caller may have gone, and its pid been reused, between the two.
	if err != nil || got != len(raw) || notifIoctl(notify, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&n.ID)) != nil {
		return 0, false
	}
	sa, addr, port, ok := parseSockaddr(raw)
	if !ok || !(addr.IsUnspecified() || addr.Unmap() == f.target) {
		return 0, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	entries := f.published(port)
	if len(entries) == 0 {
		return 0, false
	}
	// The caller may be a thread other than its process's first: pidfd_open takes that.
	pidfd, err := unix.PidfdOpen(threadGroup(int(n.Pid)), 0)
	if err != nil {
		return 0, false
	}
	sock, err := unix.PidfdGetfd(pidfd, int(n.Args[0]), 0)
	unix.Close(pidfd)
	if err != nil {
		return 0, false
	}
	defer unix.Close(sock)
	dom, v6only, ok := socketKind(sock)
	if !ok || (dom == unix.AF_INET6) != addr.Is6() {
		return 0, false
	}
	i := f.listenerFor(entries, dom, v6only)
	if i < 0 {
		return 0, false
	}
	// The container's socket of the last server that was handed the port goes first: the
	// new one is bound where it was.
	if p := &f.tcp[i]; p.inside != nil {
		delete(f.closer, p.inside)
		p.inside.Close()
		p.inside = nil
	}
	// The process's own bind, as it asked, on its own socket: its answer is the call's.
	if err := unix.Bind(sock, sa); err != nil {
		if e, ok := err.(unix.Errno); ok {
			return e, true
		}
		return unix.EINVAL, true
	}
	f.handOver(notify, n, sock, i)
	return 0, true
}

// published is the TCP listeners of the container's port, if it is published once (on one
// address; its listeners are two once split, see listenerFor); nil if not.
func (f *Forwarder) published(port int) []int {
	var idx []int
	for i, p := range f.tcp {
		if p.port == port {
			if len(idx) > 0 && f.tcp[idx[0]].mapping != p.mapping {
				return nil
			}
			idx = append(idx, i)
		}
	}
	if f.closed {
		return nil
	}
	return idx
}

// socketKind says what the container's socket sock is: its family and, for IPv6, whether
// it is IPv6-only; ok is false unless it is a TCP (or MPTCP) socket.
func socketKind(sock int) (dom int, v6only bool, ok bool) {
	typ, err1 := unix.GetsockoptInt(sock, unix.SOL_SOCKET, unix.SO_TYPE)
	proto, err2 := unix.GetsockoptInt(sock, unix.SOL_SOCKET, unix.SO_PROTOCOL)
	dom, err3 := unix.GetsockoptInt(sock, unix.SOL_SOCKET, unix.SO_DOMAIN)
	// Go's listeners ask for MPTCP where the kernel has it; the host's TCP listener serves.
	if err1 != nil || err2 != nil || err3 != nil || typ != unix.SOCK_STREAM || (proto != unix.IPPROTO_TCP && proto != unix.IPPROTO_MPTCP) {
		return 0, false, false
	}
	switch dom {
	case unix.AF_INET:
		return dom, false, true
	case unix.AF_INET6:
		only, err := unix.GetsockoptInt(sock, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
		return dom, only != 0, err == nil
	}
	return 0, false, false
}

// listenerFor is the index of the listener among entries (one published port's) that a
// socket of family dom (IPv6-only or not) can take: one of the same kind. A port published
// on every address starts with one listener for both families (IPv6, not IPv6-only, what
// most servers bind); for a server that binds IPv4 only or IPv6 only, while no server has
// it, it is split in two, one per family, and the server takes its own. -1 if none serves.
func (f *Forwarder) listenerFor(entries []int, dom int, v6only bool) int {
	for _, i := range entries {
		if f.tcp[i].dom == dom && f.tcp[i].v6only == v6only {
			return i
		}
	}
	if len(entries) != 1 {
		return -1
	}
	p := &f.tcp[entries[0]]
	if !p.everyAddress || p.dom != unix.AF_INET6 || p.v6only || p.held >= 0 || p.ln == nil {
		return -1
	}
	return f.split(entries[0], dom, v6only)
}

// split replaces listener i, for both families on every address, by one per family, and
// returns the index of the one of family dom (-1 if it could not be had). The port is free
// between the close and the binds, for as short as two system calls take.
func (f *Forwarder) split(i, dom int, v6only bool) int {
	p := &f.tcp[i]
	hostPort := p.ln.Addr().(*net.TCPAddr).Port
	port := strconv.Itoa(hostPort)
	delete(f.closer, p.ln)
	p.ln.Close()
	p.ln = nil
	ln4, err := net.Listen("tcp4", "0.0.0.0:"+port)
	if err != nil {
		// Back to one listener for both families, if the port is still to be had.
		if ln, err := net.Listen("tcp", ":"+port); err == nil {
			p.ln = ln.(*net.TCPListener)
			f.closer[ln] = true
			go f.serveTCP(p.ln, p.port)
		}
		return -1
	}
	p.ln, p.dom, p.v6only = ln4.(*net.TCPListener), unix.AF_INET, false
	f.closer[ln4] = true
	go f.serveTCP(p.ln, p.port)
	v6 := -1
	// Go makes tcp6 listeners IPv6-only. A host without IPv6 has only the IPv4 one.
	if ln6, err := net.Listen("tcp6", "[::]:"+port); err == nil {
		q := *p
		q.ln, q.dom, q.v6only = ln6.(*net.TCPListener), unix.AF_INET6, true
		q.hostDial = net.JoinHostPort("::1", port)
		f.tcp = append(f.tcp, q)
		f.closer[ln6] = true
		v6 = len(f.tcp) - 1
		go f.serveTCP(q.ln, q.port)
	}
	if dom == unix.AF_INET {
		return i
	}
	if v6only {
		return v6
	}
	return -1
}

// hostListener is port i's host listener's descriptor (the relay's, or the one held).
func (f *Forwarder) hostListener(i int) (int, error) {
	p := &f.tcp[i]
	if p.held >= 0 {
		return int(p.held), nil
	}
	return rawFD(p.ln)
}

// rawFD is the descriptor of a socket that package net owns, for system calls made while
// it stays open.
func rawFD(c syscall.Conn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := rc.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return -1, err
	}
	return fd, nil
}

// handOver puts port i's host listener in place of the caller's descriptor for sock,
// which is bound already, and relays sock's connections to the host's port. If the
// listener cannot be handed over, the caller keeps its own socket, and the relay goes on.
//
// The supervisor keeps a descriptor of the listener: the port stays the container's while
// no server has it (connections wait in its backlog for the next), and the next server
// that binds the port is handed the same listener.
func (f *Forwarder) handOver(notify int, n *seccompNotif, sock, i int) {
	p := &f.tcp[i]
	given := p.held >= 0 // to a server before
	if !given {
		host, err := f.hostListener(i)
		if err != nil {
			return
		}
		dup, err := unix.FcntlInt(uintptr(host), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return
		}
		// No more accepting here: the server takes the connections from now on, those
		// already waiting too.
		delete(f.closer, p.ln)
		p.ln.Close()
		p.ln = nil
		p.held = heldFD(dup)
		f.closer[p.held] = true
	}
	host := int(p.held)
	// The caller's socket's file status flags (O_NONBLOCK) become the listener's, and its
	// descriptor keeps its close-on-exec flag.
	if fl, err := unix.FcntlInt(uintptr(sock), unix.F_GETFL, 0); err == nil {
		unix.FcntlInt(uintptr(host), unix.F_SETFL, fl&(unix.O_NONBLOCK|unix.O_ASYNC))
	}
	add := seccompAddFD{ID: n.ID, Flags: unix.SECCOMP_ADDFD_FLAG_SETFD, SrcFD: uint32(host), NewFD: uint32(n.Args[0])}
	if closeOnExec(int(n.Pid), int(n.Args[0])) {
		add.NewFDFlags = unix.O_CLOEXEC
	}
	if err := notifIoctl(notify, unix.SECCOMP_IOCTL_NOTIF_ADDFD, unsafe.Pointer(&add)); err != nil {
		if !given {
			f.relayAgain(i) // no server had it yet: the relay goes on
		}
		return
	}
	// The container's socket listens where the server asked, for the relay to the host.
	if err := unix.Listen(sock, unix.SOMAXCONN); err != nil {
		return
	}
	inside, err := fileListener(sock)
	if err != nil {
		return
	}
	p.inside = inside
	f.closer[inside] = true
	go f.serveInside(inside, p.hostDial)
}

// relayAgain gives port i's held listener, which could not be handed over, back to the relay.
func (f *Forwarder) relayAgain(i int) {
	p := &f.tcp[i]
	ln, err := fileListener(int(p.held))
	if err != nil {
		return
	}
	delete(f.closer, p.held)
	p.held.Close()
	p.held = -1
	p.ln = ln
	f.closer[ln] = true
	go f.serveTCP(ln, p.port)
}

// heldFD is a host listener's descriptor, kept as it is: an *os.File's Fd would make the
// listener blocking, under the server that has it.
type heldFD int

func (h heldFD) Close() error { return unix.Close(int(h)) }

// fileListener makes a listener of its own (on a duplicate) from a listening socket.
func fileListener(fd int) (*net.TCPListener, error) {
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	file := os.NewFile(uintptr(dup), "listener")
	defer file.Close()
	ln, err := net.FileListener(file)
	if err != nil {
		return nil, err
	}
	return ln.(*net.TCPListener), nil
}

// threadGroup is the process (thread group) of thread tid.
func threadGroup(tid int) int {
	v, _ := procField("/proc/"+strconv.Itoa(tid)+"/status", "Tgid:")
	if pid, err := strconv.Atoi(v); err == nil {
		return pid
	}
	return tid
}

// closeOnExec reports whether pid's descriptor fd closes on execve (from its fdinfo).
func closeOnExec(pid, fd int) bool {
	v, _ := procField(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd), "flags:")
	fl, err := strconv.ParseUint(v, 8, 64)
	return err == nil && fl&unix.O_CLOEXEC != 0
}

// procField is the value of the line starting with key in a /proc file of such lines.
func procField(path, key string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte(key)); ok {
			return string(bytes.TrimSpace(v)), true
		}
	}
	return "", false
}

// parseSockaddr reads an AF_INET or AF_INET6 socket address as bind's caller gave it.
func parseSockaddr(raw []byte) (unix.Sockaddr, netip.Addr, int, bool) {
	family := binary.NativeEndian.Uint16(raw)
	port := int(binary.BigEndian.Uint16(raw[2:]))
	switch {
	case family == unix.AF_INET:
		a := [4]byte(raw[4:8])
		return &unix.SockaddrInet4{Port: port, Addr: a}, netip.AddrFrom4(a), port, true
	case family == unix.AF_INET6 && len(raw) >= 28:
		a := [16]byte(raw[8:24])
		scope := binary.NativeEndian.Uint32(raw[24:])
		return &unix.SockaddrInet6{Port: port, Addr: a, ZoneId: scope}, netip.AddrFrom16(a), port, true
	}
	return nil, netip.Addr{}, 0, false
}

// serveInside relays the connections that reach the container's own socket to the host's
// port, which the server listens on.
func (f *Forwarder) serveInside(ln *net.TCPListener, hostDial string) {
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			return
		}
		go func() {
			up, err := net.Dial("tcp", hostDial)
			if err != nil {
				c.Close()
				return
			}
			f.splice(c, up.(*net.TCPConn))
		}()
	}
}
