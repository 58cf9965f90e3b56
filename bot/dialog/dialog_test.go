package dialog

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/lessons"
)

// chatter plays a conversation against the engine.
type chatter struct {
	tb  testing.TB
	c   *Content
	l   bot.Learner
	now time.Time
}

func newChatter(tb testing.TB, c *Content) *chatter {
	return &chatter{tb: tb, c: c, now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
}

func (ch *chatter) send(text string) []string {
	ch.tb.Helper()
	return bot.Texts(ch.step(bot.Inbound{From: "whatsapp:+212600000009", Channel: bot.WhatsApp, Text: text}).Replies)
}

// step applies in a minute after the previous message and returns the
// whole outcome.
func (ch *chatter) step(in bot.Inbound) Outcome {
	ch.tb.Helper()
	ch.now = ch.now.Add(time.Minute)
	out := Step(ch.l, in, ch.now, ch.c)
	ch.l = out.Learner
	if len(out.Replies) == 0 {
		ch.tb.Fatalf("%q got no reply (phase %q)", in.Text, ch.l.Phase)
	}
	return out
}

// onboard takes a new learner to the course menu in lang.
func (ch *chatter) onboard(lang bot.Lang) {
	ch.tb.Helper()
	ch.send("salam")
	for i, l := range bot.Langs {
		if l == lang {
			ch.send(strconv.Itoa(i + 1))
		}
	}
	ch.send("1")
	if ch.l.Phase != bot.PhaseMenu || ch.l.Lang != lang || !ch.l.Consent {
		ch.tb.Fatalf("after onboarding: phase %q lang %q consent %v, want menu %s true", ch.l.Phase, ch.l.Lang, ch.l.Consent, lang)
	}
}

// answerRight answers the current step correctly: an input with its
// example answer, or else with number (or a word for a text input).
func (ch *chatter) answerRight(number string) []string {
	ch.tb.Helper()
	les := ch.c.Lessons.Lesson(ch.l.Lesson)
	st, _ := les.Step(ch.l.Step)
	switch st.Kind {
	case lesson.Question:
		return ch.send(strconv.Itoa(st.Correct() + 1))
	case lesson.Survey:
		return ch.send("1")
	case lesson.Input:
		if st.Example != "" {
			return ch.send(st.Example)
		}
		if st.InputKind == "text" {
			return ch.send("tajine")
		}
		// The number asked for, kept within the step's bounds.
		f, _ := strconv.ParseFloat(number, 64)
		if st.Max != nil && f > *st.Max {
			f = *st.Max
		}
		if st.Min != nil && f < *st.Min {
			f = *st.Min
		}
		return ch.send(strconv.FormatFloat(f, 'f', -1, 64))
	}
	ch.tb.Fatalf("learner waits at %q, a %s step", st.ID, st.Kind)
	return nil
}

// TestWholeCourseInEachLanguage takes every lesson of every built-in
// course in each language, answering right (inputs with their example
// answer, else 40), and checks completion, scores, the course's survey and
// that replies come in the learner's own script.
func TestWholeCourseInEachLanguage(t *testing.T) {
	c := testContent(t, lessons.FS)
	for n, course := range c.Lessons.Courses {
		for _, lang := range bot.Langs {
			t.Run(course.ID+"/"+string(lang), func(t *testing.T) {
				ch := newChatter(t, c)
				ch.onboard(lang)
				replies := ch.send(strconv.Itoa(n + 1))
				for i, les := range course.Lessons {
					for steps := 0; ch.l.Phase == bot.PhaseLesson; steps++ {
						if steps > 50 {
							t.Fatalf("lesson %s never ends", les.ID)
						}
						replies = append(replies, ch.answerRight("40")...)
					}
					if ch.l.Phase != bot.PhaseDone || !ch.l.Done(les.ID) {
						t.Fatalf("after %s: phase %q, completed %v", les.ID, ch.l.Phase, ch.l.Completed)
					}
					if i+1 < len(course.Lessons) {
						replies = append(replies, ch.send("1")...)
					}
				}
				for _, done := range ch.l.Completed {
					if done.Score != 100 {
						t.Errorf("%s: score %d, want 100 (every answer right)", done.Lesson, done.Score)
					}
				}
				if len(ch.l.Indicators) == 0 {
					t.Error("the course's survey recorded no indicator")
				}
				for _, r := range replies {
					if !inScript(lang, r) {
						t.Errorf("reply not in %s's script: %q", lang, r)
					}
					if strings.Contains(r, "{{") {
						t.Errorf("reply shows template syntax: %q", r)
					}
					if strings.Contains(r, c.Text.T(lang, "CalcFailed", nil)) {
						t.Errorf("a calc failed on the learner's numbers: %q", r)
					}
				}
			})
		}
	}
}

// inScript reports whether text has letters of lang's script.
func inScript(lang bot.Lang, text string) bool {
	for _, r := range text {
		switch {
		case lang.RTL() && r >= 0x0600 && r <= 0x06FF:
			return true
		case lang == bot.Tamazight && r >= 0x2D30 && r <= 0x2D7F:
			return true
		case lang == bot.French && (r >= 'a' && r <= 'z'):
			return true
		}
	}
	return false
}

func TestCalcUsesLearnersNumbers(t *testing.T) {
	c := testContent(t, os.DirFS("../lesson/testdata/good"))
	ch := newChatter(t, c)
	ch.onboard(bot.French)
	ch.send("1")         // start: hello, quiz
	ch.send("2")         // right
	ch.send("٤")         // qty, Arabic-Indic digit
	r := ch.send("12,5") // price, decimal comma; calc then says the total
	if got, want := ch.l.Vars["total"], "50"; got != want {
		t.Errorf("total: got %q, want %q", got, want)
	}
	if !strings.Contains(strings.Join(r, "\n"), "50 DH") {
		t.Errorf("replies %q do not give the total 50 DH", r)
	}
	if ch.l.Step != "outcome" {
		t.Errorf("after calc with goto: at %q, want outcome", ch.l.Step)
	}
}

func TestNumberOutOfRangeIsAskedAgain(t *testing.T) {
	c := testContent(t, os.DirFS("../lesson/testdata/good"))
	ch := newChatter(t, c)
	ch.onboard(bot.French)
	ch.send("1")
	ch.send("2")
	ch.send("0") // qty has min 1
	if ch.l.Step != "qty" {
		t.Fatalf("0 below min accepted: at %q", ch.l.Step)
	}
	if _, ok := ch.l.Vars["qty"]; ok {
		t.Error("out-of-range value kept")
	}
}

// TestArabicRepliesCarryDirectionMarks checks that every line of an Arabic
// reply starts with RLM, as docs/languages.md asks.
func TestArabicRepliesCarryDirectionMarks(t *testing.T) {
	c := testContent(t, lessons.FS)
	ch := newChatter(t, c)
	ch.onboard(bot.Arabic)
	for _, r := range ch.send("1") {
		for _, line := range strings.Split(r, "\n") {
			if line != "" && !strings.HasPrefix(line, "\u200f") {
				t.Errorf("line without RLM: %q", line)
			}
		}
	}
}

// TestBadInputAlwaysAnswered sends input a phone or a bad client may send,
// in every phase, and wants a reply and a learner who can go on.
func TestBadInputAlwaysAnswered(t *testing.T) {
	c := testContent(t, lessons.FS)
	bad := []string{
		"", "   ", "\xff\xfe\xfd", "abc\x00def", strings.Repeat("ب", 5000), "🙂🙂🙂",
		"\u200f\u2066\u2069", "999999999999999999999999", "-", "1e309", "{{x}}",
	}
	for _, lang := range bot.Langs {
		ch := newChatter(t, c)
		ch.onboard(lang)
		ch.send("1")
		for _, in := range bad {
			before := ch.l.Phase
			for _, r := range ch.send(in) {
				if !utf8.ValidString(r) {
					t.Errorf("%s: reply to %q is not valid UTF-8", lang, in)
				}
			}
			if ch.l.Phase != before && ch.l.Phase != bot.PhaseLesson {
				t.Errorf("%s: %q moved the learner from %q to %q", lang, in, before, ch.l.Phase)
			}
		}
	}
}

// FuzzStep sends arbitrary messages to a learner in every phase: the engine
// must never panic, never stay silent, and always leave a valid state.
func FuzzStep(f *testing.F) {
	c := testContent(f, lessons.FS)
	for _, s := range []string{"salam", "1", "٣", "stop", "start", "menu", "3awni", "supprimer mes données", "mes données", "\xff", "1️⃣", "12,5 DH"} {
		f.Add(s, s, s)
	}
	f.Fuzz(func(t *testing.T, a, b, d string) {
		l := bot.Learner{}
		now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
		for _, text := range []string{"salam", "3", "1", "1", a, b, d, "1", "2", a} {
			out := Step(l, bot.Inbound{From: "whatsapp:+212600000009", Channel: bot.WhatsApp, Text: text}, now, c)
			if len(out.Replies) == 0 {
				t.Fatalf("no reply to %q in phase %q", text, l.Phase)
			}
			for _, e := range out.Events {
				if bad := eventBelied(e, out.Learner); bad != "" {
					t.Fatalf("%q: event %s, but %s", text, e, bad)
				}
			}
			if out.Erased() {
				l = bot.Learner{}
				continue
			}
			l = out.Learner
			if l.Phase == bot.PhaseLesson && c.Lessons.Lesson(l.Lesson) == nil {
				t.Fatalf("in unknown lesson %q", l.Lesson)
			}
		}
	})
}

// eventBelied says how the learner's new state l contradicts event e, or
// returns "" when it bears it out.
func eventBelied(e Event, l bot.Learner) string {
	switch {
	case e.Kind == LessonCompleted && !l.Done(e.Lesson):
		return "the lesson is not in Completed"
	case e.Kind == OptedOut && !l.OptedOut:
		return "the learner is not opted out"
	case e.Kind == OptedIn && l.OptedOut:
		return "the learner is opted out"
	case e.Kind == CohortJoined && l.Cohort != e.Cohort:
		return "the learner is in cohort " + l.Cohort
	case e.Kind == ConsentGiven && !l.Consent:
		return "the learner has not consented"
	case e.Kind == LanguageChosen && l.Lang != e.Lang:
		return "the learner's language is " + string(l.Lang)
	}
	return ""
}

func BenchmarkStep(b *testing.B) {
	c := testContent(b, lessons.FS)
	ch := newChatter(b, c)
	ch.onboard(bot.French)
	ch.send("1")
	l := ch.l // waiting at the first question
	les := c.Lessons.Lesson(l.Lesson)
	st, _ := les.Step(l.Step)
	answer := strconv.Itoa(st.Correct() + 1)
	in := bot.Inbound{From: l.ID, Channel: bot.WhatsApp, Text: answer}
	now := ch.now
	b.ReportAllocs()
	for b.Loop() {
		out := Step(l, in, now, c)
		if len(out.Replies) == 0 {
			b.Fatal("no reply")
		}
	}
}
