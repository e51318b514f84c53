// Package kube translates between sbx containers and Kubernetes objects, host side.
//
// Generate (generate.go) turns the records of containers that share one network namespace
// into a v1 Pod or an apps/v1 Deployment; Parse and Plan (play.go, check.go) turn such a
// YAML file back into the options of the containers that run it. Those functions are pure:
// they see records, image configs and YAML, never the store, so they get table tests.
// host.go is the part that calls package run: it collects records for Generate, and creates,
// starts and removes the containers of a played pod.
//
// A played pod is one infra container that owns the network namespace and the host name,
// and one container per pod container, named POD-NAME, joined to it with
// --network container:POD-infra, as podman does. The infra container needs nothing from any
// image: its root is an empty directory, read-only, with the sbx binary bound in at /sbx,
// which runs there as `sbx __pause` (a static binary, so it needs no libraries) and only
// waits for its stop signal. Labels on the containers and on the pod's emptyDir volumes
// record membership, so that `kube down` removes exactly what `kube play` made.
//
// What cannot be translated is never dropped silently: Generate returns a warning for each
// setting it leaves out, and Parse refuses a file with any field it does not carry out,
// naming every such field by its path in one line.
package kube

// Labels sbx puts on the containers and volumes of a played pod.
const (
	LabelPod       = "io.sbx.kube.pod"       // the pod's name, on its containers and emptyDir volumes
	LabelContainer = "io.sbx.kube.container" // the container's name inside the pod
	LabelInfra     = "io.sbx.kube.infra"     // "true" on the infra container
	LabelVolume    = "io.sbx.kube.volume"    // an emptyDir volume's name inside the pod
)

// InfraName is the name of a pod's infra container.
func InfraName(pod string) string { return pod + "-infra" }

// ContainerName is the sbx name of a pod's container.
func ContainerName(pod, ctr string) string { return pod + "-" + ctr }
