package image

import (
	"encoding/json"
	"fmt"
	"strings"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// ApplyChanges applies docker's `import --change` instructions (CMD, ENTRYPOINT, ENV,
// EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR) to an image config.
func ApplyChanges(cfg *imgspecv1.ImageConfig, changes []string) error {
	for _, ch := range changes {
		instr, rest, _ := strings.Cut(strings.TrimSpace(ch), " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "CMD":
			cfg.Cmd = commandForm(rest)
		case "ENTRYPOINT":
			cfg.Entrypoint = commandForm(rest)
		case "ENV":
			for _, kv := range envPairs(rest) {
				cfg.Env = setEnv(cfg.Env, kv)
			}
		case "EXPOSE":
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range strings.Fields(rest) {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				cfg.ExposedPorts[p] = struct{}{}
			}
		case "LABEL":
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			for _, kv := range envPairs(rest) {
				k, v, _ := strings.Cut(kv, "=")
				cfg.Labels[k] = v
			}
		case "STOPSIGNAL":
			cfg.StopSignal = rest
		case "USER":
			cfg.User = rest
		case "VOLUME":
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			var vols []string
			if json.Unmarshal([]byte(rest), &vols) != nil {
				vols = strings.Fields(rest)
			}
			for _, v := range vols {
				cfg.Volumes[v] = struct{}{}
			}
		case "WORKDIR":
			cfg.WorkingDir = rest
		default:
			return fmt.Errorf("invalid --change %q: %s is not one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR", ch, instr)
		}
	}
	return nil
}

// commandForm reads the exec form (a JSON array) or the shell form (run by /bin/sh -c).
func commandForm(s string) []string {
	var args []string
	if json.Unmarshal([]byte(s), &args) == nil {
		return args
	}
	return []string{"/bin/sh", "-c", s}
}

// envPairs reads "K=V K2=V2" or the old "K V" form; double quotes group words.
func envPairs(s string) []string {
	if !strings.Contains(s, "=") {
		k, v, _ := strings.Cut(s, " ")
		return []string{k + "=" + strings.TrimSpace(v)}
	}
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func setEnv(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}
