package kube

// The part of the Kubernetes API types (core/v1 and apps/v1) that kube play carries out and
// kube generate writes: the same type names, field names and JSON tags, fields left out.
// k8s.io/api itself would add some 7 MB to sbx and 2-3 ms to the start of every sbx
// command (its package initialisation and the pages of its code), for two commands.
// types_test.go checks every field against k8s.io/api, and keeps the list of the fields
// these types leave out (k8sfields.go), which play needs to tell a field it does not
// carry out from a misspelt one.

// TypeMeta is metav1.TypeMeta.
type TypeMeta struct {
	Kind       string `json:"kind,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
}

// ObjectMeta is the part of metav1.ObjectMeta that sbx uses.
type ObjectMeta struct {
	Name   string            `json:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Pod is corev1.Pod.
type Pod struct {
	TypeMeta
	ObjectMeta `json:"metadata,omitempty"`
	Spec       PodSpec `json:"spec,omitempty"`
}

// PodSpec is corev1.PodSpec.
type PodSpec struct {
	Volumes       []Volume      `json:"volumes,omitempty"`
	Containers    []Container   `json:"containers"`
	RestartPolicy RestartPolicy `json:"restartPolicy,omitempty"`
	HostNetwork   bool          `json:"hostNetwork,omitempty"`
	Hostname      string        `json:"hostname,omitempty"`
	HostAliases   []HostAlias   `json:"hostAliases,omitempty"`
}

// RestartPolicy is corev1.RestartPolicy.
type RestartPolicy string

const (
	RestartPolicyAlways RestartPolicy = "Always"
	RestartPolicyNever  RestartPolicy = "Never"
)

// Container is corev1.Container.
type Container struct {
	Name            string           `json:"name"`
	Image           string           `json:"image,omitempty"`
	Command         []string         `json:"command,omitempty"`
	Args            []string         `json:"args,omitempty"`
	WorkingDir      string           `json:"workingDir,omitempty"`
	Ports           []ContainerPort  `json:"ports,omitempty"`
	Env             []EnvVar         `json:"env,omitempty"`
	VolumeMounts    []VolumeMount    `json:"volumeMounts,omitempty"`
	SecurityContext *SecurityContext `json:"securityContext,omitempty"`
}

// ContainerPort is corev1.ContainerPort.
type ContainerPort struct {
	Name          string   `json:"name,omitempty"`
	HostPort      int32    `json:"hostPort,omitempty"`
	ContainerPort int32    `json:"containerPort"`
	Protocol      Protocol `json:"protocol,omitempty"`
	HostIP        string   `json:"hostIP,omitempty"`
}

// Protocol is corev1.Protocol.
type Protocol string

const (
	ProtocolTCP Protocol = "TCP"
	ProtocolUDP Protocol = "UDP"
)

// EnvVar is corev1.EnvVar.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// VolumeMount is corev1.VolumeMount.
type VolumeMount struct {
	Name      string `json:"name"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
	MountPath string `json:"mountPath"`
}

// SecurityContext is corev1.SecurityContext.
type SecurityContext struct {
	Capabilities             *Capabilities `json:"capabilities,omitempty"`
	Privileged               *bool         `json:"privileged,omitempty"`
	RunAsUser                *int64        `json:"runAsUser,omitempty"`
	RunAsGroup               *int64        `json:"runAsGroup,omitempty"`
	ReadOnlyRootFilesystem   *bool         `json:"readOnlyRootFilesystem,omitempty"`
	AllowPrivilegeEscalation *bool         `json:"allowPrivilegeEscalation,omitempty"`
}

// Capabilities is corev1.Capabilities.
type Capabilities struct {
	Add  []Capability `json:"add,omitempty"`
	Drop []Capability `json:"drop,omitempty"`
}

// Capability is corev1.Capability.
type Capability string

// Volume is corev1.Volume.
type Volume struct {
	Name string `json:"name"`
	VolumeSource
}

// VolumeSource is corev1.VolumeSource.
type VolumeSource struct {
	HostPath              *HostPathVolumeSource              `json:"hostPath,omitempty"`
	EmptyDir              *EmptyDirVolumeSource              `json:"emptyDir,omitempty"`
	PersistentVolumeClaim *PersistentVolumeClaimVolumeSource `json:"persistentVolumeClaim,omitempty"`
}

// HostPathVolumeSource is corev1.HostPathVolumeSource.
type HostPathVolumeSource struct {
	Path string        `json:"path"`
	Type *HostPathType `json:"type,omitempty"`
}

// HostPathType is corev1.HostPathType.
type HostPathType string

const (
	HostPathDirectoryOrCreate HostPathType = "DirectoryOrCreate"
	HostPathDirectory         HostPathType = "Directory"
	HostPathFile              HostPathType = "File"
)

// EmptyDirVolumeSource is corev1.EmptyDirVolumeSource.
type EmptyDirVolumeSource struct {
	Medium StorageMedium `json:"medium,omitempty"`
}

// StorageMedium is corev1.StorageMedium.
type StorageMedium string

const StorageMediumMemory StorageMedium = "Memory"

// PersistentVolumeClaimVolumeSource is corev1.PersistentVolumeClaimVolumeSource.
type PersistentVolumeClaimVolumeSource struct {
	ClaimName string `json:"claimName"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

// HostAlias is corev1.HostAlias.
type HostAlias struct {
	IP        string   `json:"ip"`
	Hostnames []string `json:"hostnames,omitempty"`
}

// Deployment is appsv1.Deployment.
type Deployment struct {
	TypeMeta
	ObjectMeta `json:"metadata,omitempty"`
	Spec       DeploymentSpec `json:"spec,omitempty"`
}

// DeploymentSpec is appsv1.DeploymentSpec.
type DeploymentSpec struct {
	Replicas *int32          `json:"replicas,omitempty"`
	Selector *LabelSelector  `json:"selector"`
	Template PodTemplateSpec `json:"template"`
}

// LabelSelector is metav1.LabelSelector.
type LabelSelector struct {
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// PodTemplateSpec is corev1.PodTemplateSpec.
type PodTemplateSpec struct {
	ObjectMeta `json:"metadata,omitempty"`
	Spec       PodSpec `json:"spec,omitempty"`
}
