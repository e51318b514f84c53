package netns

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// ApplyRules replaces the namespace's whole nftables ruleset with the one the networks
// and leases call for. sbx is the namespace's only user of nftables, so starting from an
// empty ruleset in the same transaction is safe, and a crash can never leave half a set.
//
//   - ip sbx postrouting: traffic leaving through the outbound device is masqueraded.
//   - ip sbx prerouting: a TCP packet for one of the forwarder's transparent sockets (a
//     reply to a connection dialled from a published port's client address) is marked,
//     so that it is routed to the socket instead of out to that address.
//   - ip sbx forward: each bridge talks only to itself and the outbound device (networks
//     are isolated from each other, as docker's are); an internal network not even to that.
//   - bridge sbx forward: on a network with icc off, traffic between containers is dropped
//     except ARP and what links allow (the target's exposed ports, both directions). The
//     bridge family has no connection tracking here, so replies are matched by source port.
func (s *Space) ApplyRules(networks []*Network, leases []Lease) error {
	// Most changes (a container on an icc-on network coming or going) leave the rules as
	// they are: skip the netlink round trip then. The caller holds the lease lock.
	sum := rulesInput(networks, leases)
	sumPath := filepath.Join(s.Dir, "rules.sum")
	if old, err := os.ReadFile(sumPath); err == nil && string(old) == sum {
		return nil
	}
	os.Remove(sumPath)
	err := In(s.File, func() error {
		c, err := nftables.New()
		if err != nil {
			return fmt.Errorf("opening nftables: %w", err)
		}
		c.FlushRuleset()
		ip := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: "sbx"})
		post := c.AddChain(&nftables.Chain{Name: "postrouting", Table: ip, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
		c.AddRule(&nftables.Rule{Table: ip, Chain: post, Exprs: join(
			ifname(expr.MetaKeyOIFNAME, OutboundDevice, true), []expr.Any{&expr.Masq{}})})
		pre := c.AddChain(&nftables.Chain{Name: "prerouting", Table: ip, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityMangle})
		c.AddRule(&nftables.Rule{Table: ip, Chain: pre, Exprs: join(l4(unix.IPPROTO_TCP), []expr.Any{
			&expr.Socket{Key: expr.SocketKeyTransparent, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{1}},
			&expr.Immediate{Register: 1, Data: binary.NativeEndian.AppendUint32(nil, transparentMark)},
			&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
		})})
		fwd := c.AddChain(&nftables.Chain{Name: "forward", Table: ip, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter})
		for _, n := range networks {
			br := n.BridgeName()
			if n.Internal {
				c.AddRule(&nftables.Rule{Table: ip, Chain: fwd, Exprs: join(
					ifname(expr.MetaKeyIIFNAME, br, true), ifnameNot(expr.MetaKeyOIFNAME, br), drop())})
				c.AddRule(&nftables.Rule{Table: ip, Chain: fwd, Exprs: join(
					ifname(expr.MetaKeyOIFNAME, br, true), ifnameNot(expr.MetaKeyIIFNAME, br), drop())})
				continue
			}
			c.AddRule(&nftables.Rule{Table: ip, Chain: fwd, Exprs: join(
				ifname(expr.MetaKeyIIFNAME, br, true), ifnameNot(expr.MetaKeyOIFNAME, br),
				ifnameNot(expr.MetaKeyOIFNAME, OutboundDevice), drop())})
		}

		brt := c.AddTable(&nftables.Table{Family: nftables.TableFamilyBridge, Name: "sbx"})
		bfwd := c.AddChain(&nftables.Chain{Name: "forward", Table: brt, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter})
		c.AddRule(&nftables.Rule{Table: brt, Chain: bfwd, Exprs: join(etherType(unix.ETH_P_ARP), accept())})
		for _, n := range networks {
			if n.ICC {
				continue
			}
			for _, l := range leases {
				if l.Network != n.Name {
					continue
				}
				for _, a := range l.Allow {
					proto := byte(unix.IPPROTO_TCP)
					if a.Proto == "udp" {
						proto = unix.IPPROTO_UDP
					}
					src, dst := l.IP.As4(), a.IP.As4()
					port := binary.BigEndian.AppendUint16(nil, uint16(a.Port))
					// client -> target:port
					c.AddRule(&nftables.Rule{Table: brt, Chain: bfwd, Exprs: join(etherType(unix.ETH_P_IP),
						ipField(12, src[:]), ipField(16, dst[:]), l4(proto), l4Field(2, port), accept())})
					// target:port -> client
					c.AddRule(&nftables.Rule{Table: brt, Chain: bfwd, Exprs: join(etherType(unix.ETH_P_IP),
						ipField(12, dst[:]), ipField(16, src[:]), l4(proto), l4Field(0, port), accept())})
				}
			}
			c.AddRule(&nftables.Rule{Table: brt, Chain: bfwd, Exprs: join(
				ifname(expr.MetaKeyOIFNAME, n.VethPrefix(), false), drop())})
		}
		if err := c.Flush(); err != nil {
			return fmt.Errorf("applying nftables rules in the bridge namespace: %w", err)
		}
		return nil
	})
	if err == nil {
		os.WriteFile(sumPath, []byte(sum), 0o600)
	}
	return err
}

// rulesInput is everything ApplyRules' rule set depends on, as text.
func rulesInput(networks []*Network, leases []Lease) string {
	var b strings.Builder
	b.WriteString("transparent prerouting\n") // rules that depend on nothing: their version
	for _, n := range networks {
		fmt.Fprintf(&b, "net %s %s %v %v\n", n.BridgeName(), n.VethPrefix(), n.Internal, n.ICC)
		if n.ICC {
			continue
		}
		for _, l := range leases {
			if l.Network == n.Name && len(l.Allow) > 0 {
				fmt.Fprintf(&b, "allow %s %v\n", l.IP, l.Allow)
			}
		}
	}
	h := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(h[:])
}

func join(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// ifname matches an interface name; whole=false matches a prefix.
func ifname(key expr.MetaKey, name string, whole bool) []expr.Any {
	data := []byte(name)
	if whole {
		data = make([]byte, unix.IFNAMSIZ)
		copy(data, name)
	}
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: data},
	}
}

func ifnameNot(key expr.MetaKey, name string) []expr.Any {
	data := make([]byte, unix.IFNAMSIZ)
	copy(data, name)
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: data},
	}
}

func etherType(t uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyPROTOCOL, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, t)},
	}
}

func ipField(offset uint32, v []byte) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: uint32(len(v))},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: v},
	}
}

func l4(proto byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
	}
}

func l4Field(offset uint32, v []byte) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: offset, Len: uint32(len(v))},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: v},
	}
}

func drop() []expr.Any   { return []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}} }
func accept() []expr.Any { return []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}} }
