package deploy

// The Kubernetes manifests of deploy/kubernetes: every document decodes
// strictly into its Kubernetes API type (k8s.io/api; unknown or misspelled
// fields refused), the OpenTelemetry Operator's OpenTelemetryCollector is
// checked against the v1beta1 schema of the operator's CRD (a copy in
// testdata), the objects reference each other consistently, and every
// collector config they embed passes the built binary's `validate`.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const k8sDir = "deploy/kubernetes"

// otelCollector is the part of the operator's OpenTelemetryCollector the
// checks below read; the whole object is checked against the CRD schema.
type otelCollector struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Mode   string         `json:"mode"`
		Image  string         `json:"image"`
		Config map[string]any `json:"config"`
	} `json:"spec"`
}

// k8sObjects is every object of the manifests, by kind.
type k8sObjects struct {
	namespaces      []corev1.Namespace
	configMaps      []corev1.ConfigMap
	services        []corev1.Service
	serviceAccounts []corev1.ServiceAccount
	statefulSets    []appsv1.StatefulSet
	deployments     []appsv1.Deployment
	pdbs            []policyv1.PodDisruptionBudget
	roles           []rbacv1.Role
	roleBindings    []rbacv1.RoleBinding
	collectors      []otelCollector
	files           map[string]int // documents per file
}

// decodeStrict decodes one YAML document into out as the API server's
// strict field validation does: field names matched case-sensitively,
// unknown and duplicate fields refused.
func decodeStrict(doc []byte, out any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strictErrs, err := sigsjson.UnmarshalStrict(j, out, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, len(strictErrs))
		for i, e := range strictErrs {
			msgs[i] = e.Error()
		}
		return fmt.Errorf("strict decoding: %s", strings.Join(msgs, "; "))
	}
	return nil
}

// yamlDocuments splits a multi-document YAML file.
func yamlDocuments(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(append([]byte("\n"), b...), []byte("\n---")) {
		if len(bytes.TrimSpace(stripComments(d))) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			out = append(out, l...)
			out = append(out, '\n')
		}
	}
	return out
}

// decodeObject decodes one document into the type its apiVersion and kind
// name, strictly, and adds it to objs.
func decodeObject(doc []byte, objs *k8sObjects, schema map[string]any) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	strict := func(out any) error { return decodeStrict(doc, out) }
	var err error
	switch gvk := tm.APIVersion + "/" + tm.Kind; gvk {
	case "v1/Namespace":
		err = appendDecoded(strict, &objs.namespaces)
	case "v1/ConfigMap":
		err = appendDecoded(strict, &objs.configMaps)
	case "v1/Service":
		err = appendDecoded(strict, &objs.services)
	case "v1/ServiceAccount":
		err = appendDecoded(strict, &objs.serviceAccounts)
	case "apps/v1/StatefulSet":
		err = appendDecoded(strict, &objs.statefulSets)
	case "apps/v1/Deployment":
		err = appendDecoded(strict, &objs.deployments)
	case "policy/v1/PodDisruptionBudget":
		err = appendDecoded(strict, &objs.pdbs)
	case "rbac.authorization.k8s.io/v1/Role":
		err = appendDecoded(strict, &objs.roles)
	case "rbac.authorization.k8s.io/v1/RoleBinding":
		err = appendDecoded(strict, &objs.roleBindings)
	case "opentelemetry.io/v1beta1/OpenTelemetryCollector":
		// the API server checks metadata as ObjectMeta (the CRD schema
		// leaves it open), the rest against the CRD's schema
		var raw map[string]any
		if err = decodeStrict(doc, &raw); err != nil {
			return err
		}
		var meta struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		if err = decodeStrict(doc, &struct {
			metav1.TypeMeta `json:",inline"`
			Metadata        *metav1.ObjectMeta `json:"metadata"`
			Spec            any                `json:"spec"`
		}{Metadata: &meta.Metadata}); err != nil {
			return err
		}
		delete(raw, "metadata")
		if problems := checkSchema("", raw, schema); len(problems) > 0 {
			return fmt.Errorf("OpenTelemetryCollector does not fit the CRD schema:\n  %s", strings.Join(problems, "\n  "))
		}
		var c otelCollector
		if err = yaml.Unmarshal(doc, &c); err == nil {
			objs.collectors = append(objs.collectors, c)
		}
	default:
		return fmt.Errorf("%s: a kind this test does not know; add its type", gvk)
	}
	return err
}

func appendDecoded[T any](strict func(any) error, list *[]T) error {
	var v T
	if err := strict(&v); err != nil {
		return err
	}
	*list = append(*list, v)
	return nil
}

// crdSchema loads the OpenTelemetryCollector v1beta1 schema copied from the
// operator's CRD.
func crdSchema(t testing.TB) map[string]any {
	t.Helper()
	var f struct {
		Schema map[string]any `json:"openAPIV3Schema"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join("testdata", "opentelemetrycollector-v1beta1.schema.json")), &f); err != nil {
		t.Fatal(err)
	}
	if f.Schema == nil {
		t.Fatal("testdata schema has no openAPIV3Schema")
	}
	return f.Schema
}

// checkSchema checks v against a structural OpenAPI v3 schema as the API
// server does for a custom resource: types, enums, required fields, and
// unknown fields refused unless the schema preserves them.
func checkSchema(path string, v any, s map[string]any) []string {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, path+": "+fmt.Sprintf(format, args...)) }
	if v == nil {
		if s["nullable"] != true {
			fail("null is not allowed")
		}
		return problems
	}
	if s["x-kubernetes-int-or-string"] == true {
		switch v.(type) {
		case string, float64, int64, int:
		default:
			fail("want an integer or a string, got %T", v)
		}
		return problems
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		fail("%v is not one of %v", v, enum)
	}
	switch typ, _ := s["type"].(string); typ {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			fail("want an object, got %T", v)
			return problems
		}
		for _, r := range asList(s["required"]) {
			if _, ok := m[r.(string)]; !ok {
				fail("required field %q missing", r)
			}
		}
		props, _ := s["properties"].(map[string]any)
		addl, _ := s["additionalProperties"].(map[string]any)
		preserve := s["x-kubernetes-preserve-unknown-fields"] == true
		for _, k := range sortedKeys(m) {
			switch ps, ok := props[k].(map[string]any); {
			case ok:
				problems = append(problems, checkSchema(path+"."+k, m[k], ps)...)
			case addl != nil:
				problems = append(problems, checkSchema(path+"."+k, m[k], addl)...)
			case !preserve:
				fail("unknown field %q", k)
			}
		}
	case "array":
		l, ok := v.([]any)
		if !ok {
			fail("want an array, got %T", v)
			return problems
		}
		items, _ := s["items"].(map[string]any)
		for i, x := range l {
			problems = append(problems, checkSchema(fmt.Sprintf("%s[%d]", path, i), x, items)...)
		}
	case "string":
		if _, ok := v.(string); !ok {
			fail("want a string, got %T", v)
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			fail("want an integer, got %v", v)
		}
	case "number":
		if _, ok := v.(float64); !ok {
			fail("want a number, got %T", v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			fail("want a boolean, got %T", v)
		}
	}
	return problems
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// loadK8s decodes every manifest of deploy/kubernetes.
func loadK8s(t *testing.T) *k8sObjects {
	t.Helper()
	root := repoRoot(t)
	schema := crdSchema(t)
	files, err := filepath.Glob(filepath.Join(root, k8sDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", k8sDir, err)
	}
	objs := &k8sObjects{files: map[string]int{}}
	for _, f := range files {
		name := filepath.Base(f)
		for i, doc := range yamlDocuments(readFile(t, f)) {
			objs.files[name]++
			if err := decodeObject(doc, objs, schema); err != nil {
				t.Errorf("%s document %d: %v", name, i+1, err)
			}
		}
	}
	return objs
}

// TestKubernetesManifestsDecodeStrictly: every document of every manifest
// is a known Kubernetes (or operator) kind and decodes with no unknown
// field; the set of objects is the topology docs/SCALING.md describes.
func TestKubernetesManifestsDecodeStrictly(t *testing.T) {
	objs := loadK8s(t)
	for _, f := range []string{"namespace.yaml", "router.yaml", "rbac.yaml", "sidecar-operator.yaml", "sidecar-plain.yaml"} {
		if objs.files[f] == 0 {
			t.Errorf("%s/%s: missing or empty", k8sDir, f)
		}
	}
	if len(objs.statefulSets) != 1 || len(objs.collectors) != 1 || len(objs.deployments) != 2 {
		t.Fatalf("want 1 router StatefulSet, 1 OpenTelemetryCollector and 2 example Deployments; got %d, %d, %d",
			len(objs.statefulSets), len(objs.collectors), len(objs.deployments))
	}
}

// TestStrictDecodingRefusesUnknownFields: the decoding above is strict.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	objs := &k8sObjects{}
	schema := crdSchema(t)
	bad := map[string]string{
		"Deployment": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n",
		"Service":    "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  clusterIp: None\n",
		"case":       "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      ServiceAccountName: b\n",
		"collector":  "apiVersion: opentelemetry.io/v1beta1\nkind: OpenTelemetryCollector\nmetadata: {name: x}\nspec:\n  mod: sidecar\n  config: {receivers: {}, exporters: {}, service: {pipelines: {}}}\n",
		"mode":       "apiVersion: opentelemetry.io/v1beta1\nkind: OpenTelemetryCollector\nmetadata: {name: x}\nspec:\n  mode: sidecars\n  config: {receivers: {}, exporters: {}, service: {pipelines: {}}}\n",
		"metadata":   "apiVersion: opentelemetry.io/v1beta1\nkind: OpenTelemetryCollector\nmetadata: {name: x, labelz: {a: b}}\nspec:\n  config: {receivers: {}, exporters: {}, service: {pipelines: {}}}\n",
		"pipeline":   "apiVersion: opentelemetry.io/v1beta1\nkind: OpenTelemetryCollector\nmetadata: {name: x}\nspec:\n  config: {receivers: {}, exporters: {}, service: {pipelines: {logs: {receivers: [a]}}}}\n",
	}
	want := map[string]string{
		"Deployment": `unknown field "spec.replica"`,
		"case":       `unknown field "spec.template.spec.ServiceAccountName"`,
		"Service":    `unknown field "spec.clusterIp"`,
		"collector":  `.spec: unknown field "mod"`,
		"mode":       `.spec.mode: sidecars is not one of`,
		"pipeline":   `.spec.config.service.pipelines.logs: required field "exporters" missing`,
		"metadata":   `unknown field "metadata.labelz"`,
	}
	for name, doc := range bad {
		err := decodeObject([]byte(doc), objs, schema)
		if err == nil || !strings.Contains(err.Error(), want[name]) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, want[name])
		}
	}
}

// TestKubernetesCollectorConfigsValidate runs the built binary's validate
// on every collector config the manifests embed (ConfigMap entries and the
// OpenTelemetryCollector's spec.config).
func TestKubernetesCollectorConfigsValidate(t *testing.T) {
	objs := loadK8s(t)
	bin := collectorBinary(t)
	dir := t.TempDir()
	n := 0
	validate := func(name string, cfg []byte) {
		n++
		path := filepath.Join(dir, fmt.Sprintf("%02d-%s", n, name))
		if err := os.WriteFile(path, cfg, 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "validate", "--config="+path)
		cmd.Env = append(os.Environ(), "TASKER_ROUTER_INSTANCE=eventrouter-0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: validate: %v\n%s", name, err, out)
		}
	}
	for _, cm := range objs.configMaps {
		for _, k := range sortedKeys(cm.Data) {
			validate("configmap-"+cm.Name+"-"+k, []byte(cm.Data[k]))
		}
	}
	for _, c := range objs.collectors {
		b, err := yaml.Marshal(c.Spec.Config)
		if err != nil {
			t.Fatal(err)
		}
		validate("otelcol-"+c.Name+".yaml", b)
	}
	if n != 3 {
		t.Errorf("validated %d configs, want 3 (router, plain sidecar, operator sidecar)", n)
	}
}

// TestTwoTierConfigs: config/two-tier's sidecar and router validate with the
// built binary, and the configs the manifests embed are the same topology:
// the same receivers, processors, connectors and pipelines (endpoints,
// resolvers and file paths differ by design).
func TestTwoTierConfigs(t *testing.T) {
	root := repoRoot(t)
	bin := collectorBinary(t)
	load := func(name string) map[string]any {
		path := filepath.Join(root, "config", "two-tier", name)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "validate", "--config="+path)
		cmd.Env = append(os.Environ(), "TASKER_ROUTER_INSTANCE=router-0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("config/two-tier/%s: validate: %v\n%s", name, err, out)
		}
		var cfg map[string]any
		if err := yaml.Unmarshal(readFile(t, path), &cfg); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	sidecar, router := load("sidecar.yaml"), load("router.yaml")
	if got := resolverTarget(t, sidecar); got != "static" {
		t.Errorf("config/two-tier/sidecar.yaml: resolver %q, want static (dns and k8s shown in comments)", got)
	}

	objs := loadK8s(t)
	same := func(what string, a, b map[string]any, keys ...string) {
		for _, k := range keys {
			x, _ := json.Marshal(dig(a, k))
			y, _ := json.Marshal(dig(b, k))
			if !bytes.Equal(x, y) {
				t.Errorf("%s: %s differs from config/two-tier:\n  %s\n  %s", what, k, y, x)
			}
		}
	}
	sts := objs.statefulSets[0]
	same("router ConfigMap", embeddedConfig(t, objs, sts.Spec.Template.Spec, sts.Spec.Template.Spec.Containers[0]), router,
		"receivers", "processors", "connectors", "service.pipelines.logs/in", "service.pipelines.metrics", "exporters.prometheus")
	same("OpenTelemetryCollector", objs.collectors[0].Spec.Config, sidecar,
		"receivers", "processors", "service.pipelines", "exporters.load_balancing.protocol", "exporters.load_balancing.routing_key")
	for _, w := range objs.deployments {
		for _, c := range w.Spec.Template.Spec.InitContainers {
			same("Deployment "+w.Name+" sidecar", embeddedConfig(t, objs, w.Spec.Template.Spec, c), sidecar,
				"receivers", "processors", "service.pipelines", "exporters.load_balancing.protocol", "exporters.load_balancing.routing_key")
		}
	}
}

// dig returns the value at a dotted path of a config ("service.pipelines").
func dig(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}
