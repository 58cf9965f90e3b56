package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// TestGrafanaDashboard: deploy/grafana/darsi.json is a dashboard Grafana
// imports (valid JSON, a Prometheus data source variable every query
// uses, panels with distinct ids and a place on the grid), whose queries
// are PromQL promtool accepts, on metrics darsi serves, covering those
// the alerts watch.
func TestGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile("grafana/darsi.json")
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		RefID      string `json:"refId"`
		Expr       string `json:"expr"`
		Datasource struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
	}
	type panel struct {
		ID      int                       `json:"id"`
		Type    string                    `json:"type"`
		Title   string                    `json:"title"`
		GridPos *struct{ H, W, X, Y int } `json:"gridPos"`
		Targets []target                  `json:"targets"`
	}
	var dash struct {
		Title      string  `json:"title"`
		UID        string  `json:"uid"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query string `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("grafana/darsi.json: %v", err)
	}
	if dash.Title == "" || dash.UID == "" {
		t.Errorf("dashboard title %q, uid %q: want both", dash.Title, dash.UID)
	}
	dsVar := ""
	for _, v := range dash.Templating.List {
		if v.Type == "datasource" && v.Query == "prometheus" {
			dsVar = "${" + v.Name + "}"
		}
	}
	if dsVar == "" {
		t.Fatal("no Prometheus data source variable (templating: type datasource, query prometheus)")
	}

	// Panels sit side by side on Grafana's 24-column grid, never on top
	// of one another.
	for i, a := range dash.Panels {
		for _, b := range dash.Panels[:i] {
			if a.GridPos == nil || b.GridPos == nil {
				continue
			}
			ga, gb := *a.GridPos, *b.GridPos
			if ga.X+ga.W > 24 {
				t.Errorf("panel %q runs past the grid's 24 columns", a.Title)
			}
			if ga.X < gb.X+gb.W && gb.X < ga.X+ga.W && ga.Y < gb.Y+gb.H && gb.Y < ga.Y+ga.H {
				t.Errorf("panels %q and %q overlap", a.Title, b.Title)
			}
		}
	}

	names := registered(t)
	seen := map[string]bool{}
	ids := map[int]bool{}
	var exprs []string
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
			t.Errorf("panel %q has no place on the grid", p.Title)
		}
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Datasource.UID != dsVar || tg.Datasource.Type != "prometheus" {
				t.Errorf("panel %q query %s: data source %+v, want the variable %s", p.Title, tg.RefID, tg.Datasource, dsVar)
			}
			if checkNames(t, "grafana panel "+strconv.Quote(p.Title), tg.Expr, names) == 0 {
				t.Errorf("panel %q query %s names no metric: %q", p.Title, tg.RefID, tg.Expr)
			}
			for _, ref := range metricRef.FindAllString(tg.Expr, -1) {
				seen[strings.TrimSuffix(strings.TrimSuffix(ref, "_bucket"), "_count")] = true
			}
			exprs = append(exprs, tg.Expr)
		}
	}
	// What the issue asks the dashboard to show, and every metric an alert
	// reads.
	want := map[string]bool{
		"darsi_inbound_messages_total": true, "darsi_webhook_duration_seconds": true,
		"darsi_outbox_due_jobs": true, "darsi_outbox_oldest_due_age_seconds": true, "darsi_outbox_jobs_total": true,
		"darsi_outbox_send_errors_total": true, "darsi_delivery_failures_total": true,
		"darsi_store_round_trips_total": true, "darsi_store_operation_duration_seconds": true, "darsi_store_up": true,
		"darsi_lesson_reloads_total": true, "darsi_learner_events_total": true,
	}
	for _, g := range readYAML(t, "prometheus/alerts.yaml") {
		groups, _ := get(g, "groups").([]any)
		for _, gr := range groups {
			rules, _ := get(gr, "rules").([]any)
			for _, r := range rules {
				expr, _ := get(r, "expr").(string)
				for _, ref := range metricRef.FindAllString(expr, -1) {
					if ref != "up{" {
						want[strings.TrimSuffix(strings.TrimSuffix(ref, "_bucket"), "_count")] = true
					}
				}
			}
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("no panel shows %s", name)
		}
	}

	// promtool parses each query as a recording rule's.
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not installed: run bash .ci/services (it installs Debian's prometheus package)")
	}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: grafana\n    rules:\n")
	for i, e := range exprs {
		e = strings.ReplaceAll(e, "$__rate_interval", "5m")
		q, _ := json.Marshal(e)
		fmt.Fprintf(&rules, "      - record: grafana:query:%d\n        expr: %s\n", i, q)
	}
	file := filepath.Join(t.TempDir(), "grafana_rules.yaml")
	if err := os.WriteFile(file, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules on the dashboard's queries: %v\n%s", err, out)
	}
}
