package schedule_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
)

func TestTemplatesLookup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "templates.yaml")
	if err := os.WriteFile(path, []byte(templatesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	ts, err := schedule.LoadTemplates(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ts.Len(), 4; got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
	got, ok := ts.Lookup("reminder", bot.Darija)
	if !ok {
		t.Fatal("no reminder in ary")
	}
	want := schedule.Template{
		Kind: "reminder", Lang: bot.Darija, SID: "HX00000000000000000000000000000002",
		Vars: map[string]string{"1": "name", "2": "text"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Lookup(reminder, ary) (-want +got):\n%s", diff)
	}
	if _, ok := ts.Lookup("reminder", bot.Tamazight); ok {
		t.Error("Lookup(reminder, zgh) found a template the file does not have")
	}
	if _, ok := ts.Lookup("review", bot.French); ok {
		t.Error("Lookup(review, fr) found a template the file does not have")
	}
	var none *schedule.Templates
	if _, ok := none.Lookup("reminder", bot.French); ok {
		t.Error("a nil *Templates found a template")
	}
	empty, err := schedule.ParseTemplates("empty.yaml", []byte("# nothing yet\n"))
	if err != nil || empty.Len() != 0 {
		t.Errorf("empty file: got %d templates, %v; want 0, nil", empty.Len(), err)
	}
	if _, err := schedule.LoadTemplates(filepath.Join(dir, "missing.yaml")); bot.KindOf(err) != bot.NotFound {
		t.Errorf("missing file: got %v, want a NotFound error", err)
	}
}

func TestTemplatesErrors(t *testing.T) {
	const file = `reminder:
  fr: {sid: HX123, vars: {"1": text}}
  en: {sid: HX00000000000000000000000000000001}
  ar:
    sid: HX00000000000000000000000000000001
    vars: {"1": txet}
  zgh: {vars: {"1": text}}
  ary: {sid: HX00000000000000000000000000000001, colour: red}
Nudge:
  fr: {sid: HX00000000000000000000000000000003}
review: [fr, ar]
`
	_, err := schedule.ParseTemplates("templates.yaml", []byte(file))
	if err == nil {
		t.Fatal("no error")
	}
	if bot.KindOf(err) != bot.Invalid {
		t.Errorf("kind %s, want invalid", bot.KindOf(err))
	}
	want := []string{
		`templates.yaml:2:13: reminder.fr: sid "HX123" is not a Content SID (HX and 32 hex digits)`,
		`templates.yaml:3:3: reminder: unknown language "en" (want ary, ar, fr or zgh)`,
		`templates.yaml:6:17: reminder.ar: variable 1: unknown source "txet" (want one of text, body, name, lesson, cohort, coach)`,
		`templates.yaml:7:8: reminder.zgh: no sid`,
		`templates.yaml:8:50: reminder.ary: unknown field "colour" (want sid and vars)`,
		`templates.yaml:9:1: kind "Nudge": want a lower-case letter, then up to 39 lower-case letters, digits, - or _`,
		`templates.yaml:11:9: review: want a mapping from language (ary, ar, fr, zgh) to a template`,
	}
	got := strings.Split(strings.TrimPrefix(err.Error(), "schedule.ParseTemplates: "), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}

	_, err = schedule.ParseTemplates("bad.yaml", []byte("reminder: {fr: [\n"))
	if err == nil || !strings.Contains(err.Error(), "bad.yaml: yaml: line") {
		t.Errorf("broken YAML: got %v, want an error naming the file and line", err)
	}
}
