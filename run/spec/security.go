package spec

import (
	"fmt"
	"strconv"
	"strings"
)

// Security is the result of the --security-opt values.
type Security struct {
	// NoNewPrivileges defaults to true in sbx (docker's default is false);
	// "no-new-privileges=false" turns it off.
	NoNewPrivileges bool
	// Seccomp is "" for the default profile (also "seccomp=builtin"), "unconfined", or the
	// path of a JSON profile as given (relative paths are relative to the caller's working directory, as in docker).
	Seccomp string
	// SystemPathsUnconfined is docker's "systempaths=unconfined": do not mask or make
	// read-only the usual /proc and /sys paths.
	SystemPathsUnconfined bool
	// Ignored lists the options accepted for docker compatibility that have no effect in sbx
	// (label=..., apparmor=...: sbx has neither SELinux nor AppArmor support), as given, so
	// the caller can say so.
	Ignored []string
}

const securityExpect = "expected no-new-privileges[=true|false], seccomp=unconfined|PROFILE.json, " +
	"systempaths=unconfined, label=..., or apparmor=..."

// ParseSecurityOpts parses docker's --security-opt values: "no-new-privileges",
// "no-new-privileges=true|false", "seccomp=unconfined", "seccomp=builtin" (= ""),
// "seccomp=/path.json", "systempaths=unconfined", "label=disable" (and docker's other label
// forms user:, role:, type:, level:, filetype:, nested) and "apparmor=PROFILE"; the old
// "key:value" form is accepted for all of them. Unknown keys are an error. Later options
// override earlier ones.
func ParseSecurityOpts(opts []string) (Security, error) {
	sec := Security{NoNewPrivileges: true}
	for _, opt := range opts {
		k, v, ok := strings.Cut(opt, "=")
		if !ok {
			k, v, ok = strings.Cut(opt, ":")
		}
		if k == "no-new-privileges" {
			if !ok {
				sec.NoNewPrivileges = true
				continue
			}
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Security{}, fmt.Errorf("invalid --security-opt %q: %q is not a boolean (expected no-new-privileges=true or no-new-privileges=false)", opt, v)
			}
			sec.NoNewPrivileges = b
			continue
		}
		if !ok || v == "" {
			switch k {
			case "seccomp", "systempaths", "label", "apparmor":
				return Security{}, fmt.Errorf("invalid --security-opt %q: %s needs a value (%s)", opt, k, securityExpect)
			}
			return Security{}, fmt.Errorf("invalid --security-opt %q: %s", opt, securityExpect)
		}
		switch k {
		case "seccomp":
			switch v {
			case "builtin":
				sec.Seccomp = ""
			default:
				sec.Seccomp = v
			}
		case "systempaths":
			if v != "unconfined" {
				return Security{}, fmt.Errorf("invalid --security-opt %q: expected systempaths=unconfined", opt)
			}
			sec.SystemPathsUnconfined = true
		case "label":
			lk, _, _ := strings.Cut(v, ":")
			switch {
			case v == "disable" || v == "nested":
			case strings.Contains(v, ":") && (lk == "user" || lk == "role" || lk == "type" || lk == "level" || lk == "filetype"):
			default:
				return Security{}, fmt.Errorf("invalid --security-opt %q: expected label=disable, label=nested or label=user|role|type|level|filetype:VALUE", opt)
			}
			sec.Ignored = append(sec.Ignored, opt)
		case "apparmor":
			sec.Ignored = append(sec.Ignored, opt)
		default:
			return Security{}, fmt.Errorf("invalid --security-opt %q: unknown option %q (%s)", opt, k, securityExpect)
		}
	}
	return sec, nil
}
