package lesson

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/darsi-ma/darsi/bot"
)

func loadGood(tb testing.TB) *Catalog {
	tb.Helper()
	cat, err := Load(os.DirFS("testdata/good"), "good")
	if err != nil {
		tb.Fatalf("Load(good): %v", err)
	}
	return cat
}

func TestLoadGood(t *testing.T) {
	cat := loadGood(t)
	if got := len(cat.Courses); got != 1 {
		t.Fatalf("got %d courses, want 1", got)
	}
	les := cat.Lesson("demo-1")
	if les == nil {
		t.Fatal("lesson demo-1 not found")
	}
	var kinds []string
	for _, s := range les.Steps {
		kinds = append(kinds, s.ID+":"+s.Kind.String())
	}
	want := []string{"hello:say", "quiz:question", "qty:input", "price:input", "total:calc", "skipped:say", "outcome:survey"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	quiz, _ := les.Step("quiz")
	if quiz.Correct() != 1 {
		t.Errorf("quiz correct option: got %d, want 1", quiz.Correct())
	}
	if got := quiz.Options[0].Feedback.In(bot.Tamazight); got != "ⵓⵀⵓ" {
		t.Errorf("feedback in zgh: got %q, want %q", got, "ⵓⵀⵓ")
	}
	if got, want := les.Questions(), 1; got != want {
		t.Errorf("Questions: got %d, want %d", got, want)
	}
	if next := les.Next(4, ""); next != "outcome" {
		t.Errorf("after calc with goto: got %q, want outcome", next)
	}
	if next := les.Next(6, ""); next != "" {
		t.Errorf("after last step: got %q, want end", next)
	}
}

func TestEval(t *testing.T) {
	les := loadGood(t).Lesson("demo-1")
	calc, _ := les.Step("total")
	got, err := calc.Eval(map[string]string{"qty": "4", "price": "12.5"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]float64{"total": 50, "each": 12.5}, got); diff != "" {
		t.Errorf("Eval (-want +got):\n%s", diff)
	}
	if _, err := calc.Eval(map[string]string{"qty": "0", "price": "3"}); err == nil {
		t.Error("Eval with qty 0 (total / qty divides by zero): got no error")
	}
	if _, err := calc.Eval(map[string]string{"price": "3"}); err == nil {
		t.Error("Eval with qty missing: got no error")
	}
}

func TestRender(t *testing.T) {
	vars := map[string]string{"cost": "12.5", "name": "Amina"}
	upper := func(s string) string { return "[" + s + "]" }
	for _, tc := range []struct{ in, want string }{
		{"Coût : {{cost}} DH", "Coût : [12.5] DH"},
		{"Salam {{ name }}", "Salam [Amina]"},
		{"{{missing}} x", "… x"},
		{"no vars", "no vars"},
	} {
		if got := Render(tc.in, vars, upper); got != tc.want {
			t.Errorf("Render(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestLoadBroken checks that every kind of mistake is reported with its
// file, line and column.
func TestLoadBroken(t *testing.T) {
	_, err := Load(os.DirFS("testdata/broken"), "broken")
	var probs Problems
	if !errors.As(err, &probs) {
		t.Fatalf("Load(broken): got %v, want Problems", err)
	}
	want := []string{
		`broken/demo/course.yaml:3:19: course "demo" lists lesson "demo-9", which does not exist`,
		`broken/demo/demo-1.yaml:4:8: missing translation: title has no zgh text`,
		`broken/demo/demo-1.yaml:7:10: variable "name" is used before it is set`,
		`broken/demo/demo-1.yaml:8:5: duplicate step id "hello"`,
		`broken/demo/demo-1.yaml:10:5: step "video" has no kind: give it say, ask with options, input, calc or survey`,
		`broken/demo/demo-1.yaml:11:5: unknown key "play" in step`,
		`broken/demo/demo-1.yaml:15:7: question "quiz" has no correct option (correct: true)`,
		`broken/demo/demo-1.yaml:16:9: goto "nowhere": no such step in lesson "demo-1"`,
		`broken/demo/demo-1.yaml:19:19: calc total does not compile: unexpected token EOF (1:12)`,
		`broken/demo/demo-1.yaml:21:18: variable "price" is used before it is set`,
	}
	var got []string
	for _, p := range probs {
		got = append(got, p.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestLoadProblems covers mistakes one small file at a time.
func TestLoadProblems(t *testing.T) {
	const course = "course: c\ntitle: {ary: a, ar: a, fr: a, zgh: a}\nlessons: [l]\n"
	const head = "course: c\nid: l\nminutes: 2\ntitle: {ary: a, ar: a, fr: a, zgh: a}\nsteps:\n"
	const say = "    say: {ary: a, ar: a, fr: a, zgh: a}\n"
	const ask = "    ask: {ary: a, ar: a, fr: a, zgh: a}\n"
	const opt = "      - text: {ary: a, ar: a, fr: a, zgh: a}\n"
	for _, tc := range []struct {
		name, lesson, want string
	}{
		{"yaml syntax", head + "  - id: x\n   say: [\n", "c/l.yaml:5:1: not valid YAML: did not find expected '-' indicator"},
		{"two correct", head + "  - id: q\n" + ask + "    options:\n" + opt + "        correct: true\n" + opt + "        correct: true\n",
			`c/l.yaml:9:7: question "q" has 2 correct options; mark exactly one`},
		{"survey without value", head + "  - id: s\n    survey: outcome\n" + ask + "    options:\n" + opt + opt,
			"c/l.yaml:10:9: survey option has no value"},
		{"input kind", head + "  - id: i\n    input: date\n    var: d\n" + ask, `c/l.yaml:7:12: input must be number or text, not "date"`},
		{"min above max", head + "  - id: i\n    input: number\n    var: n\n    min: 5\n    max: 1\n" + ask, `c/l.yaml:6:5: input step "i" has min above max`},
		{"unknown language", head + "  - id: s\n    say: {ary: a, ar: a, fr: a, zgh: a, en: b}\n", `c/l.yaml:7:41: unknown language "en" in say (want one of ary, ar, fr, zgh)`},
		{"question with say", head + "  - id: s\n" + say + ask + "    options:\n" + opt + "        correct: true\n" + opt, `c/l.yaml:7:5: a question step cannot have "say"`},
		{"var set on one path only", head +
			"  - id: q\n" + ask + "    options:\n" + opt + "        correct: true\n        goto: late\n" + opt +
			"  - id: n\n    input: number\n    var: n\n" + ask +
			"  - id: late\n    say: {ary: '{{n}}', ar: '{{n}}', fr: '{{n}}', zgh: '{{n}}'}\n",
			`c/l.yaml:18:10: variable "n" is used before it is set`},
		{"goto loop", head + "  - id: a\n" + say + "    goto: b\n  - id: b\n" + say + "    goto: a\n",
			`c/l.yaml:6:5: step "a" starts a loop of gotos with no question: the lesson would never end`},
		{"no steps", "course: c\nid: l\ntitle: {ary: a, ar: a, fr: a, zgh: a}\n", "c/l.yaml:1:1: lesson has no steps"},
		{"verified not a month", head + "  - id: s\n" + say + "    sources: [\"Loi 31-08\"]\n    verified: \"2026-13\"\n",
			`c/l.yaml:9:15: verified "2026-13": give the month the sources were checked, as YYYY-MM`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"c/course.yaml": {Data: []byte(course)},
				"c/l.yaml":      {Data: []byte(tc.lesson)},
			}
			_, err := Load(fsys, "")
			if err == nil {
				t.Fatalf("Load: got no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load: got\n%v\nwant a line %q", err, tc.want)
			}
		})
	}
}

func TestLoadCourseLinks(t *testing.T) {
	fsys := fstest.MapFS{
		"a/l.yaml": {Data: []byte("course: a\nid: l\ntitle: {ary: a, ar: a, fr: a, zgh: a}\nsteps:\n  - id: s\n    say: {ary: a, ar: a, fr: a, zgh: a}\n")},
	}
	_, err := Load(fsys, "lessons")
	if err == nil || !strings.Contains(err.Error(), `lessons/a/l.yaml:1:1: course "a" has no course.yaml`) {
		t.Errorf("got %v, want the missing course file reported", err)
	}
}

// FuzzLoad checks that no lesson file, however broken, makes the loader
// panic or accept a lesson the engine could not play.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"testdata/good/demo/demo-1.yaml", "testdata/broken/demo/demo-1.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	course, err := os.ReadFile("testdata/good/demo/course.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cat, err := Load(fstest.MapFS{
			"demo/course.yaml": {Data: course},
			"demo/demo-1.yaml": {Data: data},
		}, "")
		if err != nil {
			return
		}
		for _, les := range cat.Lesson("demo-1").Steps {
			if les.Kind == 0 {
				t.Fatalf("accepted a step with no kind: %q", les.ID)
			}
			for _, f := range les.Formulas {
				if f.Program == nil {
					t.Fatalf("accepted a calc that did not compile: %q", f.Source)
				}
			}
		}
	})
}

func BenchmarkLoad(b *testing.B) {
	fsys := os.DirFS("testdata/good")
	for b.Loop() {
		if _, err := Load(fsys, ""); err != nil {
			b.Fatal(err)
		}
	}
}

func TestKeyQuestions(t *testing.T) {
	q := func(id string, review bool) string {
		r := ""
		if review {
			r = "    review: true\n"
		}
		return "  - id: " + id + "\n" + r + "    ask: {ary: a, ar: a, fr: a, zgh: a}\n    options:\n" +
			"      - {text: {ary: a, ar: a, fr: a, zgh: a}, correct: true}\n      - {text: {ary: b, ar: b, fr: b, zgh: b}}\n"
	}
	load := func(steps string) (*Lesson, error) {
		cat, err := Load(fstest.MapFS{
			"c/course.yaml": {Data: []byte("course: c\ntitle: {ary: a, ar: a, fr: a, zgh: a}\nlessons: [l]\n")},
			"c/l.yaml":      {Data: []byte("course: c\nid: l\ntitle: {ary: a, ar: a, fr: a, zgh: a}\nsteps:\n" + steps)},
		}, "")
		if err != nil {
			return nil, err
		}
		return cat.Lesson("l"), nil
	}
	ids := func(steps []*Step) []string {
		var out []string
		for _, s := range steps {
			out = append(out, s.ID)
		}
		return out
	}
	les, err := load(q("a", false) + q("b", false))
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(les.KeyQuestions()); len(got) != 1 || got[0] != "a" {
		t.Errorf("no question marked: key questions %v, want the first, a", got)
	}
	les, err = load(q("a", false) + q("b", true) + q("c", true))
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(les.KeyQuestions()); len(got) != 2 || got[0] != "b" || got[1] != "c" {
		t.Errorf("b and c marked: key questions %v", got)
	}
	_, err = load("  - id: n\n    input: number\n    var: n\n    review: true\n    ask: {ary: a, ar: a, fr: a, zgh: a}\n")
	if err == nil || !strings.Contains(err.Error(), `cannot have "review"`) {
		t.Errorf("review on an input step: %v, want it refused", err)
	}
}

func TestRenderPlural(t *testing.T) {
	text := "({{weeks|one:# semaine|other:# semaines}})"
	ar := "{{weeks|zero:ولا أسبوع|one:أسبوع واحد|two:أسبوعان|few:# أسابيع|many:# أسبوعا|other:# أسبوع}}"
	for _, tc := range []struct {
		lang        bot.Lang
		text, weeks string
		want        string
	}{
		{bot.French, text, "0", "(0 semaine)"},
		{bot.French, text, "1", "(1 semaine)"},
		{bot.French, text, "1.5", "(1.5 semaine)"},
		{bot.French, text, "2", "(2 semaines)"},
		{bot.Arabic, ar, "0", "ولا أسبوع"},
		{bot.Arabic, ar, "1", "أسبوع واحد"},
		{bot.Arabic, ar, "2", "أسبوعان"},
		{bot.Arabic, ar, "3", "3 أسابيع"},
		{bot.Arabic, ar, "11", "11 أسبوعا"},
		{bot.Arabic, ar, "100", "100 أسبوع"},
		// A category without its form falls back to other.
		{bot.Arabic, "{{weeks|one:أسبوع|other:# أسابيع}}", "2", "2 أسابيع"},
		{bot.French, "{{weeks|one:# semaine|other:# semaines}}", "x", "x semaines"},
	} {
		if got := RenderIn(tc.lang, tc.text, map[string]string{"weeks": tc.weeks}, nil); got != tc.want {
			t.Errorf("Render(%s, %q, weeks=%s) = %q, want %q", tc.lang, tc.text, tc.weeks, got, tc.want)
		}
	}
	if got := RenderIn(bot.French, text, nil, nil); got != "(…)" {
		t.Errorf("plural of an unset variable = %q, want (…)", got)
	}
}

func TestLoadPluralAndVerified(t *testing.T) {
	course := "course: c\ntitle: {ary: a, ar: a, fr: a, zgh: a}\nlessons: [c-1]\n"
	head := "course: c\nid: c-1\nminutes: 5\ntitle: {ary: a, ar: a, fr: a, zgh: a}\nsteps:\n" +
		"  - id: n\n    input: number\n    var: n\n    min: 0\n    ask: {ary: a, ar: a, fr: a, zgh: a}\n"
	for _, tc := range []struct{ name, step, want string }{
		{"good", `  - id: s
    say: {ary: "{{n|other:#}}", ar: "{{n|zero:لا|other:#}}", fr: "{{n|one:# fois|other:# fois}}", zgh: "{{n|one:#|other:#}}"}
    sources: ["Loi 1"]
    verified: "2026-01"
`, ""},
		{"french has no two", `  - id: s
    say: {ary: a, ar: a, fr: "{{n|one:#|two:#|other:#}}", zgh: a}
`, `c/c-1.yaml:12:30: plural {{n|…}} in fr: "two" is not a plural category of fr (one, many, other)`},
		{"no other", `  - id: s
    say: {ary: a, ar: a, fr: "{{n|one:#}}", zgh: a}
`, `c/c-1.yaml:12:30: plural {{n|…}} in fr has no other: form, which every count falls back to`},
		{"no category", `  - id: s
    say: {ary: a, ar: a, fr: "{{n|semaines}}", zgh: a}
`, `c/c-1.yaml:12:30: plural {{n|…}} in fr: write each form as category:text, such as other:# semaines
c/c-1.yaml:12:30: plural {{n|…}} in fr has no other: form, which every count falls back to`},
		{"bad month", `  - id: s
    say: {ary: a, ar: a, fr: a, zgh: a}
    sources: ["Loi 1"]
    verified: "2026-13"
`, `c/c-1.yaml:14:15: verified "2026-13": give the month the sources were checked, as YYYY-MM`},
		{"verified without sources", `  - id: s
    say: {ary: a, ar: a, fr: a, zgh: a}
    verified: "2026-01"
`, `c/c-1.yaml:11:5: step "s" has verified but no sources: verified dates the check of its sources`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(fstest.MapFS{"c/course.yaml": {Data: []byte(course)}, "c/c-1.yaml": {Data: []byte(head + tc.step)}}, "")
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestLoadSkipsGlossary(t *testing.T) {
	course := "course: c\ntitle: {ary: a, ar: a, fr: a, zgh: a}\nlessons: [c-1]\n"
	les := "course: c\nid: c-1\nminutes: 5\ntitle: {ary: a, ar: a, fr: a, zgh: a}\nsteps:\n  - id: s\n    say: {ary: a, ar: a, fr: a, zgh: a}\n"
	cat, err := Load(fstest.MapFS{"c/course.yaml": {Data: []byte(course)}, "c/c-1.yaml": {Data: []byte(les)},
		GlossaryFile: {Data: []byte("languages: {}\n")}}, "")
	if err != nil || cat.Count() != 1 {
		t.Fatalf("Load with a glossary beside the courses: %v", err)
	}
}

// FuzzRender renders any text with plural placeholders for any number in
// every language: no panic, and a text whose plural placeholders are all
// valid loses every one of them.
func FuzzRender(f *testing.F) {
	f.Add("({{weeks|one:# semaine|other:# semaines}})", "1")
	f.Add("{{weeks|zero:ولا أسبوع|one:أسبوع|two:أسبوعان|few:# أسابيع|many:# أسبوعا|other:# أسبوع}}", "11")
	f.Add("{{weeks|semaines}} {{weeks}} {{ weeks |}} {{weeks|other:}}", "2.5")
	f.Fuzz(func(t *testing.T, text, weeks string) {
		vars := map[string]string{"weeks": weeks}
		for _, lang := range bot.Langs {
			out := RenderIn(lang, text, vars, nil)
			if strings.Contains(text, "{{") {
				continue
			}
			if out != text {
				t.Fatalf("Render changed a text without placeholders: %q → %q", text, out)
			}
		}
		for _, p := range PluralPlaceholders(text) {
			if p.Offset < 0 || p.Offset >= len(text) || !strings.HasPrefix(text[p.Offset:], "{{") || p.Var == "" {
				t.Fatalf("placeholder %+v in %q", p, text)
			}
		}
	})
}
