package spec

import (
	"fmt"
	"slices"
	"strings"
)

// CapNames returns every capability name sbx knows, in kernel order: the index is the
// capability number (CAP_CHOWN = 0 ... CAP_CHECKPOINT_RESTORE = 40). The slice is fresh.
func CapNames() []string {
	return []string{
		"CAP_CHOWN",              // 0
		"CAP_DAC_OVERRIDE",       // 1
		"CAP_DAC_READ_SEARCH",    // 2
		"CAP_FOWNER",             // 3
		"CAP_FSETID",             // 4
		"CAP_KILL",               // 5
		"CAP_SETGID",             // 6
		"CAP_SETUID",             // 7
		"CAP_SETPCAP",            // 8
		"CAP_LINUX_IMMUTABLE",    // 9
		"CAP_NET_BIND_SERVICE",   // 10
		"CAP_NET_BROADCAST",      // 11
		"CAP_NET_ADMIN",          // 12
		"CAP_NET_RAW",            // 13
		"CAP_IPC_LOCK",           // 14
		"CAP_IPC_OWNER",          // 15
		"CAP_SYS_MODULE",         // 16
		"CAP_SYS_RAWIO",          // 17
		"CAP_SYS_CHROOT",         // 18
		"CAP_SYS_PTRACE",         // 19
		"CAP_SYS_PACCT",          // 20
		"CAP_SYS_ADMIN",          // 21
		"CAP_SYS_BOOT",           // 22
		"CAP_SYS_NICE",           // 23
		"CAP_SYS_RESOURCE",       // 24
		"CAP_SYS_TIME",           // 25
		"CAP_SYS_TTY_CONFIG",     // 26
		"CAP_MKNOD",              // 27
		"CAP_LEASE",              // 28
		"CAP_AUDIT_WRITE",        // 29
		"CAP_AUDIT_CONTROL",      // 30
		"CAP_SETFCAP",            // 31
		"CAP_MAC_OVERRIDE",       // 32
		"CAP_MAC_ADMIN",          // 33
		"CAP_SYSLOG",             // 34
		"CAP_WAKE_ALARM",         // 35
		"CAP_BLOCK_SUSPEND",      // 36
		"CAP_AUDIT_READ",         // 37
		"CAP_PERFMON",            // 38
		"CAP_BPF",                // 39
		"CAP_CHECKPOINT_RESTORE", // 40
	}
}

// DefaultCapabilities returns docker's default capability set, in docker's order. The
// slice is fresh.
func DefaultCapabilities() []string {
	return []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
		"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
	}
}

// Capabilities computes a container's capabilities as docker does:
//   - privileged: every capability in allKnown (the running kernel's, from
//     CapNames()[:last_cap+1]; CapNames() if allKnown is nil);
//   - --cap-add ALL: allKnown minus --cap-drop;
//   - --cap-drop ALL: only --cap-add;
//   - otherwise DefaultCapabilities minus --cap-drop plus --cap-add.
//
// A capability both added and dropped is kept (docker lets add win). Names may be given with
// or without "CAP_", in any case, with surrounding blanks; "ALL" in either list. Names
// neither in CapNames nor in allKnown are an error (also when privileged, where docker would
// not look). Capabilities missing from allKnown (a kernel older than sbx) are left out of the
// result, as runc ignores them. The result is in kernel order, without duplicates.
func Capabilities(add, drop []string, privileged bool, allKnown []string) ([]string, error) {
	if allKnown == nil {
		allKnown = CapNames()
	}
	known := func(c string) bool { return slices.Contains(allKnown, c) || slices.Contains(CapNames(), c) }
	normalize := func(flag string, list []string) ([]string, bool, error) {
		var out []string
		all := false
		for _, c := range list {
			n := strings.ToUpper(strings.TrimSpace(c))
			if n == "ALL" {
				all = true
				continue
			}
			if !strings.HasPrefix(n, "CAP_") {
				n = "CAP_" + n
			}
			if !known(n) {
				return nil, false, fmt.Errorf("invalid %s %q: unknown capability %q (expected a name such as NET_ADMIN or CAP_NET_ADMIN, or ALL)", flag, c, n)
			}
			out = append(out, n)
		}
		return out, all, nil
	}
	capAdd, addAll, err := normalize("--cap-add", add)
	if err != nil {
		return nil, err
	}
	capDrop, dropAll, err := normalize("--cap-drop", drop)
	if err != nil {
		return nil, err
	}

	var caps []string
	switch {
	case privileged:
		caps = slices.Clone(allKnown)
	case addAll:
		for _, c := range allKnown {
			if !slices.Contains(capDrop, c) || slices.Contains(capAdd, c) {
				caps = append(caps, c)
			}
		}
	case dropAll:
		caps = capAdd
	default:
		for _, c := range DefaultCapabilities() {
			if !slices.Contains(capDrop, c) {
				caps = append(caps, c)
			}
		}
		caps = append(caps, capAdd...)
	}

	// Kernel order, no duplicates, only what the kernel knows. Names beyond CapNames (a
	// kernel newer than sbx) go last, in allKnown's order.
	order := CapNames()
	for _, c := range allKnown {
		if !slices.Contains(order, c) {
			order = append(order, c)
		}
	}
	out := []string{}
	for _, c := range order {
		if slices.Contains(caps, c) && slices.Contains(allKnown, c) {
			out = append(out, c)
		}
	}
	return out, nil
}
