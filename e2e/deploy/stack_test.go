package deploy

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Files of the deployable stack, relative to the repository root.
const (
	composePath          = "docker/docker-compose.yml"
	dockerfilePath       = "docker/Dockerfile"
	builderConfigPath    = "builder-config.yaml"
	builderToolsModPath  = "tools/builder/go.mod"
	mainGoModPath        = "go.mod"
	prometheusConfigPath = "docker/prometheus/prometheus.yml"
	prometheusRulesDir   = "docker/prometheus/rules"
	prometheusTestsDir   = "docker/prometheus/tests"
	alertsDocPath        = "docs/ALERTS.md"
	datasourcesDir       = "docker/grafana/provisioning/datasources"
	dashboardProvDir     = "docker/grafana/provisioning/dashboards"
)

// Compose service names the stack's configs refer to.
const (
	collectorService  = "collector"
	jaegerService     = "jaeger"
	prometheusService = "prometheus"
	grafanaService    = "grafana"
)

// repoRoot is the repository root: this package lives in e2e/deploy.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, builderConfigPath)); err != nil {
		t.Fatalf("repository root not found from e2e/deploy: %v", err)
	}
	return root
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readYAML(t testing.TB, path string, v any) {
	t.Helper()
	if err := yaml.Unmarshal(readFile(t, path), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// ---- docker-compose.yml ---------------------------------------------------

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       *composeBuild     `yaml:"build"`
	Command     stringList        `yaml:"command"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	Expose      []string          `yaml:"expose"`
	Environment map[string]string `yaml:"environment"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// UnmarshalYAML accepts both `build: path` and the mapping form.
func (b *composeBuild) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
		return nil
	}
	type plain composeBuild
	return n.Decode((*plain)(b))
}

// stringList accepts a YAML list or a single string (split on blanks, as
// compose does for `command: a b c`).
type stringList []string

func (s *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = strings.Fields(n.Value)
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

// stack is the parsed compose file with its location.
type stack struct {
	root    string // repository root
	dir     string // directory of the compose file: base of relative paths
	compose composeFile
}

func loadStack(t testing.TB) *stack {
	t.Helper()
	root := repoRoot(t)
	path := filepath.Join(root, composePath)
	s := &stack{root: root, dir: filepath.Dir(path)}
	readYAML(t, path, &s.compose)
	if len(s.compose.Services) == 0 {
		t.Fatalf("%s: no services", composePath)
	}
	return s
}

func (s *stack) service(t testing.TB, name string) composeService {
	t.Helper()
	svc, ok := s.compose.Services[name]
	if !ok {
		t.Fatalf("%s: no service %q (services: %s)", composePath, name, strings.Join(sortedKeys(s.compose.Services), ", "))
	}
	return svc
}

// mount is one entry of a service's `volumes:` in short syntax.
type mount struct {
	source   string // host path (bind) or volume name
	target   string
	bind     bool
	hostPath string // absolute host path of a bind mount
}

func (s *stack) mounts(t testing.TB, name string) []mount {
	t.Helper()
	var out []mount
	for _, v := range s.service(t, name).Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 {
			t.Fatalf("service %s: volume %q is not source:target[:mode]", name, v)
		}
		m := mount{source: parts[0], target: parts[1]}
		if strings.HasPrefix(m.source, ".") || strings.HasPrefix(m.source, "/") || strings.HasPrefix(m.source, "~") {
			m.bind = true
			m.hostPath = filepath.Join(s.dir, m.source)
			if filepath.IsAbs(m.source) {
				m.hostPath = m.source
			}
		}
		out = append(out, m)
	}
	return out
}

// mountOf returns the mount whose target is path or a parent of path.
func (s *stack) mountOf(t testing.TB, service, path string) (mount, bool) {
	t.Helper()
	var best mount
	found := false
	for _, m := range s.mounts(t, service) {
		if path == m.target || strings.HasPrefix(path, strings.TrimSuffix(m.target, "/")+"/") {
			if !found || len(m.target) > len(best.target) {
				best, found = m, true
			}
		}
	}
	return best, found
}

// portMapping is one entry of a service's `ports:` in short syntax.
type portMapping struct {
	host, container int
}

func parsePortMapping(spec string) (portMapping, error) {
	spec, proto, _ := strings.Cut(spec, "/")
	if proto != "" && proto != "tcp" {
		return portMapping{}, fmt.Errorf("port %q: only tcp is used by this stack", spec)
	}
	parts := strings.Split(spec, ":")
	var hostPort, containerPort string
	switch len(parts) {
	case 1:
		containerPort = parts[0]
	case 2:
		hostPort, containerPort = parts[0], parts[1]
	case 3: // ip:host:container
		hostPort, containerPort = parts[1], parts[2]
	default:
		return portMapping{}, fmt.Errorf("port %q: not [ip:]host:container", spec)
	}
	var m portMapping
	var err error
	if m.container, err = strconv.Atoi(containerPort); err != nil {
		return portMapping{}, fmt.Errorf("port %q: container port: %w", spec, err)
	}
	if hostPort != "" {
		if m.host, err = strconv.Atoi(hostPort); err != nil {
			return portMapping{}, fmt.Errorf("port %q: host port: %w", spec, err)
		}
	}
	return m, nil
}

// published returns the container ports a service publishes on the host.
func (s *stack) published(t testing.TB, name string) map[int]bool {
	t.Helper()
	out := map[int]bool{}
	for _, p := range s.service(t, name).Ports {
		m, err := parsePortMapping(p)
		if err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
		out[m.container] = true
	}
	return out
}

// containerPorts returns every port a service declares (published or exposed
// to the other services only): what other services may connect to.
func (s *stack) containerPorts(t testing.TB, name string) map[int]bool {
	t.Helper()
	out := s.published(t, name)
	for _, e := range s.service(t, name).Expose {
		p, err := strconv.Atoi(strings.TrimSuffix(e, "/tcp"))
		if err != nil {
			t.Fatalf("service %s: expose %q: %v", name, e, err)
		}
		out[p] = true
	}
	return out
}

// flagValue returns the value of --name=value or "--name value" in args.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
		if a == name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// ---- addresses ------------------------------------------------------------

// splitEndpoint splits "host:port", "scheme://host:port/path" or ":port".
func splitEndpoint(endpoint string) (host string, port int, err error) {
	hostport := endpoint
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil {
			return "", 0, err
		}
		hostport = u.Host
		if u.Port() == "" {
			return "", 0, fmt.Errorf("%q: no explicit port", endpoint)
		}
	}
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", endpoint, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("%q: port: %w", endpoint, err)
	}
	return h, port, nil
}

// ---- small helpers --------------------------------------------------------

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedInts(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
