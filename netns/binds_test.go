package netns

import (
	"encoding/binary"
	"net/netip"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// rawSockaddr is a socket address as a bind caller passes it in memory.
func rawSockaddr(family uint16, port uint16, addr []byte) []byte {
	b := make([]byte, 28)
	binary.NativeEndian.PutUint16(b, family)
	binary.BigEndian.PutUint16(b[2:], port)
	if family == unix.AF_INET {
		copy(b[4:], addr)
		return b[:16]
	}
	copy(b[8:], addr)
	return b
}

func TestParseSockaddr(t *testing.T) {
	mapped := netip.MustParseAddr("::ffff:10.88.0.2").As16()
	tests := []struct {
		name string
		raw  []byte
		addr netip.Addr
		port int
		ok   bool
	}{
		{"IPv4 any", rawSockaddr(unix.AF_INET, 80, []byte{0, 0, 0, 0}), netip.MustParseAddr("0.0.0.0"), 80, true},
		{"IPv4 address", rawSockaddr(unix.AF_INET, 8080, []byte{10, 88, 0, 2}), netip.MustParseAddr("10.88.0.2"), 8080, true},
		{"IPv6 any", rawSockaddr(unix.AF_INET6, 5201, make([]byte, 16)), netip.IPv6Unspecified(), 5201, true},
		{"IPv6 mapped", rawSockaddr(unix.AF_INET6, 443, mapped[:]), netip.AddrFrom16(mapped), 443, true},
		{"IPv6 too short", rawSockaddr(unix.AF_INET6, 443, mapped[:])[:24], netip.Addr{}, 0, false},
		{"unix socket", rawSockaddr(unix.AF_UNIX, 0, nil), netip.Addr{}, 0, false},
	}
	for _, tt := range tests {
		_, addr, port, ok := parseSockaddr(tt.raw)
		if ok != tt.ok || addr != tt.addr || port != tt.port {
			t.Errorf("%s: got %v %d %v, want %v %d %v", tt.name, addr, port, ok, tt.addr, tt.port, tt.ok)
		}
	}
	// The container's own address, mapped or not, is what a handed-over bind may name.
	if _, addr, _, _ := parseSockaddr(rawSockaddr(unix.AF_INET6, 443, mapped[:])); addr.Unmap() != netip.MustParseAddr("10.88.0.2") {
		t.Errorf("mapped address %v does not unmap to 10.88.0.2", addr)
	}
}

func TestCloseOnExecAndThreadGroup(t *testing.T) {
	r, w, err := os.Pipe() // close-on-exec, as everything Go opens
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if !closeOnExec(os.Getpid(), int(r.Fd())) {
		t.Errorf("a close-on-exec pipe read as inherited")
	}
	if _, err := unix.FcntlInt(w.Fd(), unix.F_SETFD, 0); err != nil {
		t.Fatal(err)
	}
	if closeOnExec(os.Getpid(), int(w.Fd())) {
		t.Errorf("an inherited pipe read as close-on-exec")
	}
	if got := threadGroup(unix.Gettid()); got != os.Getpid() {
		t.Errorf("threadGroup(this thread) = %d, want %d", got, os.Getpid())
	}
}
