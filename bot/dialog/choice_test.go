package dialog

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/lessons"
)

// lastChoice returns the choice of the last reply that has one.
func lastChoice(tb testing.TB, out Outcome) *bot.Choice {
	tb.Helper()
	for _, r := range slices.Backward(out.Replies) {
		if r.Choice != nil {
			return r.Choice
		}
	}
	tb.Fatalf("no reply with a choice in %q", bot.Texts(out.Replies))
	return nil
}

// TestTapAnswersLikeTyping plays the first lesson of every course twice in
// each language, once typing the options' numbers and once tapping their
// buttons (the payload, with the button's words as the body), and wants
// the same states and replies.
func TestTapAnswersLikeTyping(t *testing.T) {
	c := testContent(t, lessons.FS)
	for _, lang := range bot.Langs {
		t.Run(string(lang), func(t *testing.T) {
			typed, tapped := newChatter(t, c), newChatter(t, c)
			first := typed.step(bot.Inbound{From: "whatsapp:+212600000009", Channel: bot.WhatsApp, Text: "salam"})
			tapped.step(bot.Inbound{From: "whatsapp:+212600000009", Channel: bot.WhatsApp, Text: "salam"})
			choice := lastChoice(t, first)
			if choice.Scope != scopeLanguage || len(choice.Options) != len(bot.Langs) {
				t.Fatalf("language menu choice %+v", choice)
			}
			for _, o := range choice.Options {
				if n := utf8.RuneCountInString(o.Title); n > maxRow || (o.Description != "" && strings.Contains(o.Title, " / ")) {
					t.Errorf("language row %q (%d characters, described %q): want at most %d, the other scripts under it", o.Title, n, o.Description, maxRow)
				}
			}
			n := slices.Index(bot.Langs, lang) + 1
			play := func(ch *chatter, tap bool, n int, prev *bot.Choice) Outcome {
				t.Helper()
				in := bot.Inbound{From: "whatsapp:+212600000009", Channel: bot.WhatsApp, Text: strconv.Itoa(n)}
				if tap {
					o := prev.Options[n-1]
					in.Text, in.Payload = o.Title, o.ID
				}
				return ch.step(in)
			}
			a, b := play(typed, false, n, choice), play(tapped, true, n, choice)
			same := func(a, b Outcome) {
				t.Helper()
				if !slices.Equal(bot.Texts(a.Replies), bot.Texts(b.Replies)) || a.Learner.Phase != b.Learner.Phase || a.Learner.Step != b.Learner.Step {
					t.Fatalf("typed and tapped differ:\n%q (%s %s)\n%q (%s %s)", bot.Texts(a.Replies), a.Learner.Phase, a.Learner.Step,
						bot.Texts(b.Replies), b.Learner.Phase, b.Learner.Step)
				}
			}
			same(a, b)
			// Consent has no buttons: typed by both.
			same(typed.step(bot.Inbound{From: "x", Channel: bot.WhatsApp, Text: "1"}), tapped.step(bot.Inbound{From: "x", Channel: bot.WhatsApp, Text: "1"}))
			if typed.l.Phase != bot.PhaseMenu {
				t.Fatalf("phase %s after consent", typed.l.Phase)
			}
			menu := lastChoice(t, Step(tapped.l, bot.Inbound{From: "x", Channel: bot.WhatsApp, Text: "menu"}, tapped.now, c))
			if menu.Scope != scopeMenu || len(menu.Options) != len(c.Lessons.Courses) {
				t.Fatalf("menu choice %+v", menu)
			}
			a, b = play(typed, false, 1, menu), play(tapped, true, 1, menu)
			same(a, b)
			// A wrong answer gets "try again" without the question: the
			// buttons sent with it still answer it.
			var cur *bot.Choice
			questions := 0
			for i := 0; typed.l.Phase == bot.PhaseLesson && i < 40; i++ {
				st := typed.c.Lessons.Lesson(typed.l.Lesson).Steps[typed.l.Index]
				var ta, tb Outcome
				for _, r := range b.Replies {
					if r.Choice != nil {
						cur = r.Choice
					}
				}
				switch {
				case st.Kind == lesson.Input && st.InputKind == "number":
					ta, tb = play(typed, false, 12, nil), play(tapped, false, 12, nil)
				case st.Kind == lesson.Input:
					ta = typed.step(bot.Inbound{From: "x", Channel: bot.WhatsApp, Text: "Atelier"})
					tb = tapped.step(bot.Inbound{From: "x", Channel: bot.WhatsApp, Text: "Atelier"})
				default:
					ch := cur
					if ch == nil || ch.Scope != StepScope(typed.l.Lesson, st.ID) || ch.Lang != lang {
						t.Fatalf("choice scope %q lang %q at step %s", ch.Scope, ch.Lang, st.ID)
					}
					// The second option: sometimes wrong, so that retries
					// are tapped too.
					ta, tb = play(typed, false, 2, ch), play(tapped, true, 2, ch)
					questions++
				}
				same(ta, tb)
				a, b = ta, tb
			}
			if questions == 0 || typed.l.Phase != bot.PhaseDone {
				t.Fatalf("%d questions tapped, phase %s", questions, typed.l.Phase)
			}
		})
	}
}

// TestStaleTapIsReadAsWords: a tap on the button of a question already
// answered does not answer the current one by its number.
func TestStaleTapIsReadAsWords(t *testing.T) {
	c := testContent(t, lessons.FS)
	ch := newChatter(t, c)
	lang := lastChoice(t, ch.step(bot.Inbound{From: "x", Channel: bot.WhatsApp, Text: "salam"}))
	ch.send("3")
	ch.send("1")
	// The language menu's "Français" tapped again at the course menu: it
	// is the language's name, so the language is set again; no course
	// starts, which its number 3 would do.
	out := ch.step(bot.Inbound{From: "x", Channel: bot.WhatsApp, Text: lang.Options[2].Title, Payload: lang.Options[2].ID})
	if ch.l.Phase != bot.PhaseMenu || ch.l.Course != "" {
		t.Fatalf("stale tap: phase %s course %q, replies %q", ch.l.Phase, ch.l.Course, bot.Texts(out.Replies))
	}
	// Someone else's payload is read as the text, as before.
	if _, _, ok := bot.ParseChoicePayload("menu#1"); ok {
		t.Fatal("a payload without our prefix parsed")
	}
}

func FuzzChoicePayload(f *testing.F) {
	for _, s := range []string{"darsi:lang#1", "darsi:costing-1/q#10", "darsi:#1", "darsi:x#0", "darsi:x#+1", "darsi:a#b#2", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		scope, n, ok := bot.ParseChoicePayload(p)
		if !ok {
			return
		}
		if n < 1 || n > 99 || scope == "" {
			t.Fatalf("%q parsed as %q %d", p, scope, n)
		}
		if got := bot.ChoicePayload(scope, n); got != p {
			t.Fatalf("%q parsed as %q %d, which writes %q", p, scope, n, got)
		}
	})
}
