package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Every bind mount names an existing file or directory, every named volume is
// declared, and every target is an absolute container path.
func TestComposeMounts(t *testing.T) {
	s := loadStack(t)
	n := 0
	for _, name := range sortedKeys(s.compose.Services) {
		for _, m := range s.mounts(t, name) {
			if !strings.HasPrefix(m.target, "/") {
				t.Errorf("service %s: mount target %q is not absolute", name, m.target)
			}
			if !m.bind {
				if _, ok := s.compose.Volumes[m.source]; !ok {
					t.Errorf("service %s: named volume %q is not declared under volumes:", name, m.source)
				}
				continue
			}
			n++
			if _, err := os.Stat(m.hostPath); err != nil {
				t.Errorf("service %s: bind mount source %s: %v", name, m.source, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no bind mounts found: the stack's configs are not mounted")
	}
}

// Built services have a context and Dockerfile that exist; pulled images are
// pinned to a version.
func TestComposeBuildsAndImages(t *testing.T) {
	s := loadStack(t)
	for _, name := range sortedKeys(s.compose.Services) {
		svc := s.compose.Services[name]
		if svc.Build != nil {
			ctx := filepath.Join(s.dir, svc.Build.Context)
			if fi, err := os.Stat(ctx); err != nil || !fi.IsDir() {
				t.Errorf("service %s: build context %q is not a directory", name, svc.Build.Context)
			}
			df := svc.Build.Dockerfile
			if df == "" {
				df = "Dockerfile"
			}
			if _, err := os.Stat(filepath.Join(ctx, df)); err != nil {
				t.Errorf("service %s: dockerfile: %v", name, err)
			}
			continue
		}
		i := strings.LastIndex(svc.Image, ":")
		tag := svc.Image[i+1:]
		if i < 0 || tag == "" || tag == "latest" || strings.Contains(tag, "/") {
			t.Errorf("service %s: image %q must be pinned to a version tag", name, svc.Image)
		}
	}
	svc := s.service(t, collectorService)
	if svc.Build == nil {
		t.Fatalf("service %s must be built from the repository", collectorService)
	}
	if ctx := filepath.Join(s.dir, svc.Build.Context); ctx != s.root {
		t.Errorf("service %s: build context is %s, want the repository root %s", collectorService, ctx, s.root)
	}
	if df := filepath.Join(s.dir, svc.Build.Context, svc.Build.Dockerfile); df != filepath.Join(s.root, dockerfilePath) {
		t.Errorf("service %s: dockerfile is %s, want %s", collectorService, df, dockerfilePath)
	}
}

type prometheusConfig struct {
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

// prometheusConfigFile returns the file Prometheus runs with: the bind mount
// behind its --config.file flag.
func (s *stack) prometheusConfigFile(t testing.TB) string {
	t.Helper()
	args := s.service(t, prometheusService).Command
	path, ok := flagValue(args, "--config.file")
	if !ok {
		t.Fatalf("service %s: command has no --config.file", prometheusService)
	}
	host, ok := s.hostPathOf(t, prometheusService, path)
	if !ok {
		t.Fatalf("service %s: --config.file=%s is not in a bind mount", prometheusService, path)
	}
	if host != filepath.Join(s.root, prometheusConfigPath) {
		t.Errorf("service %s: config is %s, want %s", prometheusService, host, prometheusConfigPath)
	}
	return host
}

// hostPathOf maps a path inside a service's container to the repository
// file behind it, through the bind mount holding it (a file or a folder).
func (s *stack) hostPathOf(t testing.TB, service, path string) (string, bool) {
	t.Helper()
	m, ok := s.mountOf(t, service, path)
	if !ok || !m.bind {
		return "", false
	}
	return filepath.Join(m.hostPath, strings.TrimPrefix(path, m.target)), true
}

func TestPrometheusScrapesCollector(t *testing.T) {
	s := loadStack(t)
	cfg := loadCollectorConfig(t, s)
	listening := map[int]bool{}
	for _, l := range collectorListeners(t, cfg) {
		listening[l.port] = true
	}
	var exporterPorts []int
	for id, c := range cfg.Exporters {
		if componentType(id) == "prometheus" {
			if _, port, err := splitEndpoint(c["endpoint"].(string)); err == nil {
				exporterPorts = append(exporterPorts, port)
			}
		}
	}
	if len(exporterPorts) == 0 {
		t.Fatal("the collector config has no prometheus exporter")
	}

	var pc prometheusConfig
	readYAML(t, s.prometheusConfigFile(t), &pc)
	scrapesExporter := false
	for _, sc := range pc.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, err := splitEndpoint(target)
				if err != nil {
					t.Errorf("job %s: target %v", sc.JobName, err)
					continue
				}
				if _, ok := s.compose.Services[host]; !ok {
					t.Errorf("job %s: target host %q is not a compose service", sc.JobName, host)
					continue
				}
				ports := s.containerPorts(t, host)
				if host == collectorService {
					ports = listening
				}
				if !ports[port] {
					t.Errorf("job %s: target %s: service %s does not listen on %d", sc.JobName, target, host, port)
				}
				if host == collectorService && slices.Contains(exporterPorts, port) {
					scrapesExporter = true
				}
			}
		}
	}
	if !scrapesExporter {
		t.Errorf("no scrape job targets %s on the prometheus exporter port %v", collectorService, exporterPorts)
	}

	args := s.service(t, prometheusService).Command
	features, _ := flagValue(args, "--enable-feature")
	if !slices.Contains(strings.Split(features, ","), "exemplar-storage") {
		t.Errorf("service %s: --enable-feature must include exemplar-storage (got %q): dashboards link exemplars to traces", prometheusService, features)
	}
	if addr, ok := flagValue(args, "--web.listen-address"); ok {
		if _, port, err := splitEndpoint(addr); err != nil || !s.containerPorts(t, prometheusService)[port] {
			t.Errorf("service %s: --web.listen-address=%s is not a declared port of the service", prometheusService, addr)
		}
	}
}

type grafanaDatasource struct {
	Name     string `yaml:"name"`
	UID      string `yaml:"uid"`
	Type     string `yaml:"type"`
	URL      string `yaml:"url"`
	JSONData struct {
		ManageAlerts                *bool `yaml:"manageAlerts"`
		ExemplarTraceIDDestinations []struct {
			Name          string `yaml:"name"`
			DatasourceUID string `yaml:"datasourceUid"`
			URL           string `yaml:"url"`
		} `yaml:"exemplarTraceIdDestinations"`
	} `yaml:"jsonData"`
}

// grafanaProvisioned returns the provisioning directory mounted at target in
// the grafana service, checking it is the one in the repository.
func (s *stack) grafanaMountedDir(t testing.TB, target, want string) string {
	t.Helper()
	m, ok := s.mountOf(t, grafanaService, target)
	if !ok || !m.bind || m.target != target {
		t.Fatalf("service %s: nothing bind-mounted at %s", grafanaService, target)
	}
	if m.hostPath != filepath.Join(s.root, want) {
		t.Errorf("service %s: %s comes from %s, want %s", grafanaService, target, m.hostPath, want)
	}
	return m.hostPath
}

// loadDatasources reads every provisioned datasource, keyed by uid.
func loadDatasources(t testing.TB, s *stack) map[string]grafanaDatasource {
	t.Helper()
	dir := s.grafanaMountedDir(t, "/etc/grafana/provisioning/datasources", datasourcesDir)
	files, _ := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	if len(files) == 0 {
		t.Fatalf("%s: no datasource files", datasourcesDir)
	}
	out := map[string]grafanaDatasource{}
	for _, f := range files {
		var doc struct {
			Datasources []grafanaDatasource `yaml:"datasources"`
		}
		readYAML(t, f, &doc)
		for _, ds := range doc.Datasources {
			if ds.UID == "" {
				t.Errorf("%s: datasource %q has no uid; dashboards refer to datasources by uid", f, ds.Name)
				continue
			}
			if _, dup := out[ds.UID]; dup {
				t.Errorf("%s: duplicate datasource uid %q", f, ds.UID)
			}
			out[ds.UID] = ds
		}
	}
	return out
}

func TestGrafanaDatasources(t *testing.T) {
	s := loadStack(t)
	dss := loadDatasources(t, s)
	byType := map[string]grafanaDatasource{}
	for _, ds := range dss {
		byType[ds.Type] = ds
		host, port, err := splitEndpoint(ds.URL)
		if err != nil {
			t.Errorf("datasource %s: url %v", ds.UID, err)
			continue
		}
		if _, ok := s.compose.Services[host]; !ok {
			t.Errorf("datasource %s: url host %q is not a compose service", ds.UID, host)
			continue
		}
		if !s.containerPorts(t, host)[port] {
			t.Errorf("datasource %s: service %s does not declare port %d", ds.UID, host, port)
		}
	}
	want := map[string]string{"prometheus": prometheusService, "jaeger": jaegerService}
	for typ, service := range want {
		ds, ok := byType[typ]
		if !ok {
			t.Errorf("no %s datasource provisioned", typ)
			continue
		}
		if host, _, _ := splitEndpoint(ds.URL); host != service {
			t.Errorf("datasource %s: points at %q, want service %s", ds.UID, host, service)
		}
	}

	// Exemplars written by the collector's prometheus exporter carry the trace
	// id in the label trace_id: link it to the Jaeger datasource.
	prom := byType["prometheus"]
	linked := false
	for _, d := range prom.JSONData.ExemplarTraceIDDestinations {
		target, ok := dss[d.DatasourceUID]
		switch {
		case d.DatasourceUID == "" && d.URL != "":
			continue
		case !ok:
			t.Errorf("datasource %s: exemplar destination uid %q is not provisioned", prom.UID, d.DatasourceUID)
		case target.Type != "jaeger":
			t.Errorf("datasource %s: exemplar destination %q is a %s datasource, want jaeger", prom.UID, d.DatasourceUID, target.Type)
		case d.Name != "trace_id":
			t.Errorf("datasource %s: exemplar label %q; the prometheus exporter writes trace_id", prom.UID, d.Name)
		default:
			linked = true
		}
	}
	if !linked {
		t.Errorf("datasource %s: no exemplarTraceIdDestinations entry links trace_id to the Jaeger datasource", prom.UID)
	}
}

func TestGrafanaDashboardProvider(t *testing.T) {
	s := loadStack(t)
	dir := s.grafanaMountedDir(t, "/etc/grafana/provisioning/dashboards", dashboardProvDir)
	files, _ := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	if len(files) == 0 {
		t.Fatalf("%s: no dashboard provider files", dashboardProvDir)
	}
	n := 0
	for _, f := range files {
		var doc struct {
			Providers []struct {
				Name    string `yaml:"name"`
				Type    string `yaml:"type"`
				Options struct {
					Path string `yaml:"path"`
				} `yaml:"options"`
			} `yaml:"providers"`
		}
		readYAML(t, f, &doc)
		for _, p := range doc.Providers {
			if p.Type != "file" {
				continue
			}
			m, ok := s.mountOf(t, grafanaService, p.Options.Path)
			if !ok || !m.bind {
				t.Errorf("provider %s: path %s is not bind-mounted into service %s", p.Name, p.Options.Path, grafanaService)
				continue
			}
			hostDir := filepath.Join(m.hostPath, strings.TrimPrefix(p.Options.Path, m.target))
			dashboards, _ := filepath.Glob(filepath.Join(hostDir, "*.json"))
			if len(dashboards) == 0 {
				t.Errorf("provider %s: %s holds no dashboard JSON", p.Name, hostDir)
			}
			n += len(dashboards)
		}
	}
	if n == 0 {
		t.Fatal("no dashboard is provisioned")
	}
}
