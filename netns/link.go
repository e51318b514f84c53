package netns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// setupNamespace readies a fresh bridge namespace; it runs on a thread inside it.
func setupNamespace() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("finding lo in the bridge namespace: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bringing lo up in the bridge namespace: %w", err)
	}
	// /proc/sys/net shows the namespace of the thread that opens it.
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0); err != nil {
		return fmt.Errorf("enabling forwarding in the bridge namespace: %w", err)
	}
	// Replies to the forwarder's transparent sockets (see ApplyRules) are marked; a marked
	// packet is delivered locally whatever its destination, instead of leaving by tap0.
	rule := netlink.NewRule()
	rule.Mark, rule.Table, rule.Priority = transparentMark, transparentTable, 100
	if err := netlink.RuleAdd(rule); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("routing replies to published ports: %w", err)
	}
	local := &netlink.Route{LinkIndex: lo.Attrs().Index, Type: unix.RTN_LOCAL, Scope: netlink.SCOPE_HOST,
		Table: transparentTable, Dst: &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}}
	if err := netlink.RouteReplace(local); err != nil {
		return fmt.Errorf("routing replies to published ports: %w", err)
	}
	return nil
}

// transparentMark marks packets for the forwarder's transparent sockets, and
// transparentTable is the routing table that delivers them locally.
const (
	transparentMark  = 0x5b0
	transparentTable = 0x5b0
)

// Bridge is one network's bridge in the namespace.
type Bridge struct {
	Name    string
	Gateway netip.Prefix // the bridge's own address, with the subnet's length
	MTU     int
}

// ensureBridge makes the bridge if it is missing; it runs inside the namespace.
func ensureBridge(b Bridge) (netlink.Link, error) {
	if l, err := netlink.LinkByName(b.Name); err == nil {
		return l, nil
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = b.Name
	attrs.MTU = b.MTU
	br := &netlink.Bridge{LinkAttrs: attrs}
	if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("creating bridge %s: %w", b.Name, err)
	}
	l, err := netlink.LinkByName(b.Name)
	if err != nil {
		return nil, err
	}
	addr := &netlink.Addr{IPNet: prefixNet(b.Gateway)}
	if err := netlink.AddrAdd(l, addr); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("addressing bridge %s: %w", b.Name, err)
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return nil, fmt.Errorf("bringing bridge %s up: %w", b.Name, err)
	}
	return l, nil
}

// Attachment is one container's link to one network.
type Attachment struct {
	Bridge   Bridge
	HostVeth string       // the bridge side's name in the namespace
	IfName   string       // the name in the container: eth0, eth1...
	Address  netip.Prefix // the container's address and the subnet's length
	// DefaultRoute routes everything through this network's gateway (the first network).
	DefaultRoute bool
}

// MAC is the address docker gives an interface: 02:42 and then the IPv4 address, so that
// it is stable and unique on the bridge.
func MAC(ip netip.Addr) net.HardwareAddr {
	b := ip.As4()
	return net.HardwareAddr{0x02, 0x42, b[0], b[1], b[2], b[3]}
}

// Attach links the container whose network namespace is ctr to a bridge: a veth pair with
// one end on the bridge and the other, addressed and up, in the container.
func (s *Space) Attach(ctr *os.File, a Attachment) error {
	return In(s.File, func() error {
		br, err := ensureBridge(a.Bridge)
		if err != nil {
			return err
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name = a.HostVeth
		attrs.MTU = a.Bridge.MTU
		attrs.MasterIndex = br.Attrs().Index
		attrs.Flags = net.FlagUp // the bridge side is up from its creation
		veth := &netlink.Veth{
			LinkAttrs:        attrs,
			PeerName:         a.IfName,
			PeerMTU:          uint32(a.Bridge.MTU),
			PeerHardwareAddr: MAC(a.Address.Addr()),
			PeerNamespace:    netlink.NsFd(int(ctr.Fd())),
		}
		err = netlink.LinkAdd(veth)
		if errors.Is(err, unix.EEXIST) {
			// The name is the container's own (AddLease keeps it unique among the live
			// leases), so the veth there is left from its last run: the kernel removes the
			// veths of a dead network namespace in the background, and under load one can
			// outlive its container by a while. It is removed and made again.
			if old, lerr := netlink.LinkByName(a.HostVeth); lerr == nil {
				netlink.LinkDel(old)
			}
			err = netlink.LinkAdd(veth)
		}
		if err != nil {
			return fmt.Errorf("creating the container's veth: %w", err)
		}
		if err := configureInside(ctr, a); err != nil {
			netlink.LinkDel(veth)
			return err
		}
		return nil
	})
}

// configureInside addresses the container's end and routes through the gateway.
func configureInside(ctr *os.File, a Attachment) error {
	h, err := netlink.NewHandleAt(vnetns.NsHandle(int(ctr.Fd())), unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("reaching the container's network namespace: %w", err)
	}
	defer h.Close()
	l, err := h.LinkByName(a.IfName)
	if err != nil {
		return fmt.Errorf("finding %s in the container: %w", a.IfName, err)
	}
	if err := h.AddrAdd(l, &netlink.Addr{IPNet: prefixNet(a.Address)}); err != nil {
		return fmt.Errorf("addressing %s: %w", a.IfName, err)
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("bringing %s up: %w", a.IfName, err)
	}
	// lo is the init's to bring up (it does, in every network namespace of its own).
	if a.DefaultRoute {
		gw := a.Bridge.Gateway.Addr()
		route := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: net.IP(gw.AsSlice())}
		if err := h.RouteAdd(route); err != nil {
			return fmt.Errorf("routing through %s: %w", gw, err)
		}
	}
	return nil
}

// Detach removes a container's veth from the bridge side (its peer goes with it).
func (s *Space) Detach(hostVeth string) error { return s.removeLink(hostVeth) }

// RemoveBridge deletes a network's bridge (network rm).
func (s *Space) RemoveBridge(name string) error { return s.removeLink(name) }

// removeLink deletes an interface of the namespace. One already gone, as a veth whose
// container's namespace died first, is not an error.
func (s *Space) removeLink(name string) error {
	return In(s.File, func() error {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return nil
		}
		if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("removing %s: %w", name, err)
		}
		return nil
	})
}

func prefixNet(p netip.Prefix) *net.IPNet {
	bits := p.Addr().BitLen()
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
}
