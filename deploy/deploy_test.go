// Package deploy holds the container image, the compose file and the
// Kubernetes manifests. No container engine runs where the tests run, so
// these tests check the files statically: they parse, and they agree with
// the darsi command (its subcommands, ports, health endpoints, variables).
package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"regexp"
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
