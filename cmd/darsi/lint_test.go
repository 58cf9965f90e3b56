package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/darsi-ma/darsi/bot/lesson"
)

func TestLintSummaryTable(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../../lessons/costing", filepath.Join(dir, "costing"))
	copyDir(t, "../../lessons/media", filepath.Join(dir, "media"))
	code, out, errOut := darsi(t, "", "lint", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"min zgh", "sms ar", "costing-1", "costing-3", "1 courses, 3 lessons", "words a minute", "0 errors"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestLintJSON(t *testing.T) {
	code, out, errOut := darsi(t, "", "lint", "--format", "json", "../../lessons")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var rep struct {
		Courses int
		Errors  int
		Lessons []struct {
			Lesson string
			Budget int `json:"budget_minutes"`
			Langs  map[string]struct {
				Minutes  float64
				Segments int
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not one JSON document: %v", err)
	}
	if rep.Courses < 4 || len(rep.Lessons) < 12 || rep.Errors != 0 {
		t.Fatalf("report: %d courses, %d lessons, %d errors", rep.Courses, len(rep.Lessons), rep.Errors)
	}
	for _, les := range rep.Lessons {
		for _, lang := range []string{"ary", "ar", "fr", "zgh"} {
			u := les.Langs[lang]
			if u.Minutes <= 0 || u.Minutes > float64(les.Budget) || u.Segments <= 0 {
				t.Errorf("%s in %s: %.1f minutes (budget %d), %d segments", les.Lesson, lang, u.Minutes, les.Budget, u.Segments)
			}
		}
	}
	if code, _, _ := darsi(t, "", "lint", "--format", "yaml", "../../lessons"); code != 2 {
		t.Errorf("unknown format: exit %d, want 2", code)
	}
}

// TestStampThenStale stamps a course's translations, changes a French
// text, and checks that lint names the translations to redo, at the
// text's line, as a warning (exit 0) that --strict turns into a failure.
func TestStampThenStale(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../../lessons/costing", filepath.Join(dir, "costing"))
	copyDir(t, "../../lessons/media", filepath.Join(dir, "media"))
	code, out, errOut := darsi(t, "", "stamp", "--lang", "ary,ar,zgh", dir)
	if code != 0 || !strings.Contains(out, "texts stamped") {
		t.Fatalf("stamp: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := darsi(t, "", "lint", "-q", dir); code != 0 || strings.Contains(out, "stale") || strings.Contains(out, "changed since") {
		t.Fatalf("lint right after stamping: exit %d\n%s", code, out)
	}

	file := filepath.Join(dir, "costing", "costing-2.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	const from, to = "Le prix de revient d'une pièce", "Le vrai coût d'une pièce"
	if !strings.Contains(string(data), from) {
		t.Fatalf("costing-2 has no %q", from)
	}
	edited := strings.Replace(string(data), from, to, 1)
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = darsi(t, "", "lint", "-q", dir)
	if code != 0 {
		t.Fatalf("a stale translation is a warning, not an error: exit %d\n%s", code, out)
	}
	line := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(dir) + `/costing/costing-2\.yaml:(\d+):\d+: warning: the fr text changed since the ary, ar, zgh translation was made: redo it, then set from: ` + lesson.SourceHash(to))
	m := line.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("lint does not name the stale translations:\n%s", out)
	}
	lines := strings.Split(edited, "\n")
	n, _ := strconv.Atoi(m[1])
	if n < 1 || n+4 > len(lines) || !strings.Contains(lines[n-1], "from:") || !strings.Contains(strings.Join(lines[n-1:n+4], "\n"), to) {
		t.Errorf("finding at line %s, not at the edited title's from key", m[1])
	}
	if code, _, _ := darsi(t, "", "lint", "-q", "--strict", dir); code != 1 {
		t.Errorf("--strict with a stale translation: exit %d, want 1", code)
	}
	// Stamping the redone translations clears the warning.
	if code, _, _ := darsi(t, "", "stamp", filepath.Join(dir, "costing", "costing-2.yaml")); code != 0 {
		t.Fatal("stamp failed")
	}
	if code, out, _ := darsi(t, "", "lint", "-q", "--strict", dir); code != 0 {
		t.Errorf("after stamping again: exit %d\n%s", code, out)
	}
}

// TestLintGlossaryAndLocales lints a course beside a glossary and a locales
// folder: the glossary's warnings in both, at their file:line:col, the
// summary's totals, and a bad glossary as an error.
func TestLintGlossaryAndLocales(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "lessons")
	copyDir(t, "../../lessons/costing", filepath.Join(dir, "costing"))
	copyDir(t, "../../lessons/media", filepath.Join(dir, "media"))
	glossary := "languages:\n  fr:\n    terms:\n      - {key: cost, use: coût, avoid: [zorglub]}\n"
	if err := os.WriteFile(filepath.Join(dir, "glossary.yaml"), []byte(glossary), 0o644); err != nil {
		t.Fatal(err)
	}
	locales := filepath.Join(root, "locales")
	copyDir(t, "../../locales", locales)
	fr := filepath.Join(locales, "fr.yaml")
	data, err := os.ReadFile(fr)
	if err != nil {
		t.Fatal(err)
	}
	const from = `Wrong: "Pas tout à fait."`
	if !strings.Contains(string(data), from) {
		t.Fatalf("fr.yaml has no %s", from)
	}
	edited := strings.Replace(string(data), from, `Wrong: "Pas tout à fait, zorglub."`, 1)
	if err := os.WriteFile(fr, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	line := strings.Count(edited[:strings.Index(edited, "Wrong: ")], "\n") + 1

	code, out, errOut := darsi(t, "", "lint", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	want := fmt.Sprintf("%s:%d:%d: warning: glossary (fr, cost): write \"coût\", not \"zorglub\"\n", filepath.Join(locales, "fr.yaml"), line, utf8.RuneCountInString(`Wrong: "Pas tout à fait, `)+1)
	if !strings.Contains(out, want) {
		t.Errorf("no %q in\n%s", want, out)
	}
	for _, p := range []string{"total", "SMS segments now → with lint's GSM-7 replacements: ary ", "Glossary warnings (" + filepath.Join(dir, "glossary.yaml") + "): fr 1.", "Sources to check again"} {
		if !strings.Contains(out, p) {
			t.Errorf("summary lacks %q:\n%s", p, out)
		}
	}
	// A course folder alone takes the glossary of the folder above it.
	if _, out, _ := darsi(t, "", "lint", filepath.Join(dir, "costing")); !strings.Contains(out, "Glossary warnings ("+filepath.Join(dir, "glossary.yaml")+"): none.") {
		t.Errorf("a course folder without the glossary above it:\n%s", out)
	}
	// Locales given by hand; none when the flag names a folder without them.
	if _, out, _ := darsi(t, "", "lint", "-q", "--locales", t.TempDir(), dir); strings.Contains(out, "zorglub") {
		t.Errorf("--locales elsewhere still lints %s:\n%s", locales, out)
	}

	if err := os.WriteFile(filepath.Join(dir, "glossary.yaml"), []byte("languages:\n  fr:\n    terms: [{key: x}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Join(dir, "costing")} {
		code, out, _ = darsi(t, "", "lint", "-q", d)
		if want := filepath.Clean(filepath.Join(dir, "glossary.yaml")) + ":3:13: glossary: term has no use"; code != 1 || !strings.Contains(out, want) {
			t.Errorf("lint %s with a bad glossary: exit %d, want 1 and %q:\n%s", d, code, want, out)
		}
	}
}
