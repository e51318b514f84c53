package run

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/sbx-dev/sbx/links"
	"github.com/sbx-dev/sbx/netns"
	"github.com/sbx-dev/sbx/state"
)

// NetConfig is how the runtime reaches the user's networks.
type NetConfig struct {
	Networks *netns.Networks
	Dir      string // the bridge namespace's directory, in the holder's tmpfs
	Outbound string // slirp4netns or pasta
	MTU      int
	Default  string // the network of a container given none
	// RelayPorts keeps published TCP ports on the relay (config network.relay_ports).
	RelayPorts bool
	// HolderPID returns the namespace holder's pid (its lifeline ends the outbound helper).
	HolderPID func() (int, error)
}

// bridged reports whether the container joins bridge networks (its own network namespace
// with a veth per network), as opposed to none, host or another container's namespace.
func bridged(mode string) bool {
	return mode != "none" && mode != "host" && !strings.HasPrefix(mode, "container:")
}

// networksOf lists the networks a bridged container joins.
func networksOf(c *Container) []string {
	if len(c.Host.Networks) > 0 {
		return c.Host.Networks
	}
	return []string{c.Host.NetworkMode}
}

// hostsMarker starts the part of a container's /etc/hosts that sbx rewrites when other
// containers on its networks come and go.
const hostsMarker = "# sbx: containers on the same networks\n"

// netSetup is a starting container's networking: its leases, its port listeners, and what
// its /etc/hosts and environment get from its networks and links.
type netSetup struct {
	r         *Runtime
	c         *Container
	space     *netns.Space
	nets      []*netns.Network
	fwd       *netns.Forwarder
	hosts     []string // lines for the container's own /etc/hosts
	peers     []string // its peers on user networks, the rewritable part of /etc/hosts
	env       []string // docker's legacy link variables
	endpoints map[string]Endpoint
	ports     []PortBinding
}

func (r *Runtime) openSpace() (*netns.Space, error) {
	pid, err := r.Net.HolderPID()
	if err != nil {
		return nil, fmt.Errorf("finding the namespace holder: %w", err)
	}
	return netns.Open(netns.Options{Dir: r.Net.Dir, Outbound: r.Net.Outbound, MTU: r.Net.MTU, HolderPID: pid})
}

// prepareNetwork reserves the container's addresses and binds its published ports. It runs
// before the container starts, so that a taken port or a missing link target stops the start
// with nothing left behind.
func (r *Runtime) prepareNetwork(c *Container) (*netSetup, error) {
	s := &netSetup{r: r, c: c, endpoints: map[string]Endpoint{}}
	for _, name := range networksOf(c) {
		n, err := r.Net.Networks.Get(name)
		if err != nil {
			return nil, fmt.Errorf("network %s: %w; create it with 'sbx network create %s' or run on another network", name, netns.ErrNetworkNotFound, name)
		}
		s.nets = append(s.nets, n)
	}
	type linked struct {
		link   links.Link
		target links.Target
		net    string
		ip     netip.Addr
	}
	var targets []linked
	for _, v := range c.Host.Links {
		l, t, err := r.linkTarget(v)
		if err != nil {
			return nil, err
		}
		if !t.Running() {
			return nil, fmt.Errorf("--link %s: cannot link to a container that is not running: start %s first", v, t.Name)
		}
		var found *linked
		for _, n := range s.nets {
			if ep, ok := t.State.Networks[n.Name]; ok {
				ip, _ := netip.ParseAddr(ep.IPAddress)
				found = &linked{link: l, net: n.Name, ip: ip, target: links.Target{
					Name: t.Name, ID: t.ID, IP: ep.IPAddress, Exposed: t.Config.ExposedPorts, Env: t.Config.Env}}
				break
			}
		}
		if found == nil {
			return nil, fmt.Errorf("--link %s: %s is on none of this container's networks", v, t.Name)
		}
		targets = append(targets, *found)
	}

	space, err := r.openSpace()
	if err != nil {
		return nil, err
	}
	s.space = space
	self, err := state.Self()
	if err != nil {
		space.Close()
		return nil, err
	}
	hostsPath := r.Containers.Path(c.ID, "hosts")
	allNets, err := r.Net.Networks.List()
	if err != nil {
		space.Close()
		return nil, err
	}
	// The firewall and the peers' /etc/hosts follow the new leases at once, under the same
	// lock: nothing of them needs the container's interfaces. Its own /etc/hosts gets its
	// peers when it is written (userdata).
	_, err = space.UpdateLeases(func(leases []netns.Lease) ([]netns.Lease, error) {
		for _, n := range s.nets {
			ip, err := netns.FreeAddress(n, leases)
			if err != nil {
				return nil, err
			}
			l := netns.Lease{Network: n.Name, IP: ip, Container: c.ID, Name: c.Name,
				Aliases: []string{c.ID[:12]}, HostVeth: n.VethPrefix() + c.ID[:8], Owner: self, Hosts: hostsPath}
			for _, t := range targets {
				if t.net != n.Name {
					continue
				}
				for _, p := range links.SortedPorts(t.target.Exposed) {
					l.Allow = append(l.Allow, netns.Allow{IP: t.ip, Port: p.Number, Proto: p.Proto})
				}
			}
			if leases, err = netns.AddLease(leases, l); err != nil {
				return nil, err
			}
			s.endpoints[n.Name] = Endpoint{NetworkID: n.ID, IPAddress: ip.String(), PrefixLen: n.Subnet.Bits(),
				Gateway: n.Gateway.String(), MacAddress: netns.MAC(ip).String()}
		}
		refreshHosts(leases, allNets)
		s.peers = peerLines(c.ID, leases, userNetworks(allNets))
		return leases, space.ApplyRules(allNets, leases)
	})
	if err != nil {
		space.Close()
		return nil, err
	}
	first := s.endpoints[s.nets[0].Name]
	s.hosts = append(s.hosts, first.IPAddress+"\t"+c.Config.Hostname)
	for _, t := range targets {
		s.hosts = append(s.hosts, links.HostsLine(t.link, t.target))
		s.env = append(s.env, links.Env(c.Name, t.link, t.target)...)
	}

	ports, err := publishedPorts(c)
	if err != nil {
		s.release()
		return nil, err
	}
	if len(ports) > 0 {
		target, _ := netip.ParseAddr(first.IPAddress)
		fwd, bound, err := netns.Listen(space, target, ports)
		if err != nil {
			s.release()
			return nil, err
		}
		s.fwd = fwd
		for _, p := range bound {
			s.ports = append(s.ports, PortBinding{HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort, Proto: p.Proto})
		}
	}
	return s, nil
}

// linkTarget reads a --link value and finds the container it names.
func (r *Runtime) linkTarget(v string) (links.Link, *Container, error) {
	l, err := links.Parse(v)
	if err != nil {
		return links.Link{}, nil, err
	}
	t, err := r.Find(l.Name)
	if err != nil {
		return links.Link{}, nil, fmt.Errorf("--link %s: %w", v, err)
	}
	return l, t, nil
}

// publishedPorts is -p, plus with -P every exposed port not published already.
func publishedPorts(c *Container) ([]netns.Port, error) {
	var out []netns.Port
	done := map[string]bool{}
	for _, b := range c.Host.PortBindings {
		out = append(out, netns.Port{HostIP: b.HostIP, HostPort: b.HostPort, ContainerPort: b.ContainerPort, Proto: b.Proto})
		done[strconv.Itoa(b.ContainerPort)+"/"+b.Proto] = true
	}
	if c.Host.PublishAll {
		for _, p := range links.SortedPorts(c.Config.ExposedPorts) {
			key := strconv.Itoa(p.Number) + "/" + p.Proto
			if done[key] || p.Proto == "sctp" {
				continue
			}
			done[key] = true
			out = append(out, netns.Port{ContainerPort: p.Number, Proto: p.Proto})
		}
	}
	return out, nil
}

// attach gives the started (still waiting) container its interfaces, then updates the
// firewall and the other containers' /etc/hosts.
func (s *netSetup) attach(pid int) error {
	ctr, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return fmt.Errorf("opening the container's network namespace: %w", err)
	}
	defer ctr.Close()
	routed := false
	for i, n := range s.nets {
		ep := s.endpoints[n.Name]
		ip, _ := netip.ParseAddr(ep.IPAddress)
		a := netns.Attachment{Bridge: n.Bridge(), HostVeth: n.VethPrefix() + s.c.ID[:8],
			IfName: "eth" + strconv.Itoa(i), Address: netip.PrefixFrom(ip, n.Subnet.Bits())}
		if !n.Internal && !routed {
			a.DefaultRoute, routed = true, true
		}
		if err := s.space.Attach(ctr, a); err != nil {
			return fmt.Errorf("network %s: %w", n.Name, err)
		}
	}
	return nil
}

// release gives the addresses and ports back; the veths go with the namespace (a
// veth the kernel has not removed yet is replaced by the next Attach of the container).
func (s *netSetup) release() {
	if s.fwd != nil {
		s.fwd.Close()
	}
	s.space.UpdateLeases(func(leases []netns.Lease) ([]netns.Lease, error) {
		out := leases[:0]
		for _, l := range leases {
			if l.Container != s.c.ID {
				out = append(out, l)
			}
		}
		return out, nil
	})
	if err := s.r.networkChanged(s.space); err != nil {
		s.r.Logger.Debug("updating the network after a container left", "id", s.c.ID, "err", err)
	}
	s.space.Close()
}

// networkChanged brings the firewall and every container's /etc/hosts in line with the
// current leases. Both happen under the lease lock: two containers changing at once must
// neither interleave writes to one hosts file nor apply their rule sets out of order.
func (r *Runtime) networkChanged(space *netns.Space) error {
	nets, err := r.Net.Networks.List()
	if err != nil {
		return err
	}
	_, err = space.UpdateLeases(func(leases []netns.Lease) ([]netns.Lease, error) {
		refreshHosts(leases, nets)
		return leases, space.ApplyRules(nets, leases)
	})
	return err
}

// refreshHosts rewrites, in place, the peer section of the /etc/hosts of every container on
// a user-defined network: on those networks containers find each other by name, as with
// docker's embedded DNS; on the default bridge only links add names.
func refreshHosts(leases []netns.Lease, nets []*netns.Network) {
	user := userNetworks(nets)
	if len(user) == 0 {
		return // the default bridge alone: only links add names
	}
	done := map[string]bool{}
	for _, me := range leases {
		if done[me.Container] {
			continue
		}
		done[me.Container] = true
		if lines := peerLines(me.Container, leases, user); lines != nil {
			rewriteHostsSection(me.Hosts, lines)
		}
	}
}

// userNetworks names the user-defined networks among nets.
func userNetworks(nets []*netns.Network) map[string]bool {
	user := map[string]bool{}
	for _, n := range nets {
		if !n.Default() {
			user[n.Name] = true
		}
	}
	return user
}

// peerLines is the peer section of container id's /etc/hosts: every other container on the
// user-defined networks (user) it is on; nil when it is on none.
func peerLines(id string, leases []netns.Lease, user map[string]bool) []string {
	var lines []string
	onUserNet := false
	for _, me := range leases {
		if me.Container != id || !user[me.Network] {
			continue
		}
		onUserNet = true
		for _, peer := range leases {
			if peer.Network != me.Network || peer.Container == id {
				continue
			}
			lines = append(lines, peer.IP.String()+"\t"+strings.Join(append([]string{peer.Name}, peer.Aliases...), " "))
		}
	}
	if onUserNet && lines == nil {
		lines = []string{}
	}
	return lines
}

// rewriteHostsSection replaces what follows the marker, keeping the file's inode (it is
// bind-mounted into the container).
func rewriteHostsSection(path string, lines []string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	base, _, _ := strings.Cut(string(data), hostsMarker)
	var b strings.Builder
	b.WriteString(base)
	b.WriteString(hostsMarker)
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	if b.String() == string(data) {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return
	}
	f.WriteString(b.String())
	f.Close()
}

// releaseNetworkOf cleans up after a container whose supervisor died: its leases are
// dropped (their owner is gone) and the firewall and hosts files follow.
func (r *Runtime) releaseNetworkOf(c *Container) {
	if r.Net.Networks == nil || !bridged(c.Host.NetworkMode) {
		return
	}
	space, err := netns.OpenExisting(r.Net.Dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			r.Logger.Debug("opening the bridge namespace", "err", err)
		}
		return
	}
	defer space.Close()
	if err := r.networkChanged(space); err != nil {
		r.Logger.Debug("updating the network after a crash", "id", c.ID, "err", err)
	}
}
