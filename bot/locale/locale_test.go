package locale_test

import (
	"io/fs"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/locales"
)

var loadOnce = sync.OnceValues(func() (*locale.Bundle, error) { return locale.Load(locales.FS) })

// bundle returns the bundle of the real message files.
func bundle(tb testing.TB) *locale.Bundle {
	tb.Helper()
	b, err := loadOnce()
	if err != nil {
		tb.Fatalf("Load(locales.FS): %v", err)
	}
	return b
}

// realFiles copies the real locale files into a MapFS that a test may
// change.
func realFiles(tb testing.TB) fstest.MapFS {
	tb.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(locales.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(locales.FS, name)
		if err != nil {
			return err
		}
		m[name] = &fstest.MapFile{Data: data}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// edit changes file name in m, and fails the test if that changes nothing.
func edit(tb testing.TB, m fstest.MapFS, name string, change func(string) string) {
	tb.Helper()
	f := m[name]
	if f == nil {
		tb.Fatalf("no file %s", name)
	}
	after := change(string(f.Data))
	if after == string(f.Data) {
		tb.Fatalf("editing %s changed nothing", name)
	}
	f.Data = []byte(after)
}

// dropLine removes the first line that starts with prefix.
func dropLine(prefix string) func(string) string {
	return func(s string) string {
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return strings.Join(append(lines[:i:i], lines[i+1:]...), "\n")
			}
		}
		return s
	}
}

func replace(old, new string) func(string) string {
	return func(s string) string { return strings.Replace(s, old, new, 1) }
}

func TestLoad(t *testing.T) {
	b := bundle(t)
	if got := len(b.IDs()); got < 40 {
		t.Errorf("got %d message IDs, want at least 40", got)
	}
	for _, id := range []string{
		"LanguageName", "ChooseLanguage", "LanguageSet", "ConsentAsk", "ConsentThanks", "ConsentDeclined", "Yes", "No",
		"MenuIntro", "MenuCourse", "MenuFooter", "AllDone", "NoLessons", "ChoiceHint", "NumberHint",
		"NumberMin", "NumberMax", "NumberRange", "TextHint", "TryAgain", "RightAnswer", "Correct", "Wrong",
		"LessonDone", "LessonScore", "NextLesson", "BackToMenu", "CourseDone", "Help", "Unknown",
		"MediaUnreadable", "LocationThanks", "Progress", "Stopped", "StillStopped", "Started",
		"EraseAsk", "Erased", "EraseCancelled", "CalcFailed", "LessonChanged", "Skipped",
		"ConsentNotice", "ConsentController", "MyDataIntro", "MyDataLine", "MyDataAnswer", "MyDataNumber",
		"MyDataLanguage", "MyDataConsent", "MyDataCohort", "MyDataNoCohort", "MyDataLesson", "MyDataNoLesson",
		"MyDataStopped", "MyDataCompleted", "MyDataScore", "MyDataFigures", "MyDataComputed", "MyDataNoFigures",
		"MyDataSurveys", "MyDataNoSurveys", "MyDataShared", "MyDataErase",
	} {
		for _, lang := range bot.Langs {
			if got := b.T(lang, id, nil); got == "" {
				t.Errorf("T(%s, %s) is empty", lang, id)
			}
		}
	}
}

func TestLoadFails(t *testing.T) {
	tests := []struct {
		name   string
		change func(tb testing.TB, m fstest.MapFS)
		want   []string // substrings of the error, all of them
	}{
		{
			name:   "missing message",
			change: func(tb testing.TB, m fstest.MapFS) { edit(tb, m, "ary.yaml", dropLine("Skipped:")) },
			want:   []string{"ary.yaml: missing message Skipped"},
		},
		{
			name: "extra message",
			change: func(tb testing.TB, m fstest.MapFS) {
				edit(tb, m, "zgh.yaml", func(s string) string { return s + "Extra: \"ⴰ\"\n" })
			},
			want: []string{"zgh.yaml: message Extra is not in fr.yaml"},
		},
		{
			name: "missing message in French only",
			change: func(tb testing.TB, m fstest.MapFS) {
				edit(tb, m, "fr.yaml", dropLine("Skipped:"))
			},
			want: []string{"ary.yaml: message Skipped is not in fr.yaml", "ar.yaml: message Skipped is not in fr.yaml", "zgh.yaml: message Skipped is not in fr.yaml"},
		},
		{
			name:   "missing plural form",
			change: func(tb testing.TB, m fstest.MapFS) { edit(tb, m, "ary.yaml", dropLine("  few:")) },
			want:   []string{`ary.yaml: LessonScore: missing plural form "few"`},
		},
		{
			name: "plural form of another language",
			change: func(tb testing.TB, m fstest.MapFS) {
				edit(tb, m, "zgh.yaml", replace("LessonScore:\n", "LessonScore:\n  few: \"ⴰ\"\n"))
			},
			want: []string{`zgh.yaml: LessonScore: plural form "few" is not one of zgh's`},
		},
		{
			name: "plural where French has none",
			change: func(tb testing.TB, m fstest.MapFS) {
				edit(tb, m, "ar.yaml", replace(`Skipped: "تم تخطي السؤال."`, "Skipped:\n  one: \"ا\"\n  other: \"ب\""))
			},
			want: []string{"ar.yaml: Skipped: has plural forms [one other]"},
		},
		{
			name: "misspelt placeholder",
			change: func(tb testing.TB, m fstest.MapFS) {
				edit(tb, m, "ar.yaml", replace("الدرس التالي: {{.Title}}", "الدرس التالي: {{.Titel}}"))
			},
			want: []string{"ar.yaml: NextLesson: lacks the placeholder {{.Title}}", "ar.yaml: NextLesson: uses {{.Titel}}, which fr.yaml does not"},
		},
		{
			name:   "template that does not parse",
			change: func(tb testing.TB, m fstest.MapFS) { edit(tb, m, "fr.yaml", replace("{{.Answer}}", "{{.Answer")) },
			want:   []string{"fr.yaml: RightAnswer:"},
		},
		{
			name:   "YAML that does not parse",
			change: func(tb testing.TB, m fstest.MapFS) { m["ar.yaml"].Data = []byte("Help: [\n") },
			want:   []string{"ar.yaml: "},
		},
		{
			name: "empty message",
			change: func(tb testing.TB, m fstest.MapFS) {
				edit(tb, m, "zgh.yaml", replace(`Skipped: "ⵏⵣⵔⵉ ⴰⵙⵇⵙⵉ."`, `Skipped: ""`))
			},
			want: []string{"zgh.yaml: Skipped: empty message"},
		},
		{
			name:   "missing file",
			change: func(tb testing.TB, m fstest.MapFS) { delete(m, "zgh.yaml") },
			want:   []string{"zgh.yaml: open zgh.yaml"},
		},
		{
			name:   "missing keywords",
			change: func(tb testing.TB, m fstest.MapFS) { delete(m, "keywords.yaml") },
			want:   []string{"keywords.yaml: open keywords.yaml"},
		},
		{
			name: "unknown keyword group",
			change: func(tb testing.TB, m fstest.MapFS) {
				edit(tb, m, "keywords.yaml", replace("    ary-Latn: [3awni", "    ary-latn: [3awni"))
			},
			want: []string{`keywords.yaml: help: unknown group "ary-latn"`},
		},
		{
			name:   "unknown intent",
			change: func(tb testing.TB, m fstest.MapFS) { edit(tb, m, "keywords.yaml", replace("  menu:\n", "  menus:\n")) },
			want:   []string{`keywords.yaml: unknown intent "menus"`, "keywords.yaml: intent menu has no keywords"},
		},
		{
			name: "keyword of two intents",
			change: func(tb testing.TB, m fstest.MapFS) {
				edit(tb, m, "keywords.yaml", replace("fr: [aide,", "fr: [Suivant, aide,"))
			},
			want: []string{`keywords.yaml: next: fr: keyword "suivant" is also a keyword of help`},
		},
		{
			name: "language name that is a keyword",
			change: func(tb testing.TB, m fstest.MapFS) {
				edit(tb, m, "keywords.yaml", replace("  fr: [français,", "  fr: [langue, français,"))
			},
			want: []string{`keywords.yaml: languages: fr: language name "langue" is also a keyword of language`},
		},
		{
			name: "unknown field",
			change: func(tb testing.TB, m fstest.MapFS) {
				edit(tb, m, "keywords.yaml", replace("\nnot_typos:", "\nnot_typo:"))
			},
			want: []string{"keywords.yaml: ", "not_typo"},
		},
		{
			name: "every problem at once",
			change: func(tb testing.TB, m fstest.MapFS) {
				edit(tb, m, "ary.yaml", dropLine("Skipped:"))
				edit(tb, m, "ar.yaml", dropLine("Unknown:"))
				edit(tb, m, "zgh.yaml", func(s string) string { return s + "Extra: \"ⴰ\"\n" })
			},
			want: []string{"ary.yaml: missing message Skipped", "ar.yaml: missing message Unknown", "zgh.yaml: message Extra is not in fr.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := realFiles(t)
			tt.change(t, m)
			b, err := locale.Load(m)
			if err == nil {
				t.Fatalf("got a bundle (%d messages), want an error", len(b.IDs()))
			}
			if got := bot.KindOf(err); got != bot.Invalid {
				t.Errorf("got kind %v, want %v", got, bot.Invalid)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error:\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestT(t *testing.T) {
	b := bundle(t)
	tests := []struct {
		lang bot.Lang
		id   string
		data map[string]any
		want string
	}{
		{bot.French, "RightAnswer", map[string]any{"Answer": "50 DH"}, "La bonne réponse : 50 DH"},
		{bot.French, "MenuCourse", map[string]any{"N": 2, "Title": "Prix", "Done": 1, "Total": 5}, "2 Prix (1/5)"},
		{bot.French, "NumberRange", map[string]any{"Min": "10", "Max": "12.5"}, "Donne un nombre entre 10 et 12.5."},
		{bot.Darija, "NextLesson", map[string]any{"Title": "الثمن"}, "1 الدرس الجاي: الثمن"},
		{bot.Arabic, "BackToMenu", nil, "0 القائمة"},
		{bot.Tamazight, "LanguageName", nil, "ⵜⴰⵎⴰⵣⵉⵖⵜ / Tamaziɣt / تامازيغت"},
		{bot.Darija, "LanguageName", nil, "الدارجة / Darija"},
		{bot.Arabic, "LanguageName", nil, "العربية"},
		{bot.French, "LanguageName", nil, "Français"},
		{"xx", "Help", nil, ""},
		{"", "Help", nil, ""},
	}
	for _, tt := range tests {
		if got := b.T(tt.lang, tt.id, tt.data); got != tt.want {
			t.Errorf("T(%q, %s, %v) = %q, want %q", tt.lang, tt.id, tt.data, got, tt.want)
		}
	}
}

func TestN(t *testing.T) {
	b := bundle(t)
	tests := []struct {
		lang  bot.Lang
		id    string
		count int
		data  map[string]any
		want  string
	}{
		{bot.French, "LessonScore", 1, map[string]any{"Right": 1}, "Réponses justes : 1 sur 1 question."},
		{bot.French, "LessonScore", 4, map[string]any{"Right": 3}, "Réponses justes : 3 sur 4 questions."},
		{bot.French, "Progress", 0, map[string]any{"Total": 6}, "Tu as fini 0 leçon sur 6."},
		{bot.French, "Progress", 2, map[string]any{"Total": 6}, "Tu as fini 2 leçons sur 6."},
		{bot.Darija, "Progress", 1, map[string]any{"Total": 6}, "كملتي درس واحد من 6."},
		{bot.Darija, "Progress", 2, map[string]any{"Total": 6}, "كملتي جوج دروس من 6."},
		{bot.Darija, "Progress", 5, map[string]any{"Total": 6}, "كملتي 5 دروس من 6."},
		{bot.Darija, "Progress", 12, map[string]any{"Total": 20}, "كملتي 12 درس من 20."},
		{bot.Arabic, "LessonScore", 2, map[string]any{"Right": 1}, "أجبت بشكل صحيح عن 1 من أصل سؤالين."},
		{bot.Arabic, "LessonScore", 0, map[string]any{"Right": 0}, "لم يطرح أي سؤال."},
		{bot.Tamazight, "Progress", 1, map[string]any{"Total": 3}, "ⵜⴽⵎⵎⵍⴷ ⵢⴰⵜ ⵜⵎⵙⵉⵔⵜ ⵖ 3."},
		{bot.Tamazight, "Progress", 2, map[string]any{"Total": 3}, "ⵜⴽⵎⵎⵍⴷ 2 ⵜⵉⵎⵙⵉⵔⵉⵏ ⵖ 3."},
		{"xx", "Progress", 2, nil, ""},
	}
	for _, tt := range tests {
		if got := b.N(tt.lang, tt.id, tt.count, tt.data); got != tt.want {
			t.Errorf("N(%q, %s, %d, %v) = %q, want %q", tt.lang, tt.id, tt.count, tt.data, got, tt.want)
		}
	}

	// A message that is not plural renders as with T, whatever the count.
	for _, lang := range bot.Langs {
		for _, count := range []int{0, 1, 2, 3, 11, 100} {
			if got, want := b.N(lang, "Help", count, nil), b.T(lang, "Help", nil); got != want || got == "" {
				t.Errorf("N(%s, Help, %d) = %q, want %q", lang, count, got, want)
			}
		}
	}

	data := map[string]any{"Right": 1}
	b.N(bot.French, "LessonScore", 3, data)
	if diff := cmp.Diff(map[string]any{"Right": 1}, data); diff != "" {
		t.Errorf("N changed its data (-want +got):\n%s", diff)
	}
}

func TestUnknownIDPanics(t *testing.T) {
	b := bundle(t)
	defer func() {
		if recover() == nil {
			t.Errorf("T with an unknown id did not panic")
		}
	}()
	b.T(bot.French, "NoSuchMessage", nil)
}

func TestIDsSortedCopy(t *testing.T) {
	b := bundle(t)
	ids := b.IDs()
	for i := 1; i < len(ids); i++ {
		if ids[i-1] >= ids[i] {
			t.Errorf("IDs not sorted: %q before %q", ids[i-1], ids[i])
		}
	}
	ids[0] = "changed"
	if got := b.IDs()[0]; got == "changed" {
		t.Errorf("IDs returned its own slice")
	}
}

// TestMessageFiles checks what the message files promise their readers.
func TestMessageFiles(t *testing.T) {
	for _, lang := range []bot.Lang{bot.Darija, bot.Arabic, bot.Tamazight} {
		data, err := fs.ReadFile(locales.FS, string(lang)+".yaml")
		if err != nil {
			t.Fatal(err)
		}
		if first, _, _ := strings.Cut(string(data), "\n"); first != "# DRAFT: not yet checked by a native speaker" {
			t.Errorf("%s.yaml starts with %q, want the DRAFT line", lang, first)
		}
	}
}

var (
	placeholder = regexp.MustCompile(`\{\{[^}]*\}\}`)
	// latinOK are the Latin words allowed in Arabic and Tifinagh messages,
	// and Tamazight's name in Arabic letters (its menu line).
	latinOK = regexp.MustCompile(`\b(Darsi|START|STOP|Darija|Tamaziɣt)\b|تامازيغت`)
)

// TestScripts checks that each language is written in its script: Darija
// and Arabic in Arabic letters, Tamazight in Tifinagh.
func TestScripts(t *testing.T) {
	b := bundle(t)
	scripts := map[bot.Lang]*unicode.RangeTable{bot.Darija: unicode.Arabic, bot.Arabic: unicode.Arabic, bot.Tamazight: unicode.Tifinagh}
	for lang, script := range scripts {
		for _, id := range b.IDs() {
			text := b.N(lang, id, 3, nil)
			if id != "LessonScore" && id != "Progress" {
				text = b.T(lang, id, nil)
			}
			text = latinOK.ReplaceAllString(placeholder.ReplaceAllString(text, ""), "")
			text = strings.ReplaceAll(text, "<no value>", "")
			for _, r := range text {
				if unicode.IsLetter(r) && !unicode.Is(script, r) {
					t.Errorf("%s %s: letter %q is not in the script of %s: %q", lang, id, r, lang, text)
					break
				}
			}
		}
	}
}

// TestMessagesNameTheirKeywords checks that the keywords the messages teach
// (Help, MenuFooter, Stopped, the Yes and No labels, the language names)
// are keywords indeed.
func TestMessagesNameTheirKeywords(t *testing.T) {
	b := bundle(t)
	type word struct {
		text string
		want locale.Intent
	}
	help := map[bot.Lang][]word{
		bot.French: {{"menu", locale.Menu}, {"répéter", locale.Repeat}, {"suivant", locale.Next}, {"langue", locale.Language},
			{"progression", locale.Progress}, {"stop", locale.Stop}, {"mes données", locale.MyData}, {"supprimer mes données", locale.Erase}},
		bot.Darija: {{"المينو", locale.Menu}, {"عاود", locale.Repeat}, {"زيد", locale.Next}, {"اللغة", locale.Language},
			{"فين وصلت", locale.Progress}, {"وقف", locale.Stop}, {"المعلومات ديالي", locale.MyData}, {"مسح المعلومات ديالي", locale.Erase}},
		bot.Arabic: {{"القائمة", locale.Menu}, {"أعد", locale.Repeat}, {"التالي", locale.Next}, {"اللغة", locale.Language},
			{"تقدمي", locale.Progress}, {"توقف", locale.Stop}, {"بياناتي", locale.MyData}, {"احذف بياناتي", locale.Erase}},
		bot.Tamazight: {{"ⵓⵎⵓⵖ", locale.Menu}, {"ⴰⵍⵙ", locale.Repeat}, {"ⴽⵎⵎⵍ", locale.Next}, {"ⵜⵓⵜⵍⴰⵢⵜ", locale.Language},
			{"ⵎⴰⵏⵉ ⵍⵍⵉⵖ", locale.Progress}, {"ⵃⴱⵙ", locale.Stop}, {"ⵉⵙⴼⴽⴰ ⵉⵏⵓ", locale.MyData}, {"ⴽⴽⵙ ⵉⵙⴼⴽⴰ ⵉⵏⵓ", locale.Erase}},
	}
	// The consent notice and the summary of a learner's data teach how to
	// get that summary and how to erase.
	rights := map[bot.Lang][]word{
		bot.French:    {{"MES DONNÉES", locale.MyData}, {"EFFACER MES DONNÉES", locale.Erase}},
		bot.Darija:    {{"المعلومات ديالي", locale.MyData}, {"مسح المعلومات ديالي", locale.Erase}},
		bot.Arabic:    {{"بياناتي", locale.MyData}, {"احذف بياناتي", locale.Erase}},
		bot.Tamazight: {{"ⵉⵙⴼⴽⴰ ⵉⵏⵓ", locale.MyData}, {"ⴽⴽⵙ ⵉⵙⴼⴽⴰ ⵉⵏⵓ", locale.Erase}},
	}
	footer := map[bot.Lang][]word{
		bot.French:    {{"menu", locale.Menu}, {"aide", locale.Help}, {"langue", locale.Language}, {"stop", locale.Stop}},
		bot.Darija:    {{"المينو", locale.Menu}, {"عاوني", locale.Help}, {"اللغة", locale.Language}, {"وقف", locale.Stop}},
		bot.Arabic:    {{"القائمة", locale.Menu}, {"مساعدة", locale.Help}, {"اللغة", locale.Language}, {"توقف", locale.Stop}},
		bot.Tamazight: {{"ⵓⵎⵓⵖ", locale.Menu}, {"ⵜⴰⵡⵉⵙⵉ", locale.Help}, {"ⵜⵓⵜⵍⴰⵢⵜ", locale.Language}, {"ⵃⴱⵙ", locale.Stop}},
	}
	start := map[bot.Lang]string{bot.French: "COMMENCER", bot.Darija: "بدا", bot.Arabic: "ابدأ", bot.Tamazight: "ⴱⴷⵓ"}
	check := func(lang bot.Lang, id string, words []word) {
		t.Helper()
		text := b.T(lang, id, nil)
		for _, w := range words {
			if !strings.Contains(text, w.text) {
				t.Errorf("%s %s: %q does not say %q", lang, id, text, w.text)
			}
			if got := b.Intent(w.text); got != w.want {
				t.Errorf("%s %s teaches %q: Intent = %q, want %q", lang, id, w.text, got, w.want)
			}
		}
	}
	for _, lang := range bot.Langs {
		check(lang, "Help", help[lang])
		check(lang, "ConsentNotice", rights[lang])
		check(lang, "MyDataErase", rights[lang][1:])
		check(lang, "MenuFooter", footer[lang])
		check(lang, "Stopped", []word{{"START", locale.Start}, {start[lang], locale.Start}})
		check(lang, "StillStopped", []word{{"START", locale.Start}, {start[lang], locale.Start}})
		check(lang, "ConsentDeclined", []word{{"1", ""}, {"STOP", locale.Stop}})
		if got := b.Intent(b.T(lang, "Yes", nil)); got != locale.Yes {
			t.Errorf("%s: Intent(Yes label %q) = %q, want yes", lang, b.T(lang, "Yes", nil), got)
		}
		if got := b.Intent(b.T(lang, "No", nil)); got != locale.No {
			t.Errorf("%s: Intent(No label %q) = %q, want no", lang, b.T(lang, "No", nil), got)
		}
		name := b.T(lang, "LanguageName", nil)
		if got, ok := b.LanguageNamed(name); !ok || got != lang {
			t.Errorf("LanguageNamed(%q) = %q, %v; want %q, true", name, got, ok, lang)
		}
		if got := b.Intent(strings.Fields(b.T(lang, "BackToMenu", nil))[1]); got != locale.Menu {
			t.Errorf("%s: the BackToMenu word is %q, want menu", lang, got)
		}
		for _, id := range []string{"ConsentAsk", "EraseAsk"} {
			lines := strings.Split(b.T(lang, id, nil), "\n")
			if n := len(lines); n < 3 || !strings.HasPrefix(lines[n-2], "1 ") || !strings.HasPrefix(lines[n-1], "2 ") {
				t.Errorf("%s %s: got %q, want it to end with a \"1 …\" and a \"2 …\" line", lang, id, lines)
			}
		}
	}
}

// BenchmarkT measures a message without placeholders, which Load renders
// once (most of what a turn says), beside one with a placeholder.
func BenchmarkT(b *testing.B) {
	bundle, err := locale.Load(locales.FS)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("static", func(b *testing.B) {
		for b.Loop() {
			bundle.T(bot.French, "Unknown", nil)
		}
	})
	b.Run("placeholder", func(b *testing.B) {
		for b.Loop() {
			bundle.T(bot.French, "OutboxReviewAsk", map[string]any{"Title": "x"})
		}
	})
}

// TestMessagesFitOneBody checks that every message in every language, its
// placeholders filled with 200 characters (DARSI_CONTROLLER's limit, and
// more than a title or a learner's text), direction marks included, fits
// the body of one WhatsApp or SMS message.
func TestMessagesFitOneBody(t *testing.T) {
	b := bundle(t)
	long := strings.Repeat("x", 200)
	data := map[string]any{}
	for _, f := range []string{"Answer", "Code", "Controller", "Done", "Example", "Label", "Max", "Min", "N", "Name",
		"Old", "Question", "Right", "Score", "Text", "Title", "Total", "Value", "Date"} {
		data[f] = long
	}
	for _, lang := range bot.Langs {
		for _, id := range b.IDs() {
			text := locale.Directional(lang, b.N(lang, id, 1000000, data))
			if strings.Contains(text, "<no value>") {
				t.Errorf("%s %s: a placeholder the test does not fill: %q", lang, id, text)
			}
			if n := bot.BodyLen(text); n > bot.MaxBody {
				t.Errorf("%s %s: got %d characters, want at most %d", lang, id, n, bot.MaxBody)
			}
		}
	}
}
