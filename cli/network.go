package cli

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/sbx-dev/sbx/format"
	"github.com/sbx-dev/sbx/netns"
	"github.com/sbx-dev/sbx/run"
	"github.com/sbx-dev/sbx/userns"
)

// netConfig tells the runtime where the user's networks are.
func (e *env) netConfig() run.NetConfig {
	builtin, err := netns.BuiltinNetwork(e.cfg.Network.Subnet, e.cfg.Network.MTU, e.cfg.Network.ICC)
	if err != nil {
		return run.NetConfig{} // config.Load validated the subnet already
	}
	return run.NetConfig{
		Networks: &netns.Networks{Dir: filepath.Join(e.paths.DataDir, "networks"), Builtin: builtin},
		Dir:      filepath.Join(e.paths.RuntimeDir, "holder-run", "net"),
		Outbound: e.cfg.Network.Outbound,
		MTU:      e.cfg.Network.MTU,
		Default:  e.cfg.Network.Default,
		// Published ports are handed to the servers that bind them unless the config says not.
		RelayPorts: e.cfg.Network.RelayPorts,
		HolderPID: func() (int, error) {
			rec, err := userns.Current(e.paths.RuntimeDir)
			return rec.PID, err
		},
	}
}

// networkJSON is docker's network inspect shape.
type networkInspectJSON struct {
	Name       string
	ID         string `json:"Id"`
	Created    string
	Scope      string
	Driver     string
	EnableIPv6 bool
	IPAM       struct {
		Driver  string
		Options map[string]string
		Config  []map[string]string
	}
	Internal   bool
	Attachable bool
	Ingress    bool
	Containers map[string]networkContainerJSON
	Options    map[string]string
	Labels     map[string]string
}

type networkContainerJSON struct {
	Name        string
	EndpointID  string
	MacAddress  string
	IPv4Address string
	IPv6Address string
}

func toNetworkJSON(n *netns.Network, ctrs []*run.Container) networkInspectJSON {
	j := networkInspectJSON{Name: n.Name, ID: n.ID, Created: timeString(n.Created), Scope: "local",
		Driver: "bridge", Internal: n.Internal, Attachable: true, Containers: map[string]networkContainerJSON{},
		Options: map[string]string{}, Labels: map[string]string{}}
	j.IPAM.Driver = "default"
	j.IPAM.Options = map[string]string{}
	j.IPAM.Config = []map[string]string{{"Subnet": n.Subnet.String(), "Gateway": n.Gateway.String()}}
	for k, v := range n.Options {
		j.Options[k] = v
	}
	j.Options["com.docker.network.bridge.enable_icc"] = strconv.FormatBool(n.ICC)
	j.Options["com.docker.network.driver.mtu"] = strconv.Itoa(n.MTU)
	for k, v := range n.Labels {
		j.Labels[k] = v
	}
	for _, c := range ctrs {
		if ep, ok := c.State.Networks[n.Name]; ok && c.Running() {
			j.Containers[c.ID] = networkContainerJSON{Name: c.Name, EndpointID: c.ID, MacAddress: ep.MacAddress,
				IPv4Address: fmt.Sprintf("%s/%d", ep.IPAddress, ep.PrefixLen)}
		}
	}
	return j
}

func networkCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:  "network",
		Usage: "Manage networks",
		Subcommands: []*ucli.Command{
			networkCreateCommand(e),
			{
				Name:    "ls",
				Aliases: []string{"list"},
				Usage:   "List networks",
				Flags: []ucli.Flag{
					&ucli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display network IDs"},
					&ucli.StringFlag{Name: "format", Usage: "format output: table, json or a Go template"},
					&ucli.BoolFlag{Name: "no-trunc", Usage: "do not truncate the IDs"},
				},
				Action: func(c *ucli.Context) error {
					if err := format.Parse(c.String("format")); err != nil {
						return err
					}
					rt, err := e.runtime()
					if err != nil {
						return err
					}
					nets, err := rt.Net.Networks.List()
					if err != nil {
						return err
					}
					type row struct {
						ID, Name, Driver, Scope, CreatedAt, Labels string
						IPv6, Internal                             bool
					}
					var rows []row
					for _, n := range nets {
						id := n.ID
						if !c.Bool("no-trunc") {
							id = id[:12]
						}
						if c.Bool("quiet") {
							fmt.Fprintln(e.opts.Stdout, id)
							continue
						}
						var labels []string
						for k, v := range n.Labels {
							labels = append(labels, k+"="+v)
						}
						sort.Strings(labels)
						rows = append(rows, row{ID: id, Name: n.Name, Driver: "bridge", Scope: "local",
							CreatedAt: n.Created.Format(time.RFC3339), Labels: strings.Join(labels, ","), Internal: n.Internal})
					}
					if c.Bool("quiet") {
						return nil
					}
					f := c.String("format")
					if f == "" {
						f = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
					}
					return format.Table(e.opts.Stdout, f, []format.Column{{Field: "ID", Header: "NETWORK ID"}}, rows)
				},
			},
			{
				Name:      "inspect",
				Usage:     "Show networks in detail",
				ArgsUsage: "NETWORK [NETWORK...]",
				Flags:     []ucli.Flag{&ucli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "format output with a Go template"}},
				Action: func(c *ucli.Context) error {
					if c.NArg() == 0 {
						return usageError(c, "requires at least 1 argument")
					}
					if err := format.Parse(c.String("format")); err != nil {
						return err
					}
					rt, err := e.runtime()
					if err != nil {
						return err
					}
					ctrs, err := rt.List()
					if err != nil {
						return err
					}
					return e.printInspect(c.String("format"), c.Args().Slice(), func(ref string) (any, error) {
						n, err := rt.Net.Networks.Get(ref)
						if err != nil {
							return nil, err
						}
						return toNetworkJSON(n, ctrs), nil
					})
				},
			},
			{
				Name:      "rm",
				Aliases:   []string{"remove"},
				Usage:     "Remove networks no running container uses",
				ArgsUsage: "NETWORK [NETWORK...]",
				Action: func(c *ucli.Context) error {
					if c.NArg() == 0 {
						return usageError(c, "requires at least 1 argument")
					}
					rt, err := e.runtime()
					if err != nil {
						return err
					}
					return eachArg(e, c.Args().Slice(), func(ref string) (string, error) {
						n, err := rt.Net.Networks.Get(ref)
						if err != nil {
							return ref, err
						}
						ctrs, err := rt.List()
						if err != nil {
							return ref, err
						}
						var active []string
						for _, ctr := range ctrs {
							if _, ok := ctr.State.Networks[n.Name]; ok && ctr.Running() {
								active = append(active, ctr.Name)
							}
						}
						if len(active) > 0 {
							return ref, fmt.Errorf("error while removing network: network %s has active endpoints (%s): stop them or disconnect them first", n.Name, strings.Join(active, ", "))
						}
						if err := rt.Net.Networks.Remove(n); err != nil {
							return ref, err
						}
						if space, err := netns.OpenExisting(rt.Net.Dir); err == nil {
							space.RemoveBridge(n.BridgeName())
							space.Close()
						}
						return ref, nil
					})
				},
			},
			{
				Name:  "prune",
				Usage: "Remove networks no container uses",
				Flags: []ucli.Flag{&ucli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do it (sbx never prompts)"}},
				Action: func(c *ucli.Context) error {
					if !c.Bool("force") {
						return fmt.Errorf("network prune removes every unused network; pass --force to do it")
					}
					rt, err := e.runtime()
					if err != nil {
						return err
					}
					nets, err := rt.Net.Networks.List()
					if err != nil {
						return err
					}
					fmt.Fprintln(e.opts.Stdout, "Deleted Networks:")
					for _, n := range nets {
						if n.Default() {
							continue
						}
						if users, err := rt.NetworkUsers(n.Name); err != nil || len(users) > 0 {
							continue
						}
						if rt.Net.Networks.Remove(n) == nil {
							fmt.Fprintln(e.opts.Stdout, n.Name)
						}
					}
					return nil
				},
			},
			networkConnectCommand(e, true),
			networkConnectCommand(e, false),
		},
	}
}

func networkCreateCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "create",
		Usage:     "Create a bridge network",
		ArgsUsage: "NETWORK",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "driver", Aliases: []string{"d"}, Value: "bridge", Usage: "network driver (bridge)"},
			&ucli.StringFlag{Name: "subnet", Usage: "IPv4 subnet in CIDR form"},
			&ucli.StringFlag{Name: "gateway", Usage: "IPv4 gateway of the subnet"},
			&ucli.BoolFlag{Name: "internal", Usage: "no access to the outside"},
			&ucli.StringFlag{Name: "icc", Value: "true", Usage: "allow containers on the network to talk to each other"},
			&ucli.StringSliceFlag{Name: "opt", Aliases: []string{"o"}, Usage: "driver options: mtu=N, com.docker.network.bridge.enable_icc=false"},
			&ucli.StringSliceFlag{Name: "label", Usage: "set metadata on the network"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() != 1 {
				return usageError(c, "requires exactly 1 argument")
			}
			if d := c.String("driver"); d != "bridge" {
				return fmt.Errorf("network driver %q is not supported: sbx networks are bridges (-d bridge)", d)
			}
			o := netns.CreateOptions{Name: c.Args().First(), Subnet: c.String("subnet"), Gateway: c.String("gateway"),
				Internal: c.Bool("internal"), MTU: e.cfg.Network.MTU, Labels: map[string]string{}, Options: map[string]string{}}
			icc, err := strconv.ParseBool(c.String("icc"))
			if err != nil {
				return fmt.Errorf("invalid --icc %q: use true or false", c.String("icc"))
			}
			o.ICC = icc
			for _, kv := range c.StringSlice("opt") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("invalid -o %q: use KEY=VALUE", kv)
				}
				switch k {
				case "mtu", "com.docker.network.driver.mtu":
					n, err := strconv.Atoi(v)
					if err != nil || n < 576 || n > 65535 {
						return fmt.Errorf("invalid -o %s: the MTU must be a number from 576 to 65535", kv)
					}
					o.MTU = n
				case "icc", "com.docker.network.bridge.enable_icc":
					b, err := strconv.ParseBool(v)
					if err != nil {
						return fmt.Errorf("invalid -o %s: use true or false", kv)
					}
					o.ICC = b
				default:
					return fmt.Errorf("unknown network option -o %s: sbx knows mtu and com.docker.network.bridge.enable_icc", kv)
				}
				o.Options[k] = v
			}
			for _, l := range c.StringSlice("label") {
				k, v, _ := strings.Cut(l, "=")
				o.Labels[k] = v
			}
			rt, err := e.runtime()
			if err != nil {
				return err
			}
			n, err := rt.Net.Networks.Create(o)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.opts.Stdout, n.ID)
			return nil
		},
	}
}

func networkConnectCommand(e *env, connect bool) *ucli.Command {
	name, usage := "connect", "Connect a container to a network"
	if !connect {
		name, usage = "disconnect", "Disconnect a container from a network"
	}
	return &ucli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: "NETWORK CONTAINER",
		Action: func(c *ucli.Context) error {
			if c.NArg() != 2 {
				return usageError(c, "requires exactly 2 arguments")
			}
			rt, err := e.runtime()
			if err != nil {
				return err
			}
			n, err := rt.Net.Networks.Get(c.Args().Get(0))
			if err != nil {
				return err
			}
			ctr, err := rt.Find(c.Args().Get(1))
			if err != nil {
				return err
			}
			if connect {
				return rt.Connect(ctr, n)
			}
			return rt.Disconnect(ctr, n)
		},
	}
}

// portCommand is `sbx port CONTAINER [PORT[/PROTO]]`.
func portCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "port",
		Usage:     "List a container's published ports",
		ArgsUsage: "CONTAINER [PORT[/PROTO]]",
		Action: func(c *ucli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return usageError(c, "requires 1 or 2 arguments")
			}
			rt, err := e.runtime()
			if err != nil {
				return err
			}
			ctr, err := rt.Find(c.Args().First())
			if err != nil {
				return err
			}
			want := c.Args().Get(1)
			if want != "" && !strings.Contains(want, "/") {
				want += "/tcp"
			}
			ports := slices.Clone(ctr.State.Ports)
			sort.SliceStable(ports, func(i, j int) bool { return ports[i].ContainerPort < ports[j].ContainerPort })
			found := false
			for _, p := range ports {
				key := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
				if want != "" && key != want {
					continue
				}
				found = true
				host := p.HostIP
				if host == "" {
					host = "0.0.0.0"
				}
				addr := fmt.Sprintf("%s:%d", host, p.HostPort)
				if strings.Contains(host, ":") {
					addr = fmt.Sprintf("[%s]:%d", host, p.HostPort)
				}
				if want != "" {
					fmt.Fprintln(e.opts.Stdout, addr)
				} else {
					fmt.Fprintf(e.opts.Stdout, "%s -> %s\n", key, addr)
				}
			}
			if want != "" && !found {
				return fmt.Errorf("no public port '%s' published for %s", want, ctr.Name)
			}
			return nil
		},
	}
}
