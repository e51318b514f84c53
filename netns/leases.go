package netns

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"

	"github.com/sbx-dev/sbx/state"
)

// Lease is one running container's address on one network. Leases live in the holder's
// tmpfs (DIR/leases.toml), so they vanish with the bridge namespace they describe; a lease
// whose supervisor died is dropped by the next change.
type Lease struct {
	Network   string        `toml:"network"` // network name
	IP        netip.Addr    `toml:"ip"`
	Container string        `toml:"container"` // ID
	Name      string        `toml:"name"`
	Aliases   []string      `toml:"aliases"`
	HostVeth  string        `toml:"host_veth"`
	Owner     state.Process `toml:"owner"` // the container's supervisor
	// Hosts is the container's /etc/hosts, rewritten in place when peers come and go.
	Hosts string `toml:"hosts"`
	// Allow lists what this container may reach on a network with icc off: its links'
	// exposed ports ("10.88.0.3 80/tcp").
	Allow []Allow `toml:"allow"`
}

// Allow is a linked target's address and one of its exposed ports.
type Allow struct {
	IP    netip.Addr `toml:"ip"`
	Port  int        `toml:"port"`
	Proto string     `toml:"proto"`
}

type leaseFile struct {
	Leases []Lease `toml:"lease"`
}

func (s *Space) leasesPath() string { return filepath.Join(s.Dir, "leases.toml") }

// UpdateLeases changes the lease table under its lock. fn sees only live leases (those of
// dead supervisors are dropped first) and may change the slice.
func (s *Space) UpdateLeases(fn func(leases []Lease) ([]Lease, error)) ([]Lease, error) {
	lk, err := state.LockFile(filepath.Join(s.Dir, "leases.lock"))
	if err != nil {
		return nil, err
	}
	defer lk.Unlock()
	var lf leaseFile
	if err := state.ReadTOML(s.leasesPath(), &lf); err != nil && !errors.Is(err, state.ErrNotExist) {
		return nil, err
	}
	live := lf.Leases[:0]
	for _, l := range lf.Leases {
		if l.Owner.Alive() {
			live = append(live, l)
		}
	}
	read := slices.Clone(live)
	dropped := len(live) < len(lf.Leases)
	out, err := fn(live)
	if err != nil {
		return nil, err
	}
	if !dropped && reflect.DeepEqual(out, read) {
		return out, nil // unchanged: rewriting the table would cost as much as reading it
	}
	if err := state.ReplaceTOML(s.leasesPath(), leaseFile{Leases: out}); err != nil {
		return nil, err
	}
	return out, nil
}

// Leases returns the live leases.
func (s *Space) Leases() ([]Lease, error) {
	var lf leaseFile
	if err := state.ReadTOML(s.leasesPath(), &lf); err != nil && !errors.Is(err, state.ErrNotExist) {
		return nil, err
	}
	var live []Lease
	for _, l := range lf.Leases {
		if l.Owner.Alive() {
			live = append(live, l)
		}
	}
	return live, nil
}

// AddLease appends l to the table. Its veth name must be free: Attach takes a veth of
// that name for a leftover of the same container and replaces it, which must never hit
// another container whose ID happens to start the same.
func AddLease(leases []Lease, l Lease) ([]Lease, error) {
	for _, o := range leases {
		if o.HostVeth == l.HostVeth && o.Container != l.Container {
			return nil, fmt.Errorf("container %s and running container %s share the interface name %s: remove this one and create it again",
				l.Name, o.Name, l.HostVeth)
		}
	}
	return append(leases, l), nil
}

// FreeAddress picks the lowest address of n that no lease and no gateway uses.
func FreeAddress(n *Network, leases []Lease) (netip.Addr, error) {
	used := map[netip.Addr]bool{n.Gateway: true}
	for _, l := range leases {
		if l.Network == n.Name {
			used[l.IP] = true
		}
	}
	last := lastAddr(n.Subnet)
	for a := n.Subnet.Addr().Next(); a.IsValid() && a.Less(last); a = a.Next() {
		if !used[a] {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("network %s has no free address left in %s", n.Name, n.Subnet)
}

// lastAddr is the subnet's broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
