package lint

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/darsi-ma/darsi/locales"
)

// TestDashboardMessages lints a copy of the dashboard's message files in
// which Arabic lacks a message, names another placeholder, lacks a plural
// form and has one French lacks, and a text uses a word the glossary
// avoids: one finding each, at its file:line:col. The real files have none.
func TestDashboardMessages(t *testing.T) {
	dash := func(name string) string {
		data, err := fs.ReadFile(locales.FS, "dash/"+name)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	fsys := fixture("  - id: hi\n    say: " + four("Hello") + "\n" + goodTail)
	fsys["glossary.yaml"] = &fstest.MapFile{Data: mustRead(t, "testdata/glossary.yaml")}

	// The real files: nothing to say.
	real := fstest.MapFS{"dash/fr.yaml": {Data: []byte(dash("fr.yaml"))}, "dash/ar.yaml": {Data: []byte(dash("ar.yaml"))}}
	_, rep, err := Load(fsys, "x", Options{Locales: real, LocalesPrefix: "locales"})
	if err != nil {
		t.Fatal(err)
	}
	if fs := append(findings(rep, RuleMessages), findings(rep, RuleGlossary)...); len(fs) > 0 {
		t.Errorf("the dashboard's files: %v", fs)
	}

	ar := dash("ar.yaml")
	for _, c := range []struct{ from, to string }{
		{"dash.tab.outbox: \"الإرسالات\"\n", ""},
		{"dash.remind.pageTitle: \"تذكير — {{.Cohort}}\"", "dash.remind.pageTitle: \"تذكير — {{.Name}}\""},
		{"  two: \"اثنان غير مقروءين\"\n", ""},
		{"dash.tab.learners: \"المتعلمون\"", "dash.tab.learners: \"المتعلمون\"\ndash.tab.extra: \"الكليان\""},
	} {
		if !strings.Contains(ar, c.from) {
			t.Fatalf("dash/ar.yaml has no %q", c.from)
		}
		ar = strings.Replace(ar, c.from, c.to, 1)
	}
	broken := fstest.MapFS{"dash/fr.yaml": {Data: []byte(dash("fr.yaml"))}, "dash/ar.yaml": {Data: []byte(ar)}}
	_, rep, err = Load(fsys, "x", Options{Locales: broken, LocalesPrefix: "locales"})
	if err != nil {
		t.Fatal(err)
	}
	line := func(id string) int {
		for i, l := range strings.Split(ar, "\n") {
			if strings.HasPrefix(l, id+":") {
				return i + 1
			}
		}
		t.Fatalf("no %s in the broken file", id)
		return 0
	}
	want := []string{
		fmt.Sprintf("locales/dash/ar.yaml:%d:1: locales/dash/ar.yaml... dash.inbox.unread: missing plural form \"two\"", line("dash.inbox.unread")),
		"locales/dash/ar.yaml:1:1: missing message dash.tab.outbox",
		fmt.Sprintf("locales/dash/ar.yaml:%d:1: dash.remind.pageTitle: uses {{.Name}}", line("dash.remind.pageTitle")),
		fmt.Sprintf("locales/dash/ar.yaml:%d:1: dash.remind.pageTitle: lacks the placeholder {{.Cohort}}", line("dash.remind.pageTitle")),
		fmt.Sprintf("locales/dash/ar.yaml:%d:1: message dash.tab.extra is not in fr.yaml", line("dash.tab.extra")),
	}
	var got []string
	for _, f := range findings(rep, RuleMessages) {
		if f.Severity != Error {
			t.Errorf("%s: severity %s, want error", f, f.Severity)
		}
		got = append(got, f.String())
	}
	for _, w := range want {
		where, what, _ := strings.Cut(w, ": ")
		what = strings.TrimPrefix(what, "locales/dash/ar.yaml... ")
		found := false
		for _, g := range got {
			found = found || (strings.HasPrefix(g, where+": ") && strings.Contains(g, what))
		}
		if !found {
			t.Errorf("no finding %s … %s in\n%s", where, what, strings.Join(got, "\n"))
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d findings, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	g := findings(rep, RuleGlossary)
	if len(g) != 1 || g[0].File != "locales/dash/ar.yaml" || g[0].Line != line("dash.tab.extra") || !strings.Contains(g[0].Message, `write "الزبون"`) {
		t.Errorf("glossary findings: %v", g)
	}
}
