package kube

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRefuses(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string // each must be in the one-line error
	}{
		{"unsupported and unknown fields by path", `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: prod}
spec:
  nodeSelector: {disk: ssd}
  initContainers: [{name: init, image: busybox}]
  containers:
  - name: web
    image: busybox
    livenessProbe: {exec: {command: [true]}}
    resources: {limits: {memory: 1Gi}}
    env: [{name: A, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
    colour: blue
`, []string{"unsupported fields: metadata.namespace, spec.containers[0].env[0].valueFrom, spec.containers[0].livenessProbe, spec.containers[0].resources, spec.initContainers, spec.nodeSelector",
			"unknown fields: spec.containers[0].colour"}},
		{"kind", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\n", []string{`kind "Job" apiVersion "batch/v1" is not supported`}},
		{"restart policy", `
apiVersion: v1
kind: Pod
metadata: {name: web}
spec: {restartPolicy: Always, containers: [{name: web, image: busybox}]}
`, []string{"spec.restartPolicy: Always"}},
		{"values", `
apiVersion: v1
kind: Pod
metadata: {name: Web_1}
spec:
  containers:
  - name: infra
    image: ""
    workingDir: rel
    ports: [{containerPort: 0, protocol: SCTP}]
    volumeMounts: [{name: nope, mountPath: /x}, {name: mem, mountPath: /m}]
  - name: b
    image: busybox
    volumeMounts: [{name: mem, mountPath: /m}]
  volumes:
  - {name: mem, emptyDir: {medium: Memory}}
  - {name: hp, hostPath: {path: rel, type: Socket}}
  - {name: none}
`, []string{`metadata.name: "Web_1" is not a valid pod name`, "spec.containers[0].name: infra is the name",
			"spec.containers[0].image: missing", `spec.containers[0].workingDir: "rel"`, "spec.containers[0].ports[0].containerPort: 0",
			"spec.containers[0].ports[0].protocol: SCTP", `spec.containers[0].volumeMounts[0].name: no volume named "nope"`,
			"spec.volumes[0].emptyDir.medium: a Memory emptyDir", `spec.volumes[1].hostPath.path: "rel"`,
			"spec.volumes[1].hostPath.type: Socket", "spec.volumes[2]: needs exactly one of"}},
		{"deployment replicas", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  strategy: {type: Recreate}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: busybox}]}
`, []string{"spec.replicas: 3", "unsupported fields: spec.strategy"}},
		{"second document", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: i}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: i, stdin: true}]}\n",
			[]string{"document 2: unsupported fields: spec.containers[0].stdin"}},
		{"empty", "# nothing\n", []string{"no Pod or Deployment"}},
		{"not yaml", "a: [b\n", []string{"not valid YAML"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrRefused) && !strings.Contains(err.Error(), "not valid YAML") {
				t.Errorf("error %v is not ErrRefused", err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	// Empty values of fields sbx does not carry out ask for nothing, and pass.
	pods, err := Parse([]byte(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, creationTimestamp: null}
spec:
  selector: {matchLabels: {app: web}}
  strategy: {}
  template:
    metadata: {labels: {app: web}}
    spec:
      restartPolicy: Always
      hostNetwork: false
      containers:
      - name: web
        image: busybox
        command: [sh, -c]
        args: ["echo hi"]
        resources: {}
        ports: [{containerPort: 80, hostPort: 8080, protocol: TCP}]
      volumes:
      - {name: scratch, emptyDir: {}}
status: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	p := pods[0]
	if p.Name != "web" || p.Labels["app"] != "web" || len(p.Spec.Containers) != 1 || p.Spec.Volumes[0].EmptyDir == nil {
		t.Errorf("pod %+v", p)
	}
	plan := Plan(p, PlanOptions{NewVolumeName: func() string { return "v1" }})
	if len(plan.EmptyDirs) != 1 || plan.Containers[0].Labels["app"] != "web" {
		t.Errorf("plan %+v", plan)
	}
}

func TestPodNames(t *testing.T) {
	names, err := PodNames([]byte("kind: Pod\nmetadata: {name: a}\n---\nkind: Deployment\nmetadata:\n  name: b\n  junk: 1\n"))
	if err != nil || strings.Join(names, ",") != "a,b" {
		t.Errorf("%q %v", names, err)
	}
	if _, err := PodNames([]byte("kind: Service\nmetadata: {name: a}\n")); err == nil {
		t.Error("a Service was taken for a pod")
	}
}
