package initproc

import (
	"strings"

	"github.com/moby/sys/capability"
)

func capByName() map[string]capability.Cap {
	m := map[string]capability.Cap{}
	for _, c := range capability.ListKnown() {
		m["CAP_"+strings.ToUpper(c.String())] = c
	}
	return m
}

func wanted(names []string) []capability.Cap {
	byName := capByName()
	var out []capability.Cap
	for _, n := range names {
		if c, ok := byName[n]; ok {
			out = append(out, c)
		}
	}
	return out
}

// dropBounding limits the bounding set to the container's capabilities while we still
// hold CAP_SETPCAP; nothing the container executes can regain the others.
func dropBounding(names []string) error {
	keep := map[capability.Cap]bool{}
	for _, c := range wanted(names) {
		keep[c] = true
	}
	last, err := capability.LastCap()
	if err != nil {
		return err
	}
	var drop []capability.Cap
	for _, c := range capability.ListKnown() {
		if c <= last && !keep[c] {
			drop = append(drop, c)
		}
	}
	return capability.DropBound(drop...)
}

// setCaps sets permitted, effective and inheritable to exactly the container's set. The
// ambient set stays empty, as with docker: a non-root user's process keeps no effective
// capabilities across execve unless a file grants them.
func setCaps(names []string) error {
	c, err := capability.NewPid2(0)
	if err != nil {
		return err
	}
	if err := c.Load(); err != nil {
		return err
	}
	// Nobody can grant what it lacks: a host root that runs without some capability (a
	// sandboxed CI runner without CAP_SYS_RESOURCE, say) gives --privileged all it has.
	var caps []capability.Cap
	for _, cp := range wanted(names) {
		if c.Get(capability.PERMITTED, cp) {
			caps = append(caps, cp)
		}
	}
	c.Clear(capability.CAPS)
	c.Set(capability.PERMITTED|capability.EFFECTIVE|capability.INHERITABLE, caps...)
	return c.Apply(capability.CAPS)
}
