package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ParseDuration parses --stop-timeout, stop -t and similar values: a bare integer is a
// number of seconds (docker's form), anything else a Go duration ("90s", "10m", "1h30m").
// Negative values are an error.
func ParseDuration(s string) (time.Duration, error) {
	digits := strings.TrimPrefix(s, "-")
	if digits != "" && strings.Trim(digits, "0123456789") == "" {
		if digits != s {
			return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > math.MaxInt64/int64(time.Second) {
			return 0, fmt.Errorf("invalid duration %q: too large", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: expected a number of seconds or a duration like 90s or 10m", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	return d, nil
}

// sigRTMIN and sigRTMAX are the real-time signal bounds as seen by programs (glibc reserves
// the kernel's first two), the numbering docker uses for RTMIN+n and RTMAX-n.
const (
	sigRTMIN = 34
	sigRTMAX = 64
)

func signalByName(name string) (unix.Signal, bool) {
	switch name {
	case "ABRT", "IOT":
		return unix.SIGABRT, true
	case "ALRM":
		return unix.SIGALRM, true
	case "BUS":
		return unix.SIGBUS, true
	case "CHLD", "CLD":
		return unix.SIGCHLD, true
	case "CONT":
		return unix.SIGCONT, true
	case "FPE":
		return unix.SIGFPE, true
	case "HUP":
		return unix.SIGHUP, true
	case "ILL":
		return unix.SIGILL, true
	case "INT":
		return unix.SIGINT, true
	case "IO", "POLL":
		return unix.SIGIO, true
	case "KILL":
		return unix.SIGKILL, true
	case "PIPE":
		return unix.SIGPIPE, true
	case "PROF":
		return unix.SIGPROF, true
	case "PWR":
		return unix.SIGPWR, true
	case "QUIT":
		return unix.SIGQUIT, true
	case "SEGV":
		return unix.SIGSEGV, true
	case "STKFLT": // not on every architecture
		sig := unix.SignalNum("SIGSTKFLT")
		return sig, sig != 0
	case "STOP":
		return unix.SIGSTOP, true
	case "SYS", "UNUSED":
		return unix.SIGSYS, true
	case "TERM":
		return unix.SIGTERM, true
	case "TRAP":
		return unix.SIGTRAP, true
	case "TSTP":
		return unix.SIGTSTP, true
	case "TTIN":
		return unix.SIGTTIN, true
	case "TTOU":
		return unix.SIGTTOU, true
	case "URG":
		return unix.SIGURG, true
	case "USR1":
		return unix.SIGUSR1, true
	case "USR2":
		return unix.SIGUSR2, true
	case "VTALRM":
		return unix.SIGVTALRM, true
	case "WINCH":
		return unix.SIGWINCH, true
	case "XCPU":
		return unix.SIGXCPU, true
	case "XFSZ":
		return unix.SIGXFSZ, true
	case "RTMIN":
		return sigRTMIN, true
	case "RTMAX":
		return sigRTMAX, true
	}
	for _, rt := range []struct {
		prefix string
		base   int
		sign   int
	}{{"RTMIN+", sigRTMIN, 1}, {"RTMAX-", sigRTMAX, -1}} {
		if rest, ok := strings.CutPrefix(name, rt.prefix); ok {
			n, err := strconv.Atoi(rest)
			if err != nil || n < 0 || rest != strconv.Itoa(n) || n > sigRTMAX-sigRTMIN {
				return 0, false
			}
			return unix.Signal(rt.base + rt.sign*n), true
		}
	}
	return 0, false
}

// ParseSignal parses --stop-signal and kill -s values as docker does: a number (1-64) or a
// name in any case with or without "SIG" ("TERM", "SIGTERM", "sigkill", "RTMIN+3",
// "SIGRTMAX-1"), including the aliases IOT, CLD, POLL and UNUSED.
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > sigRTMAX {
			return 0, fmt.Errorf("invalid signal %q: number out of range (expected 1-%d)", s, sigRTMAX)
		}
		return unix.Signal(n), nil
	}
	if sig, ok := signalByName(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "SIG")); ok {
		return sig, nil
	}
	return 0, fmt.Errorf("invalid signal %q: expected a name such as TERM, SIGKILL or RTMIN+1, or a number 1-%d", s, sigRTMAX)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ValidName checks docker's container name rule, [a-zA-Z0-9][a-zA-Z0-9_.-]+ (so at least two
// characters), with docker's error text. Unlike docker it does not strip a leading "/": the
// caller stores names as given. The empty name is refused too (callers generate one).
func ValidName(name string) error {
	ok := len(name) >= 2 && isAlnum(name[0])
	for i := 1; ok && i < len(name); i++ {
		c := name[i]
		ok = isAlnum(c) || c == '_' || c == '.' || c == '-'
	}
	if !ok {
		return fmt.Errorf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name) //nolint:staticcheck // docker's wording
	}
	return nil
}

// ValidHostname checks an RFC 1123 host name: dot-separated labels of 1-63 letters, digits
// and hyphens that neither start nor end with a hyphen, at most 64 characters in all (the
// kernel's limit). No trailing dot.
func ValidHostname(h string) error {
	const expect = "expected letters, digits and hyphens in dot-separated labels, e.g. web-1.local"
	switch {
	case h == "":
		return fmt.Errorf("invalid hostname %q: empty (%s)", h, expect)
	case len(h) > 64:
		return fmt.Errorf("invalid hostname %q: %d characters, at most 64 allowed", h, len(h))
	}
	for _, l := range strings.Split(h, ".") {
		switch {
		case l == "":
			return fmt.Errorf("invalid hostname %q: empty label (%s)", h, expect)
		case len(l) > 63:
			return fmt.Errorf("invalid hostname %q: label %q is longer than 63 characters", h, l)
		case l[0] == '-' || l[len(l)-1] == '-':
			return fmt.Errorf("invalid hostname %q: label %q starts or ends with a hyphen", h, l)
		}
		for i := 0; i < len(l); i++ {
			if !isAlnum(l[i]) && l[i] != '-' {
				return fmt.Errorf("invalid hostname %q: character %q not allowed (%s)", h, l[i], expect)
			}
		}
	}
	return nil
}
