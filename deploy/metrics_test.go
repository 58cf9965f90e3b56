package deploy

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// TestPrometheusRules checks the alert rules with promtool and runs their
// unit tests. Debian's prometheus package ships promtool; .ci/services
// installs it.
func TestPrometheusRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not installed: run bash .ci/services (it installs Debian's prometheus package), or apt-get install prometheus")
	}
	for _, args := range [][]string{
		{"check", "rules", "prometheus/alerts.yaml"},
		{"test", "rules", "prometheus/alerts_test.yaml"},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// registered returns the name and type of every metric darsi can serve:
// each prometheus collector built in the module's code (its Name: in a
// prometheus …Opts literal, or the name given to prometheus.NewDesc), and
// the Go and process collectors darsi serve registers. Tests are left out.
func registered(tb testing.TB) map[string]string {
	tb.Helper()
	names := map[string]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				sel, ok := n.Type.(*ast.SelectorExpr)
				if !ok || !isPkg(sel.X, "prometheus") || !strings.HasSuffix(sel.Sel.Name, "Opts") {
					return true
				}
				kind := strings.ToLower(strings.TrimSuffix(sel.Sel.Name, "Opts"))
				for _, e := range n.Elts {
					kv, ok := e.(*ast.KeyValueExpr)
					if id, _ := kv.Key.(*ast.Ident); ok && id != nil && id.Name == "Name" {
						if name, ok := stringLit(kv.Value); ok {
							names[name] = kind
						}
					}
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if ok && isPkg(sel.X, "prometheus") && sel.Sel.Name == "NewDesc" && len(n.Args) > 0 {
					if name, ok := stringLit(n.Args[0]); ok {
						names[name] = "desc"
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(names) < 10 {
		tb.Fatalf("found %d metrics in the code: %v; the search is broken", len(names), names)
	}
	// The collectors darsi serve registers beside its own.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		names[mf.GetName()] = strings.ToLower(mf.GetType().String())
	}
	return names
}

func isPkg(x ast.Expr, name string) bool {
	id, ok := x.(*ast.Ident)
	return ok && id.Name == name
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// metricRef finds metric names in PromQL: darsi's, Go's and the
// process's, and Prometheus' own "up".
var metricRef = regexp.MustCompile(`\b(?:darsi|go|process)_[a-zA-Z0-9_:]+\b|\bup\{`)

// checkNames reports each metric expr names that darsi does not serve.
// A histogram's series (_bucket, _sum, _count) name the histogram.
func checkNames(t *testing.T, where, expr string, names map[string]string) int {
	t.Helper()
	n := 0
	for _, ref := range metricRef.FindAllString(expr, -1) {
		if ref == "up{" {
			n++
			continue
		}
		name := ref
		if _, ok := names[name]; !ok {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				base := strings.TrimSuffix(ref, suffix)
				if kind := names[base]; base != ref && (kind == "histogram" || kind == "summary") {
					name = base
				}
			}
		}
		if _, ok := names[name]; !ok {
			t.Errorf("%s: %s is not a metric darsi serves (%s)", where, ref, strings.Join(slices.Sorted(mapKeys(names)), ", "))
		}
		n++
	}
	return n
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestAlertMetricsExist: every metric an alert reads is one darsi serves,
// and every alert has what an operator needs: for, severity, a summary
// and its section of the runbook.
func TestAlertMetricsExist(t *testing.T) {
	names := registered(t)
	docs := readYAML(t, "prometheus/alerts.yaml")
	runbook, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := headingAnchors(runbook)
	groups, _ := get(docs[0], "groups").([]any)
	alerts := 0
	for _, g := range groups {
		rules, _ := get(g, "rules").([]any)
		for _, r := range rules {
			name, _ := get(r, "alert").(string)
			expr, _ := get(r, "expr").(string)
			if name == "" || expr == "" {
				t.Errorf("a rule without alert or expr: %v", r)
				continue
			}
			alerts++
			if checkNames(t, name, expr, names) == 0 {
				t.Errorf("%s: no metric in %q", name, expr)
			}
			if f, _ := get(r, "for").(string); f == "" {
				t.Errorf("%s: no for:", name)
			}
			if s, _ := get(r, "labels", "severity").(string); s != "page" && s != "warning" {
				t.Errorf("%s: severity %q, want page or warning", name, s)
			}
			if s, _ := get(r, "annotations", "summary").(string); s == "" {
				t.Errorf("%s: no summary", name)
			}
			url, _ := get(r, "annotations", "runbook_url").(string)
			file, anchor, _ := strings.Cut(url, "#")
			if file != "docs/operations.md" || anchor != strings.ToLower(name) || !anchors[anchor] {
				t.Errorf("%s: runbook_url %q, want docs/operations.md#%s, a section of the runbook", name, url, strings.ToLower(name))
			}
		}
	}
	if alerts < 8 {
		t.Errorf("%d alerts, want the webhook's, the store's, the outbox's, Twilio's and the lessons'", alerts)
	}
}

// headingAnchors returns the anchors of a Markdown file's headings, as
// GitHub makes them: lower case, spaces to -, punctuation dropped.
func headingAnchors(md []byte) map[string]bool {
	anchors := map[string]bool{}
	inCode := false
	for line := range bytes.Lines(md) {
		s := strings.TrimRight(string(line), "\r\n")
		if strings.HasPrefix(s, "```") {
			inCode = !inCode
			continue
		}
		if inCode || !strings.HasPrefix(s, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(s, "#"))
		base := anchor(title)
		a := base
		for i := 1; anchors[a]; i++ {
			a = base + "-" + strconv.Itoa(i)
		}
		anchors[a] = true
	}
	return anchors
}

// anchor is GitHub's anchor of a heading's text.
func anchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 127 && !isPunct(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isPunct(r rune) bool { return strings.ContainsRune("’‘“”«»—–…·", r) }
