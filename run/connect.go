package run

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"

	"github.com/sbx-dev/sbx/netns"
)

// Connect adds a network to a container (`sbx network connect`): recorded for its next
// starts and, if it runs, attached now as a new interface.
func (r *Runtime) Connect(c *Container, n *netns.Network) error {
	if !bridged(c.Host.NetworkMode) {
		return fmt.Errorf("container %s uses --network %s: only containers on bridge networks can join others", c.Name, c.Host.NetworkMode)
	}
	if slices.Contains(networksOf(c), n.Name) {
		return fmt.Errorf("container %s is already connected to network %s", c.Name, n.Name)
	}
	if c.Running() {
		if err := r.attachLive(c, n); err != nil {
			return err
		}
	}
	_, err := r.Containers.Update(c.ID, func(c *Container) error {
		c.Host.Networks = append(networksOf(c), n.Name)
		return nil
	})
	return err
}

// attachLive gives a running container an interface on n.
func (r *Runtime) attachLive(c *Container, n *netns.Network) error {
	space, err := r.openSpace()
	if err != nil {
		return err
	}
	defer space.Close()
	ctr, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", c.State.Pid.PID))
	if err != nil || !c.State.Pid.Alive() {
		if ctr != nil {
			ctr.Close()
		}
		return fmt.Errorf("container %s stopped while being connected", c.Name)
	}
	defer ctr.Close()
	var ep Endpoint
	hostVeth := n.VethPrefix() + c.ID[:8]
	_, err = space.UpdateLeases(func(leases []netns.Lease) ([]netns.Lease, error) {
		ip, err := netns.FreeAddress(n, leases)
		if err != nil {
			return nil, err
		}
		// The lease belongs to the container's supervisor: it goes when the container does.
		leases, err = netns.AddLease(leases, netns.Lease{Network: n.Name, IP: ip, Container: c.ID, Name: c.Name,
			Aliases: []string{c.ID[:12]}, HostVeth: hostVeth, Owner: c.State.Supervisor,
			Hosts: r.Containers.Path(c.ID, "hosts")})
		if err != nil {
			return nil, err
		}
		ep = Endpoint{NetworkID: n.ID, IPAddress: ip.String(), PrefixLen: n.Subnet.Bits(),
			Gateway: n.Gateway.String(), MacAddress: netns.MAC(ip).String()}
		return leases, nil
	})
	if err != nil {
		return err
	}
	ip, _ := netip.ParseAddr(ep.IPAddress)
	a := netns.Attachment{Bridge: n.Bridge(), HostVeth: hostVeth, IfName: "eth" + strconv.Itoa(len(c.State.Networks)),
		Address: netip.PrefixFrom(ip, n.Subnet.Bits())}
	if err := space.Attach(ctr, a); err != nil {
		r.dropLease(space, c.ID, n.Name)
		return err
	}
	if _, err := r.Containers.Update(c.ID, func(c *Container) error {
		if c.State.Networks == nil {
			c.State.Networks = map[string]Endpoint{}
		}
		c.State.Networks[n.Name] = ep
		return nil
	}); err != nil {
		return err
	}
	return r.networkChanged(space)
}

func (r *Runtime) dropLease(space *netns.Space, id, network string) {
	space.UpdateLeases(func(leases []netns.Lease) ([]netns.Lease, error) {
		out := leases[:0]
		for _, l := range leases {
			if l.Container != id || l.Network != network {
				out = append(out, l)
			}
		}
		return out, nil
	})
}

// Disconnect removes a network from a container, and its interface if it runs.
func (r *Runtime) Disconnect(c *Container, n *netns.Network) error {
	nets := networksOf(c)
	if !bridged(c.Host.NetworkMode) || !slices.Contains(nets, n.Name) {
		return fmt.Errorf("container %s is not connected to network %s", c.Name, n.Name)
	}
	if len(nets) == 1 {
		return fmt.Errorf("network %s is container %s's only network: connect it to another first, or use --net=none", n.Name, c.Name)
	}
	if _, ok := c.State.Networks[n.Name]; ok && c.Running() {
		space, err := r.openSpace()
		if err != nil {
			return err
		}
		defer space.Close()
		if err := space.Detach(n.VethPrefix() + c.ID[:8]); err != nil {
			return err
		}
		r.dropLease(space, c.ID, n.Name)
		if err := r.networkChanged(space); err != nil {
			return err
		}
	}
	_, err := r.Containers.Update(c.ID, func(c *Container) error {
		c.Host.Networks = slices.DeleteFunc(networksOf(c), func(s string) bool { return s == n.Name })
		if len(c.Host.Networks) > 0 {
			c.Host.NetworkMode = c.Host.Networks[0]
		}
		delete(c.State.Networks, n.Name)
		return nil
	})
	return err
}

// NetworkUsers lists the containers (names) configured to use network name.
func (r *Runtime) NetworkUsers(name string) ([]string, error) {
	all, err := r.List()
	if err != nil {
		return nil, err
	}
	var users []string
	for _, c := range all {
		if bridged(c.Host.NetworkMode) && slices.Contains(networksOf(c), name) {
			users = append(users, c.Name)
		}
	}
	return users, nil
}
