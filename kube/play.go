package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"

	"github.com/sbx-dev/sbx/run"
	"github.com/sbx-dev/sbx/run/spec"
	"github.com/sbx-dev/sbx/volumes"
)

// ErrRefused marks a file that play will not run; nothing was created for it.
var ErrRefused = errors.New("refused, nothing created")

var docSeparator = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^---[ \t]*$`) })

// Parse reads the YAML documents of a file (Pods and apps/v1 Deployments) and returns the
// pods they describe; a Deployment is its pod template, once, named after the Deployment.
// Every field play does not carry out, and every value it cannot honour, is named in the
// one error.
func Parse(data []byte) ([]*Pod, error) {
	var docs [][]byte
	for _, d := range docSeparator().Split(string(data), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			docs = append(docs, []byte(d))
		}
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%w: no Pod or Deployment in the file", ErrRefused)
	}
	var pods []*Pod
	var problems []string
	names := map[string]bool{}
	for i, d := range docs {
		prefix := ""
		if len(docs) > 1 {
			prefix = "document " + strconv.Itoa(i+1) + ": "
		}
		pod, probs := parseDoc(d)
		if pod != nil && names[pod.Name] {
			probs = append(probs, fmt.Sprintf("metadata.name: a second pod named %q", pod.Name))
		}
		for _, p := range probs {
			problems = append(problems, prefix+p)
		}
		if pod != nil {
			names[pod.Name] = true
			pods = append(pods, pod)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrRefused, strings.Join(problems, "; "))
	}
	return pods, nil
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// parseDoc checks and decodes one document.
func parseDoc(doc []byte) (*Pod, []string) {
	raw, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, []string{"not valid YAML: " + oneLine(err.Error())}
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, []string{"not a Kubernetes object (a YAML mapping with apiVersion and kind)"}
	}
	kind, _ := obj["kind"].(string)
	apiVersion, _ := obj["apiVersion"].(string)
	var typ reflect.Type
	switch {
	case kind == "Pod" && apiVersion == "v1":
		typ = reflect.TypeFor[Pod]()
	case kind == "Deployment" && apiVersion == "apps/v1":
		typ = reflect.TypeFor[Deployment]()
	default:
		return nil, []string{fmt.Sprintf("kind %q apiVersion %q is not supported: use a v1 Pod or an apps/v1 Deployment", kind, apiVersion)}
	}
	fc := newFieldCheck(supportedPaths(kind))
	fc.object(obj, typ, "", "")
	var probs []string
	if len(fc.unsupported) > 0 {
		probs = append(probs, "unsupported fields: "+strings.Join(fc.unsupported, ", "))
	}
	if len(fc.unknown) > 0 {
		probs = append(probs, "unknown fields: "+strings.Join(fc.unknown, ", "))
	}
	// Values are checked even so, so that one run names every problem. Unknown fields were
	// found above; the decoder skips them.
	dec := json.NewDecoder(bytes.NewReader(raw))
	pod := &Pod{}
	specPath := "spec."
	if kind == "Pod" {
		err = dec.Decode(pod)
	} else {
		var d Deployment
		err = dec.Decode(&d)
		specPath = "spec.template.spec."
		if d.Spec.Replicas != nil && *d.Spec.Replicas != 1 {
			probs = append(probs, fmt.Sprintf("spec.replicas: %d (sbx runs one replica)", *d.Spec.Replicas))
		}
		pod.Name = d.Name
		pod.Labels = d.Spec.Template.Labels
		pod.Spec = d.Spec.Template.Spec
		if p := pod.Spec.RestartPolicy; p != "" && p != RestartPolicyAlways {
			probs = append(probs, fmt.Sprintf("spec.template.spec.restartPolicy: %s (a Deployment's must be Always)", p))
		}
	}
	if err != nil {
		return nil, append(probs, oneLine(err.Error()))
	}
	if kind == "Pod" {
		if p := pod.Spec.RestartPolicy; p != "" && p != RestartPolicyNever {
			probs = append(probs, fmt.Sprintf("spec.restartPolicy: %s (sbx does not restart containers: use Never)", p))
		}
	}
	probs = append(probs, validate(pod, specPath)...)
	if len(probs) > 0 {
		return nil, probs
	}
	return pod, nil
}

// validate checks the values of a pod that the field check let through.
func validate(pod *Pod, sp string) []string {
	var probs []string
	bad := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }
	ps := &pod.Spec
	switch {
	case pod.Name == "":
		bad("metadata.name: missing")
	case spec.ValidName(InfraName(pod.Name)) != nil || dnsLabel(pod.Name) != pod.Name:
		bad("metadata.name: %q is not a valid pod name (lower case letters, digits and '-')", pod.Name)
	}
	if h := ps.Hostname; h != "" {
		if err := spec.ValidHostname(h); err != nil {
			bad("%shostname: %v", sp, err)
		}
	}
	vols := map[string]*Volume{}
	for i := range ps.Volumes {
		v := &ps.Volumes[i]
		p := fmt.Sprintf("%svolumes[%d]", sp, i)
		if v.Name == "" {
			bad("%s.name: missing", p)
		} else if vols[v.Name] != nil {
			bad("%s.name: a second volume named %q", p, v.Name)
		}
		vols[v.Name] = v
		n := 0
		if v.HostPath != nil {
			n++
			if !path.IsAbs(v.HostPath.Path) {
				bad("%s.hostPath.path: %q is not an absolute path", p, v.HostPath.Path)
			}
			if t := v.HostPath.Type; t != nil {
				switch *t {
				case "", HostPathDirectoryOrCreate, HostPathDirectory, HostPathFile:
				default:
					bad("%s.hostPath.type: %s is not supported (use Directory, DirectoryOrCreate or File)", p, *t)
				}
			}
		}
		if v.EmptyDir != nil {
			n++
			if m := v.EmptyDir.Medium; m != "" && m != StorageMediumMemory {
				bad("%s.emptyDir.medium: %s is not supported (use Memory or nothing)", p, m)
			}
		}
		if v.PersistentVolumeClaim != nil {
			n++
			if err := volumes.ValidName(v.PersistentVolumeClaim.ClaimName); err != nil {
				bad("%s.persistentVolumeClaim.claimName: %q is not a valid volume name", p, v.PersistentVolumeClaim.ClaimName)
			}
		}
		if n != 1 {
			bad("%s: needs exactly one of hostPath, emptyDir, persistentVolumeClaim", p)
		}
	}
	if len(ps.Containers) == 0 {
		bad("%scontainers: at least one container is needed", sp)
	}
	names := map[string]bool{}
	memoryUsers := map[string]int{}
	for i := range ps.Containers {
		c := &ps.Containers[i]
		p := fmt.Sprintf("%scontainers[%d]", sp, i)
		switch {
		case c.Name == "":
			bad("%s.name: missing", p)
		case c.Name == "infra":
			bad("%s.name: infra is the name of the pod's infra container", p)
		case dnsLabel(c.Name) != c.Name || spec.ValidName(ContainerName(pod.Name, c.Name)) != nil:
			bad("%s.name: %q is not a valid container name (lower case letters, digits and '-')", p, c.Name)
		case names[c.Name]:
			bad("%s.name: a second container named %q", p, c.Name)
		}
		names[c.Name] = true
		if c.Image == "" {
			bad("%s.image: missing", p)
		}
		if c.WorkingDir != "" && !path.IsAbs(c.WorkingDir) {
			bad("%s.workingDir: %q is not an absolute path", p, c.WorkingDir)
		}
		for j, e := range c.Env {
			if e.Name == "" || strings.Contains(e.Name, "=") {
				bad("%s.env[%d].name: %q is not a variable name", p, j, e.Name)
			}
		}
		for j, port := range c.Ports {
			pp := fmt.Sprintf("%s.ports[%d]", p, j)
			if port.ContainerPort < 1 || port.ContainerPort > 65535 {
				bad("%s.containerPort: %d is not a port", pp, port.ContainerPort)
			}
			if port.HostPort < 0 || port.HostPort > 65535 {
				bad("%s.hostPort: %d is not a port", pp, port.HostPort)
			}
			switch port.Protocol {
			case "", ProtocolTCP, ProtocolUDP:
			default:
				bad("%s.protocol: %s is not supported (TCP or UDP)", pp, port.Protocol)
			}
			if port.HostIP != "" && net.ParseIP(port.HostIP) == nil {
				bad("%s.hostIP: %q is not an IP address", pp, port.HostIP)
			}
		}
		for j, m := range c.VolumeMounts {
			mp := fmt.Sprintf("%s.volumeMounts[%d]", p, j)
			v := vols[m.Name]
			if v == nil {
				bad("%s.name: no volume named %q in %svolumes", mp, m.Name, sp)
			} else if v.EmptyDir != nil && v.EmptyDir.Medium == StorageMediumMemory {
				memoryUsers[m.Name]++
			}
			if !path.IsAbs(m.MountPath) {
				bad("%s.mountPath: %q is not an absolute path", mp, m.MountPath)
			}
		}
		if sc := c.SecurityContext; sc != nil && sc.RunAsGroup != nil && sc.RunAsUser == nil {
			bad("%s.securityContext.runAsGroup: needs runAsUser too", p)
		}
	}
	for i, v := range ps.Volumes {
		if memoryUsers[v.Name] > 1 {
			bad("%svolumes[%d].emptyDir.medium: a Memory emptyDir is a tmpfs of one container here and cannot be shared", sp, i)
		}
	}
	for i, a := range ps.HostAliases {
		if net.ParseIP(a.IP) == nil {
			bad("%shostAliases[%d].ip: %q is not an IP address", sp, i, a.IP)
		}
		for j, h := range a.Hostnames {
			if h == "" || strings.ContainsAny(h, " \t:") {
				bad("%shostAliases[%d].hostnames[%d]: %q is not a host name", sp, i, j, h)
			}
		}
	}
	return probs
}

// PlanOptions are what Plan needs from the host.
type PlanOptions struct {
	InfraRoot string // the infra container's (empty) root directory
	Binary    string // the sbx binary, bound into the infra container
	// NewVolumeName names the sbx volume of an emptyDir.
	NewVolumeName func() string
}

// PodPlan is what `kube play` creates for one pod, in order.
type PodPlan struct {
	Name       string
	EmptyDirs  []EmptyDir
	HostPaths  []HostPath
	Infra      run.CreateOptions
	Containers []run.CreateOptions
}

// EmptyDir is a volume made for the pod: Volume is its sbx name, Name its name in the pod.
type EmptyDir struct{ Name, Volume string }

// HostPath is a bind source, checked (and made, for a missing directory) before anything.
type HostPath struct {
	Path string
	Type HostPathType
}

// Plan maps a pod that Parse returned to the options of its containers.
func Plan(pod *Pod, o PlanOptions) *PodPlan {
	ps := &pod.Spec
	plan := &PodPlan{Name: pod.Name}
	infra := run.CreateOptions{
		Name:     InfraName(pod.Name),
		Rootfs:   o.InfraRoot,
		Cmd:      []string{"/sbx", "__pause"},
		ReadOnly: true,
		Labels:   map[string]string{LabelPod: pod.Name, LabelInfra: "true"},
		Binds:    []run.Mount{{Type: "bind", Source: o.Binary, Destination: "/sbx", File: true, Mode: "ro"}},
		Security: spec.Security{NoNewPrivileges: true},
		CapDrop:  []string{"ALL"},
	}
	if ps.HostNetwork {
		infra.Network = "host"
	} else {
		infra.Hostname = ps.Hostname
		if infra.Hostname == "" {
			infra.Hostname = pod.Name
		}
	}
	emptyDirs := map[string]string{}
	for _, v := range ps.Volumes {
		switch {
		case v.EmptyDir != nil && v.EmptyDir.Medium == "":
			name := o.NewVolumeName()
			emptyDirs[v.Name] = name
			plan.EmptyDirs = append(plan.EmptyDirs, EmptyDir{Name: v.Name, Volume: name})
		case v.HostPath != nil:
			t := HostPathType("")
			if v.HostPath.Type != nil {
				t = *v.HostPath.Type
			}
			plan.HostPaths = append(plan.HostPaths, HostPath{Path: path.Clean(v.HostPath.Path), Type: t})
		}
	}
	var extraHosts []string
	for _, a := range ps.HostAliases {
		for _, h := range a.Hostnames {
			extraHosts = append(extraHosts, h+":"+a.IP)
		}
	}
	for _, kc := range ps.Containers {
		c := run.CreateOptions{
			Name:       ContainerName(pod.Name, kc.Name),
			Image:      kc.Image,
			Network:    "container:" + InfraName(pod.Name),
			Cmd:        kc.Args,
			WorkingDir: kc.WorkingDir,
			ExtraHosts: extraHosts,
			Labels:     map[string]string{},
			Security:   spec.Security{NoNewPrivileges: true},
		}
		if len(kc.Command) > 0 {
			c.EntrypointArgv = kc.Command
		}
		for k, v := range pod.Labels {
			c.Labels[k] = v
		}
		c.Labels[LabelPod], c.Labels[LabelContainer] = pod.Name, kc.Name
		for _, e := range kc.Env {
			c.Env = append(c.Env, e.Name+"="+e.Value)
		}
		for _, p := range kc.Ports {
			proto := strings.ToLower(string(p.Protocol))
			if proto == "" {
				proto = "tcp"
			}
			key := portKey(int(p.ContainerPort), proto)
			c.Expose = append(c.Expose, key)
			if !containsString(infra.Expose, key) {
				infra.Expose = append(infra.Expose, key)
			}
			if p.HostPort != 0 {
				infra.Publish = append(infra.Publish, run.PortBinding{HostIP: p.HostIP, HostPort: int(p.HostPort), ContainerPort: int(p.ContainerPort), Proto: proto})
			}
		}
		if sc := kc.SecurityContext; sc != nil {
			c.Privileged = sc.Privileged != nil && *sc.Privileged
			c.ReadOnly = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
			if sc.AllowPrivilegeEscalation != nil && *sc.AllowPrivilegeEscalation {
				c.Security.NoNewPrivileges = false
			}
			if sc.Capabilities != nil {
				for _, cp := range sc.Capabilities.Add {
					c.CapAdd = append(c.CapAdd, string(cp))
				}
				for _, cp := range sc.Capabilities.Drop {
					c.CapDrop = append(c.CapDrop, string(cp))
				}
			}
			if sc.RunAsUser != nil {
				c.User = strconv.FormatInt(*sc.RunAsUser, 10)
				if sc.RunAsGroup != nil {
					c.User += ":" + strconv.FormatInt(*sc.RunAsGroup, 10)
				}
			}
		}
		for _, m := range kc.VolumeMounts {
			var v Volume
			for _, pv := range ps.Volumes {
				if pv.Name == m.Name {
					v = pv
				}
			}
			switch {
			case v.HostPath != nil:
				mode := "rw"
				if m.ReadOnly {
					mode = "ro"
				}
				c.Binds = append(c.Binds, run.Mount{Type: "bind", Source: path.Clean(v.HostPath.Path), Destination: m.MountPath,
					RW: !m.ReadOnly, Mode: mode, File: v.HostPath.Type != nil && *v.HostPath.Type == HostPathFile})
			case v.EmptyDir != nil && v.EmptyDir.Medium == StorageMediumMemory:
				t, _ := spec.ParseTmpfs(m.MountPath)
				t.ReadOnly = m.ReadOnly
				c.Tmpfs = append(c.Tmpfs, t)
			case v.EmptyDir != nil:
				c.Volumes = append(c.Volumes, volumes.Spec{Kind: volumes.KindVolume, Name: emptyDirs[v.Name], Destination: m.MountPath, ReadOnly: m.ReadOnly})
			case v.PersistentVolumeClaim != nil:
				c.Volumes = append(c.Volumes, volumes.Spec{Kind: volumes.KindVolume, Name: v.PersistentVolumeClaim.ClaimName,
					Destination: m.MountPath, ReadOnly: m.ReadOnly || v.PersistentVolumeClaim.ReadOnly})
			}
		}
		plan.Containers = append(plan.Containers, c)
	}
	plan.Infra = infra
	return plan
}

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ")
}

// PodNames returns the names of the pods in a file, checking no more than needed to find
// them: `kube down` must work on the file that was played even if sbx has changed since.
func PodNames(data []byte) ([]string, error) {
	var out []string
	for _, d := range docSeparator().Split(string(data), -1) {
		if strings.TrimSpace(stripComments(d)) == "" {
			continue
		}
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(d), &obj); err != nil {
			return nil, fmt.Errorf("not valid YAML: %s", oneLine(err.Error()))
		}
		if (obj.Kind != "Pod" && obj.Kind != "Deployment") || obj.Metadata.Name == "" {
			return nil, fmt.Errorf("a document is not a named Pod or Deployment")
		}
		out = append(out, obj.Metadata.Name)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no Pod or Deployment in the file")
	}
	return out, nil
}
