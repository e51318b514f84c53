package kube

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/sbx-dev/sbx/image"
	"github.com/sbx-dev/sbx/run"
	"github.com/sbx-dev/sbx/run/spec"
)

// Member is one container of a pod to generate.
type Member struct {
	C         *run.Container
	ImageName string                 // the image reference to write
	Image     *image.ContainerConfig // the image's config; nil when the image is gone
}

// PodInput is what Generate needs about one pod: the containers that share one network
// namespace, and the facts about them that are not in their records.
type PodInput struct {
	Name string
	// Root owns the network namespace: an infra container, or one of Members.
	Root    *run.Container
	Members []Member
	// VolumeNames are the names in the pod of anonymous volumes, by sbx volume name (what
	// `kube play` recorded in LabelVolume).
	VolumeNames map[string]string
	// LinkIPs are the addresses of --link targets, by container name ("" when unknown).
	LinkIPs map[string]string
}

// NewPod is the v1 Pod that runs in.Members; the warnings name what it leaves out.
func NewPod(in PodInput) (*Pod, []string) {
	ps, warn := NewPodSpec(in)
	return &Pod{
		TypeMeta:   TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: ObjectMeta{Name: in.Name, Labels: commonLabels(in.Members)},
		Spec:       ps,
	}, warn
}

// NewDeployment is an apps/v1 Deployment of one replica of the pod. Its restart policy is
// left to the default, Always, the only one a Deployment allows.
func NewDeployment(in PodInput) (*Deployment, []string) {
	ps, warn := NewPodSpec(in)
	ps.RestartPolicy = ""
	labels := commonLabels(in.Members)
	if labels == nil {
		labels = map[string]string{}
	}
	labels["app"] = in.Name
	one := int32(1)
	return &Deployment{
		TypeMeta:   TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: ObjectMeta{Name: in.Name},
		Spec: DeploymentSpec{
			Replicas: &one,
			Selector: &LabelSelector{MatchLabels: map[string]string{"app": in.Name}},
			Template: PodTemplateSpec{
				ObjectMeta: ObjectMeta{Labels: labels},
				Spec:       ps,
			},
		},
	}, warn
}

// NewPodSpec maps the members' records to a pod spec.
func NewPodSpec(in PodInput) (PodSpec, []string) {
	var warn []string
	ps := PodSpec{RestartPolicy: RestartPolicyNever}
	root := in.Root
	// A host name sbx made up (the ID) or that play gave (the pod's name) is the default.
	if h := root.Config.Hostname; h != "" && h != root.ShortID() && h != in.Name {
		ps.Hostname = h
	}
	switch mode := root.Host.NetworkMode; mode {
	case "host":
		ps.HostNetwork = true
	case "none":
		warn = append(warn, root.Name+": --network none has no Kubernetes equivalent; left out")
	case "bridge", "":
	default:
		warn = append(warn, root.Name+": --network "+mode+": a pod is on the default network; left out")
	}
	if len(root.Host.Networks) > 1 {
		warn = append(warn, root.Name+": networks "+strings.Join(root.Host.Networks[1:], ", ")+" joined with network connect; left out")
	}
	// Published ports belong to the network namespace, so to its owner: each goes to the
	// member that exposes its container port.
	bindings := map[string][]run.PortBinding{}
	for _, b := range root.Host.PortBindings {
		k := portKey(b.ContainerPort, b.Proto)
		bindings[k] = append(bindings[k], b)
	}
	if root.Host.PublishAll {
		warn = append(warn, root.Name+": -P publishes on random host ports; the ports are written without host ports")
	}
	vols := &volumeNamer{taken: map[string]bool{}, byKey: map[string]string{}}
	aliases := &hostAliases{}
	names := map[string]bool{}
	rootIndex := 0
	for _, m := range in.Members {
		c := m.C
		if c.ID == root.ID {
			rootIndex = len(ps.Containers)
		}
		w := func(format string, a ...any) { warn = append(warn, c.Name+": "+fmt.Sprintf(format, a...)) }
		name := c.Config.Labels[LabelContainer]
		if name == "" {
			name = dnsLabel(c.Name)
		}
		name = uniqueName(name, names)
		kc := Container{Name: name, Image: m.ImageName}
		img := m.Image
		if img == nil {
			img = &image.ContainerConfig{}
			w("its image is gone: command, environment and working directory are written in full")
		}
		switch {
		case !slices.Equal(c.Config.Entrypoint, img.Entrypoint):
			kc.Command, kc.Args = c.Config.Entrypoint, c.Config.Cmd
			if len(kc.Command) == 0 { // --entrypoint "": the CMD alone is the command
				kc.Command, kc.Args = c.Config.Cmd, nil
			}
		case !slices.Equal(c.Config.Cmd, img.Cmd):
			kc.Args = c.Config.Cmd
		}
		kc.Env = envDiff(c, img)
		if c.Config.WorkingDir != img.WorkingDir {
			kc.WorkingDir = c.Config.WorkingDir
		}
		sc, set := securityContext(c, img, w)
		if set {
			kc.SecurityContext = sc
		}
		for _, p := range c.Config.ExposedPorts {
			port, proto, ok := parsePortKey(p)
			if !ok {
				w("exposed port %q is not PORT/PROTO; left out", p)
				continue
			}
			kc.Ports = append(kc.Ports, containerPorts(port, proto, bindings[portKey(port, proto)])...)
			delete(bindings, portKey(port, proto))
		}
		for _, mnt := range c.Host.Mounts {
			vname, ok := vols.add(c, mnt, in.VolumeNames, w)
			if ok {
				kc.VolumeMounts = append(kc.VolumeMounts, VolumeMount{Name: vname, MountPath: mnt.Destination, ReadOnly: !mnt.RW})
			}
		}
		for _, h := range c.Host.ExtraHosts {
			host, ip, _ := strings.Cut(h, ":")
			aliases.add(ip, host)
		}
		for _, l := range c.Host.Links {
			target, alias, _ := strings.Cut(l, ":")
			ip := in.LinkIPs[target]
			if ip == "" {
				w("--link %s: %s has no address to write in hostAliases; left out", l, target)
				continue
			}
			aliases.add(ip, alias)
			if target != alias {
				aliases.add(ip, target)
			}
		}
		warn = append(warn, leftOut(c, img)...)
		ps.Containers = append(ps.Containers, kc)
	}
	// Ports published but exposed by no member: the namespace owner's (or the first).
	keys := make([]string, 0, len(bindings))
	for k := range bindings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		port, proto, _ := parsePortKey(k)
		if len(ps.Containers) > 0 {
			ps.Containers[rootIndex].Ports = append(ps.Containers[rootIndex].Ports, containerPorts(port, proto, bindings[k])...)
		}
	}
	ps.Volumes = vols.volumes
	ps.HostAliases = aliases.list
	return ps, warn
}

// envDiff is the container's environment less what the image and sbx put there.
func envDiff(c *run.Container, img *image.ContainerConfig) []EnvVar {
	fromImage := map[string]bool{}
	imagePath := false
	for _, e := range img.Env {
		fromImage[e] = true
		imagePath = imagePath || strings.HasPrefix(e, "PATH=")
	}
	var out []EnvVar
	for _, e := range c.Config.Env {
		if fromImage[e] || e == "HOSTNAME="+c.Config.Hostname || (!imagePath && e == "PATH="+spec.DefaultPath) {
			continue
		}
		k, v, _ := strings.Cut(e, "=")
		out = append(out, EnvVar{Name: k, Value: v})
	}
	return out
}

func securityContext(c *run.Container, img *image.ContainerConfig, w func(string, ...any)) (*SecurityContext, bool) {
	sc := &SecurityContext{}
	set := false
	if c.Host.Privileged {
		sc.Privileged, set = ptr(true), true
	}
	if len(c.Host.CapAdd)+len(c.Host.CapDrop) > 0 {
		sc.Capabilities, set = &Capabilities{Add: capList(c.Host.CapAdd), Drop: capList(c.Host.CapDrop)}, true
	}
	if c.Host.ReadOnly {
		sc.ReadOnlyRootFilesystem, set = ptr(true), true
	}
	// sbx sets no_new_privs unless told not to: only turning it off needs saying.
	if !c.Host.NoNewPrivs {
		sc.AllowPrivilegeEscalation, set = ptr(true), true
	}
	if u := c.Config.User; u != "" && u != img.User {
		user, group, hasGroup := strings.Cut(u, ":")
		uid, err1 := strconv.ParseInt(user, 10, 64)
		gid, err2 := strconv.ParseInt(group, 10, 64)
		switch {
		case err1 != nil || (hasGroup && err2 != nil):
			w("user %q is not numeric (runAsUser needs ids); left out", u)
		default:
			sc.RunAsUser, set = &uid, true
			if hasGroup {
				sc.RunAsGroup = &gid
			}
		}
	}
	return sc, set
}

// leftOut names the settings of c that a pod cannot carry.
func leftOut(c *run.Container, img *image.ContainerConfig) []string {
	var out []string
	add := func(what string) { out = append(out, c.Name+": "+what+" has no pod equivalent here; left out") }
	h := c.Host
	if h.Init {
		add("--init")
	}
	if len(h.Ulimits) > 0 {
		add("--ulimit")
	}
	if h.Memory != 0 || h.NanoCPUs != 0 || h.PidsLimit != 0 {
		add("--memory/--cpus/--pids-limit")
	}
	if h.Seccomp != "" {
		add("--security-opt seccomp=" + h.Seccomp)
	}
	if h.Userns != "" {
		add("--userns=" + h.Userns)
	}
	if len(h.DNS)+len(h.DNSSearch) > 0 {
		add("--dns/--dns-search")
	}
	if c.Config.Tty || c.Config.OpenStdin {
		add("-t/-i")
	}
	if c.Config.StopSignal != "" && c.Config.StopSignal != img.StopSignal {
		add("--stop-signal")
	}
	if h.StopTimeout != 0 && h.StopTimeout != 10 {
		add("--stop-timeout")
	}
	return out
}

func capList(caps []string) []Capability {
	var out []Capability
	for _, c := range caps {
		out = append(out, Capability(strings.TrimPrefix(strings.ToUpper(c), "CAP_")))
	}
	return out
}

func portKey(port int, proto string) string {
	if proto == "" {
		proto = "tcp"
	}
	return fmt.Sprintf("%d/%s", port, strings.ToLower(proto))
}

func parsePortKey(k string) (int, string, bool) {
	p, proto, ok := strings.Cut(k, "/")
	if !ok {
		proto = "tcp"
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || (proto != "tcp" && proto != "udp") {
		return 0, "", false
	}
	return n, proto, true
}

// containerPorts is one entry per host binding of a container port, or one without.
func containerPorts(port int, proto string, bs []run.PortBinding) []ContainerPort {
	kp := Protocol(strings.ToUpper(proto))
	if len(bs) == 0 {
		return []ContainerPort{{ContainerPort: int32(port), Protocol: kp}}
	}
	var out []ContainerPort
	for _, b := range bs {
		out = append(out, ContainerPort{ContainerPort: int32(port), HostPort: int32(b.HostPort), HostIP: b.HostIP, Protocol: kp})
	}
	return out
}

// volumeNamer gives each distinct source one pod volume with a stable, unique name.
type volumeNamer struct {
	volumes []Volume
	taken   map[string]bool
	byKey   map[string]string
}

func (v *volumeNamer) add(c *run.Container, m run.Mount, anonNames map[string]string, w func(string, ...any)) (string, bool) {
	var key, base string
	var src VolumeSource
	switch {
	case m.Type == "bind":
		t := HostPathDirectoryOrCreate
		if m.File {
			t = HostPathFile
		}
		key, base = "bind:"+m.Source, dnsLabel(m.Source)
		src.HostPath = &HostPathVolumeSource{Path: m.Source, Type: &t}
	case m.Type == "volume" && m.Anonymous:
		key, base = "volume:"+m.Name, anonNames[m.Name]
		if base == "" {
			base = "vol-" + m.Name[:min(12, len(m.Name))]
		}
		src.EmptyDir = &EmptyDirVolumeSource{}
	case m.Type == "volume":
		key, base = "volume:"+m.Name, dnsLabel(m.Name)
		src.PersistentVolumeClaim = &PersistentVolumeClaimVolumeSource{ClaimName: m.Name}
	case m.Type == "tmpfs":
		// A tmpfs is the container's own: never shared, even at the same path.
		key, base = "tmpfs:"+c.ID+":"+m.Destination, "tmpfs-"+dnsLabel(m.Destination)
		src.EmptyDir = &EmptyDirVolumeSource{Medium: StorageMediumMemory}
		if extra := slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool {
			return o == "ro" || o == "noexec" || o == "nosuid" || o == "nodev" // sbx's defaults
		}); len(extra) > 0 {
			w("tmpfs %s options %s left out", m.Destination, strings.Join(extra, ","))
		}
	default:
		w("mount of type %s at %s left out", m.Type, m.Destination)
		return "", false
	}
	if name, ok := v.byKey[key]; ok {
		return name, true
	}
	name := uniqueName(base, v.taken)
	v.byKey[key] = name
	v.volumes = append(v.volumes, Volume{Name: name, VolumeSource: src})
	return name, true
}

// hostAliases collects host names by address, in the order first seen.
type hostAliases struct{ list []HostAlias }

func (h *hostAliases) add(ip, host string) {
	for i := range h.list {
		if h.list[i].IP == ip {
			if !slices.Contains(h.list[i].Hostnames, host) {
				h.list[i].Hostnames = append(h.list[i].Hostnames, host)
			}
			return
		}
	}
	h.list = append(h.list, HostAlias{IP: ip, Hostnames: []string{host}})
}

// commonLabels are the labels every member has, less sbx's own.
func commonLabels(ms []Member) map[string]string {
	if len(ms) == 0 {
		return nil
	}
	out := map[string]string{}
	for k, v := range ms[0].C.Config.Labels {
		if strings.HasPrefix(k, "io.sbx.kube.") {
			continue
		}
		all := true
		for _, m := range ms[1:] {
			if val, ok := m.C.Config.Labels[k]; !ok || val != v {
				all = false
			}
		}
		if all {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// dnsLabel turns a name or a path into an RFC 1123 label: lower case letters, digits and
// hyphens, 63 at most, starting and ending with a letter or digit.
func dnsLabel(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
				b.WriteByte('-')
			}
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 63 {
		out = strings.Trim(out[:63], "-")
	}
	if out == "" {
		out = "root"
	}
	return out
}

// uniqueName is base, or base-2, base-3... when taken; it marks the result taken.
func uniqueName(base string, taken map[string]bool) string {
	name := base
	for i := 2; taken[name]; i++ {
		suffix := "-" + strconv.Itoa(i)
		name = strings.Trim(base[:min(len(base), 63-len(suffix))], "-") + suffix
	}
	taken[name] = true
	return name
}

func ptr[T any](v T) *T { return &v }

// Marshal writes obj as YAML without the empty fields the Kubernetes types always carry
// (creationTimestamp: null, status: {}, resources: {}), so that the output holds only what
// describes the pod.
func Marshal(obj any) ([]byte, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	prune(m)
	return yaml.Marshal(m)
}

func prune(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			prune(e)
			if e == nil {
				delete(v, k)
				continue
			}
			if em, ok := e.(map[string]any); ok && len(em) == 0 && (k == "status" || k == "resources" || k == "strategy") {
				delete(v, k)
			}
		}
	case []any:
		for _, e := range v {
			prune(e)
		}
	}
}
