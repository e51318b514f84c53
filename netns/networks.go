package netns

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sbx-dev/sbx/state"
)

// Errors callers check with errors.Is.
var (
	ErrNetworkNotFound = errors.New("network not found")
	ErrNetworkExists   = errors.New("network already exists")
)

// DefaultNetwork is docker's name for the network containers join by default.
const DefaultNetwork = "bridge"

// Network is one network definition. "bridge" is built in (from config.toml); the others
// are DATA/networks/NAME.toml, made by `sbx network create`.
type Network struct {
	ID       string            `toml:"id"`
	Name     string            `toml:"name"`
	Driver   string            `toml:"driver"`
	Subnet   netip.Prefix      `toml:"subnet"`
	Gateway  netip.Addr        `toml:"gateway"`
	Internal bool              `toml:"internal"`
	ICC      bool              `toml:"icc"`
	MTU      int               `toml:"mtu"`
	Labels   map[string]string `toml:"labels"`
	Options  map[string]string `toml:"options"`
	Created  time.Time         `toml:"created"`
}

// Default reports whether n is the built-in default bridge, where (as in docker) names
// resolve only through --link.
func (n *Network) Default() bool { return n.Name == DefaultNetwork }

// BridgeName is the bridge's interface name in the namespace (15 bytes at most).
func (n *Network) BridgeName() string {
	if n.Default() {
		return "sbx0"
	}
	return "br-" + n.ID[:12]
}

// VethPrefix starts the name of every container veth on this network, so nftables can
// match the network's ports by name.
func (n *Network) VethPrefix() string { return "s" + n.ID[:5] + "-" }

// Bridge is n's bridge, for Attach.
func (n *Network) Bridge() Bridge {
	return Bridge{Name: n.BridgeName(), Gateway: netip.PrefixFrom(n.Gateway, n.Subnet.Bits()), MTU: n.MTU}
}

// Networks is the user's set of network definitions.
type Networks struct {
	Dir string // DATA/networks
	// Builtin is the default bridge, as config.toml describes it.
	Builtin Network
}

// BuiltinNetwork describes the default bridge from config.toml's values.
func BuiltinNetwork(subnet string, mtu int, icc bool) (Network, error) {
	p, err := netip.ParsePrefix(subnet)
	if err != nil || !p.Addr().Is4() {
		return Network{}, fmt.Errorf("invalid network.subnet %q in config.toml: use an IPv4 CIDR such as 10.88.0.0/16", subnet)
	}
	p = p.Masked()
	sum := sha256.Sum256([]byte("sbx default bridge"))
	return Network{
		ID: hex.EncodeToString(sum[:]), Name: DefaultNetwork, Driver: "bridge",
		Subnet: p, Gateway: p.Addr().Next(), ICC: icc, MTU: mtu,
		Options: map[string]string{"com.docker.network.bridge.name": "sbx0"},
	}, nil
}

var validNetworkName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`) })

func (ns *Networks) file(name string) string { return filepath.Join(ns.Dir, name+".toml") }

// List returns every network, the default bridge first.
func (ns *Networks) List() ([]*Network, error) {
	b := ns.Builtin
	out := []*Network{&b}
	entries, err := os.ReadDir(ns.Dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var user []*Network
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".toml")
		if !ok {
			continue
		}
		var n Network
		if err := state.ReadTOML(ns.file(name), &n); err != nil {
			continue // a half-written file of a crashed create: state.WriteTOMLAtomic never leaves one
		}
		user = append(user, &n)
	}
	sort.Slice(user, func(i, j int) bool { return user[i].Name < user[j].Name })
	return append(out, user...), nil
}

// Get finds a network by name, ID or unique ID prefix.
func (ns *Networks) Get(ref string) (*Network, error) {
	all, err := ns.List()
	if err != nil {
		return nil, err
	}
	var found *Network
	for _, n := range all {
		if n.Name == ref || n.ID == ref {
			return n, nil
		}
		if len(ref) >= 3 && strings.HasPrefix(n.ID, ref) {
			if found != nil {
				return nil, fmt.Errorf("network id prefix %q is ambiguous: give more of it", ref)
			}
			found = n
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: %s", ErrNetworkNotFound, ref)
	}
	return found, nil
}

// CreateOptions are `sbx network create`'s flags.
type CreateOptions struct {
	Name     string
	Subnet   string // "" picks a free /24 in 10.89.0.0/16
	Gateway  string // "" is the subnet's first address
	Internal bool
	ICC      bool
	MTU      int
	Labels   map[string]string
	Options  map[string]string
}

// Create defines a network. The bridge itself is made when a container first joins it.
func (ns *Networks) Create(o CreateOptions) (*Network, error) {
	if !validNetworkName().MatchString(o.Name) || len(o.Name) > 128 {
		return nil, fmt.Errorf("invalid network name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", o.Name)
	}
	if o.Name == DefaultNetwork || o.Name == "host" || o.Name == "none" || o.Name == "default" {
		return nil, fmt.Errorf("network name %q is reserved: pick another name", o.Name)
	}
	if err := os.MkdirAll(ns.Dir, 0o700); err != nil {
		return nil, err
	}
	lk, err := state.LockFile(filepath.Join(ns.Dir, ".lock"))
	if err != nil {
		return nil, err
	}
	defer lk.Unlock()
	all, err := ns.List()
	if err != nil {
		return nil, err
	}
	for _, n := range all {
		if n.Name == o.Name {
			return nil, fmt.Errorf("%w: network with name %s already exists", ErrNetworkExists, o.Name)
		}
	}
	n := &Network{Name: o.Name, Driver: "bridge", Internal: o.Internal, ICC: o.ICC, MTU: o.MTU,
		Labels: o.Labels, Options: o.Options, Created: time.Now().UTC()}
	if o.Subnet != "" {
		p, err := netip.ParsePrefix(o.Subnet)
		if err != nil || !p.Addr().Is4() || p.Bits() > 30 {
			return nil, fmt.Errorf("invalid --subnet %q: use an IPv4 CIDR with room for hosts, such as 10.99.0.0/24", o.Subnet)
		}
		n.Subnet = p.Masked()
		for _, other := range all {
			if other.Subnet.Overlaps(n.Subnet) {
				return nil, fmt.Errorf("--subnet %s overlaps network %s (%s): pick another subnet", n.Subnet, other.Name, other.Subnet)
			}
		}
	} else {
		if o.Gateway != "" {
			return nil, errors.New("--gateway needs --subnet: give the subnet the gateway belongs to")
		}
		p, err := freeSubnet(all)
		if err != nil {
			return nil, err
		}
		n.Subnet = p
	}
	n.Gateway = n.Subnet.Addr().Next()
	if o.Gateway != "" {
		gw, err := netip.ParseAddr(o.Gateway)
		if err != nil || !n.Subnet.Contains(gw) || gw == n.Subnet.Addr() {
			return nil, fmt.Errorf("invalid --gateway %q: use a host address inside %s", o.Gateway, n.Subnet)
		}
		n.Gateway = gw
	}
	for {
		n.ID = randomID()
		unique := true
		for _, other := range all {
			if other.ID[:12] == n.ID[:12] || other.VethPrefix() == n.VethPrefix() {
				unique = false
			}
		}
		if unique {
			break
		}
	}
	if err := state.WriteTOMLAtomic(ns.file(n.Name), n); err != nil {
		return nil, err
	}
	return n, nil
}

// freeSubnet picks the first 10.89.N.0/24 that overlaps no network.
func freeSubnet(all []*Network) (netip.Prefix, error) {
	for i := 0; i < 256; i++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 89, byte(i), 0}), 24)
		free := true
		for _, n := range all {
			if n.Subnet.Overlaps(p) {
				free = false
				break
			}
		}
		if free {
			return p, nil
		}
	}
	return netip.Prefix{}, errors.New("no free subnet left in 10.89.0.0/16: give one with --subnet")
}

// Remove deletes a network definition; the caller has checked that no container uses it.
func (ns *Networks) Remove(n *Network) error {
	if n.Default() {
		return errors.New("bridge is a pre-defined network and cannot be removed")
	}
	err := os.Remove(ns.file(n.Name))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNetworkNotFound, n.Name)
	}
	return err
}

func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
