package coachweb

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"text/template/parse"
	"unicode"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/locales"
)

// hole stands for a template action in the text of a template.
const hole = "\x00"

// names are the only words a template may hold as they are: the product's
// name.
var names = regexp.MustCompile(`\bDarsi\b`)

// shownAttrs are the attributes a reader sees or hears.
var shownAttrs = regexp.MustCompile(`(?i)\b(title|placeholder|aria-label|alt|data-label)\s*=\s*"([^"]*)"`)

// tags are HTML tags, comments and the doctype.
var tags = regexp.MustCompile(`(?s)<!--.*?-->|<[^>]*>`)

// templateText walks a template's tree in document order: its text, with
// hole for each action, and the message ids its t and n calls name.
func templateText(tb testing.TB, n parse.Node, text *strings.Builder, ids map[string]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			templateText(tb, c, text, ids)
		}
	case *parse.TextNode:
		text.Write(n.Text)
	case *parse.ActionNode:
		text.WriteString(hole)
		templateText(tb, n.Pipe, text, ids)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			templateText(tb, c, text, ids)
		}
	case *parse.CommandNode:
		if id, ok := n.Args[0].(*parse.IdentifierNode); ok && (id.Ident == "t" || id.Ident == "n") {
			s, ok := n.Args[1].(*parse.StringNode)
			if !ok {
				tb.Errorf("%s: the message id is not a constant string", n)
				return
			}
			ids[s.Text] = true
		}
		for _, a := range n.Args {
			templateText(tb, a, text, ids)
		}
	case *parse.IfNode:
		branch(tb, &n.BranchNode, text, ids)
	case *parse.RangeNode:
		branch(tb, &n.BranchNode, text, ids)
	case *parse.WithNode:
		branch(tb, &n.BranchNode, text, ids)
	case *parse.TemplateNode:
		text.WriteString(hole)
		templateText(tb, n.Pipe, text, ids)
	}
}

func branch(tb testing.TB, n *parse.BranchNode, text *strings.Builder, ids map[string]bool) {
	text.WriteString(hole)
	templateText(tb, n.Pipe, text, ids)
	templateText(tb, n.List, text, ids)
	if n.ElseList != nil {
		text.WriteString(hole)
		templateText(tb, n.ElseList, text, ids)
	}
	text.WriteString(hole)
}

// literal returns the words of s, a piece of a template's text, that a
// reader would see: letters outside actions and outside the product's
// name.
func literal(s string) string {
	s = names.ReplaceAllString(strings.ReplaceAll(s, hole, " "), " ")
	if !strings.ContainsFunc(s, unicode.IsLetter) {
		return ""
	}
	return strings.Join(strings.Fields(s), " ")
}

// dashboardBundle loads the dashboard's words.
func dashboardBundle(tb testing.TB) *locale.Bundle {
	tb.Helper()
	b, err := locale.LoadDashboard(locales.FS)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// templateIDs parses every template and returns the message ids they
// name, reporting any word written in a template rather than said by a
// message.
func templateIDs(t *testing.T, b *locale.Bundle) map[string]bool {
	h := &Handler{dash: b, cfg: Config{}}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("templates: %v %v", files, err)
	}
	ids := map[string]bool{}
	for _, name := range files {
		src, err := fs.ReadFile(templateFS, name)
		if err != nil {
			t.Fatal(err)
		}
		tmpl, err := template.New(name).Funcs(template.FuncMap(h.funcs(bot.French))).Parse(string(src))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, def := range tmpl.Templates() {
			if def.Tree == nil {
				continue
			}
			var text strings.Builder
			templateText(t, def.Tree.Root, &text, ids)
			s := text.String()
			for _, m := range shownAttrs.FindAllStringSubmatch(s, -1) {
				if w := literal(m[2]); w != "" {
					t.Errorf("%s (%s): attribute %s holds the words %q: say them with {{t \"dash.…\"}}", name, def.Name(), m[1], w)
				}
			}
			for _, piece := range tags.Split(s, -1) {
				if w := literal(piece); w != "" {
					t.Errorf("%s (%s): the words %q are written in the template: say them with {{t \"dash.…\"}}", name, def.Name(), w)
				}
			}
		}
	}
	return ids
}

// goIDs returns the message ids the dashboard's Go code names: whole ids,
// and the prefixes (ending with ".") of the words looked up by key.
func goIDs(t *testing.T) (whole, prefixes map[string]bool) {
	whole, prefixes = map[string]bool{}, map[string]bool{}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil || !strings.HasPrefix(s, "dash.") {
				return true
			}
			if strings.HasSuffix(s, ".") {
				prefixes[s] = true
			} else {
				whole[s] = true
			}
			return true
		})
	}
	return whole, prefixes
}

// TestTemplatesSayMessages: no template holds words of its own; every
// word a coach reads is a message of the dashboard's bundle, present in
// French and in Arabic (LoadDashboard checks both files hold the same
// ids), and every message is used.
func TestTemplatesSayMessages(t *testing.T) {
	b := dashboardBundle(t)
	used := templateIDs(t, b)
	whole, prefixes := goIDs(t)
	for id := range whole {
		used[id] = true
	}
	for id := range used {
		if !b.Has(id) {
			t.Errorf("message %s is used but not in locales/dash/fr.yaml and ar.yaml", id)
		}
	}
	// The words looked up by key: every key the code may look up has
	// its words.
	keys := map[string][]string{
		"dash.status.":   {"queued", "claimed", "sent", "delivered", "failed", "cancelled"},
		"dash.phase.":    {"new", "language", "consent", "menu", "done", "erase", "ask", "lesson"},
		"dash.kind.":     {"reminder", "broadcast", "nudge", "review", "coach_reply", "coach_digest", "followup", "reply"},
		"dash.delivery.": {"accepted", "scheduled", "queued", "sending", "sent", "failed", "undelivered", "canceled", "delivered", "read"},
		"dash.via.":      {"dashboard", "api", "cli"},
		"dash.action.": {app.AuditLogin, app.AuditLogout, app.AuditCoachSaved, app.AuditCoachDisabled, app.AuditCohortCreated,
			app.AuditReminder, app.AuditBroadcast, app.AuditExport, app.AuditAnswer, app.AuditJobCancelled},
		"dash.lang.": nil,
	}
	for _, l := range bot.Langs {
		keys["dash.lang."] = append(keys["dash.lang."], string(l))
	}
	for p := range prefixes {
		if _, ok := keys[p]; !ok {
			t.Errorf("the code looks words up by key under %s: list its keys in this test", p)
		}
	}
	for p, ks := range keys {
		for _, k := range ks {
			if !b.Has(p + k) {
				t.Errorf("no message %s%s", p, k)
			}
			used[p+k] = true
		}
	}
	for _, id := range b.IDs() {
		if !used[id] {
			t.Errorf("message %s is in locales/dash but nothing says it", id)
		}
	}
}

// TestTemplateLiteralsFound: the check above finds words in text, in a
// shown attribute, and a message id that is not constant.
func TestTemplateLiteralsFound(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{`<p>Bonjour {{.X}}</p>`, "Bonjour"},
		{`<td data-label="Numéro">{{.X}}</td>`, "Numéro"},
		{`<p title="{{.X}} non lues">x</p>`, "non lues"},
		{`{{if .X}}<b>مرحبا</b>{{end}}`, "مرحبا"},
	} {
		var text strings.Builder
		tr, err := parse.Parse("x", tt.src, "{{", "}}", map[string]any{"t": func() {}})
		if err != nil {
			t.Fatal(err)
		}
		templateText(t, tr["x"].Root, &text, map[string]bool{})
		var found []string
		for _, m := range shownAttrs.FindAllStringSubmatch(text.String(), -1) {
			found = append(found, literal(m[2]))
		}
		for _, piece := range tags.Split(text.String(), -1) {
			found = append(found, literal(piece))
		}
		if !slices.Contains(found, tt.want) {
			t.Errorf("%s: found %q, want %q", tt.src, found, tt.want)
		}
	}
	for _, ok := range []string{`<p>{{t "dash.x"}} · {{.Y}} (<a href="/x">{{t "dash.y"}}</a>)</p>`, `<title>{{.T}} · Darsi</title>`} {
		var text strings.Builder
		tr, err := parse.Parse("x", ok, "{{", "}}", map[string]any{"t": func() {}})
		if err != nil {
			t.Fatal(err)
		}
		templateText(t, tr["x"].Root, &text, map[string]bool{})
		for _, piece := range tags.Split(text.String(), -1) {
			if w := literal(piece); w != "" {
				t.Errorf("%s: found %q", ok, w)
			}
		}
	}
}
