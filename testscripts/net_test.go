package testscripts

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// hostAddr is the host's first non-loopback IPv4 address: what a container dials to reach
// a service on the host ("" when the host has none).
func hostAddr() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			return ipn.IP.String()
		}
	}
	return ""
}

// cmdFreeport sets each named variable to a port free for both TCP and UDP on the host, so
// that scripts running in parallel never fight over a fixed number.
func cmdFreeport(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: freeport VAR...")
	}
	var held []io.Closer
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for _, name := range args {
		for {
			ln, err := net.Listen("tcp", ":0")
			ts.Check(err)
			port := ln.Addr().(*net.TCPAddr).Port
			held = append(held, ln)
			u, err := net.ListenPacket("udp", ":"+strconv.Itoa(port))
			if err != nil {
				continue
			}
			held = append(held, u)
			ts.Setenv(name, strconv.Itoa(port))
			break
		}
	}
}

// cmdWaithttp polls URL until its body contains TEXT (a published port's service is up),
// with a deadline instead of a sleep. Negated, it asserts that URL cannot be reached.
func cmdWaithttp(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 && !(neg && len(args) == 1) {
		ts.Fatalf("usage: waithttp URL TEXT | ! waithttp URL")
	}
	client := &http.Client{Timeout: 2 * time.Second}
	if neg {
		resp, err := client.Get(args[0])
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			ts.Fatalf("%s answered: %q", args[0], body)
		}
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := client.Get(args[0])
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), args[1]) {
				ts.Logf("%s: %s", args[0], strings.TrimSpace(string(body)))
				return
			}
			last = string(body)
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("%s did not answer %q within 30s (last: %s)", args[0], args[1], last)
}

// cmdUDPEcho sends TEXT to HOST:PORT over UDP until the same text comes back (an echo
// server behind a published UDP port), with a deadline.
func cmdUDPEcho(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: udpecho HOST:PORT TEXT")
	}
	conn, err := net.Dial("udp", args[0])
	ts.Check(err)
	defer conn.Close()
	buf := make([]byte, 1024)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		conn.Write([]byte(args[1]))
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := conn.Read(buf)
		if err == nil && strings.Contains(string(buf[:n]), args[1]) {
			return
		}
	}
	ts.Fatalf("no UDP echo of %q from %s within 30s", args[1], args[0])
}

// udpEchoServerMain is the udpechoserver program, run inside containers (the test binary
// is static, so it runs on any root filesystem): it echoes every datagram on the port
// given as its argument back to its sender.
func udpEchoServerMain() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: udpechoserver PORT")
		os.Exit(2)
	}
	conn, err := net.ListenPacket("udp", ":"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buf := make([]byte, 65536)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			os.Exit(1)
		}
		conn.WriteTo(buf[:n], from)
	}
}

// tcpPeerServerMain is the tcppeerserver program, run inside containers: it answers every
// TCP connection on the port given as its argument with the address the connection came
// from, as the container sees it, and closes it. A second argument, tcp4 or tcp6, makes it
// listen on IPv4 only or IPv6 only (Go's tcp6 listeners are IPv6-only).
func tcpPeerServerMain() {
	if len(os.Args) != 2 && len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: tcppeerserver PORT [tcp4|tcp6]")
		os.Exit(2)
	}
	network := "tcp"
	if len(os.Args) == 3 {
		network = os.Args[2]
	}
	ln, err := net.Listen(network, ":"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		fmt.Fprintf(c, "peer %s\n", host)
		c.Close()
	}
}

// cmdTCPPeer connects to HOST:PORT until a line comes back (a tcppeerserver behind a
// published port), with a deadline, and writes that line to stdout.
func cmdTCPPeer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: tcppeer HOST:PORT")
	}
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", args[0], 2*time.Second)
		if err == nil {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, err := io.ReadAll(c)
			c.Close()
			if err == nil && strings.HasSuffix(string(line), "\n") {
				fmt.Fprint(ts.Stdout(), string(line))
				return
			}
			last = fmt.Errorf("read %q: %v", line, err)
		} else {
			last = err
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("no answer from %s within 30s (last: %v)", args[0], last)
}

// cmdTCPHold connects to HOST:PORT, creates FILE once connected, and holds the connection
// until the far side ends it (a container stopping behind a published port), failing if
// that does not happen within 30s or if any byte arrives.
func cmdTCPHold(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: tcphold HOST:PORT FILE")
	}
	c, err := net.DialTimeout("tcp", args[0], 5*time.Second)
	if err != nil {
		ts.Fatalf("connecting to %s: %v", args[0], err)
	}
	defer c.Close()
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), nil, 0o644))
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, err := io.Copy(io.Discard, c)
	if err != nil {
		ts.Fatalf("the connection to %s did not end within 30s: %v", args[0], err)
	}
	if n != 0 {
		ts.Fatalf("%d bytes came from %s; want none", n, args[0])
	}
}

// cmdTCPCap opens N connections at once to HOST:PORT and waits until exactly HELD of them
// stay open and the rest have been closed by the far side (a forwarder at its limit), then
// closes one held connection and waits until a new connection is held in its place. It
// fails if that does not happen within 10s.
func cmdTCPCap(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: tcpcap HOST:PORT N HELD")
	}
	n, err1 := strconv.Atoi(args[1])
	want, err2 := strconv.Atoi(args[2])
	if err1 != nil || err2 != nil || want > n {
		ts.Fatalf("usage: tcpcap HOST:PORT N HELD")
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", args[0], 5*time.Second)
		if err != nil {
			ts.Fatalf("connection %d to %s: %v", i+1, args[0], err)
		}
		conns = append(conns, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	gone := make([]bool, n)
	for {
		open := 0
		for i, c := range conns {
			if !gone[i] && stillOpen(c) {
				open++
			} else {
				gone[i] = true
			}
		}
		if open == want {
			break
		}
		if open < want || time.Now().After(deadline) {
			ts.Fatalf("%d of %d connections open; want %d", open, n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range conns {
		if !gone[i] {
			conns[i].Close()
			break
		}
	}
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", args[0], 5*time.Second)
		if err != nil {
			ts.Fatalf("connecting again to %s: %v", args[0], err)
		}
		conns = append(conns, c)
		time.Sleep(20 * time.Millisecond)
		if stillOpen(c) {
			fmt.Fprintf(ts.Stdout(), "held %d closed %d, then a freed place taken again\n", want, n-want)
			return
		}
	}
	ts.Fatalf("no new connection was held after one was closed")
}

// stillOpen reports whether c has been neither closed nor reset by the far side (and sent
// nothing).
func stillOpen(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(time.Millisecond))
	var b [1]byte
	_, err := c.Read(b[:])
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
