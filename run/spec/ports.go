package spec

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Publish is one published port of -p, after ranges are expanded.
type Publish struct {
	HostIP        string // "" for every address
	HostPort      int    // 0 for any free port
	ContainerPort int
	Proto         string
}

// ParsePublish reads docker's -p: [IP:][HOSTPORT[-END]:]PORT[-END][/PROTO]. A host range
// must be as long as the container range; a host port with no container range is fixed.
func ParsePublish(v string) ([]Publish, error) {
	bad := func(why string) ([]Publish, error) {
		return nil, fmt.Errorf("invalid -p %q: %s; use [IP:][HOSTPORT:]PORT[/tcp|udp]", v, why)
	}
	rest, proto, _ := strings.Cut(v, "/")
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return bad("the protocol must be tcp or udp")
	}
	var hostIP, hostPart, ctrPart string
	if strings.HasPrefix(rest, "[") { // [IPv6]:host:ctr
		end := strings.Index(rest, "]")
		if end < 0 {
			return bad("unclosed [")
		}
		hostIP, rest = rest[1:end], strings.TrimPrefix(rest[end+1:], ":")
	}
	parts := strings.Split(rest, ":")
	switch {
	case len(parts) == 1:
		ctrPart = parts[0]
	case len(parts) == 2:
		hostPart, ctrPart = parts[0], parts[1]
	case len(parts) == 3 && hostIP == "":
		hostIP, hostPart, ctrPart = parts[0], parts[1], parts[2]
	default:
		return bad("too many ':'")
	}
	if hostIP != "" {
		if _, err := netip.ParseAddr(hostIP); err != nil {
			return bad(fmt.Sprintf("%q is not an IP address", hostIP))
		}
	}
	cFrom, cTo, err := portRange(ctrPart)
	if err != nil {
		return bad(err.Error())
	}
	hFrom, hTo := 0, 0
	if hostPart != "" {
		if hFrom, hTo, err = portRange(hostPart); err != nil {
			return bad(err.Error())
		}
		if hTo-hFrom != cTo-cFrom && hFrom != hTo {
			return bad("the host and container port ranges differ in length")
		}
		if hFrom == hTo && cFrom != cTo {
			return bad("one host port cannot take a range of container ports")
		}
	}
	var out []Publish
	for i := 0; i <= cTo-cFrom; i++ {
		p := Publish{HostIP: hostIP, ContainerPort: cFrom + i, Proto: proto}
		if hFrom != 0 {
			p.HostPort = hFrom + i
		}
		out = append(out, p)
	}
	return out, nil
}

func portRange(s string) (int, int, error) {
	from, to, isRange := strings.Cut(s, "-")
	a, err := portNumber(from)
	if err != nil {
		return 0, 0, err
	}
	b := a
	if isRange {
		if b, err = portNumber(to); err != nil {
			return 0, 0, err
		}
		if b < a {
			return 0, 0, fmt.Errorf("the range %s ends before it starts", s)
		}
	}
	return a, b, nil
}

func portNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port number (1-65535)", s)
	}
	return n, nil
}

// ParseExpose reads --expose PORT[-END][/PROTO] into "PORT/proto" entries.
func ParseExpose(v string) ([]string, error) {
	rest, proto, _ := strings.Cut(v, "/")
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return nil, fmt.Errorf("invalid --expose %q: the protocol must be tcp, udp or sctp", v)
	}
	from, to, err := portRange(rest)
	if err != nil {
		return nil, fmt.Errorf("invalid --expose %q: %v", v, err)
	}
	var out []string
	for p := from; p <= to; p++ {
		out = append(out, fmt.Sprintf("%d/%s", p, proto))
	}
	return out, nil
}
