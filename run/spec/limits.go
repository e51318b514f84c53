package spec

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Ulimit is one --ulimit value.
type Ulimit struct {
	Name     string // as given, e.g. "nofile"
	Resource int    // unix.RLIMIT_*
	Soft     uint64 // unix.RLIM_INFINITY for unlimited (-1)
	Hard     uint64 // unix.RLIM_INFINITY for unlimited (-1)
}

// ulimitNames lists the accepted --ulimit names in the order of the error message.
func ulimitNames() []string {
	return []string{"as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
		"nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}
}

func ulimitResource(name string) (int, bool) {
	switch name {
	case "as":
		return unix.RLIMIT_AS, true
	case "core":
		return unix.RLIMIT_CORE, true
	case "cpu":
		return unix.RLIMIT_CPU, true
	case "data":
		return unix.RLIMIT_DATA, true
	case "fsize":
		return unix.RLIMIT_FSIZE, true
	case "locks":
		return unix.RLIMIT_LOCKS, true
	case "memlock":
		return unix.RLIMIT_MEMLOCK, true
	case "msgqueue":
		return unix.RLIMIT_MSGQUEUE, true
	case "nice":
		return unix.RLIMIT_NICE, true
	case "nofile":
		return unix.RLIMIT_NOFILE, true
	case "nproc":
		return unix.RLIMIT_NPROC, true
	case "rss":
		return unix.RLIMIT_RSS, true
	case "rtprio":
		return unix.RLIMIT_RTPRIO, true
	case "rttime":
		return unix.RLIMIT_RTTIME, true
	case "sigpending":
		return unix.RLIMIT_SIGPENDING, true
	case "stack":
		return unix.RLIMIT_STACK, true
	}
	return 0, false
}

// ParseUlimit parses docker's --ulimit NAME=SOFT[:HARD], e.g. "nofile=1024:2048",
// "nproc=512" (hard = soft), "core=-1" (-1 = unlimited). Names are lowercase as in docker;
// "as" is accepted too (docker's client refuses it).
func ParseUlimit(s string) (Ulimit, error) {
	bad := func(format string, a ...any) (Ulimit, error) {
		return Ulimit{}, fmt.Errorf("invalid --ulimit %q: %s", s, fmt.Sprintf(format, a...))
	}
	name, val, ok := strings.Cut(s, "=")
	if !ok {
		return bad("expected NAME=SOFT[:HARD], e.g. nofile=1024:2048")
	}
	res, ok := ulimitResource(name)
	if !ok {
		return bad("unknown limit %q (expected one of %s)", name, strings.Join(ulimitNames(), ", "))
	}
	softS, hardS, hasHard := strings.Cut(val, ":")
	if strings.Contains(hardS, ":") {
		return bad("too many values (expected NAME=SOFT[:HARD])")
	}
	soft, err := parseRlimit(softS, "soft")
	if err != nil {
		return bad("%v", err)
	}
	hard := soft
	if hasHard {
		if hard, err = parseRlimit(hardS, "hard"); err != nil {
			return bad("%v", err)
		}
	}
	if soft > hard {
		return bad("soft limit %s is greater than hard limit %s", rlimitString(soft), rlimitString(hard))
	}
	return Ulimit{Name: name, Resource: res, Soft: soft, Hard: hard}, nil
}

func parseRlimit(v, which string) (uint64, error) {
	if v == "-1" {
		return unix.RLIM_INFINITY, nil
	}
	digits := strings.TrimPrefix(v, "-")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, fmt.Errorf("%s limit %q is not a number", which, v)
	}
	if digits != v {
		return 0, fmt.Errorf("%s limit %q is negative (use -1 for unlimited)", which, v)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s limit %q is too large", which, v)
	}
	return n, nil
}

func rlimitString(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "-1 (unlimited)"
	}
	return strconv.FormatUint(v, 10)
}

// splitDecimal checks that s is a plain non-negative decimal (digits with at most one dot
// and at least one digit, no sign, no exponent) followed by whatever is left; it returns
// the number and the rest.
func splitDecimal(s string) (num, rest string, ok bool) {
	i, digits, dot := 0, 0, false
	for ; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			digits++
		} else if c == '.' && !dot {
			dot = true
		} else {
			break
		}
	}
	num = s[:i]
	if strings.HasPrefix(num, ".") {
		num = "0" + num
	}
	if strings.HasSuffix(num, ".") {
		num += "0"
	}
	return num, s[i:], digits > 0
}

// ParseBytes parses docker's memory sizes (--memory, --memory-swap, --memory-reservation,
// --shm-size, ...): a decimal number with an optional binary unit b, k, m, g, t or p, in any
// case, optionally followed by "b" or "ib" ("512m", "1g", "1024", "1.5g", "64MiB"). Fractions
// are truncated to whole bytes. docker's "-1" for unlimited swap is the caller's business:
// negative values are an error here.
func ParseBytes(s string) (int64, error) {
	const expect = `expected a number with an optional unit b, k, m, g, t or p, e.g. "512m"`
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "-") {
		if _, _, ok := splitDecimal(t[1:]); ok {
			return 0, fmt.Errorf("invalid size %q: must not be negative", s)
		}
	}
	num, unit, ok := splitDecimal(t)
	if !ok {
		return 0, fmt.Errorf("invalid size %q: %s", s, expect)
	}
	unit = strings.ToLower(strings.TrimLeft(unit, " "))
	var mul int64
	switch strings.TrimSuffix(strings.TrimSuffix(unit, "ib"), "b") {
	case "":
		if unit != "" && unit != "b" {
			return 0, fmt.Errorf("invalid size %q: unknown unit %q (expected b, k, m, g, t or p)", s, unit)
		}
		mul = 1
	case "k":
		mul = 1 << 10
	case "m":
		mul = 1 << 20
	case "g":
		mul = 1 << 30
	case "t":
		mul = 1 << 40
	case "p":
		mul = 1 << 50
	default:
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (expected b, k, m, g, t or p)", s, unit)
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, fmt.Errorf("invalid size %q: %s", s, expect)
	}
	r.Mul(r, new(big.Rat).SetInt64(mul))
	n := new(big.Int).Quo(r.Num(), r.Denom())
	if !n.IsInt64() {
		return 0, fmt.Errorf("invalid size %q: too large (at most %d bytes)", s, int64(math.MaxInt64))
	}
	return n.Int64(), nil
}

// CPUPeriod is the CFS period docker uses for --cpus, in microseconds.
const CPUPeriod = 100000

// ParseCPUs parses docker's --cpus ("1.5", "0.5", "2") into a CFS quota and period in
// microseconds (period 100000, as docker); the quota is truncated to whole microseconds.
// Values below 0.01 are refused: the kernel wants a quota of at least 1ms (docker also
// treats 0 as "no limit"; callers that want that must check for "0" themselves).
func ParseCPUs(s string) (quota int64, period uint64, err error) {
	t := strings.TrimSpace(s)
	neg := strings.HasPrefix(t, "-")
	num, rest, ok := splitDecimal(strings.TrimPrefix(t, "-"))
	if !ok || rest != "" {
		return 0, 0, fmt.Errorf("invalid --cpus %q: expected a number of CPUs, e.g. \"1.5\"", s)
	}
	r, _ := new(big.Rat).SetString(num)
	if neg || r.Sign() == 0 {
		return 0, 0, fmt.Errorf("invalid --cpus %q: must be greater than 0 (at least 0.01)", s)
	}
	r.Mul(r, big.NewRat(CPUPeriod, 1))
	q := new(big.Int).Quo(r.Num(), r.Denom())
	if q.Cmp(big.NewInt(1000)) < 0 {
		return 0, 0, fmt.Errorf("invalid --cpus %q: must be at least 0.01", s)
	}
	// Keep the quota well inside what the kernel accepts (it is stored in nanoseconds).
	if !q.IsInt64() || q.Int64() > math.MaxInt64/1000/CPUPeriod {
		return 0, 0, fmt.Errorf("invalid --cpus %q: too large", s)
	}
	return q.Int64(), CPUPeriod, nil
}
