package kube

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// podSpecFields are the pod spec fields `kube play` carries out, as paths with [] for list
// elements. Anything else in a file is refused unless it is empty (null, {}, [], "" or
// false), which asks for nothing.
var podSpecFields = []string{
	"containers[].name", "containers[].image", "containers[].command", "containers[].args",
	"containers[].workingDir", "containers[].env[].name", "containers[].env[].value",
	"containers[].ports[].name", "containers[].ports[].containerPort", "containers[].ports[].hostPort",
	"containers[].ports[].hostIP", "containers[].ports[].protocol",
	"containers[].volumeMounts[].name", "containers[].volumeMounts[].mountPath",
	"containers[].volumeMounts[].readOnly",
	"containers[].securityContext.privileged", "containers[].securityContext.capabilities.add",
	"containers[].securityContext.capabilities.drop", "containers[].securityContext.readOnlyRootFilesystem",
	"containers[].securityContext.runAsUser", "containers[].securityContext.runAsGroup",
	"containers[].securityContext.allowPrivilegeEscalation",
	"volumes[].name", "volumes[].hostPath.path", "volumes[].hostPath.type", "volumes[].emptyDir.medium",
	"volumes[].persistentVolumeClaim.claimName", "volumes[].persistentVolumeClaim.readOnly",
	"hostname", "hostNetwork", "restartPolicy", "hostAliases[].ip", "hostAliases[].hostnames",
}

// supportedPaths lists the fields of a Pod or a Deployment that play carries out.
func supportedPaths(kind string) []string {
	paths := []string{"apiVersion", "kind", "metadata.name", "metadata.labels"}
	prefix := "spec."
	if kind == "Deployment" {
		paths = append(paths, "spec.replicas", "spec.selector.matchLabels", "spec.template.metadata.labels")
		prefix = "spec.template.spec."
	}
	for _, p := range podSpecFields {
		paths = append(paths, prefix+p)
	}
	return paths
}

// fieldCheck walks a decoded YAML document beside the Go type it stands for and sorts out
// the fields the type does not have (unknown) from those it has but play does not carry
// out (unsupported).
type fieldCheck struct {
	allowed     map[string]bool // supported paths
	ancestors   map[string]bool // paths that lead to a supported one
	unknown     []string
	unsupported []string
}

func newFieldCheck(paths []string) *fieldCheck {
	fc := &fieldCheck{allowed: map[string]bool{}, ancestors: map[string]bool{}}
	for _, p := range paths {
		fc.allowed[p] = true
		for i := range p {
			switch {
			case p[i] == '.':
				fc.ancestors[p[:i]] = true
			case p[i] == '[':
				fc.ancestors[p[:i]] = true
				fc.ancestors[p[:i+2]] = true
			}
		}
	}
	return fc
}

// object checks a JSON object against struct type t (one of types.go, which stands for the
// Kubernetes type of the same name, whose other fields k8sFields lists); path is what the user sees
// (spec.containers[0].name), norm the same with [] for indices.
func (fc *fieldCheck) object(obj map[string]any, t reflect.Type, path, norm string) {
	fields := jsonFields(t)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	known := k8sFields[t.Name()]
	for _, k := range keys {
		p, n := join(path, k), join(norm, k)
		ft, ok := fields[k]
		switch {
		case ok:
			fc.value(obj[k], ft, p, n)
		case !slices.Contains(known, k):
			fc.unknown = append(fc.unknown, p)
		case !empty(obj[k]):
			// A Kubernetes field that types.go leaves out: play does not carry it out.
			fc.unsupported = append(fc.unsupported, p)
		}
	}
}

func (fc *fieldCheck) value(v any, t reflect.Type, path, norm string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case fc.allowed[norm]:
		return
	case fc.ancestors[norm]:
		switch v := v.(type) {
		case map[string]any:
			if t.Kind() == reflect.Struct && !isLeaf(t) {
				fc.object(v, t, path, norm)
			}
		case []any:
			if t.Kind() == reflect.Slice {
				for i, e := range v {
					fc.value(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", norm+"[]")
				}
			}
		}
	case empty(v):
	default:
		fc.unsupported = append(fc.unsupported, path)
	}
}

// empty reports a value that asks for nothing.
func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	case string:
		return v == ""
	case bool:
		return !v
	}
	return false
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// isLeaf: types that decode themselves (times, quantities, int-or-string) have no fields.
func isLeaf(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(unmarshalerType)
}

// jsonFields maps the JSON names of a struct's fields to their types, embedded and
// ",inline" structs included.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" && (f.Anonymous || strings.Contains(opts, "inline")) {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range jsonFields(ft) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}
