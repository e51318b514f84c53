package kube

import (
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/sbx-dev/sbx/image"
	"github.com/sbx-dev/sbx/run"
	"github.com/sbx-dev/sbx/run/spec"
)

const (
	idWeb  = "aaaaaaaaaaaa0000000000000000000000000000000000000000000000000000"
	idSide = "bbbbbbbbbbbb0000000000000000000000000000000000000000000000000000"
	anonV  = "cccccccccccc0000000000000000000000000000000000000000000000000000"
)

var busyboxCfg = &image.ContainerConfig{Env: []string{"PATH=/bin:/usr/bin"}, Cmd: []string{"sh"}}

// record builds a container record the way Create would for `sbx run busybox ...`.
func record(id, name string, mut func(c *run.Container)) *run.Container {
	c := &run.Container{ID: id, Name: name, Image: "busybox", ImageID: "img"}
	c.Config.Cmd = []string{"sh"}
	c.Config.Hostname = id[:12]
	c.Config.Env = []string{"PATH=/bin:/usr/bin", "HOSTNAME=" + id[:12]}
	c.Host.NetworkMode = "bridge"
	c.Host.StopTimeout = 10
	c.Host.NoNewPrivs = true
	if mut != nil {
		mut(c)
	}
	return c
}

// strictPod decodes generated YAML the way a careful consumer would: unknown or duplicate
// fields are errors.
func strictPod(t *testing.T, y []byte) *Pod {
	t.Helper()
	var p Pod
	if err := yaml.UnmarshalStrict(y, &p); err != nil {
		t.Fatalf("generated YAML does not decode strictly: %v\n%s", err, y)
	}
	return &p
}

func TestGenerateContainer(t *testing.T) {
	web := record(idWeb, "web_1", func(c *run.Container) {
		c.Config.Entrypoint = []string{"/bin/sh", "-c"}
		c.Config.Cmd = []string{"httpd -f -p 8080"}
		c.Config.Env = []string{"PATH=/bin:/usr/bin", "HOSTNAME=webhost", "MODE=prod", "EMPTY="}
		c.Config.WorkingDir = "/srv"
		c.Config.User = "1000:50"
		c.Config.Hostname = "webhost"
		c.Host.Privileged = true
		c.Host.CapAdd = []string{"net_admin"}
		c.Host.CapDrop = []string{"CAP_CHOWN"}
		c.Host.ReadOnly = true
		c.Host.ExtraHosts = []string{"db:10.0.0.5", "cache:10.0.0.5", "api:10.0.0.6"}
		c.Host.Init = true
	})
	pod, warn := NewPod(PodInput{Name: "web-1-pod", Root: web, Members: []Member{{C: web, ImageName: "localhost/busybox:latest", Image: busyboxCfg}}})
	y, err := Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	got := strictPod(t, y)
	for _, unwanted := range []string{"creationTimestamp", "status", "resources"} {
		if strings.Contains(string(y), unwanted) {
			t.Errorf("output has an empty %s:\n%s", unwanted, y)
		}
	}
	uid, gid := int64(1000), int64(50)
	want := PodSpec{
		RestartPolicy: RestartPolicyNever,
		Hostname:      "webhost",
		Containers: []Container{{
			Name: "web-1", Image: "localhost/busybox:latest",
			Command: []string{"/bin/sh", "-c"}, Args: []string{"httpd -f -p 8080"},
			Env:        []EnvVar{{Name: "MODE", Value: "prod"}, {Name: "EMPTY"}},
			WorkingDir: "/srv",
			SecurityContext: &SecurityContext{
				Privileged:             ptr(true),
				Capabilities:           &Capabilities{Add: []Capability{"NET_ADMIN"}, Drop: []Capability{"CHOWN"}},
				ReadOnlyRootFilesystem: ptr(true),
				RunAsUser:              &uid, RunAsGroup: &gid,
			},
		}},
		HostAliases: []HostAlias{{IP: "10.0.0.5", Hostnames: []string{"db", "cache"}}, {IP: "10.0.0.6", Hostnames: []string{"api"}}},
	}
	if !reflect.DeepEqual(got.Spec, want) {
		t.Errorf("spec:\n%s\nwant:\n%s", y, mustYAML(t, want))
	}
	if got.APIVersion != "v1" || got.Kind != "Pod" || got.Name != "web-1-pod" {
		t.Errorf("header: %s %s %s", got.APIVersion, got.Kind, got.Name)
	}
	if len(warn) != 1 || !strings.Contains(warn[0], "--init") {
		t.Errorf("warnings %q, want one about --init", warn)
	}
}

func mustYAML(t *testing.T, v any) string {
	y, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(y)
}

func TestGenerateCommandArgs(t *testing.T) {
	img := &image.ContainerConfig{Entrypoint: []string{"/ep"}, Cmd: []string{"serve"}}
	cases := []struct {
		name          string
		ep, cmd       []string
		command, args []string
	}{
		{"the image's", []string{"/ep"}, []string{"serve"}, nil, nil},
		{"new cmd", []string{"/ep"}, []string{"debug"}, nil, []string{"debug"}},
		{"new entrypoint keeps the cmd explicit", []string{"/other"}, []string{"serve"}, []string{"/other"}, []string{"serve"}},
		{"entrypoint cleared", nil, []string{"sh", "-c", "x"}, []string{"sh", "-c", "x"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := record(idWeb, "web", func(c *run.Container) { c.Config.Entrypoint, c.Config.Cmd = tc.ep, tc.cmd })
			ps, _ := NewPodSpec(PodInput{Name: "p", Root: c, Members: []Member{{C: c, Image: img}}})
			k := ps.Containers[0]
			if !reflect.DeepEqual(k.Command, tc.command) || !reflect.DeepEqual(k.Args, tc.args) {
				t.Errorf("command %q args %q, want %q %q", k.Command, k.Args, tc.command, tc.args)
			}
		})
	}
}

func TestGenerateSharedNamespacePortsVolumes(t *testing.T) {
	web := record(idWeb, "web", func(c *run.Container) {
		c.Config.ExposedPorts = []string{"80/tcp"}
		c.Host.PortBindings = []run.PortBinding{
			{HostPort: 8080, ContainerPort: 80, Proto: "tcp"},
			{HostIP: "127.0.0.1", HostPort: 8081, ContainerPort: 80, Proto: "tcp"},
			{HostPort: 5353, ContainerPort: 53, Proto: "udp"},
			{HostPort: 9000, ContainerPort: 9000, Proto: "tcp"},
		}
		c.Host.Mounts = []run.Mount{
			{Type: "tmpfs", Source: "tmpfs", Destination: "/run", RW: true, Options: []string{"noexec", "nosuid", "nodev"}},
			{Type: "bind", Source: "/srv/data", Destination: "/data", RW: true},
			{Type: "bind", Source: "/etc/app.conf", Destination: "/app.conf", File: true},
			{Type: "volume", Name: "books", Destination: "/books", RW: true},
			{Type: "volume", Name: anonV, Destination: "/cache", RW: true, Anonymous: true},
		}
	})
	side := record(idSide, "side", func(c *run.Container) {
		c.Host.NetworkMode = "container:" + idWeb
		c.Config.Hostname = web.Config.Hostname
		c.Config.ExposedPorts = []string{"53/udp"}
		c.Host.Mounts = []run.Mount{
			{Type: "volume", Name: anonV, Destination: "/cache"},
			{Type: "bind", Source: "/srv/data", Destination: "/in"},
		}
		c.Host.Links = []string{"web:www", "db:database"}
	})
	in := PodInput{Name: "web-pod", Root: web, Members: []Member{{C: web, Image: busyboxCfg}, {C: side, Image: busyboxCfg}},
		VolumeNames: map[string]string{anonV: "cache"}, LinkIPs: map[string]string{"web": "127.0.0.1"}}
	pod, warn := NewPod(in)
	y, _ := Marshal(pod)
	got := strictPod(t, y)
	dirOrCreate, file := HostPathDirectoryOrCreate, HostPathFile
	wantVolumes := []Volume{
		{Name: "tmpfs-run", VolumeSource: VolumeSource{EmptyDir: &EmptyDirVolumeSource{Medium: StorageMediumMemory}}},
		{Name: "srv-data", VolumeSource: VolumeSource{HostPath: &HostPathVolumeSource{Path: "/srv/data", Type: &dirOrCreate}}},
		{Name: "etc-app-conf", VolumeSource: VolumeSource{HostPath: &HostPathVolumeSource{Path: "/etc/app.conf", Type: &file}}},
		{Name: "books", VolumeSource: VolumeSource{PersistentVolumeClaim: &PersistentVolumeClaimVolumeSource{ClaimName: "books"}}},
		{Name: "cache", VolumeSource: VolumeSource{EmptyDir: &EmptyDirVolumeSource{}}},
	}
	if !reflect.DeepEqual(got.Spec.Volumes, wantVolumes) {
		t.Errorf("volumes:\n%s\nwant:\n%s", mustYAML(t, got.Spec.Volumes), mustYAML(t, wantVolumes))
	}
	wantWeb := []VolumeMount{
		{Name: "tmpfs-run", MountPath: "/run"}, {Name: "srv-data", MountPath: "/data"},
		{Name: "etc-app-conf", MountPath: "/app.conf", ReadOnly: true}, {Name: "books", MountPath: "/books"},
		{Name: "cache", MountPath: "/cache"},
	}
	wantSide := []VolumeMount{{Name: "cache", MountPath: "/cache", ReadOnly: true}, {Name: "srv-data", MountPath: "/in", ReadOnly: true}}
	if len(got.Spec.Containers) != 2 {
		t.Fatalf("%d containers, want web and side in one pod:\n%s", len(got.Spec.Containers), y)
	}
	if m := got.Spec.Containers[0].VolumeMounts; !reflect.DeepEqual(m, wantWeb) {
		t.Errorf("web mounts %+v, want %+v", m, wantWeb)
	}
	if m := got.Spec.Containers[1].VolumeMounts; !reflect.DeepEqual(m, wantSide) {
		t.Errorf("side mounts %+v, want %+v", m, wantSide)
	}
	// 80 is web's, 53/udp side's (it exposes it), 9000 nobody's: the namespace owner's.
	wantWebPorts := []ContainerPort{
		{ContainerPort: 80, HostPort: 8080, Protocol: "TCP"},
		{ContainerPort: 80, HostPort: 8081, HostIP: "127.0.0.1", Protocol: "TCP"},
		{ContainerPort: 9000, HostPort: 9000, Protocol: "TCP"},
	}
	wantSidePorts := []ContainerPort{{ContainerPort: 53, HostPort: 5353, Protocol: "UDP"}}
	if p := got.Spec.Containers[0].Ports; !reflect.DeepEqual(p, wantWebPorts) {
		t.Errorf("web ports %+v, want %+v", p, wantWebPorts)
	}
	if p := got.Spec.Containers[1].Ports; !reflect.DeepEqual(p, wantSidePorts) {
		t.Errorf("side ports %+v, want %+v", p, wantSidePorts)
	}
	wantAliases := []HostAlias{{IP: "127.0.0.1", Hostnames: []string{"www", "web"}}}
	if !reflect.DeepEqual(got.Spec.HostAliases, wantAliases) {
		t.Errorf("hostAliases %+v, want %+v", got.Spec.HostAliases, wantAliases)
	}
	if got.Spec.Hostname != "" {
		t.Errorf("hostname %q: sbx's default (the ID) is no pod hostname", got.Spec.Hostname)
	}
	if len(warn) != 1 || !strings.Contains(warn[0], "--link db:database") {
		t.Errorf("warnings %q, want one for the link without an address", warn)
	}
}

func TestGenerateUserWarnings(t *testing.T) {
	c := record(idWeb, "web", func(c *run.Container) {
		c.Config.User = "nobody"
		c.Host.NoNewPrivs = false
		c.Host.Memory = 1 << 20
	})
	ps, warn := NewPodSpec(PodInput{Name: "p", Root: c, Members: []Member{{C: c, Image: busyboxCfg}}})
	sc := ps.Containers[0].SecurityContext
	if sc == nil || sc.RunAsUser != nil || sc.AllowPrivilegeEscalation == nil || !*sc.AllowPrivilegeEscalation {
		t.Errorf("securityContext %+v: want allowPrivilegeEscalation true and no runAsUser", sc)
	}
	joined := strings.Join(warn, "\n")
	for _, w := range []string{`"nobody" is not numeric`, "--memory"} {
		if !strings.Contains(joined, w) {
			t.Errorf("no warning about %s in %q", w, warn)
		}
	}
}

func TestGenerateDeployment(t *testing.T) {
	c := record(idWeb, "web", func(c *run.Container) { c.Config.Labels = map[string]string{"tier": "front", LabelPod: "x"} })
	d, _ := NewDeployment(PodInput{Name: "web", Root: c, Members: []Member{{C: c, Image: busyboxCfg}}})
	y, err := Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var got Deployment
	if err := yaml.UnmarshalStrict(y, &got); err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	if got.Kind != "Deployment" || got.APIVersion != "apps/v1" || *got.Spec.Replicas != 1 {
		t.Errorf("header %s %s replicas %d", got.APIVersion, got.Kind, *got.Spec.Replicas)
	}
	want := map[string]string{"app": "web", "tier": "front"}
	if !reflect.DeepEqual(got.Spec.Template.Labels, want) || got.Spec.Selector.MatchLabels["app"] != "web" {
		t.Errorf("labels %v selector %v", got.Spec.Template.Labels, got.Spec.Selector.MatchLabels)
	}
	if got.Spec.Template.Spec.RestartPolicy != "" {
		t.Errorf("restartPolicy %q: a Deployment allows only Always (the default)", got.Spec.Template.Spec.RestartPolicy)
	}
}

func TestDNSLabel(t *testing.T) {
	for in, want := range map[string]string{
		"web_1": "web-1", "/srv/Data": "srv-data", "/": "root", "a..b": "a-b",
		strings.Repeat("x", 70): strings.Repeat("x", 63),
	} {
		if got := dnsLabel(in); got != want {
			t.Errorf("dnsLabel(%q) = %q, want %q", in, got, want)
		}
	}
	taken := map[string]bool{}
	if a, b := uniqueName("v", taken), uniqueName("v", taken); a != "v" || b != "v-2" {
		t.Errorf("uniqueName: %q %q", a, b)
	}
}

// A pod made by generate parses and plans back to the same containers: the pure half of
// the round trip (the testscript kube_roundtrip does the whole of it with real containers).
func TestGeneratedPodPlays(t *testing.T) {
	web := record(idWeb, "web", func(c *run.Container) {
		c.Config.Entrypoint = []string{"/bin/sh", "-c"}
		c.Config.Cmd = []string{"sleep 100"}
		c.Config.ExposedPorts = []string{"80/tcp"}
		c.Host.PortBindings = []run.PortBinding{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}
		c.Host.Mounts = []run.Mount{
			{Type: "bind", Source: "/srv/data", Destination: "/data", RW: true},
			{Type: "volume", Name: anonV, Destination: "/cache", RW: true, Anonymous: true},
			{Type: "volume", Name: "books", Destination: "/books", RW: false},
		}
		c.Host.ExtraHosts = []string{"db:10.0.0.5"}
		c.Host.CapAdd = []string{"NET_ADMIN"}
		c.Config.User = "1000"
	})
	pod, _ := NewPod(PodInput{Name: "web-pod", Root: web, Members: []Member{{C: web, ImageName: "busybox", Image: busyboxCfg}}})
	y, _ := Marshal(pod)
	pods, err := Parse(y)
	if err != nil {
		t.Fatalf("generated pod refused: %v\n%s", err, y)
	}
	plan := Plan(pods[0], PlanOptions{InfraRoot: "/infra", Binary: "/sbx", NewVolumeName: func() string { return "newvol" }})
	if plan.Name != "web-pod" || plan.Infra.Name != "web-pod-infra" || plan.Infra.Hostname != "web-pod" {
		t.Errorf("pod %s infra %s hostname %s", plan.Name, plan.Infra.Name, plan.Infra.Hostname)
	}
	if want := []run.PortBinding{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}; !reflect.DeepEqual(plan.Infra.Publish, want) {
		t.Errorf("infra publishes %+v, want %+v", plan.Infra.Publish, want)
	}
	c := plan.Containers[0]
	if c.Name != "web-pod-web" || c.Network != "container:web-pod-infra" || c.Image != "busybox" {
		t.Errorf("container %s network %s image %s", c.Name, c.Network, c.Image)
	}
	if !reflect.DeepEqual(c.EntrypointArgv, web.Config.Entrypoint) || !reflect.DeepEqual(c.Cmd, web.Config.Cmd) {
		t.Errorf("entrypoint %q cmd %q", c.EntrypointArgv, c.Cmd)
	}
	if c.User != "1000" || !reflect.DeepEqual(c.CapAdd, []string{"NET_ADMIN"}) || !c.Security.NoNewPrivileges {
		t.Errorf("user %q caps %q nnp %v", c.User, c.CapAdd, c.Security.NoNewPrivileges)
	}
	if !reflect.DeepEqual(c.Expose, []string{"80/tcp"}) || !reflect.DeepEqual(c.ExtraHosts, []string{"db:10.0.0.5"}) {
		t.Errorf("expose %q extra hosts %q", c.Expose, c.ExtraHosts)
	}
	if len(c.Binds) != 1 || c.Binds[0].Source != "/srv/data" || c.Binds[0].Destination != "/data" || !c.Binds[0].RW {
		t.Errorf("binds %+v", c.Binds)
	}
	if len(c.Volumes) != 2 || c.Volumes[0].Name != "newvol" || c.Volumes[1].Name != "books" || !c.Volumes[1].ReadOnly {
		t.Errorf("volumes %+v", c.Volumes)
	}
	if want := []EmptyDir{{Name: "vol-cccccccccccc", Volume: "newvol"}}; !reflect.DeepEqual(plan.EmptyDirs, want) {
		t.Errorf("emptyDirs %+v, want %+v", plan.EmptyDirs, want)
	}
	if c.Labels[LabelPod] != "web-pod" || c.Labels[LabelContainer] != "web" {
		t.Errorf("labels %v", c.Labels)
	}
	_ = spec.DefaultPath
}
