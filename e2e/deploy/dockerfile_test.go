package deploy

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, COPY, ...
	args string
}

// dockerStage is one FROM ... section.
type dockerStage struct {
	name, image  string
	instructions []instruction
}

// workdir is the stage's last WORKDIR ("/" when none).
func (s dockerStage) workdir() string {
	dir := "/"
	for _, in := range s.all("WORKDIR") {
		if path.IsAbs(in.args) {
			dir = path.Clean(in.args)
		} else {
			dir = path.Join(dir, in.args)
		}
	}
	return dir
}

func (s dockerStage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instructions {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

type dockerfile struct {
	args   map[string]string // global ARG defaults (before the first FROM)
	stages []dockerStage
}

func parseDockerfile(t testing.TB, text string) *dockerfile {
	t.Helper()
	df := &dockerfile{args: map[string]string{}}
	var logical []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\"))
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(trimmed)
		logical = append(logical, cur.String())
		cur.Reset()
	}
	for _, l := range logical {
		cmd, args, _ := strings.Cut(l, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			st := dockerStage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			df.stages = append(df.stages, st)
		case len(df.stages) == 0:
			if in.cmd == "ARG" {
				k, v, _ := strings.Cut(in.args, "=")
				df.args[k] = v
			}
		default:
			st := &df.stages[len(df.stages)-1]
			st.instructions = append(st.instructions, in)
		}
	}
	if len(df.stages) == 0 {
		t.Fatal("Dockerfile: no FROM")
	}
	return df
}

func (df *dockerfile) stage(name string) (dockerStage, bool) {
	for _, s := range df.stages {
		if s.name == name {
			return s, true
		}
	}
	return dockerStage{}, false
}

func loadDockerfile(t testing.TB) *dockerfile {
	t.Helper()
	return parseDockerfile(t, string(readFile(t, filepath.Join(repoRoot(t), dockerfilePath))))
}

// copyArgs splits COPY arguments into flags, sources and destination.
func copyArgs(args string) (flags map[string]string, srcs []string, dst string) {
	flags = map[string]string{}
	f := strings.Fields(args)
	for len(f) > 0 && strings.HasPrefix(f[0], "--") {
		k, v, _ := strings.Cut(strings.TrimPrefix(f[0], "--"), "=")
		flags[k] = v
		f = f[1:]
	}
	if len(f) < 2 {
		return flags, nil, ""
	}
	return flags, f[:len(f)-1], f[len(f)-1]
}

// execForm decodes ENTRYPOINT/CMD in JSON exec form.
func execForm(t testing.TB, in instruction) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal([]byte(in.args), &out); err != nil {
		t.Fatalf("%s %s: use the JSON exec form: %v", in.cmd, in.args, err)
	}
	return out
}

// builderRunRE matches the builder run through the tools module that pins it.
var builderRunRE = regexp.MustCompile(`go\s+tool\s+-modfile[= ]tools/builder/go\.mod\s+builder\s+.*--config[= ]builder-config\.yaml`)

var builderInstallRE = regexp.MustCompile(`go\.opentelemetry\.io/collector/cmd/builder@(\S+)`)

// The image is built by the builder version tools/builder/go.mod pins, from
// builder-config.yaml, with a Go at least as new as go.mod asks for.
func TestDockerfileUsesPinnedBuilder(t *testing.T) {
	df := loadDockerfile(t)
	pin := pinnedBuilderVersion(t)
	runs := 0
	for _, st := range df.stages {
		for _, in := range st.all("RUN") {
			if builderRunRE.MatchString(in.args) {
				runs++
			}
			for _, m := range builderInstallRE.FindAllStringSubmatch(in.args, -1) {
				if m[1] != pin {
					t.Errorf("RUN installs the builder @%s, tools/builder/go.mod pins %s", m[1], pin)
				}
			}
		}
	}
	if runs != 1 {
		t.Errorf("want one RUN of `go tool -modfile=tools/builder/go.mod builder --config builder-config.yaml` (the pinned %s), found %d", pin, runs)
	}

	// go.mod's go directive names the oldest Go that builds the module.
	goDirective := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(readFile(t, filepath.Join(repoRoot(t), mainGoModPath))))
	if goDirective == nil {
		t.Fatal("go.mod: no go directive")
	}
	build := df.stages[0]
	image := os.Expand(build.image, func(k string) string { return df.args[k] })
	repo, tag, _ := strings.Cut(image, ":")
	if repo != "golang" || !strings.HasPrefix(tag, goDirective[1]) {
		t.Errorf("build stage image %s: want golang:%s (go.mod says go %s)", image, goDirective[1], goDirective[1])
	}
}

func TestDockerfileRuntimeStage(t *testing.T) {
	s := loadStack(t)
	b := loadBuilderConfig(t)
	df := loadDockerfile(t)
	final := df.stages[len(df.stages)-1]

	// Non-root: the last USER of the final stage decides.
	users := final.all("USER")
	if len(users) == 0 {
		t.Fatal("final stage has no USER: the collector would run as root")
	}
	user, _, _ := strings.Cut(users[len(users)-1].args, ":")
	if user == "root" || user == "0" || user == "" {
		t.Errorf("final stage USER %q is root", users[len(users)-1].args)
	}

	// The stack's config, as a path in the build context (the repository root).
	configHost, composeConfig := s.collectorConfigFile(t)
	configSrc, err := filepath.Rel(s.root, configHost)
	if err != nil {
		t.Fatal(err)
	}
	configSrc = filepath.ToSlash(configSrc)
	var binDst, configDst string
	for _, in := range final.all("COPY") {
		flags, srcs, dst := copyArgs(in.args)
		for _, src := range srcs {
			if from := flags["from"]; from != "" {
				st, ok := df.stage(from)
				if !ok {
					t.Errorf("COPY --from=%s: no such stage", from)
				}
				// The binary comes from the builder's output directory,
				// relative to the WORKDIR the builder ran in.
				if path.Base(src) == b.Dist.Name {
					binary := path.Join(st.workdir(), path.Clean(b.Dist.OutputPath), b.Dist.Name)
					if path.Dir(src) != path.Dir(binary) {
						t.Errorf("COPY %s: builder-config.yaml writes the binary to %s", src, binary)
					}
					binDst = dst
				}
				continue
			}
			if src == configSrc {
				configDst = dst
			}
		}
	}
	if binDst == "" {
		t.Fatalf("final stage does not copy the %s binary", b.Dist.Name)
	}
	entrypoints := final.all("ENTRYPOINT")
	if len(entrypoints) == 0 {
		t.Fatal("final stage has no ENTRYPOINT")
	}
	if entry := execForm(t, entrypoints[len(entrypoints)-1]); len(entry) == 0 || entry[0] != binDst {
		t.Errorf("ENTRYPOINT %v does not run the copied binary %s", entry, binDst)
	}

	// The image's default config is the file the compose stack mounts over it.
	cmds := final.all("CMD")
	if len(cmds) == 0 {
		t.Fatal("final stage has no CMD with --config")
	}
	cmdConfig, _ := flagValue(execForm(t, cmds[len(cmds)-1]), "--config")
	if configDst == "" || cmdConfig != configDst || cmdConfig != composeConfig {
		t.Errorf("config paths differ: image COPY to %q, CMD --config=%q, compose mounts %q", configDst, cmdConfig, composeConfig)
	}

	// Every port the collector listens on is documented with EXPOSE.
	exposed := map[int]bool{}
	for _, in := range final.all("EXPOSE") {
		for _, p := range strings.Fields(in.args) {
			n, err := strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
			if err != nil {
				t.Errorf("EXPOSE %s: %v", p, err)
			}
			exposed[n] = true
		}
	}
	for _, l := range collectorListeners(t, loadCollectorConfig(t, s)) {
		if !exposed[l.port] {
			t.Errorf("%s listens on %d, which the Dockerfile does not EXPOSE", l.name, l.port)
		}
	}
}

// Files the Dockerfile copies from the build context exist and are not
// excluded by its .dockerignore, nor is anything the builder compiles.
func TestDockerfileBuildContext(t *testing.T) {
	root := repoRoot(t)
	df := loadDockerfile(t)
	ignore := dockerignorePatterns(t, root)

	needed := []string{builderConfigPath, mainGoModPath, "go.sum", builderToolsModPath, "tools/builder/go.sum", "internal"}
	b := loadBuilderConfig(t)
	for _, kind := range componentKinds {
		for _, m := range b.modules(kind) {
			if rel, ok := strings.CutPrefix(m.importPath(), ownModule+"/"); ok {
				needed = append(needed, rel)
			}
		}
	}
	for _, st := range df.stages {
		for _, in := range st.all("COPY") {
			flags, srcs, _ := copyArgs(in.args)
			if flags["from"] != "" {
				continue
			}
			for _, src := range srcs {
				if src == "." {
					continue
				}
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(src))); err != nil {
					t.Errorf("COPY %s: %v", src, err)
				}
				needed = append(needed, src)
			}
		}
	}
	for _, p := range needed {
		if pat, ok := ignored(ignore, p); ok {
			t.Errorf("%s is needed by the image build but %s.dockerignore excludes it (pattern %q)", p, filepath.Base(dockerfilePath), pat)
		}
	}
}

// dockerignorePatterns reads <Dockerfile>.dockerignore (BuildKit prefers it
// to the context's .dockerignore), else the context root's .dockerignore.
func dockerignorePatterns(t testing.TB, root string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, dockerfilePath+".dockerignore"))
	if err != nil {
		data, err = os.ReadFile(filepath.Join(root, ".dockerignore"))
		if err != nil {
			t.Fatalf("no %s.dockerignore: the whole repository (.git, _build, bin) would be sent as build context", dockerfilePath)
		}
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// ignored reports whether a context path or one of its parents matches an
// exclusion pattern ("**/" matches at any depth). Negations are not used.
func ignored(patterns []string, p string) (string, bool) {
	for dir := p; dir != "." && dir != "/"; dir = path.Dir(dir) {
		for _, pat := range patterns {
			if ok, _ := path.Match(strings.TrimPrefix(pat, "/"), dir); ok {
				return pat, true
			}
			if rest, ok := strings.CutPrefix(pat, "**/"); ok {
				if m, _ := path.Match(rest, path.Base(dir)); m {
					return pat, true
				}
			}
		}
	}
	return "", false
}
