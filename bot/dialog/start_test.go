package dialog

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/darsi-ma/darsi/bot"
)

// TestStartIsTheMenuStart wants Start to say and do what choosing the
// lesson's course from the menu does.
func TestStartIsTheMenuStart(t *testing.T) {
	c := testContent(t, os.DirFS("../lesson/testdata/good"))
	for _, lang := range bot.Langs {
		t.Run(string(lang), func(t *testing.T) {
			ch := newChatter(t, c)
			ch.onboard(lang)
			atMenu := ch.l
			fromMenu := Step(atMenu, bot.Inbound{From: atMenu.ID, Channel: bot.WhatsApp, Text: "1"}, ch.now, c)

			got, err := Start(atMenu, "demo-1", ch.now, c)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if diff := cmp.Diff(fromMenu.Replies, got.Replies); diff != "" {
				t.Errorf("replies differ from a start from the menu (-menu +Start):\n%s", diff)
			}
			if diff := cmp.Diff(fromMenu.Events, got.Events); diff != "" {
				t.Errorf("events differ from a start from the menu (-menu +Start):\n%s", diff)
			}
			if got.Learner.Phase != bot.PhaseLesson || got.Learner.Position != fromMenu.Learner.Position {
				t.Errorf("got phase %q at %+v, want lesson at %+v", got.Learner.Phase, got.Learner.Position, fromMenu.Learner.Position)
			}
			les := c.Lessons.Lesson("demo-1")
			quiz, _ := les.Step("quiz")
			if n := len(got.Replies); n != 3 || got.Replies[2].Text != StepText(lang, quiz, nil) {
				t.Errorf("got replies %q, want the title, the hello and the quiz", bot.Texts(got.Replies))
			}
			if atMenu.Phase != bot.PhaseMenu {
				t.Errorf("Start changed the learner it was given: phase %q", atMenu.Phase)
			}
		})
	}
}

// TestStartAgainStartsOver restarts a lesson half done: its variables and
// score start again, the earlier completion stays.
func TestStartAgainStartsOver(t *testing.T) {
	c := testContent(t, os.DirFS("../lesson/testdata/good"))
	ch := newChatter(t, c)
	ch.onboard(bot.Arabic)
	ch.send("1") // the lesson starts
	ch.send("1") // a wrong answer
	ch.send("2") // the right one
	ch.send("3") // qty
	if ch.l.Step != "price" || ch.l.Vars["qty"] != "3" || ch.l.Tries != 0 || ch.l.Asked != 1 {
		t.Fatalf("set-up: at %q with vars %v, asked %d", ch.l.Step, ch.l.Vars, ch.l.Asked)
	}
	ch.l.Completed = []bot.Completion{{Lesson: "demo-1", Score: 50}}

	out, err := Start(ch.l, "demo-1", ch.now, c)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	l := out.Learner
	if l.Step != "quiz" || len(l.Vars) != 0 || l.Asked != 0 || l.Right != 0 || l.Tries != 0 {
		t.Errorf("got step %q, vars %v, asked %d, right %d, tries %d; want quiz and nothing else", l.Step, l.Vars, l.Asked, l.Right, l.Tries)
	}
	if len(l.Completed) != 1 {
		t.Errorf("completed: got %v, want the earlier completion kept", l.Completed)
	}
	for _, r := range out.Replies {
		for _, line := range strings.Split(r.Text, "\n") {
			if line != "" && !strings.HasPrefix(line, "\u200f") {
				t.Errorf("Arabic line without RLM: %q", line)
			}
		}
	}
}

func TestStartUnknownLesson(t *testing.T) {
	c := testContent(t, os.DirFS("../lesson/testdata/good"))
	l := bot.Learner{ID: "whatsapp:+212600000009", Lang: bot.French, Consent: true, Phase: bot.PhaseMenu}
	out, err := Start(l, "nowhere-1", newChatter(t, c).now, c)
	if bot.KindOf(err) != bot.NotFound {
		t.Errorf("got error %v (kind %v), want kind not found", err, bot.KindOf(err))
	}
	if err == nil || !strings.Contains(err.Error(), `"nowhere-1"`) {
		t.Errorf("error %v does not name the lesson", err)
	}
	if len(out.Replies) != 0 || out.Learner.Phase != bot.PhaseMenu {
		t.Errorf("got %d replies and phase %q, want none and the learner unchanged", len(out.Replies), out.Learner.Phase)
	}
}
