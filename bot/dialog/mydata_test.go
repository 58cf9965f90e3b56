package dialog

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/lessons"
)

// TestMyDataChangesNothing asks for the summary of one's data from every
// phase: the learner's state is the same after (but for the times of the
// message), the turn reports DataRequested and nothing else, and the
// question the learner stood at comes again.
func TestMyDataChangesNothing(t *testing.T) {
	c := testContent(t, lessons.FS)
	for _, tc := range []struct {
		name  string
		sends []string // from a new learner
	}{
		{"consent", []string{"salam", "3"}},
		{"menu", []string{"salam", "3", "1"}},
		{"lesson with figures", []string{"salam", "3", "1", "1", "2", "3", "tapis", "300"}},
		{"lesson done", []string{"salam", "3", "1", "1", "2", "3", "tapis", "300", "25"}},
		{"erase question", []string{"salam", "3", "1", "effacer mes données"}},
		{"language question", []string{"salam", "3", "1", "langue"}},
		{"opted out", []string{"salam", "3", "1", "stop"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := newChatter(t, c)
			var last []string
			for _, s := range tc.sends {
				last = ch.send(s)
			}
			before := ch.l
			out := ch.step(bot.Inbound{From: "whatsapp:+212600000009", Channel: bot.WhatsApp, Text: "mes données"})
			if diff := cmp.Diff(before, out.Learner, cmpopts.IgnoreFields(bot.Learner{}, "LastInboundAt", "UpdatedAt")); diff != "" {
				t.Errorf("state changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff([]Event{{Kind: DataRequested}}, out.Events); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			replies := bot.Texts(out.Replies)
			if got, want := replies[0], "Ce que Darsi garde sur toi :"; !strings.HasPrefix(got, want) {
				t.Errorf("first reply: got %q, want it to start with %q", got, want)
			}
			wantLast := last[len(last)-1]
			if before.OptedOut {
				wantLast = c.Text.T(bot.French, "StillStopped", nil)
			}
			if got := replies[len(replies)-1]; got != wantLast {
				t.Errorf("last reply: got %q, want the question the learner stood at, %q", got, wantLast)
			}
		})
	}
}

// TestMyDataSummary checks what the summary says of a learner who did a
// lot: every lesson completed with its score, each figure typed with its
// question, each survey answer in the learner's words, and every reply
// within one message body.
func TestMyDataSummary(t *testing.T) {
	c := testContent(t, lessons.FS)
	c.Controller = "Association Darsi Maroc"
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, lang := range bot.Langs {
		t.Run(string(lang), func(t *testing.T) {
			l := bot.Learner{ID: "whatsapp:+212600000009", Channel: bot.WhatsApp, Lang: lang, Consent: true,
				Cohort: "K7M2QX", Phase: bot.PhaseMenu, Indicators: map[string]string{"revenue_stable": "not_yet", "gone_survey": "x"}}
			var titles []string
			for _, course := range c.Lessons.Courses {
				for _, les := range course.Lessons {
					l.Completed = append(l.Completed, bot.Completion{Lesson: les.ID, Score: 67, At: now})
					titles = append(titles, les.Title.In(lang))
				}
			}
			l.Lesson = "costing-1"
			l.Vars = map[string]string{"product": strings.Repeat("ب", maxTextVar), "materials": "300", "unit_material": "12", "gone": "7"}
			out := Step(l, bot.Inbound{From: l.ID, Channel: bot.WhatsApp, Text: "my data"}, now, c)
			// Compared without the direction marks Arabic texts get.
			all := noMarks.Replace(strings.Join(bot.Texts(out.Replies), "\n"))
			for i, r := range out.Replies {
				if n := bot.BodyLen(r.Text); n > bot.MaxBody {
					t.Errorf("reply %d: got %d characters, want at most %d", i+1, n, bot.MaxBody)
				}
			}
			for _, title := range titles {
				if !strings.Contains(all, title) {
					t.Errorf("the summary does not name the completed lesson %q", title)
				}
			}
			les := c.Lessons.Lesson("costing-1")
			product, _ := les.Step("product")
			question := sentences(product.Ask.In(lang))
			want := []string{
				"K7M2QX", c.Controller, strings.Repeat("ب", maxTextVar), "unit_material", "gone", "gone_survey",
				c.Text.T(lang, "MyDataScore", map[string]any{"Score": "67"}),
			}
			for _, s := range question {
				if strings.ContainsAny(s, "?؟") {
					want = append(want, s)
				}
			}
			survey, option := (&turn{l: &l, c: c}).surveyOption("revenue_stable", "not_yet")
			if survey == nil || option == nil {
				t.Fatal("no survey records revenue_stable with not_yet")
			}
			want = append(want, option.Text.In(lang))
			for _, w := range want {
				if !strings.Contains(all, w) {
					t.Errorf("the summary does not say %q:\n%s", w, all)
				}
			}
		})
	}
}

// noMarks removes the direction marks of locale.Directional.
var noMarks = strings.NewReplacer("\u200f", "", "\u200e", "", "\u2066", "", "\u2067", "", "\u2068", "", "\u2069", "")

// TestConsentNoticeNamesController checks that the notice names the
// controller when the operator named one, and names nobody otherwise, in
// every language.
func TestConsentNoticeNamesController(t *testing.T) {
	c := testContent(t, lessons.FS)
	named := *c
	named.Controller = "Association Darsi Maroc"
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i, lang := range bot.Langs {
		for _, content := range []*Content{c, &named} {
			l := Step(bot.Learner{}, bot.Inbound{From: "whatsapp:+212600000009", Channel: bot.WhatsApp, Text: "salam"}, now, content).Learner
			out := Step(l, bot.Inbound{From: l.ID, Channel: bot.WhatsApp, Text: string(rune('1' + i))}, now, content)
			texts := bot.Texts(out.Replies)
			if len(texts) != 3 {
				t.Fatalf("%s: got %d replies %q, want 3: language set, the notice, the question", lang, len(texts), texts)
			}
			notice := texts[1]
			label, _, _ := strings.Cut(c.Text.T(lang, "ConsentController", map[string]any{"Controller": "|"}), "|")
			if got, want := strings.Contains(notice, label), content.Controller != ""; got != want {
				t.Errorf("%s, controller %q: notice names a controller: got %v, want %v\n%s", lang, content.Controller, got, want, notice)
			}
			if content.Controller != "" && !strings.Contains(notice, content.Controller) {
				t.Errorf("%s: notice %q does not name %q", lang, notice, content.Controller)
			}
		}
	}
}

// TestSayLines cuts long lists into as few replies as fit one message
// body, direction marks counted, without losing or reordering a line.
func TestSayLines(t *testing.T) {
	c := testContent(t, lessons.FS)
	for _, lang := range []bot.Lang{bot.French, bot.Arabic} {
		var lines []string
		for i := range 100 {
			lines = append(lines, strings.Repeat("ب", 30)+" "+strings.Repeat("7", i%5+1))
		}
		l := bot.Learner{Lang: lang}
		tu := &turn{l: &l, c: c}
		tu.sayLines(lines)
		replies := tu.finish()
		if len(replies) < 2 {
			t.Fatalf("%s: got %d reply, want the lines cut into several", lang, len(replies))
		}
		var got []string
		for i, r := range replies {
			if n := bot.BodyLen(r.Text); n > bot.MaxBody {
				t.Errorf("%s: reply %d: got %d characters, want at most %d", lang, i+1, n, bot.MaxBody)
			}
			if i+1 < len(replies) && bot.BodyLen(r.Text)+60 < bot.MaxBody {
				t.Errorf("%s: reply %d: got %d characters, want it filled before the next one", lang, i+1, bot.BodyLen(r.Text))
			}
			got = append(got, strings.Split(noMarks.Replace(r.Text), "\n")...)
		}
		if diff := cmp.Diff(lines, got); diff != "" {
			t.Errorf("%s: lines (-want +got):\n%s", lang, diff)
		}
	}
}
