package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// maxErrno is the kernel's MAX_ERRNO: larger SECCOMP_RET_ERRNO data is
// clamped by the kernel, so a profile asking for more is a mistake.
const maxErrno = 4095

// profileError makes the one-line error every profile problem is reported
// as, naming the profile so the user knows which file to fix.
func profileError(name string, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	// JSON decoder messages can quote user input with newlines; keep one line.
	msg = strings.Join(strings.Fields(msg), " ")
	return fmt.Errorf("seccomp profile %s: %s", name, msg)
}

// Validate parses the docker-format profile at profilePath and checks every
// rule, whatever capabilities or architecture it is conditional on, without
// compiling anything. It is meant for the host side, so that a bad
// --security-opt seccomp=FILE fails before a container is created. "" (the
// default profile) and "unconfined" are valid.
func Validate(profilePath string) error {
	if profilePath == "" || profilePath == Unconfined {
		return nil
	}
	_, err := readProfile(profilePath)
	return err
}

// readProfile reads and checks a profile file, returning its body for
// resolution by github.com/moby/profiles/seccomp.
func readProfile(path string) ([]byte, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, profileError(path, "%v", err)
	}
	if err := checkBody(path, body); err != nil {
		return nil, err
	}
	return body, nil
}

// checkBody parses and checks a profile's content; name is for errors.
func checkBody(name string, body []byte) error {
	var p mobyseccomp.Seccomp
	if err := json.Unmarshal(body, &p); err != nil {
		return profileError(name, "%s", jsonErrorText(body, err))
	}
	if err := checkProfile(&p); err != nil {
		return profileError(name, "%v", err)
	}
	return nil
}

// jsonErrorText places a decoding error at a line and column: the byte
// offset encoding/json reports is useless to someone editing the file.
func jsonErrorText(body []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if off <= 0 || off > int64(len(body)) {
		return msg
	}
	// Offset counts the bytes read, the offending one included.
	off--
	line := 1 + bytes.Count(body[:off], []byte("\n"))
	col := off - int64(bytes.LastIndexByte(body[:off], '\n'))
	return fmt.Sprintf("line %d, column %d: %s", line, col, msg)
}

// checkProfile finds everything in a parsed profile that compiling would
// reject, for every rule regardless of includes/excludes, so that a profile
// that Validate accepts on the host cannot fail to compile in the container
// because of the container's capabilities.
func checkProfile(p *mobyseccomp.Seccomp) error {
	if p.DefaultAction == "" {
		// docker treats a profile with neither a default action nor rules
		// as "no seccomp"; silently running unconfined because of a
		// truncated file is worse than refusing.
		return errors.New("defaultAction is missing")
	}
	if _, err := actionValue(p.DefaultAction, p.DefaultErrnoRet); err != nil {
		return fmt.Errorf("defaultAction: %w", err)
	}
	if len(p.Architectures) != 0 && len(p.ArchMap) != 0 {
		return errors.New("both architectures and archMap are set, use one")
	}
	for _, a := range p.Architectures {
		if !knownArch(a) {
			return fmt.Errorf("unknown architecture %q", a)
		}
	}
	for _, m := range p.ArchMap {
		if !knownArch(m.Arch) {
			return fmt.Errorf("archMap: unknown architecture %q", m.Arch)
		}
		for _, a := range m.SubArches {
			if !knownArch(a) {
				return fmt.Errorf("archMap: unknown architecture %q", a)
			}
		}
	}
	if _, err := filterFlags(p.Flags); err != nil {
		return err
	}
	for i, s := range p.Syscalls {
		if s == nil {
			return fmt.Errorf("syscalls[%d] is null", i)
		}
		where := fmt.Sprintf("syscalls[%d]", i)
		switch {
		case s.Name != "" && len(s.Names) != 0:
			return fmt.Errorf("%s: both name and names are set, use one", where)
		case s.Name != "":
			where = fmt.Sprintf("syscalls[%d] (%s)", i, s.Name)
		case len(s.Names) != 0:
			where = fmt.Sprintf("syscalls[%d] (%s)", i, s.Names[0])
		default:
			return fmt.Errorf("%s: names is empty", where)
		}
		if err := checkRule(&s.LinuxSyscall); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	return nil
}

// checkRule checks one rule's action and argument conditions.
func checkRule(s *specs.LinuxSyscall) error {
	if _, err := actionValue(s.Action, s.ErrnoRet); err != nil {
		return err
	}
	for _, a := range s.Args {
		if a.Index > 5 {
			return fmt.Errorf("argument index %d is out of range 0-5", a.Index)
		}
		if !knownOp(a.Op) {
			return fmt.Errorf("unknown operator %q", a.Op)
		}
	}
	return nil
}

// actionValue is the SECCOMP_RET_* value for a profile action. The mapping
// is runc's, so a profile behaves as it does under docker: SCMP_ACT_KILL
// kills only the thread, and ERRNO/TRACE default to EPERM. errnoRet on other
// actions is ignored, as runc ignores it.
func actionValue(a specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	data := uint32(unix.EPERM)
	if errnoRet != nil && (a == specs.ActErrno || a == specs.ActTrace) {
		if *errnoRet > maxErrno {
			return 0, fmt.Errorf("errnoRet %d is larger than %d", *errnoRet, maxErrno)
		}
		data = uint32(*errnoRet)
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActErrno:
		return unix.SECCOMP_RET_ERRNO | data, nil
	case specs.ActTrace:
		return unix.SECCOMP_RET_TRACE | data, nil
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG, nil
	case specs.ActNotify:
		// Needs a seccomp agent listening on a socket, which sbx does not run.
		return 0, fmt.Errorf("action %q is not supported", a)
	case "":
		return 0, errors.New("action is missing")
	}
	return 0, fmt.Errorf("unknown action %q", a)
}

func knownOp(op specs.LinuxSeccompOperator) bool {
	switch op {
	case specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual, specs.OpEqualTo,
		specs.OpGreaterEqual, specs.OpGreaterThan, specs.OpMaskedEqual:
		return true
	}
	return false
}

// knownArch accepts every architecture libseccomp names, not only those
// this machine can run: one profile is written for many machines.
func knownArch(a specs.Arch) bool {
	switch a {
	case specs.ArchX86, specs.ArchX86_64, specs.ArchX32, specs.ArchARM, specs.ArchAARCH64,
		specs.ArchMIPS, specs.ArchMIPS64, specs.ArchMIPS64N32, specs.ArchMIPSEL,
		specs.ArchMIPSEL64, specs.ArchMIPSEL64N32, specs.ArchPPC, specs.ArchPPC64,
		specs.ArchPPC64LE, specs.ArchS390, specs.ArchS390X, specs.ArchPARISC,
		specs.ArchPARISC64, specs.ArchRISCV64, specs.ArchLOONGARCH64, specs.ArchM68K,
		specs.ArchSH, specs.ArchSHEB:
		return true
	}
	return false
}

// filterFlags turns the profile's flags into seccomp(2) flags.
func filterFlags(flags []specs.LinuxSeccompFlag) (uintptr, error) {
	var f uintptr
	for _, fl := range flags {
		switch fl {
		case specs.LinuxSeccompFlagLog:
			f |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			f |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		case specs.LinuxSeccompFlagWaitKillableRecv:
			// Only meaningful with a notify listener, which is never
			// created (SCMP_ACT_NOTIFY is refused); the kernel would reject
			// it without one.
		default:
			return 0, fmt.Errorf("unknown flag %q", fl)
		}
	}
	return f, nil
}

// resolve turns the profile into the flat rule list for this machine and
// capability set, using docker's own resolution (archMap, includes,
// excludes, minKernel), so that conditional rules select exactly as under
// docker.
func resolve(profile string, given []byte, caps []string) (*specs.LinuxSeccomp, error) {
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{
		// docker matches includes.caps/excludes.caps against the bounding set.
		Bounding: normalizeCaps(caps),
	}}}
	name := "(default)"
	var (
		rs  *specs.LinuxSeccomp
		err error
	)
	if profile == "" {
		rs, err = mobyseccomp.GetDefaultProfile(spec)
	} else {
		name = profile
		body := given
		if body == nil {
			body, err = readProfile(profile)
		} else {
			err = checkBody(profile, body)
		}
		if err != nil {
			return nil, err
		}
		rs, err = mobyseccomp.LoadProfile(string(body), spec)
	}
	if err != nil {
		return nil, profileError(name, "%v", err)
	}
	if rs == nil {
		// checkProfile rejects a missing defaultAction, so this is not
		// reachable from a file; guard anyway rather than run unconfined.
		return nil, profileError(name, "defaultAction is missing")
	}
	return rs, nil
}

// normalizeCaps accepts "sys_admin" or "CAP_SYS_ADMIN" alike, as
// --cap-add does, and matches the profile's "CAP_SYS_ADMIN" spelling.
func normalizeCaps(caps []string) []string {
	out := make([]string, 0, len(caps))
	for _, c := range caps {
		c = strings.ToUpper(strings.TrimSpace(c))
		if c == "" {
			continue
		}
		if !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		out = append(out, c)
	}
	return out
}
