package netns

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// newNetns makes a network namespace on a thread of its own and returns it open; the
// namespace lives as long as the file.
func newNetns(t *testing.T) *os.File {
	t.Helper()
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends in the new namespace
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- result{err: err}
			return
		}
		f, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		done <- result{f, err}
	}()
	r := <-done
	if r.err != nil {
		t.Skipf("cannot make a network namespace: %v", r.err)
	}
	t.Cleanup(func() { r.f.Close() })
	return r.f
}

// A container started again while the kernel has not yet removed the veth of its last run
// (the namespace cleanup runs in the background) gets a new veth in place of the old one.
func TestAttachReplacesTheContainersLeftoverVeth(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make network namespaces and mount one")
	}
	dir := t.TempDir()
	nsPath := filepath.Join(dir, "ns")
	f, err := create(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close(); unix.Unmount(nsPath, unix.MNT_DETACH) })
	space := &Space{Dir: dir, File: f}

	a := Attachment{
		Bridge:   Bridge{Name: "sbxtest0", Gateway: netip.MustParsePrefix("10.250.0.1/24"), MTU: 1500},
		HostVeth: "vethtest0",
		IfName:   "eth0",
		Address:  netip.MustParsePrefix("10.250.0.2/24"),
	}
	// The last run's veth: its peer sits in a namespace that is still there.
	if err := space.Attach(newNetns(t), a); err != nil {
		t.Fatalf("first attach: %v", err)
	}
	ctr := newNetns(t)
	if err := space.Attach(ctr, a); err != nil {
		t.Fatalf("attach over the leftover veth: %v", err)
	}
	h, err := netlink.NewHandleAt(vnetns.NsHandle(int(ctr.Fd())), unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatalf("the new container has no eth0: %v", err)
	}
	addrs, err := h.AddrList(l, unix.AF_INET)
	if err != nil || len(addrs) != 1 || addrs[0].IP.String() != "10.250.0.2" {
		t.Fatalf("eth0's addresses: %v %v", addrs, err)
	}
	// The bridge side is the new pair's: its peer is the new container's eth0.
	err = In(f, func() error {
		host, err := netlink.LinkByName("vethtest0")
		if err != nil {
			return err
		}
		if host.Attrs().ParentIndex != l.Attrs().Index {
			return fmt.Errorf("vethtest0's peer is interface %d, the new eth0 is %d", host.Attrs().ParentIndex, l.Attrs().Index)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAddLeaseRefusesAnotherContainersVethName(t *testing.T) {
	leases := []Lease{{Container: "aaaa", Name: "one", HostVeth: "veth12345678"}}
	if _, err := AddLease(leases, Lease{Container: "bbbb", Name: "two", HostVeth: "veth12345678"}); err == nil {
		t.Fatal("a second container got the same veth name")
	}
	out, err := AddLease(leases, Lease{Container: "aaaa", Name: "one", Network: "other", HostVeth: "vethx2345678"})
	if err != nil || len(out) != 2 {
		t.Fatalf("AddLease = %v, %v", out, err)
	}
}
