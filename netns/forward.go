package netns

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Port is one published port. HostPort 0 asks for any free port.
type Port struct {
	HostIP        string // "" listens on every address
	HostPort      int
	ContainerPort int
	Proto         string // tcp or udp
}

// Forwarder relays published ports from the host to one container. It runs inside the
// container's supervisor: its listeners are in the supervisor's (the host's) network
// namespace, each connection is dialled from a thread inside the bridge namespace, and the
// bytes move by splice (Go's TCPConn.ReadFrom). There is no process per port, and the ports
// are released when the supervisor exits. A TCP connection keeps the client's address where
// it can (see dialAs); UDP flows come from the gateway's address.
//
// A TCP port's listener is handed to the server in the container that binds the port,
// when the init sends the container's binds here (ServeBinds, binds.go); the relay serves
// the port until then, and for good where that cannot be.
//
// The forwarder can instead be handed to the idle supervisor (package run/idlesup), which
// relays the same listeners and hands them over in C (see Handoff).
type Forwarder struct {
	space  *Space
	target netip.Addr
	mu     sync.Mutex
	closed bool
	closer map[io.Closer]bool // listeners and live connections
	tcp    []tcpPort
	udp    []udpPort
}

type tcpPort struct {
	ln   *net.TCPListener // the relay's; nil once handed to a server (binds.go)
	port int              // the container's
	// mapping is the -p it serves (two listeners serve one once split, see binds.go);
	// dom and v6only are the listener's family and whether it is IPv6-only, and
	// everyAddress whether it listens on every address of the host.
	mapping      int
	dom          int
	v6only       bool
	everyAddress bool
	// held is the host's listener once handed to a server, kept; hostDial is where a
	// connection to the port on the host is made from here; inside is the container's own
	// socket for the port, of the last server that was handed it.
	held     heldFD // -1 until then
	hostDial string
	inside   *net.TCPListener
}

type udpPort struct {
	conn *net.UDPConn
	port int
}

// udpIdle is how long a UDP flow with no traffic keeps its socket in the namespace.
const udpIdle = 2 * time.Minute

// Listen binds every port before the container starts, so a port in use is an error
// that stops the start. It returns the ports as bound (HostPort filled in). Nothing is
// accepted before Serve: connections wait in the listeners' backlog.
func Listen(space *Space, target netip.Addr, ports []Port) (*Forwarder, []Port, error) {
	f := &Forwarder{space: space, target: target, closer: map[io.Closer]bool{}}
	var bound []Port
	for mapping, p := range ports {
		addr := net.JoinHostPort(p.HostIP, strconv.Itoa(p.HostPort))
		switch p.Proto {
		case "udp":
			pc, err := net.ListenPacket("udp", addr)
			if err != nil {
				f.Close()
				return nil, nil, portError(p, err)
			}
			conn := pc.(*net.UDPConn)
			p.HostPort = conn.LocalAddr().(*net.UDPAddr).Port
			f.closer[conn] = true
			f.udp = append(f.udp, udpPort{conn, p.ContainerPort})
		default:
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				f.Close()
				return nil, nil, portError(p, err)
			}
			p.HostPort = ln.Addr().(*net.TCPAddr).Port
			f.closer[ln] = true
			t := tcpPort{ln: ln.(*net.TCPListener), port: p.ContainerPort, held: -1, mapping: mapping}
			if fd, err := rawFD(t.ln); err == nil {
				t.dom, t.v6only, _ = socketKind(fd)
			}
			dial := p.HostIP
			if ip, err := netip.ParseAddr(dial); dial == "" || (err == nil && ip.IsUnspecified()) {
				t.everyAddress = true
				dial = "127.0.0.1" // every address listens to both families
			}
			t.hostDial = net.JoinHostPort(dial, strconv.Itoa(p.HostPort))
			f.tcp = append(f.tcp, t)
		}
		bound = append(bound, p)
	}
	return f, bound, nil
}

// TCP reports whether a TCP port is published.
func (f *Forwarder) TCP() bool { return len(f.tcp) > 0 }

// Serve starts relaying every port in this process.
func (f *Forwarder) Serve() {
	for _, p := range f.tcp {
		go f.serveTCP(p.ln, p.port)
	}
	for _, p := range f.udp {
		go f.serveUDP(p.conn, p.port)
	}
}

// Listener is one bound TCP port as another process relays it: the listening socket's
// descriptor (in the host's network namespace) and where its connections go.
type Listener struct {
	FD     int
	Target netip.AddrPort
	UDP    bool
}

// Handoff is what the idle supervisor needs to relay this forwarder's ports itself: the
// listeners (descriptors the forwarder still owns), the bridge namespace to dial from, and
// the outbound device, whose routes tell the idle supervisor for which clients a TCP
// connection keeps the client's address (see dialAs). ok is false when this process
// cannot enter the namespace (then neither could the idle supervisor, which has the same
// credentials): the Go forwarder must stay.
func (f *Forwarder) Handoff() (ls []Listener, ns *os.File, outbound string, ok bool) {
	if len(f.tcp)+len(f.udp) == 0 {
		return nil, nil, "", false
	}
	if err := In(f.space.File, func() error { return nil }); err != nil {
		return nil, nil, "", false
	}
	add := func(c syscall.Conn, port int, udp bool) bool {
		fd, err := rawFD(c)
		if err != nil {
			return false
		}
		ls = append(ls, Listener{FD: fd, Target: netip.AddrPortFrom(f.target, uint16(port)), UDP: udp})
		return true
	}
	for _, p := range f.tcp {
		if !add(p.ln, p.port, false) {
			return nil, nil, "", false
		}
	}
	for _, p := range f.udp {
		if !add(p.conn, p.port, true) {
			return nil, nil, "", false
		}
	}
	return ls, f.space.File, OutboundDevice, true
}

func portError(p Port, err error) error {
	host := p.HostIP
	if host == "" {
		host = "0.0.0.0"
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("port %s:%d/%s is already in use on the host: publish another host port (-p OTHER:%d)", host, p.HostPort, p.Proto, p.ContainerPort)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("publishing %s:%d/%s: ports below net.ipv4.ip_unprivileged_port_start need root: use a port of 1024 or more", host, p.HostPort, p.Proto)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("publishing %s:%d/%s: %s is not an address of this host", host, p.HostPort, p.Proto, host)
	}
	return fmt.Errorf("publishing %s:%d/%s: %w", host, p.HostPort, p.Proto, err)
}

// Close stops listening and ends every relayed connection.
func (f *Forwarder) Close() {
	f.mu.Lock()
	f.closed = true
	closers := f.closer
	f.closer = nil
	f.mu.Unlock()
	for c := range closers {
		c.Close()
	}
}

// track registers a connection to be closed with the forwarder; false if it is closing.
func (f *Forwarder) track(c io.Closer) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		c.Close()
		return false
	}
	f.closer[c] = true
	return true
}

// untrack closes a finished connection and forgets it.
func (f *Forwarder) untrack(c io.Closer) {
	f.mu.Lock()
	delete(f.closer, c)
	f.mu.Unlock()
	c.Close()
}

// dial connects to the container from inside the bridge namespace.
func (f *Forwarder) dial(network string, port int) (net.Conn, error) {
	var conn net.Conn
	err := In(f.space.File, func() error {
		var err error
		conn, err = net.DialTimeout(network, net.JoinHostPort(f.target.String(), strconv.Itoa(port)), 10*time.Second)
		return err
	})
	return conn, err
}

func (f *Forwarder) serveTCP(ln *net.TCPListener, port int) {
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		go f.relayTCP(c, port)
	}
}

// dialAs connects to the container from inside the bridge namespace with the client's own
// address as the source, so that the container sees who connected. The socket is
// transparent (IP_TRANSPARENT, allowed by CAP_NET_ADMIN in the holder's user namespace,
// which owns the bridge namespace) and bound to that address; the container answers it
// through its gateway, and the namespace's rules deliver the answers to the socket (see
// ApplyRules). Only addresses that the namespace reaches through the outbound device can
// be used: the host's loopback, the namespace's own and the bridges' addresses, and IPv6
// clients get a connection from the gateway, as does any failure to set this up.
func (f *Forwarder) dialAs(from netip.Addr, port int) (net.Conn, error) {
	var conn net.Conn
	err := In(f.space.File, func() error {
		if !reachedOutside(from) {
			return errNotTransparent
		}
		d := net.Dialer{
			Timeout:   10 * time.Second,
			LocalAddr: &net.TCPAddr{IP: from.AsSlice()},
			Control: func(_, _ string, c syscall.RawConn) error {
				var serr error
				if err := c.Control(func(fd uintptr) {
					serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_TRANSPARENT, 1)
				}); err != nil {
					return err
				}
				return serr
			},
		}
		var err error
		conn, err = d.Dial("tcp", net.JoinHostPort(f.target.String(), strconv.Itoa(port)))
		return err
	})
	return conn, err
}

var errNotTransparent = errors.New("the client's address cannot be kept")

// reachedOutside reports whether the namespace routes addr out through the outbound
// device: only then does the container's answer to it come back into the namespace (and
// not, say, to the container's own loopback). It runs inside the namespace.
func reachedOutside(addr netip.Addr) bool {
	if !addr.Is4() || addr.IsLoopback() || addr.IsUnspecified() || addr.IsMulticast() {
		return false
	}
	routes, err := netlink.RouteGet(addr.AsSlice())
	if err != nil || len(routes) == 0 || routes[0].Type != unix.RTN_UNICAST {
		return false
	}
	l, err := netlink.LinkByIndex(routes[0].LinkIndex)
	return err == nil && l.Attrs().Name == OutboundDevice
}

func (f *Forwarder) relayTCP(client *net.TCPConn, port int) {
	up, err := net.Conn(nil), errNotTransparent
	if from, ok := netip.AddrFromSlice(client.RemoteAddr().(*net.TCPAddr).IP); ok {
		up, err = f.dialAs(from.Unmap(), port)
	}
	// A container that refuses or does not answer is not asked twice; a socket that could
	// not be made transparent (or bound) falls back to the gateway's address.
	var ne net.Error
	if err != nil && !errors.Is(err, syscall.ECONNREFUSED) && !(errors.As(err, &ne) && ne.Timeout()) {
		up, err = f.dial("tcp", port)
	}
	if err != nil {
		client.Close() // the client sees the connection closed, as with docker's proxy
		return
	}
	f.splice(client, up.(*net.TCPConn))
}

// splice moves the bytes between two connections until both directions end, then closes
// them.
func (f *Forwarder) splice(client, upstream *net.TCPConn) {
	if !f.track(client) || !f.track(upstream) {
		client.Close()
		upstream.Close()
		return
	}
	done := make(chan struct{}, 2)
	// Each direction half-closes when its source ends, so protocols that shut down
	// writing and then read (HTTP/1.0 clients, iperf3) keep working.
	pipe := func(dst, src *net.TCPConn) {
		io.Copy(dst, src) // splice(2) between the two sockets
		dst.CloseWrite()
		done <- struct{}{}
	}
	go pipe(upstream, client)
	go pipe(client, upstream)
	<-done
	<-done
	f.untrack(client)
	f.untrack(upstream)
}

func (f *Forwarder) serveUDP(conn *net.UDPConn, port int) {
	var mu sync.Mutex
	flows := map[string]*net.UDPConn{}
	buf := make([]byte, 65536)
	for {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		key := from.String()
		mu.Lock()
		up := flows[key]
		mu.Unlock()
		if up == nil {
			c, err := f.dial("udp", port)
			if err != nil {
				continue
			}
			up = c.(*net.UDPConn)
			if !f.track(up) {
				return
			}
			mu.Lock()
			flows[key] = up
			mu.Unlock()
			go func(up *net.UDPConn, from *net.UDPAddr, key string) {
				reply := make([]byte, 65536)
				for {
					up.SetReadDeadline(time.Now().Add(udpIdle))
					n, err := up.Read(reply)
					if err != nil {
						break
					}
					conn.WriteToUDP(reply[:n], from)
				}
				mu.Lock()
				delete(flows, key)
				mu.Unlock()
				f.untrack(up)
			}(up, from, key)
		}
		up.Write(buf[:n])
	}
}
