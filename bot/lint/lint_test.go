package lint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/lesson"
)

// four writes a text in every language: {ary: s, ar: s, fr: s, zgh: s}.
func four(s string) string {
	return fmt.Sprintf("{ary: %q, ar: %q, fr: %q, zgh: %q}", s, s, s, s)
}

// fixture builds a folder with one course of one lesson whose steps are
// given as YAML (indented by four spaces under "steps:"). The steps start
// on line 6 of t/t-1.yaml.
func fixture(steps string, extra ...string) fstest.MapFS {
	course := "course: t\ntitle: " + four("Test") + "\nlessons: [t-1]\n"
	les := "course: t\nid: t-1\nminutes: 5\ntitle: " + four("Lesson") + "\nsteps:\n" + steps
	fsys := fstest.MapFS{
		"t/course.yaml": {Data: []byte(course)},
		"t/t-1.yaml":    {Data: []byte(les)},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		fsys[extra[i]] = &fstest.MapFile{Data: []byte(extra[i+1])}
	}
	return fsys
}

// A question and an input, so that the curriculum rules are met.
var goodTail = `  - id: q
    ask: ` + four("Which one?") + `
    options:
      - {text: ` + four("A") + `, correct: true, feedback: ` + four("Yes.") + `}
      - {text: ` + four("B") + `, feedback: ` + four("No.") + `}
  - id: n
    input: number
    var: n
    min: 1
    max: 10
    example: "3"
    ask: ` + four("How many?") + `
  - id: s
    survey: better
    ask: ` + four("Better?") + `
    options:
      - {text: ` + four("Yes") + `, value: "yes"}
      - {text: ` + four("No") + `, value: "no"}
`

// lineOf returns the line in t/t-1.yaml of the first sub in steps (the
// steps start on line 6).
func lineOf(t *testing.T, steps, sub string) int {
	t.Helper()
	i := strings.Index(steps, sub)
	if i < 0 {
		t.Fatalf("%q not in the fixture", sub)
	}
	return strings.Count(steps[:i], "\n") + 6
}

func run(t *testing.T, fsys fstest.MapFS, media fstest.MapFS) *Report {
	t.Helper()
	opts := Options{MediaPrefix: "m"}
	if media != nil {
		opts.Media = media
	}
	_, rep, err := Load(fsys, "x", opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// findings returns the findings of one rule as "file:line:col: message"
// strings.
func findings(rep *Report, rule string) []Finding {
	var out []Finding
	for _, f := range rep.Findings {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

// want checks that rep has exactly one finding of rule, at file:line:col,
// with severity sev and a message containing each of parts.
func want(t *testing.T, rep *Report, rule string, sev Severity, where string, parts ...string) {
	t.Helper()
	fs := findings(rep, rule)
	if len(fs) != 1 {
		t.Fatalf("%s: got %d findings, want 1: %v\nall: %v", rule, len(fs), fs, rep.Findings)
	}
	f := fs[0]
	if got := fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Col); got != where {
		t.Errorf("%s at %s, want %s (%s)", rule, got, where, f.Message)
	}
	if f.Severity != sev {
		t.Errorf("%s severity %s, want %s", rule, f.Severity, sev)
	}
	for _, p := range parts {
		if !strings.Contains(f.Message, p) {
			t.Errorf("%s message %q lacks %q", rule, f.Message, p)
		}
	}
	if !strings.HasPrefix(f.String(), where+": ") {
		t.Errorf("printed as %q, want it to start with %q", f.String(), where+": ")
	}
}

func TestCleanFixtureHasNoFindings(t *testing.T) {
	rep := run(t, fixture("  - id: hi\n    say: "+four("Hello")+"\n"+goodTail), nil)
	if len(rep.Findings) != 0 || rep.Errors != 0 {
		t.Fatalf("findings on a clean lesson: %v", rep.Findings)
	}
	if len(rep.Lessons) != 1 || rep.Courses != 1 {
		t.Fatalf("report: %d courses, %d lessons", rep.Courses, len(rep.Lessons))
	}
}

func TestBudget(t *testing.T) {
	long := strings.TrimSpace(strings.Repeat("mot ", 700)) // 700 words: over 5 minutes at any speed
	rep := run(t, fixture("  - id: hi\n    say: "+four(long)+"\n"+goodTail), nil)
	fs := findings(rep, RuleBudget)
	if len(fs) != 4 {
		t.Fatalf("want the budget broken in all four languages, got %v", fs)
	}
	for _, f := range fs {
		if f.Severity != Error || f.File != "x/t/t-1.yaml" || f.Line != 3 || f.Col != 10 {
			t.Errorf("budget finding %v, want an error at x/t/t-1.yaml:3:10 (minutes)", f)
		}
	}
	u := rep.Lessons[0].Langs[bot.French]
	// 700 words + the question, options, feedback and input: at 120 words
	// a minute that is at least 700/120 minutes, plus 10 s and 15 s.
	if min := 700.0/120 + 25.0/60; u.Minutes < min-0.1 {
		t.Errorf("French minutes %.1f, want at least %.1f", u.Minutes, min)
	}
	if got := rep.Lessons[0].TooLong; len(got) != 4 {
		t.Errorf("over budget in %v, want all four languages", got)
	}
}

func TestTimeFollowsTheLongestPath(t *testing.T) {
	// Option B jumps past a long step: the estimate takes the long way.
	long := strings.TrimSpace(strings.Repeat("mot ", 240)) // two minutes in French
	steps := `  - id: q
    ask: ` + four("Which one?") + `
    options:
      - {text: ` + four("A") + `, correct: true, feedback: ` + four("Yes.") + `}
      - {text: ` + four("B") + `, feedback: ` + four("No.") + `, goto: n}
  - id: long
    say: ` + four(long) + `
  - id: n
    input: number
    var: n
    min: 1
    ask: ` + four("How many?") + `
`
	rep := run(t, fixture(steps), nil)
	if m := rep.Lessons[0].Langs[bot.French].Minutes; m < 2 {
		t.Errorf("French minutes %.1f: the long step was left out", m)
	}
}

func TestSegmentsPerStep(t *testing.T) {
	steps := `  - id: hi
    say: {ary: "مرحبا", ar: "مرحبا", fr: "` + strings.Repeat("a", 161) + `", zgh: "ⴰⵣⵓⵍ"}
` + goodTail
	rep := run(t, fixture(steps), nil)
	st := rep.Lessons[0].Steps[0]
	if fr := st.Langs[bot.French]; fr.Segments != 2 || fr.Encoding != "GSM-7" {
		t.Errorf("161 plain letters in French: %+v, want 2 GSM-7 segments", fr)
	}
	if zgh := st.Langs[bot.Tamazight]; zgh.Segments != 1 || zgh.Encoding != "UCS-2" {
		t.Errorf("Tifinagh: %+v, want 1 UCS-2 segment", zgh)
	}
	// The Arabic line carries a right-to-left mark as sent.
	if ar := st.Langs[bot.Arabic]; ar.Chars != 6 || ar.Encoding != "UCS-2" {
		t.Errorf("Arabic: %+v, want 6 UCS-2 characters (5 letters and a mark)", ar)
	}
}

func TestBodyOverWhatsAppLimit(t *testing.T) {
	long := strings.Repeat("x", 1601)
	steps := "  - id: hi\n    say: {ary: \"a\", ar: \"a\", fr: \"" + long + "\", zgh: \"a\"}\n" + goodTail
	rep := run(t, fixture(steps), nil)
	want(t, rep, RuleBody, Error, "x/t/t-1.yaml:6:5", `step "hi"`, "1601 characters in fr", "1600")
}

// TestBodyLimitCountsEmojiTwice checks that bodies are counted as Twilio
// counts them: an emoji outside the Basic Multilingual Plane takes two of
// the 1,600 units.
func TestBodyLimitCountsEmojiTwice(t *testing.T) {
	step := func(fr string) string {
		return "  - id: hi\n    say: {ary: \"a\", ar: \"a\", fr: \"" + fr + "\", zgh: \"a\"}\n" + goodTail
	}
	rep := run(t, fixture(step(strings.Repeat("👍", 800))), nil)
	if fs := findings(rep, RuleBody); len(fs) != 0 {
		t.Errorf("800 emoji (1,600 units): got %v, want no finding", fs)
	}
	if got := rep.Lessons[0].Steps[0].Langs[bot.French].Chars; got != 1600 {
		t.Errorf("800 emoji: got %d characters, want 1600", got)
	}
	rep = run(t, fixture(step(strings.Repeat("👍", 801))), nil)
	want(t, rep, RuleBody, Error, "x/t/t-1.yaml:6:5", `step "hi"`, "1602 characters in fr", "1600")
}

func TestButtonTitles(t *testing.T) {
	steps := "  - id: hi\n    say: " + four("Hi") + "\n" + strings.Replace(goodTail,
		`{text: `+four("B"), `{text: {ary: "B", ar: "B", fr: "une réponse bien trop longue", zgh: "B"}`, 1)
	rep := run(t, fixture(steps), nil)
	want(t, rep, RuleButton, Note, "x/t/t-1.yaml:12:16", "fr 28", "numbered line")
	var out bytes.Buffer
	if err := rep.WriteFindings(&out, false); err != nil || out.Len() != 0 {
		t.Errorf("notes printed without --notes: %q", out.String())
	}
	if err := rep.WriteFindings(&out, true); err != nil || !strings.Contains(out.String(), "x/t/t-1.yaml:12:16: note: ") {
		t.Errorf("notes not printed with --notes: %q", out.String())
	}
}

func TestMissingTranslation(t *testing.T) {
	steps := "  - id: hi\n    say: {ary: \"a\", ar: \"a\", fr: \"a\"}\n" + goodTail
	rep := run(t, fixture(steps), nil)
	want(t, rep, RuleLoad, Error, "x/t/t-1.yaml:7:10", "has no zgh text")
	if len(rep.Lessons) != 0 {
		t.Error("a lesson the loader refused was summarised")
	}
}

func TestStaleTranslation(t *testing.T) {
	old := lesson.SourceHash("Bonjour")
	steps := fmt.Sprintf("  - id: hi\n    say:\n      from: {ary: %s, ar: %s, zgh: %s}\n      fr: \"Bonsoir\"\n      ary: \"a\"\n      ar: \"a\"\n      zgh: \"a\"\n",
		old, lesson.SourceHash("Bonsoir"), old) + goodTail
	rep := run(t, fixture(steps), nil)
	want(t, rep, RuleStale, Warning, "x/t/t-1.yaml:8:7", "ary, zgh", "from: "+lesson.SourceHash("Bonsoir"))
	if s := rep.Lessons[0].Stale; s[bot.Darija] != 1 || s[bot.Tamazight] != 1 || s[bot.Arabic] != 0 {
		t.Errorf("stale counts %v, want ary 1, zgh 1", s)
	}
}

func TestUnreachableAndDeadEnd(t *testing.T) {
	steps := `  - id: hi
    say: ` + four("Hi") + `
    goto: q
  - id: orphan
    say: ` + four("Nobody reads me") + `
` + goodTail + `  - id: loop
    ask: ` + four("Again?") + `
    options:
      - {text: ` + four("A") + `, correct: true, feedback: ` + four("Yes.") + `, goto: loop}
      - {text: ` + four("B") + `, feedback: ` + four("No.") + `, goto: loop}
`
	rep := run(t, fixture(steps), nil)
	want(t, rep, RuleUnreachable, Warning, fmt.Sprintf("x/t/t-1.yaml:%d:5", lineOf(t, steps, "- id: orphan")), `step "orphan" is never reached`)
	want(t, rep, RuleDeadEnd, Error, fmt.Sprintf("x/t/t-1.yaml:%d:5", lineOf(t, steps, "- id: loop")), `step "loop" is a dead end`)
}

func TestVariableUsedBeforeSet(t *testing.T) {
	steps := "  - id: hi\n    say: " + four("You sell {{sales}} a day") + "\n" + goodTail
	rep := run(t, fixture(steps), nil)
	want(t, rep, RuleLoad, Error, "x/t/t-1.yaml:7:10", `variable "sales" is used before it is set`)
}

func TestCalcDoesNotCompile(t *testing.T) {
	steps := goodTail + "  - id: c\n    calc: {x: \"n +* 2\"}\n    say: " + four("{{x}}") + "\n"
	rep := run(t, fixture(steps), nil)
	want(t, rep, RuleLoad, Error, fmt.Sprintf("x/t/t-1.yaml:%d:15", lineOf(t, steps, "calc: {x:")), "calc x does not compile")
}

func TestDivisionByZero(t *testing.T) {
	input := func(v, bounds string) string {
		return "  - id: " + v + "\n    input: number\n    var: " + v + "\n" + bounds + "    ask: " + four("?") + "\n"
	}
	calc := func(expr string) string {
		return "  - id: c\n    calc:\n      r: \"" + expr + "\"\n    say: " + four("{{r}}") + "\n"
	}
	for _, tc := range []struct {
		name, steps string
		risky       bool
		parts       []string
	}{
		{"input may be zero", input("d", "    min: 0\n    max: 9\n") + calc("100 / d"), true, []string{"calc r", "divides by d", "d can be 0 to 9"}},
		{"input without min", input("d", "") + calc("100 / d"), true, []string{"divides by d", "−∞ to +∞"}},
		{"difference may be zero", input("a", "    min: 1\n    max: 9\n") + input("b", "    min: 1\n    max: 9\n") + calc("1 / (a - b)"), true, []string{"divides by a - b", "-8 to 8"}},
		{"min above zero", input("d", "    min: 1\n    max: 9\n") + calc("100 / d"), false, nil},
		{"negative range", input("d", "    min: -9\n    max: -0.5\n") + calc("100 / d"), false, nil},
		{"guarded with max", input("d", "    min: 0\n") + calc("100 / max(d, 1)"), false, nil},
		{"guarded with a condition", input("d", "    min: 0\n") + calc("d > 0 ? 100 / d : 0"), false, nil},
		{"guarded with !=", input("d", "    min: 0\n") + calc("d != 0 ? 100 / d : 0"), false, nil},
		{"wrong guard", input("d", "    min: 0\n") + calc("d >= 0 ? 100 / d : 0"), true, []string{"divides by d"}},
		{"guarded by comparing two inputs", input("a", "    min: 0\n") + input("b", "    min: 0\n") + calc("a > b ? 100 / (a - b) : 0"), false, nil},
		{"guarded the other way", input("a", "    min: 0\n") + input("b", "    min: 0\n") + calc("a <= b ? 0 : 100 / (a - b)"), false, nil},
		{"guard that lets zero through", input("a", "    min: 0\n") + input("b", "    min: 0\n") + calc("a >= b ? 100 / (a - b) : 0"), true, []string{"divides by a - b"}},
		{"a calc result may be zero", input("d", "    min: 0\n    max: 5\n") + "  - id: c0\n    calc: {e: \"d * 2\"}\n" + calc("1 / e"), true, []string{"e can be 0 to 10"}},
		{"a calc result kept away from zero", input("d", "    min: 0\n    max: 5\n") + "  - id: c0\n    calc: {e: \"d + 1\"}\n" + calc("1 / e"), false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := run(t, fixture(tc.steps+goodTail), nil)
			fs := findings(rep, RuleDivZero)
			if !tc.risky {
				if len(fs) != 0 || rep.Errors != 0 {
					t.Fatalf("false alarm: %v", rep.Findings)
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("got %v, want one division by zero", rep.Findings)
			}
			f := fs[0]
			line := lineOf(t, tc.steps, "\n      r: ") + 1
			if f.File != "x/t/t-1.yaml" || f.Line != line || f.Col != 10 || f.Severity != Error {
				t.Errorf("finding at %s:%d:%d (%s), want x/t/t-1.yaml:%d:10 error", f.File, f.Line, f.Col, f.Severity, line)
			}
			for _, p := range tc.parts {
				if !strings.Contains(f.Message, p) {
					t.Errorf("message %q lacks %q", f.Message, p)
				}
			}
		})
	}
}

func TestMedia(t *testing.T) {
	withMedia := func(m string) string {
		return "  - id: hi\n    say: " + four("Look") + "\n    media: " + m + "\n" + goodTail
	}
	media := fstest.MapFS{
		"c/ok.png":     {Data: []byte("\x89PNG")},
		"c/big.jpg":    {Data: make([]byte, MaxImageBytes+1)},
		"c/voice.ogg":  {Data: make([]byte, MaxImageBytes+1)}, // audio may be larger
		"c/empty.png":  {Data: nil},
		"c/dir/a.png":  {Data: []byte("x")},
		"c/poster.svg": {Data: []byte("<svg/>")},
	}
	for _, tc := range []struct {
		media, msg string
	}{
		{"c/ok.png", ""},
		{"c/voice.ogg", ""},
		{"{fr: c/ok.png, ary: c/voice.ogg}", ""},
		{"c/missing.png", "media m/c/missing.png does not exist"},
		{"c/big.jpg", "WhatsApp takes at most 5 MB"},
		{"c/empty.png", "is empty"},
		{"c/poster.svg", `does not take ".svg" files`},
		{"{fr: c/ok.png, zgh: c/gone.mp3}", "media m/c/gone.mp3 does not exist"},
	} {
		t.Run(tc.media, func(t *testing.T) {
			rep := run(t, fixture(withMedia(tc.media)), media)
			if tc.msg == "" {
				if len(rep.Findings) != 0 {
					t.Fatalf("false alarm: %v", rep.Findings)
				}
				return
			}
			want(t, rep, RuleMedia, Error, "x/t/t-1.yaml:8:12", tc.msg)
		})
	}
	t.Run("no media folder", func(t *testing.T) {
		rep := run(t, fixture(withMedia("c/ok.png")), nil)
		want(t, rep, RuleMedia, Error, "x/t/t-1.yaml:8:12", "no media folder")
	})
}

func TestCurriculumRules(t *testing.T) {
	rep := run(t, fixture("  - id: hi\n    say: "+four("Hello")+"\n"), nil)
	fs := findings(rep, RuleCurriculum)
	var msgs []string
	for _, f := range fs {
		if f.Severity != Warning {
			t.Errorf("curriculum finding %v is not a warning", f)
		}
		msgs = append(msgs, f.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, p := range []string{"no question with feedback", "no input step", "does not end with a survey"} {
		if !strings.Contains(all, p) {
			t.Errorf("curriculum findings lack %q:\n%s", p, all)
		}
	}
	if rep.Errors != 0 {
		t.Errorf("curriculum rules must not block publishing: %v", rep.Findings)
	}
}

func TestJSONAndSummary(t *testing.T) {
	steps := "  - id: hi\n    say: " + four("Hello") + "\n" + goodTail + "  - id: c\n    calc: {x: \"10 / (n - 1)\"}\n"
	rep := run(t, fixture(steps), nil)
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Courses  int
		Errors   int
		Findings []Finding
		Lessons  []struct {
			Lesson string
			Langs  map[string]struct{ Minutes float64 }
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	if doc.Courses != 1 || doc.Errors != 1 || len(doc.Findings) != 1 || doc.Findings[0].Rule != RuleDivZero ||
		doc.Findings[0].Line != lineOf(t, steps, "calc: {x:") || len(doc.Lessons) != 1 || doc.Lessons[0].Langs["zgh"].Minutes <= 0 {
		t.Errorf("JSON report: %+v", doc)
	}

	buf.Reset()
	if err := rep.WriteSummary(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, p := range []string{"min zgh", "sms ary", "t-1", "1 courses, 1 lessons", "ary 90, ar 100, fr 120, zgh 90", "1 errors"} {
		if !strings.Contains(out, p) {
			t.Errorf("summary lacks %q:\n%s", p, out)
		}
	}
}
