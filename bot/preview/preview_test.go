package preview

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/locales"
)

var update = flag.Bool("update", false, "rewrite the golden previews in testdata")

// marks shows the invisible direction marks in a diff, where go-cmp would
// otherwise quote the whole text byte by byte.
var marks = strings.NewReplacer("\u200f", "{RLM}", "\u2066", "{LRI}", "\u2069", "{PDI}", "\u200e", "{LRM}")

func testContent(tb testing.TB) *dialog.Content {
	tb.Helper()
	text, err := locale.Load(locales.FS)
	if err != nil {
		tb.Fatalf("locale.Load: %v", err)
	}
	cat, err := lesson.Load(os.DirFS("testdata/lessons"), "testdata/lessons")
	if err != nil {
		tb.Fatalf("lesson.Load: %v", err)
	}
	return &dialog.Content{Lessons: cat, Text: text}
}

func play(tb testing.TB, c *dialog.Content, lang bot.Lang, answers ...string) *Transcript {
	tb.Helper()
	tr, err := Play(c, "shop-1", lang, answers)
	if err != nil {
		tb.Fatalf("Play(shop-1, %s, %q): %v", lang, answers, err)
	}
	return tr
}

// TestGolden compares whole previews with testdata/*.txt; -update rewrites
// them.
func TestGolden(t *testing.T) {
	c := testContent(t)
	for _, tc := range []struct {
		file    string
		lang    bot.Lang
		answers []string
	}{
		{"shop-1.fr.txt", bot.French, nil},
		{"shop-1.ar.txt", bot.Arabic, []string{"1", "1", "beaucoup", "0", "80", "زرابي"}},
		{"shop-1.zgh.txt", bot.Tamazight, []string{"2", "٣٠٠", "60", "ⵜⵉⵣⵔⴱⵉⵢⵉⵏ", "2", "2", "3"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := play(t, c, tc.lang, tc.answers...).String()
			file := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./bot/preview -update)", err)
			}
			if diff := cmp.Diff(marks.Replace(string(want)), marks.Replace(got)); diff != "" {
				t.Errorf("preview differs (-file +got); run go test ./bot/preview -update and read the diff:\n%s", diff)
			}
		})
	}
}

// TestDefaultAnswersAreRight plays a lesson without answers: every
// question right at the first try, inputs with their example or a value
// in bounds, and the lesson ends.
func TestDefaultAnswersAreRight(t *testing.T) {
	tr := play(t, testContent(t), bot.French)
	var got []string
	for _, m := range tr.Messages {
		if m.FromLearner {
			got = append(got, m.Step+"="+m.Text+" ("+m.Note+")")
		}
	}
	want := []string{
		"quiz=2 (right answer)",
		"materials=120 (example)",
		"units=50 (a number in range)",
		"product=tajine (a short text)",
		"outcome=1 (first option)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	last := tr.Messages[len(tr.Messages)-2]
	if !strings.Contains(last.Text, "1 sur 1") {
		t.Errorf("last but one message %q, want the lesson's end with a score of 1 out of 1", last.Text)
	}
}

// TestWrongAnswerShowsFeedback gives a wrong answer: its feedback, labelled
// as the question's, then one more try.
func TestWrongAnswerShowsFeedback(t *testing.T) {
	tr := play(t, testContent(t), bot.French, "1")
	var labels []string
	for _, m := range tr.Messages[:6] {
		labels = append(labels, strings.Join([]string{m.Step, m.Note}, "/"))
	}
	want := []string{"/title", "hello/", "quiz/", "quiz/", "quiz/feedback", "/"}
	if diff := cmp.Diff(want, labels); diff != "" {
		t.Errorf("labels of the first messages (-want +got):\n%s", diff)
	}
	if got := tr.Messages[4].Text; got != "Non, ton temps aussi." {
		t.Errorf("feedback: got %q, want the wrong option's", got)
	}
	if out := tr.String(); !strings.Contains(out, "── darsi · quiz · feedback · 1 SMS segment (GSM-7, 21 chars)\nNon, ton temps aussi.\n") {
		t.Errorf("output does not show the feedback with its cost:\n%s", out)
	}
}

// TestRightToLeftIsRightAligned wants each line of an Arabic message to end
// at Width, and French ones as they are.
func TestRightToLeftIsRightAligned(t *testing.T) {
	c := testContent(t)
	for _, lang := range []bot.Lang{bot.Arabic, bot.French} {
		tr := play(t, c, lang)
		lines := strings.Split(tr.String(), "\n")
		for _, m := range tr.Messages {
			if m.FromLearner {
				continue
			}
			for _, line := range strings.Split(m.Text, "\n") {
				want := line
				if lang.RTL() {
					want = strings.Repeat(" ", Width-columns(line)) + line
				}
				if !slices.Contains(lines, want) {
					t.Errorf("%s: no line %q in the output", lang, want)
				}
			}
		}
	}
}

func TestAlignRight(t *testing.T) {
	for _, tc := range []struct {
		line string
		want int // leading spaces
	}{
		{"\u200fسلام", Width - 4},
		{"\u200fسَلَام", Width - 4}, // vowel signs take no column
		{"\u200f\u2066150\u2069 درهم", Width - 8},
		{"", 0},
		{strings.Repeat("ب", Width), 0},
		{strings.Repeat("ب", Width+10), 0},
	} {
		got := alignRight(tc.line, Width)
		if n := len(got) - len(tc.line); n != tc.want || !strings.HasSuffix(got, tc.line) {
			t.Errorf("alignRight(%q): %d spaces before, want %d", tc.line, n, tc.want)
		}
	}
}

// TestUnusedAnswers ends the lesson before the answers run out, and leaves
// it by a keyword.
func TestUnusedAnswers(t *testing.T) {
	c := testContent(t)
	tr := play(t, c, bot.French, "2", "10", "50", "thé", "1", "2", "3")
	if diff := cmp.Diff([]string{"2", "3"}, tr.Unused); diff != "" {
		t.Errorf("unused (-want +got):\n%s", diff)
	}
	if out := tr.String(); !strings.HasSuffix(out, "\n── not used: 2,3\n") {
		t.Errorf("output does not end with the answers not used:\n%s", out)
	}

	tr = play(t, c, bot.French, "menu", "1")
	if n := len(tr.Messages); n == 0 || tr.Messages[n-1].FromLearner || !slices.Equal(tr.Unused, []string{"1"}) {
		t.Errorf("after menu: %d messages, unused %q; want the menu as the last message and 1 unused", n, tr.Unused)
	}
}

func TestPlayDeterministic(t *testing.T) {
	c := testContent(t)
	a, b := play(t, c, bot.Darija).String(), play(t, c, bot.Darija).String()
	if a != b {
		t.Errorf("two plays differ:\n%s", cmp.Diff(a, b))
	}
}

func TestPlayErrors(t *testing.T) {
	c := testContent(t)
	if _, err := Play(c, "shop-9", bot.French, nil); bot.KindOf(err) != bot.NotFound {
		t.Errorf("unknown lesson: got %v, want kind not found", err)
	}
	if _, err := Play(c, "shop-1", "en", nil); bot.KindOf(err) != bot.Invalid || !strings.Contains(err.Error(), "ary, ar, fr, zgh") {
		t.Errorf("unknown language: got %v, want kind invalid listing the languages", err)
	}
}
