// Package deploy holds the container image, the compose file and the
// Kubernetes manifests. No container engine runs where the tests run, so
// these tests check the files statically: they parse, and they agree with
// the darsi command (its subcommands, ports, health endpoints, variables).
package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func readYAML(tb testing.TB, name string) []map[string]any {
	tb.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		docs = append(docs, doc)
	}
	return docs
}

func get(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	goMod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(goMod))[1]
	for _, want := range []string{
		"FROM golang:" + goVersion + " AS build",
		"./cmd/darsi",
		"CGO_ENABLED=0",
		"USER nonroot",
		`ENTRYPOINT ["/usr/local/bin/darsi"]`,
		`CMD ["serve"]`,
		"EXPOSE 8080",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

func TestCompose(t *testing.T) {
	docs := readYAML(t, "compose.yaml")
	services, _ := get(docs[0], "services").(map[string]any)
	for _, name := range []string{"redis", "darsi-1", "darsi-2", "lb"} {
		if services[name] == nil {
			t.Errorf("compose has no service %q", name)
		}
	}
	for _, name := range []string{"darsi-1", "darsi-2"} {
		store, _ := get(services[name], "environment", "DARSI_STORE").(string)
		if !strings.HasPrefix(store, "redis://redis:6379") {
			t.Errorf("%s: DARSI_STORE %q, want the compose Redis", name, store)
		}
		probe, _ := get(services[name], "healthcheck", "test").([]any)
		if len(probe) < 3 || probe[1] != "/usr/local/bin/darsi" || probe[2] != "probe" {
			t.Errorf("%s: healthcheck %v, want darsi probe", name, probe)
		}
	}
	conf, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server darsi-1:8080", "server darsi-2:8080", "client_max_body_size 64k", "location ~ ^/(metrics|debug/)",
		"proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("nginx.conf lacks %q", want)
		}
	}
}

func TestKubernetes(t *testing.T) {
	kinds := map[string]map[string]any{}
	for _, f := range []string{"k8s/darsi.yaml", "k8s/redis.yaml"} {
		for _, doc := range readYAML(t, f) {
			if doc["apiVersion"] == nil || doc["kind"] == nil || get(doc, "metadata", "name") == nil {
				t.Errorf("%s: a document lacks apiVersion, kind or metadata.name", f)
				continue
			}
			kinds[doc["kind"].(string)+"/"+get(doc, "metadata", "name").(string)] = doc
		}
	}
	dep := kinds["Deployment/darsi"]
	if dep == nil {
		t.Fatal("no Deployment darsi")
	}
	if r, _ := get(dep, "spec", "replicas").(int); r < 2 {
		t.Errorf("replicas %v, want at least 2", get(dep, "spec", "replicas"))
	}
	containers, _ := get(dep, "spec", "template", "spec", "containers").([]any)
	if len(containers) != 1 {
		t.Fatalf("want one container, got %d", len(containers))
	}
	c := containers[0]
	if p := get(c, "readinessProbe", "httpGet", "path"); p != "/readyz" {
		t.Errorf("readiness probe %v, want /readyz", p)
	}
	if p := get(c, "livenessProbe", "httpGet", "path"); p != "/healthz" {
		t.Errorf("liveness probe %v, want /healthz", p)
	}
	if kinds["Service/darsi"] == nil || kinds["Service/redis"] == nil || kinds["StatefulSet/redis"] == nil {
		t.Fatalf("missing Service or Redis: have %v", keys(kinds))
	}
	// The public Service exposes the http port only: metrics stay on the
	// pod's admin port, which Prometheus scrapes directly.
	ports, _ := get(kinds["Service/darsi"], "spec", "ports").([]any)
	for _, p := range ports {
		if tp := get(p, "targetPort"); tp != "http" {
			t.Errorf("Service darsi exposes %v, want the http port only", tp)
		}
	}
	if p := get(dep, "spec", "template", "metadata", "annotations", "prometheus.io/port"); p != "9090" {
		t.Errorf("prometheus.io/port %v, want the admin port 9090", p)
	}
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// settingNames returns the name of every environment variable darsi
// reads: the settings table of cmd/darsi/config.go, read with go/ast.
func settingNames(tb testing.TB) []string {
	tb.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../cmd/darsi/config.go", nil, 0)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok || len(spec.Names) != 1 || spec.Names[0].Name != "settings" || len(spec.Values) != 1 {
			return true
		}
		table, ok := spec.Values[0].(*ast.CompositeLit)
		if !ok {
			tb.Fatal("config.go: settings is not a table")
		}
		for _, e := range table.Elts {
			row, ok := e.(*ast.CompositeLit)
			if !ok {
				continue
			}
			for _, f := range row.Elts {
				kv, ok := f.(*ast.KeyValueExpr)
				if id, _ := kv.Key.(*ast.Ident); ok && id != nil && id.Name == "name" {
					if name, ok := stringLit(kv.Value); ok {
						names = append(names, name)
					}
				}
			}
		}
		return false
	})
	if len(names) < 20 || !slices.Contains(names, "DARSI_STORE") || !slices.Contains(names, "TWILIO_AUTH_TOKEN") {
		tb.Fatalf("found %d settings in config.go (%v): the table was not read", len(names), names)
	}
	return names
}

// TestSettingsDocumented: every variable darsi reads is set or explained
// in each compose file and in the darsi manifest, so that an operator
// finds all of them where they deploy.
func TestSettingsDocumented(t *testing.T) {
	names := settingNames(t)
	for _, file := range []string{"compose.yaml", "compose.ha.yaml", "k8s/darsi.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var missing []string
		for _, name := range names {
			if !regexp.MustCompile(`\b` + name + `\b`).Match(data) {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s does not mention %s: set them or list them in its comments", file, strings.Join(missing, ", "))
		}
	}
}

// TestContainersLocked: the image runs as a user other than root, and
// every container of the manifests runs as non-root, on a read-only root
// filesystem, without privilege escalation and without capabilities.
func TestContainersLocked(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	last := 0
	for i, l := range lines {
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(l)), "FROM ") {
			last = i
		}
	}
	user := ""
	for _, l := range lines[last:] {
		if f := strings.Fields(l); len(f) == 2 && strings.EqualFold(f[0], "USER") {
			user = f[1]
		}
	}
	if user == "" || user == "root" || user == "0" || strings.HasPrefix(user, "0:") {
		t.Errorf("Dockerfile: the final stage's USER is %q, want a user other than root", user)
	}

	checked := 0
	for _, f := range []string{"k8s/darsi.yaml", "k8s/redis.yaml"} {
		for _, doc := range readYAML(t, f) {
			kind, _ := doc["kind"].(string)
			if kind != "Deployment" && kind != "StatefulSet" {
				continue
			}
			name := f + ": " + kind + "/" + get(doc, "metadata", "name").(string)
			pod := get(doc, "spec", "template", "spec")
			if v, _ := get(pod, "securityContext", "runAsNonRoot").(bool); !v {
				t.Errorf("%s: securityContext.runAsNonRoot is not true", name)
			}
			if uid, _ := get(pod, "securityContext", "runAsUser").(int); uid <= 0 {
				t.Errorf("%s: securityContext.runAsUser %v, want a user id other than 0", name, get(pod, "securityContext", "runAsUser"))
			}
			containers, _ := get(pod, "containers").([]any)
			initContainers, _ := get(pod, "initContainers").([]any)
			for _, c := range append(containers, initContainers...) {
				cname, _ := get(c, "name").(string)
				sc := get(c, "securityContext")
				if v, _ := get(sc, "readOnlyRootFilesystem").(bool); !v {
					t.Errorf("%s, container %s: readOnlyRootFilesystem is not true", name, cname)
				}
				if v, ok := get(sc, "allowPrivilegeEscalation").(bool); !ok || v {
					t.Errorf("%s, container %s: allowPrivilegeEscalation is not false", name, cname)
				}
				drop, _ := get(sc, "capabilities", "drop").([]any)
				if !slices.Contains(drop, any("ALL")) {
					t.Errorf("%s, container %s: capabilities.drop %v, want ALL", name, cname, drop)
				}
				if uid, ok := get(sc, "runAsUser").(int); ok && uid == 0 {
					t.Errorf("%s, container %s: runs as root", name, cname)
				}
				checked++
			}
		}
	}
	if checked < 3 {
		t.Errorf("checked %d containers, want darsi's, Redis' and Sentinel's", checked)
	}
}

// sentinelStore reports whether a DARSI_STORE names Redis through the
// three Sentinels of hosts, master darsi, each write waiting for a
// replica (min_replicas): as redis-sentinel://, or as
// redis://first?master_name=darsi&addr=….
func sentinelStore(t *testing.T, where, store string, hosts []string) {
	t.Helper()
	var addrs []string
	master := ""
	if _, query, ok := strings.Cut(store, "?"); !ok || !strings.Contains("&"+query, "&min_replicas=") || strings.Contains(query, "min_replicas=0") {
		t.Errorf("%s: DARSI_STORE %q: want min_replicas=1 or more, so that a failover loses no acknowledged write", where, store)
	}
	switch {
	case strings.HasPrefix(store, "redis-sentinel://"):
		rest, _, _ := strings.Cut(strings.TrimPrefix(store, "redis-sentinel://"), "?")
		if _, hosts, ok := strings.Cut(rest, "@"); ok {
			rest = hosts
		}
		hostPart, path, _ := strings.Cut(rest, "/")
		addrs = strings.Split(hostPart, ",")
		master, _, _ = strings.Cut(path, "/")
	case strings.HasPrefix(store, "redis://"):
		u, err := url.Parse(store)
		if err != nil {
			t.Errorf("%s: DARSI_STORE %q: %v", where, store, err)
			return
		}
		addrs = append([]string{u.Host}, u.Query()["addr"]...)
		master = u.Query().Get("master_name")
	}
	slices.Sort(addrs)
	want := slices.Clone(hosts)
	slices.Sort(want)
	if master != "darsi" || !slices.Equal(addrs, want) {
		t.Errorf("%s: DARSI_STORE %q: want the Sentinels %v and the master darsi", where, store, hosts)
	}
}

// TestComposeHA: the compose file for high availability has Redis with AOF
// and two replicas of it, three Sentinels watching it with a quorum of two,
// and darsi on the Sentinels.
func TestComposeHA(t *testing.T) {
	docs := readYAML(t, "compose.ha.yaml")
	services, _ := get(docs[0], "services").(map[string]any)
	cmd := func(name string) string {
		parts, _ := get(services[name], "command").([]any)
		var s []string
		for _, p := range parts {
			s = append(s, fmt.Sprint(p))
		}
		return strings.Join(s, " ")
	}
	for _, name := range []string{"redis-1", "redis-2", "redis-3"} {
		c := cmd(name)
		if !strings.Contains(c, "--appendonly yes") {
			t.Errorf("%s: %q, want --appendonly yes", name, c)
		}
		if replica := strings.Contains(c, "--replicaof redis-1 6379"); replica != (name != "redis-1") {
			t.Errorf("%s: %q: want redis-1 the master, the others its replicas", name, c)
		}
		if vols, _ := get(services[name], "volumes").([]any); len(vols) != 1 || !strings.HasSuffix(fmt.Sprint(vols[0]), ":/data") {
			t.Errorf("%s: volumes %v, want its own volume on /data", name, vols)
		}
	}
	var sentinels []string
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("sentinel-%d", i)
		c := cmd(name)
		for _, want := range []string{"sentinel monitor darsi redis-1 6379 2", "sentinel resolve-hostnames yes", "--sentinel"} {
			if !strings.Contains(c, want) {
				t.Errorf("%s: its command lacks %q", name, want)
			}
		}
		sentinels = append(sentinels, name+":26379")
	}
	for _, name := range []string{"darsi-1", "darsi-2"} {
		store, _ := get(services[name], "environment", "DARSI_STORE").(string)
		sentinelStore(t, "compose.ha.yaml "+name, store, sentinels)
		probe, _ := get(services[name], "healthcheck", "test").([]any)
		if len(probe) < 3 || probe[2] != "probe" {
			t.Errorf("%s: healthcheck %v, want darsi probe", name, probe)
		}
	}
	if services["lb"] == nil {
		t.Error("compose.ha.yaml has no load balancer")
	}
}

// TestKubernetesRedisHA: Redis on Kubernetes is three pods of Redis with
// AOF and a Sentinel each, on three nodes, two of them always up, and
// darsi reaches it through the Sentinels.
func TestKubernetesRedisHA(t *testing.T) {
	kinds := map[string]map[string]any{}
	for _, f := range []string{"k8s/darsi.yaml", "k8s/redis.yaml"} {
		for _, doc := range readYAML(t, f) {
			kinds[doc["kind"].(string)+"/"+get(doc, "metadata", "name").(string)] = doc
		}
	}
	sts := kinds["StatefulSet/redis"]
	if r, _ := get(sts, "spec", "replicas").(int); r != 3 {
		t.Errorf("StatefulSet redis: %v replicas, want 3", get(sts, "spec", "replicas"))
	}
	anti := get(sts, "spec", "template", "spec", "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
	if terms, _ := anti.([]any); len(terms) == 0 || get(terms[0], "topologyKey") != "kubernetes.io/hostname" {
		t.Errorf("StatefulSet redis: anti-affinity %v, want its pods on distinct nodes", anti)
	}
	containers, _ := get(sts, "spec", "template", "spec", "containers").([]any)
	var names []string
	for _, c := range containers {
		names = append(names, get(c, "name").(string))
	}
	if !slices.Equal(names, []string{"redis", "sentinel"}) {
		t.Errorf("StatefulSet redis: containers %v, want redis and sentinel", names)
	}
	scripts, _ := get(kinds["ConfigMap/redis-scripts"], "data").(map[string]any)
	redisSh, _ := scripts["redis.sh"].(string)
	sentinelSh, _ := scripts["sentinel.sh"].(string)
	for _, want := range []string{"--appendonly yes", "--dir /data", "--replicaof"} {
		if !strings.Contains(redisSh, want) {
			t.Errorf("redis.sh lacks %q", want)
		}
	}
	for _, want := range []string{"sentinel monitor darsi $master 6379 2", "sentinel resolve-hostnames yes", "--sentinel"} {
		if !strings.Contains(sentinelSh, want) {
			t.Errorf("sentinel.sh lacks %q", want)
		}
	}
	// The scripts parse as shell (the image's sh runs them).
	for name, script := range scripts {
		cmd := exec.Command("sh", "-n")
		cmd.Stdin = strings.NewReader(script.(string))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("redis-scripts %s: sh -n: %v\n%s", name, err, out)
		}
	}
	if m, _ := get(kinds["PodDisruptionBudget/redis"], "spec", "minAvailable").(int); m != 2 {
		t.Errorf("PodDisruptionBudget redis: minAvailable %v, want 2 (a quorum of Sentinels)", m)
	}
	if get(kinds["Service/redis"], "spec", "clusterIP") != "None" {
		t.Error("Service redis is not headless: the pods' names (redis-0.redis…) would not resolve")
	}
	dep := kinds["Deployment/darsi"]
	c, _ := get(dep, "spec", "template", "spec", "containers").([]any)
	env, _ := get(c[0], "env").([]any)
	store := ""
	for _, e := range env {
		if get(e, "name") == "DARSI_STORE" {
			store, _ = get(e, "value").(string)
		}
	}
	sentinelStore(t, "k8s/darsi.yaml", store, []string{"redis-0.redis:26379", "redis-1.redis:26379", "redis-2.redis:26379"})
}
