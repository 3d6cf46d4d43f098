package deploy

// How the objects of deploy/kubernetes reference each other: selectors, the
// router StatefulSet's headless Service, ConfigMap volumes and --config
// paths, the operator's inject annotation, the resolvers' targets and the
// RBAC of the k8s resolver's account.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// TestKubernetesTopology: the objects reference each other as the
// topology needs.
func TestKubernetesTopology(t *testing.T) {
	objs := loadK8s(t)
	sts := objs.statefulSets[0]
	headless := findService(objs, sts.Spec.ServiceName)
	switch {
	case headless == nil:
		t.Fatalf("StatefulSet %s: serviceName %q is not a Service of the manifests", sts.Name, sts.Spec.ServiceName)
	case headless.Spec.ClusterIP != corev1.ClusterIPNone:
		t.Errorf("Service %s: must be headless (clusterIP None) for the dns and k8s resolvers", headless.Name)
	case !selects(headless.Spec.Selector, sts.Spec.Template.Labels):
		t.Errorf("Service %s: selector %v does not select the routers %v", headless.Name, headless.Spec.Selector, sts.Spec.Template.Labels)
	}
	if headless != nil && !hasPort(headless.Spec.Ports, 4317) {
		t.Errorf("Service %s: no port 4317 (OTLP gRPC, what the resolvers' port names)", headless.Name)
	}
	router := sts.Spec.Template.Spec.Containers[0]
	if !hasEnvFromField(router.Env, "TASKER_ROUTER_INSTANCE", "metadata.name") {
		t.Errorf("router container: TASKER_ROUTER_INSTANCE must come from metadata.name (the instance label of its metrics)")
	}
	for _, w := range append([]appsv1.Deployment{}, objs.deployments...) {
		checkSelector(t, "Deployment "+w.Name, w.Spec.Selector, w.Spec.Template.Labels)
		checkConfigVolumes(t, objs, "Deployment "+w.Name, w.Spec.Template.Spec)
	}
	checkSelector(t, "StatefulSet "+sts.Name, sts.Spec.Selector, sts.Spec.Template.Labels)
	checkConfigVolumes(t, objs, "StatefulSet "+sts.Name, sts.Spec.Template.Spec)

	// the operator's sidecar: injected by annotation, in sidecar mode,
	// resolving the headless Service with an account allowed to
	col := objs.collectors[0]
	if col.Spec.Mode != "sidecar" {
		t.Errorf("OpenTelemetryCollector %s: mode %q, want sidecar", col.Name, col.Spec.Mode)
	}
	injected := 0
	for _, w := range objs.deployments {
		if w.Spec.Template.Annotations["sidecar.opentelemetry.io/inject"] != col.Name {
			continue
		}
		injected++
		if w.Namespace != col.Namespace {
			t.Errorf("Deployment %s: in %s, its sidecar %s in %s", w.Name, w.Namespace, col.Name, col.Namespace)
		}
		if !canWatchEndpointSlices(objs, w.Namespace, w.Spec.Template.Spec.ServiceAccountName) {
			t.Errorf("Deployment %s: ServiceAccount %q may not get/list/watch endpointslices (the k8s resolver needs it)", w.Name, w.Spec.Template.Spec.ServiceAccountName)
		}
	}
	if injected == 0 {
		t.Errorf("no Deployment asks for the sidecar %s (annotation sidecar.opentelemetry.io/inject)", col.Name)
	}
	if got := resolverTarget(t, col.Spec.Config); got != "k8s "+headless.Name+"."+headless.Namespace {
		t.Errorf("OpenTelemetryCollector %s: resolver %q, want the k8s resolver on %s.%s", col.Name, got, headless.Name, headless.Namespace)
	}

	// the plain sidecar: a native sidecar container resolving by DNS
	plain := 0
	for _, w := range objs.deployments {
		for _, c := range w.Spec.Template.Spec.InitContainers {
			if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
				continue
			}
			plain++
			cfg := embeddedConfig(t, objs, w.Spec.Template.Spec, c)
			want := "dns " + headless.Name + "." + headless.Namespace + ".svc.cluster.local:4317"
			if got := resolverTarget(t, cfg); got != want {
				t.Errorf("Deployment %s sidecar: resolver %q, want %q", w.Name, got, want)
			}
		}
	}
	if plain == 0 {
		t.Error("no Deployment has a plain sidecar (an init container with restartPolicy Always)")
	}
}

func collectorBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("OTELCOL_TASKER_BIN")
	if bin == "" {
		bin = filepath.Join(repoRoot(t), "bin", "otelcol-tasker")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no collector binary (%v): run `make build` or set OTELCOL_TASKER_BIN", err)
	}
	return bin
}

func findService(objs *k8sObjects, name string) *corev1.Service {
	for i := range objs.services {
		if objs.services[i].Name == name {
			return &objs.services[i]
		}
	}
	return nil
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func checkSelector(t *testing.T, what string, sel *metav1.LabelSelector, labels map[string]string) {
	t.Helper()
	if sel == nil || !selects(sel.MatchLabels, labels) {
		t.Errorf("%s: selector does not match its pod template labels %v", what, labels)
	}
}

func hasPort(ports []corev1.ServicePort, port int32) bool {
	for _, p := range ports {
		if p.Port == port {
			return true
		}
	}
	return false
}

func hasEnvFromField(env []corev1.EnvVar, name, field string) bool {
	for _, e := range env {
		if e.Name == name && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == field {
			return true
		}
	}
	return false
}

// checkConfigVolumes: every ConfigMap volume names a ConfigMap of the
// manifests, and every --config= argument is a key of a mounted one.
func checkConfigVolumes(t *testing.T, objs *k8sObjects, what string, pod corev1.PodSpec) {
	t.Helper()
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && findConfigMap(objs, v.ConfigMap.Name) == nil {
			t.Errorf("%s: volume %s names ConfigMap %q, which the manifests do not define", what, v.Name, v.ConfigMap.Name)
		}
	}
	for _, c := range append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...) {
		for _, a := range c.Args {
			if strings.HasPrefix(a, "--config=") {
				embeddedConfig(t, objs, pod, c) // fails unless it resolves
			}
		}
	}
}

func findConfigMap(objs *k8sObjects, name string) *corev1.ConfigMap {
	for i := range objs.configMaps {
		if objs.configMaps[i].Name == name {
			return &objs.configMaps[i]
		}
	}
	return nil
}

// embeddedConfig is the collector config container c reads: the ConfigMap
// key its --config= path names through its volume mounts.
func embeddedConfig(t *testing.T, objs *k8sObjects, pod corev1.PodSpec, c corev1.Container) map[string]any {
	t.Helper()
	var path string
	for _, a := range c.Args {
		if p, ok := strings.CutPrefix(a, "--config="); ok {
			path = p
		}
	}
	if path == "" {
		t.Fatalf("container %s: no --config= argument", c.Name)
	}
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			cm := findConfigMap(objs, v.ConfigMap.Name)
			if cm == nil {
				t.Fatalf("container %s: ConfigMap %q not in the manifests", c.Name, v.ConfigMap.Name)
			}
			text, ok := cm.Data[rel]
			if !ok {
				t.Fatalf("container %s: --config=%s: ConfigMap %s has no key %q", c.Name, path, cm.Name, rel)
			}
			var cfg map[string]any
			if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
				t.Fatalf("ConfigMap %s key %s: %v", cm.Name, rel, err)
			}
			return cfg
		}
	}
	t.Fatalf("container %s: --config=%s is under no ConfigMap mount", c.Name, path)
	return nil
}

// resolverTarget names the load_balancing exporter's resolver and target:
// "dns host:port" or "k8s service".
func resolverTarget(t *testing.T, cfg map[string]any) string {
	t.Helper()
	exps, _ := cfg["exporters"].(map[string]any)
	lb, _ := exps["load_balancing"].(map[string]any)
	res, _ := lb["resolver"].(map[string]any)
	if len(res) != 1 {
		t.Fatalf("load_balancing exporter: want exactly one resolver, got %v", res)
	}
	if d, ok := res["dns"].(map[string]any); ok {
		return fmt.Sprintf("dns %v:%v", d["hostname"], d["port"])
	}
	if k, ok := res["k8s"].(map[string]any); ok {
		return fmt.Sprintf("k8s %v", k["service"])
	}
	keys := make([]string, 0, len(res))
	for k := range res {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

// canWatchEndpointSlices: a RoleBinding in ns gives the ServiceAccount a
// Role that allows get, list and watch on discovery.k8s.io endpointslices.
func canWatchEndpointSlices(objs *k8sObjects, ns, sa string) bool {
	for _, rb := range objs.roleBindings {
		if rb.Namespace != ns || rb.RoleRef.Kind != "Role" {
			continue
		}
		bound := false
		for _, s := range rb.Subjects {
			bound = bound || (s.Kind == rbacv1.ServiceAccountKind && s.Name == sa && (s.Namespace == ns || s.Namespace == ""))
		}
		if !bound {
			continue
		}
		for _, r := range objs.roles {
			if r.Name != rb.RoleRef.Name || r.Namespace != ns {
				continue
			}
			for _, rule := range r.Rules {
				if slices.Contains(rule.APIGroups, "discovery.k8s.io") && slices.Contains(rule.Resources, "endpointslices") &&
					slices.Contains(rule.Verbs, "get") && slices.Contains(rule.Verbs, "list") && slices.Contains(rule.Verbs, "watch") {
					return true
				}
			}
		}
	}
	return false
}
