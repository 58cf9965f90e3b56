package lint

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/darsi-ma/darsi/bot"
)

func testGlossary(t *testing.T) *Glossary {
	t.Helper()
	data, err := os.ReadFile("testdata/glossary.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g, probs := ParseGlossary(data, "testdata/glossary.yaml")
	if len(probs) > 0 {
		t.Fatalf("the test glossary has problems: %v", probs)
	}
	return g
}

// TestGlossaryCheck checks each kind of glossary finding inside one text:
// where it is (the word, from its first rune) and what it says.
func TestGlossaryCheck(t *testing.T) {
	g := testGlossary(t)
	for _, tc := range []struct {
		lang bot.Lang
		text string
		want []string // "matched text: message"
	}{
		{bot.Darija, "هادا القسم الأول", []string{`القسم: glossary (ary, lesson): write "الدرس", not "القسم"`}},
		// Tashkeel and tatweel do not hide a variant (input normalisation).
		{bot.Darija, "هادا القِسْـم", []string{`القِسْـم: glossary (ary, lesson): write "الدرس", not "القسم"`}},
		// Whole words only: a longer word holding the variant is another word.
		{bot.Darija, "القسمة ديال الفلوس", nil},
		{bot.Darija, "شمن واحد؟ أَشمن؟", []string{
			`شمن: glossary (ary, how-much): write "شحال", not "شمن"`,
			`أَشمن: glossary (ary, how-much): write "شحال", not "أشمن"`}},
		{bot.French, "Note-le dans ton CAHIER.", []string{
			`CAHIER: glossary (fr, notebook): write "carnet", not "cahier" (the word of the lessons)`}},
		{bot.French, "Le registre  de caisse, pas le registre.", []string{
			`registre  de caisse: glossary (fr, notebook): write "carnet", not "registre de caisse" (the word of the lessons)`}},
		{bot.French, "Vous payez 30 DH.", []string{`Vous: glossary (fr, rule no-vous): "Vous": address the learner with "tu"`}},
		{bot.Arabic, "ثمنه 30 درهما، لا 30 درهم", []string{`30 درهما: glossary (ar, rule dirham-after-number): "30 درهما": write "30 درهم"`}},
		{bot.Arabic, "زبون الكليان", []string{`الكليان: glossary (ar, customer): write "الزبون", not "الكليان"`}},
		// A listed misspelling of a name, and no near miss on top of it.
		{bot.Tamazight, "ⴼⴰⵟⵎⴰ ⵜⵣⵣⵏⵣ", []string{`ⴼⴰⵟⵎⴰ: glossary (zgh, cast fatima): write the name "ⴼⴰⵟⵉⵎⴰ", not "ⴼⴰⵟⵎⴰ"`}},
		{bot.French, "Fatma vend.", []string{`Fatma: glossary (fr, cast fatima): write the name "Fatima", not "Fatma"`}},
		// Near misses: two letters away from a name of 6, one from a name of 5.
		{bot.French, "Fatiima et Fattema vendent.", []string{
			`Fatiima: glossary (fr, cast fatima): "Fatiima" looks like a misspelling of the name "Fatima": write "Fatima", or add the word to the glossary`,
			`Fattema: glossary (fr, cast fatima): "Fattema" looks like a misspelling of the name "Fatima": write "Fatima", or add the word to the glossary`}},
		{bot.Tamazight, "ⵙⵄⵉⴷ ⴷ ⵙⴰⵄⵉⴷ", []string{
			`ⵙⵄⵉⴷ: glossary (zgh, cast said): "ⵙⵄⵉⴷ" looks like a misspelling of the name "ⵙⴰⵄⵉⴷ": write "ⵙⴰⵄⵉⴷ", or add the word to the glossary`}},
		{bot.Arabic, "سعييد", []string{
			`سعييد: glossary (ar, cast said): "سعييد" looks like a misspelling of the name "سعيد": write "سعيد", or add the word to the glossary`}},
		// Not misspellings: an accent (normalised away), a lower-case
		// French word, a proclitic before an Arabic name, a word that
		// starts with another letter, a name of three letters, a word
		// three edits away.
		{bot.French, "Saïd et Said, fatiima", nil},
		{bot.Arabic, "قال لسعيد وبسعيد: بعيد، أعيد", nil},
		{bot.Darija, "حسان وحسين", nil},
		{bot.French, "Fabrice", nil},
	} {
		t.Run(string(tc.lang)+" "+tc.text, func(t *testing.T) {
			var got []string
			for _, h := range g.check(tc.lang, tc.text) {
				got = append(got, tc.text[h.off:h.end]+": "+h.msg)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestParseGlossaryErrors(t *testing.T) {
	bad := `drafts: [ary, en]
languages:
  fr:
    address: vous
    terms:
      - key: notebook
        avoid: [cahier]
      - key: cash
        use: "caisse"
        avoid: ["Caïsse"]
        color: red
    rules:
      - key: broken
        avoid: '(unclosed'
        say: "…"
      - key: empty
        avoid: 'x*'
        say: "…"
  kab: {}
cast:
  - key: fatima
    names: {ary: "فاطمة", fr: "Fatima"}
    avoid: {de: ["x"]}
`
	g, probs := ParseGlossary([]byte(bad), "lessons/glossary.yaml")
	if g != nil {
		t.Error("a glossary with mistakes gave a Glossary")
	}
	var got []string
	for _, p := range probs {
		if p.Severity != Error || p.Rule != RuleGlossary {
			t.Errorf("%v: want an error of rule glossary", p)
		}
		got = append(got, p.String())
	}
	want := []string{
		`lessons/glossary.yaml:1:15: glossary: unknown language "en" (want one of ary, ar, fr, zgh)`,
		`lessons/glossary.yaml:4:14: glossary: address "vous": want singular or plural`,
		`lessons/glossary.yaml:6:9: glossary: term has no use`,
		`lessons/glossary.yaml:11:9: glossary: unknown key "color" in term (want key, use, avoid, note)`,
		`lessons/glossary.yaml:8:9: glossary: term "cash": the variant "Caïsse" is the preferred word itself once normalised`,
		"lessons/glossary.yaml:14:16: glossary: rule \"broken\": avoid is not a regular expression (RE2): error parsing regexp: missing closing ): `(unclosed`",
		`lessons/glossary.yaml:17:16: glossary: rule "empty": avoid matches an empty text, so it would match everywhere`,
		`lessons/glossary.yaml:19:3: glossary: unknown language "kab" (want one of ary, ar, fr, zgh)`,
		`lessons/glossary.yaml:23:13: glossary: unknown language "de" (want one of ary, ar, fr, zgh)`,
		`lessons/glossary.yaml:22:12: glossary: cast member "fatima" has no name in ar`,
		`lessons/glossary.yaml:22:12: glossary: cast member "fatima" has no name in zgh`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for _, tc := range []struct{ src, want string }{
		{"languages: [", "lessons/glossary.yaml:1:1: glossary: not valid YAML: did not find expected node content"},
		{"", "lessons/glossary.yaml:1:1: glossary: empty file"},
		{"cast: []\n", "lessons/glossary.yaml:1:1: glossary: glossary has no languages"},
	} {
		_, probs := ParseGlossary([]byte(tc.src), "lessons/glossary.yaml")
		if len(probs) != 1 || probs[0].String() != tc.want {
			t.Errorf("ParseGlossary(%q) = %v, want %s", tc.src, probs, tc.want)
		}
	}
}

// TestGlossaryInLessonsAndLocales lints a fixture whose texts break the
// glossary in a lesson, a course title and a locale file, and checks each
// warning's file:line:col.
func TestGlossaryInLessonsAndLocales(t *testing.T) {
	steps := `  - id: hi
    say:
      ary: "سير للقسم"
      ar: "مرحبا"
      fr: "Fatma t'attend avec son « cahier »."
      zgh: |-
        ⴰⵣⵓⵍ
        ⵏⴳ ⵜⴰⵎⵙⵉⵔⵜ
` + goodTail
	fsys := fixture(steps)
	fsys["glossary.yaml"] = &fstest.MapFile{Data: mustRead(t, "testdata/glossary.yaml")}
	fsys["t/course.yaml"].Data = []byte("course: t\ntitle: {ary: \"القسم\", ar: a, fr: a, zgh: a}\nlessons: [t-1]\n")
	locales := fstest.MapFS{
		"fr.yaml":  {Data: []byte("# comment\nHello: \"Salut\"\nNotebook: 'Ton cahier'\nCount:\n  one: \"{{.Count}} cahier\"\n  other: \"{{.Count}} cahiers\"\n")},
		"zgh.yaml": {Data: []byte("Menu: \"ⴰⵙⵍⵎⴷ ⵏⵖ ⴰⵙⵍⵎⴷ\"\n")},
	}
	_, rep, err := Load(fsys, "x", Options{Locales: locales, LocalesPrefix: "locales"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings(rep, RuleGlossary) {
		got = append(got, fmt.Sprintf("%s [%s]", f, f.Lang))
	}
	want := []string{
		`locales/fr.yaml:3:16: warning: glossary (fr, notebook): write "carnet", not "cahier" (the word of the lessons) [fr]`,
		`locales/fr.yaml:5:20: warning: glossary (fr, notebook): write "carnet", not "cahier" (the word of the lessons) [fr]`,
		`locales/zgh.yaml:1:8: warning: glossary (zgh, lesson): write "ⵜⴰⵎⵙⵉⵔⵜ", not "ⴰⵙⵍⵎⴷ" [zgh]`,
		`locales/zgh.yaml:1:17: warning: glossary (zgh, lesson): write "ⵜⴰⵎⵙⵉⵔⵜ", not "ⴰⵙⵍⵎⴷ" [zgh]`,
		`x/t/course.yaml:2:15: warning: glossary (ary, lesson): write "الدرس", not "القسم" [ary]`,
		`x/t/t-1.yaml:10:12: warning: glossary (fr, cast fatima): write the name "Fatima", not "Fatma" [fr]`,
		`x/t/t-1.yaml:10:38: warning: glossary (fr, notebook): write "carnet", not "cahier" (the word of the lessons) [fr]`,
		`x/t/t-1.yaml:13:9: warning: glossary (zgh, or): write "ⵏⵖ", not "ⵏⴳ" [zgh]`,
	}
	rep.sortFindings()
	got = got[:0]
	for _, f := range rep.Findings {
		if f.Rule == RuleGlossary {
			got = append(got, fmt.Sprintf("%s [%s]", f, f.Lang))
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// "للقسم" is another word than "القسم": no warning on line 8.
	if rep.Glossary[bot.French] != 4 || rep.Glossary[bot.Tamazight] != 3 || rep.Glossary[bot.Darija] != 1 {
		t.Errorf("glossary warnings per language: %v", rep.Glossary)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestBadGlossaryIsAnError(t *testing.T) {
	fsys := fixture("  - id: hi\n    say: " + four("Hello") + "\n" + goodTail)
	fsys["glossary.yaml"] = &fstest.MapFile{Data: []byte("languages:\n  fr:\n    terms: [{key: x}]\n")}
	rep := run(t, fsys, nil)
	want(t, rep, RuleGlossary, Error, "x/glossary.yaml:3:13", "term has no use")
}

// TestGlossaryOnACopyOfTheLessons copies the curriculum to a temporary
// folder with the test glossary, breaks one glossary term and one cast
// name's spelling in a lesson, and checks that lint reports exactly those
// two at their file:line:col, besides what it reported before.
func TestGlossaryOnACopyOfTheLessons(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../lessons")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "glossary.yaml"), mustRead(t, "testdata/glossary.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	lint := func() map[string]int {
		t.Helper()
		_, rep, err := Load(os.DirFS(dir), "lessons", Options{Media: os.DirFS(filepath.Join(dir, "media")),
			Now: func() time.Time { return time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC) }})
		if err != nil {
			t.Fatal(err)
		}
		// Keyed without the column: a word inserted earlier on a line
		// moves the findings after it.
		out := map[string]int{}
		for _, f := range rep.Findings {
			if f.Rule == RuleGlossary {
				out[fmt.Sprintf("%s:%d: %s", f.File, f.Line, f.Message)]++
			}
		}
		if rep.Courses < 10 || len(rep.Lessons) < 30 {
			t.Fatalf("the copy has %d courses, %d lessons", rep.Courses, len(rep.Lessons))
		}
		return out
	}
	before := lint()

	name := filepath.Join(dir, "costing", "costing-1.yaml")
	lines := strings.Split(string(mustRead(t, name)), "\n")
	var wantAt []string
	// Insert a word at the start of the first Darija text on a line of
	// its own, and of the first French one.
	for _, br := range []struct{ key, word, msg string }{
		{`ary: "`, "القسم ", `glossary (ary, lesson): write "الدرس", not "القسم"`},
		{`fr: "`, "Fatimma ", `glossary (fr, cast fatima): "Fatimma" looks like a misspelling of the name "Fatima": write "Fatima", or add the word to the glossary`},
	} {
		for i, l := range lines {
			k := strings.Index(l, br.key)
			if k < 0 || strings.Count(l, `: "`) > 1 {
				continue
			}
			k += len(br.key)
			lines[i] = l[:k] + br.word + l[k:]
			wantAt = append(wantAt, fmt.Sprintf("lessons/costing/costing-1.yaml:%d:%d: warning: %s", i+1, utf8.RuneCountInString(l[:k])+1, br.msg))
			break
		}
	}
	if len(wantAt) != 2 {
		t.Fatalf("costing-1.yaml has no Darija or French text on a line of its own")
	}
	if err := os.WriteFile(name, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	after := lint()
	var added []string
	for k, n := range after {
		for range n - before[k] {
			added = append(added, k)
		}
	}
	if len(added) != 2 {
		t.Fatalf("breaking two words added %d glossary warnings, want 2: %v", len(added), added)
	}
	// Now with the columns.
	_, rep, err := Load(os.DirFS(dir), "lessons", Options{Media: os.DirFS(filepath.Join(dir, "media"))})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range wantAt {
		found := false
		for _, f := range rep.Findings {
			if f.String() == w {
				found = true
			}
		}
		if !found {
			t.Errorf("no finding %s", w)
		}
	}
}

// TestGlossarySchema holds lessons/schema/glossary.schema.json, which gives
// editors completion, to the keys ParseGlossary takes, and checks that both
// accept the test glossary and refuse the same mistakes.
func TestGlossarySchema(t *testing.T) {
	const name = "../../lessons/schema/glossary.schema.json"
	var doc map[string]any
	if err := json.Unmarshal(mustRead(t, name), &doc); err != nil {
		t.Fatal(err)
	}
	defs := doc["$defs"].(map[string]any)
	props := func(m any) []string {
		var keys []string
		for k := range m.(map[string]any)["properties"].(map[string]any) {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys
	}
	lang := defs["language"].(map[string]any)
	terms := lang["properties"].(map[string]any)["terms"].(map[string]any)["items"]
	rules := lang["properties"].(map[string]any)["rules"].(map[string]any)["items"]
	for _, c := range []struct {
		what   string
		schema any
	}{{"glossary", doc}, {"language", lang}, {"term", terms}, {"rule", rules}, {"cast", defs["castMember"]}} {
		want := slices.Sorted(slices.Values(glossaryKeys[c.what]))
		if got := props(c.schema); !slices.Equal(got, want) {
			t.Errorf("%s: the schema has %v, ParseGlossary takes %v", c.what, got, want)
		}
	}

	sch, err := jsonschema.NewCompiler().Compile(name)
	if err != nil {
		t.Fatal(err)
	}
	validate := func(src string) error {
		var v any
		if err := yaml.Unmarshal([]byte(src), &v); err != nil {
			t.Fatal(err)
		}
		return sch.Validate(v)
	}
	if err := validate(string(mustRead(t, "testdata/glossary.yaml"))); err != nil {
		t.Errorf("the schema refuses the test glossary: %v", err)
	}
	for _, bad := range []string{
		"languages: {en: {}}\n",
		"languages: {fr: {address: vous}}\n",
		"languages: {fr: {terms: [{key: x}]}}\n",
		"languages: {fr: {terms: [{key: x, use: y, color: red}]}}\n",
		"languages: {fr: {rules: [{key: x, avoid: y}]}}\n",
		"languages: {}\ncast: [{key: f, names: {fr: F}}]\n",
		"languages: {}\ncast: [{key: f, names: {ary: a, ar: a, fr: F, zgh: z}, avoid: {en: [x]}}]\n",
		"cast: []\n",
	} {
		_, probs := ParseGlossary([]byte(bad), "g.yaml")
		if len(probs) == 0 {
			t.Errorf("ParseGlossary accepts %q", bad)
		}
		if validate(bad) == nil {
			t.Errorf("the schema accepts %q", bad)
		}
	}
}

func TestGlossarySkipsPlaceholders(t *testing.T) {
	g := testGlossary(t)
	text := "{{cahier_total}} {{.Cahier}} {{n|one:# cahier|other:# carnets}}"
	var got []string
	for _, h := range g.check(bot.French, text) {
		got = append(got, text[h.off:h.end])
	}
	// Only the word a learner reads: the one: form of the plural.
	if len(got) != 1 || got[0] != "cahier" || !strings.HasPrefix(text[strings.Index(text, "# cahier")+2:], got[0]) {
		t.Errorf("glossary hits in placeholders: %q", got)
	}
	if m := maskPlaceholders(text); len(m) != len(text) || strings.Contains(m, "cahier_total") || strings.Contains(m, "Cahier") || !strings.Contains(m, "# cahier") || strings.Contains(m, "one:") {
		t.Errorf("mask: %q", m)
	}
}
