// Package links implements docker's legacy container links: the --link flag's syntax, the
// /etc/hosts entry and the environment variables a linked container sees. It is pure: the
// caller supplies what it knows of the target.
package links

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Link is one --link NAME[:ALIAS].
type Link struct {
	Name  string // the target container
	Alias string // the name the client uses; the target's name when not given
}

var validAlias = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`) })

// Parse reads a --link value.
func Parse(v string) (Link, error) {
	name, alias, _ := strings.Cut(v, ":")
	name = strings.TrimPrefix(name, "/")
	if alias == "" {
		alias = name
	}
	if name == "" || !validAlias().MatchString(name) || !validAlias().MatchString(alias) {
		return Link{}, fmt.Errorf("invalid --link %q: use CONTAINER or CONTAINER:ALIAS", v)
	}
	return Link{Name: name, Alias: alias}, nil
}

func (l Link) String() string { return l.Name + ":" + l.Alias }

// Target is what the client learns of the linked container.
type Target struct {
	Name    string
	ID      string
	IP      string
	Exposed []string // "80/tcp"
	Env     []string // the target's configured environment
}

// HostsLine is the client's /etc/hosts entry for the target: the alias, the short ID and
// the name, all resolving to the target's address.
func HostsLine(l Link, t Target) string {
	names := []string{l.Alias}
	if len(t.ID) >= 12 {
		names = append(names, t.ID[:12])
	}
	if t.Name != l.Alias {
		names = append(names, t.Name)
	}
	return t.IP + "\t" + strings.Join(names, " ")
}

// Port is one exposed port.
type Port struct {
	Number int
	Proto  string
}

// ParsePort reads "80", "80/tcp" or "53/udp".
func ParsePort(s string) (Port, error) {
	num, proto, _ := strings.Cut(s, "/")
	if proto == "" {
		proto = "tcp"
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > 65535 || (proto != "tcp" && proto != "udp" && proto != "sctp") {
		return Port{}, fmt.Errorf("invalid port %q: use PORT[/tcp|udp]", s)
	}
	return Port{Number: n, Proto: proto}, nil
}

// SortedPorts parses and orders exposed ports by number, then protocol; bad entries are
// skipped (they were validated when the image or container was made).
func SortedPorts(exposed []string) []Port {
	var ports []Port
	for _, e := range exposed {
		if p, err := ParsePort(e); err == nil {
			ports = append(ports, p)
		}
	}
	sort.Slice(ports, func(i, j int) bool {
		if ports[i].Number != ports[j].Number {
			return ports[i].Number < ports[j].Number
		}
		return ports[i].Proto < ports[j].Proto
	})
	return ports
}

// envPrefix turns an alias into the variables' prefix: upper case, anything but letters
// and digits made '_' (serverM1 -> SERVERM1, my-db -> MY_DB).
func envPrefix(alias string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(alias) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Env is the set of variables docker's legacy links give the client: for every exposed
// port ALIAS_PORT_N_PROTO (and its _ADDR, _PORT, _PROTO parts), ALIAS_PORT for the lowest
// one, ALIAS_NAME, and the target's own environment as ALIAS_ENV_KEY (HOME and PATH
// left out, as they say nothing about the service).
func Env(client string, l Link, t Target) []string {
	p := envPrefix(l.Alias)
	var env []string
	ports := SortedPorts(t.Exposed)
	if len(ports) > 0 {
		env = append(env, fmt.Sprintf("%s_PORT=%s://%s:%d", p, ports[0].Proto, t.IP, ports[0].Number))
	}
	for _, port := range ports {
		k := fmt.Sprintf("%s_PORT_%d_%s", p, port.Number, strings.ToUpper(port.Proto))
		env = append(env,
			fmt.Sprintf("%s=%s://%s:%d", k, port.Proto, t.IP, port.Number),
			fmt.Sprintf("%s_ADDR=%s", k, t.IP),
			fmt.Sprintf("%s_PORT=%d", k, port.Number),
			fmt.Sprintf("%s_PROTO=%s", k, port.Proto))
	}
	env = append(env, fmt.Sprintf("%s_NAME=/%s/%s", p, client, l.Alias))
	for _, kv := range t.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "HOME" || k == "PATH" || k == "HOSTNAME" {
			continue
		}
		env = append(env, fmt.Sprintf("%s_ENV_%s=%s", p, k, v))
	}
	return env
}
