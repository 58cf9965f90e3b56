package app_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
)

// finishLesson answers the current lesson of learner who on a until it
// ends, saying each answer with say, and fails tb if it never does.
func finishLesson(tb testing.TB, a *app.App, s app.Store, who string, say func(text string)) {
	tb.Helper()
	c := a.Content()
	for range 40 {
		l, err := s.Get(context.Background(), who)
		if err != nil {
			tb.Fatal(err)
		}
		if l.Phase == bot.PhaseDone {
			return
		}
		st, _ := c.Lessons.Lesson(l.Lesson).Step(l.Step)
		switch {
		case st.Kind == lesson.Question:
			say(strconv.Itoa(st.Correct() + 1))
		case st.Kind == lesson.Survey:
			say("2")
		case st.InputKind == "text":
			say("tapis")
		default:
			say("25")
		}
	}
	tb.Fatal("the lesson never ended")
}

// queuedJobs returns every job of the outbox, by kind.
func queuedJobs(tb testing.TB, s schedule.Outbox) map[schedule.Kind][]schedule.Job {
	tb.Helper()
	out := map[schedule.Kind][]schedule.Job{}
	f := schedule.Filter{Limit: 50}
	for {
		jobs, next, err := s.Jobs(context.Background(), f)
		if err != nil {
			tb.Fatal(err)
		}
		for _, j := range jobs {
			out[j.Kind] = append(out[j.Kind], j)
		}
		if next == "" {
			return out
		}
		f.Cursor = next
	}
}

// TestSweepQueuesNudgesAndReviews takes a learner through a lesson on the
// embedded store and follows what the bot starts on its own: the
// learner's messages queue nothing; sweeps then queue the lesson's key
// question 1, 3 and 7 days after it was finished, and a nudge after 3
// days of silence and another 4 days later, each when it is due and once.
func TestSweepQueuesNudgesAndReviews(t *testing.T) {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "darsi.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := app.New(s, content(t))
	clock := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	a.Now = func() time.Time { clock = clock.Add(time.Second); return clock }
	a.Outreach = &app.Outreach{Outbox: s, Due: s, NudgeAfter: 72 * time.Hour, SecondNudgeAfter: 96 * time.Hour, Reviews: app.DefaultReviews}
	ctx := context.Background()
	const who = "whatsapp:+212600000001"
	n := 0
	say := func(text string) {
		n++
		if _, err := a.HandleInbound(ctx, bot.Inbound{ID: "SM" + strconv.Itoa(n), From: who, Channel: bot.WhatsApp, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	for _, text := range []string{"salam", "3", "1", "1"} {
		say(text)
	}
	finishLesson(t, a, s, who, say)
	finished := clock
	// More messages bring no more reviews of the same lesson.
	say("menu")
	last := clock
	if got := queuedJobs(t, s); len(got) != 0 {
		t.Fatalf("messages queued %d kinds of jobs, want none (the sweep queues them)", len(got))
	}

	key := ""
	for _, st := range a.Content().Lessons.Lesson("costing-1").Steps {
		if st.Kind == lesson.Question {
			key = st.ID
			break
		}
	}
	total := 0
	for _, sw := range []struct {
		at   time.Time
		kind schedule.Kind // queued by the sweep; "" for nothing
	}{
		{finished.Add(22 * time.Hour), ""},
		{finished.Add(app.DefaultReviews[0]), schedule.Review},
		{finished.Add(app.DefaultReviews[0] + time.Hour), ""},
		{finished.Add(app.DefaultReviews[1]), schedule.Review},
		{last.Add(72 * time.Hour), schedule.Nudge},
		{last.Add(100 * time.Hour), ""},
		{finished.Add(app.DefaultReviews[2]), schedule.Review},
		{last.Add(168 * time.Hour), schedule.Nudge},
		{last.Add(1000 * time.Hour), ""},
	} {
		if _, err := a.Sweep(ctx, sw.at); err != nil {
			t.Fatalf("Sweep at %v: %v", sw.at, err)
		}
		jobs := queuedJobs(t, s)
		count := 0
		for _, js := range jobs {
			count += len(js)
		}
		want := total
		if sw.kind != "" {
			want++
		}
		if count != want {
			t.Fatalf("Sweep at %v after the lesson: %d jobs in all, want %d", sw.at.Sub(finished), count, want)
		}
		total = count
		for _, j := range jobs[sw.kind] {
			if !j.DueAt.Equal(sw.at) {
				continue
			}
			if j.Learner != who || j.Status != schedule.Queued || strings.Contains(j.ID, "+") || strings.Contains(j.ID, "212600000001") {
				t.Errorf("job %+v, want one queued for the learner with no phone number in its id", j)
			}
			if j.Kind == schedule.Review && (j.Lesson != "costing-1" || j.Step != key) {
				t.Errorf("review of %s/%s, want costing-1/%s", j.Lesson, j.Step, key)
			}
		}
	}
	got := queuedJobs(t, s)
	if len(got[schedule.Review]) != 3 || len(got[schedule.Nudge]) != 2 {
		t.Errorf("%d reviews and %d nudges queued, want 3 and 2", len(got[schedule.Review]), len(got[schedule.Nudge]))
	}
}

// TestReviewSent: once the outbox sent a review's question, the learner's
// next message answers it; a learner inside a lesson, opted out or gone is
// left alone.
func TestReviewSent(t *testing.T) {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "darsi.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := app.New(s, content(t))
	ctx := context.Background()
	n := 0
	say := func(who, text string) []string {
		n++
		res, err := a.HandleInbound(ctx, bot.Inbound{ID: "SM" + strconv.Itoa(n), From: who, Channel: bot.WhatsApp, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return bot.Texts(res.Replies)
	}
	const menu, inLesson, stopped = "whatsapp:+212600000001", "whatsapp:+212600000002", "whatsapp:+212600000003"
	for _, who := range []string{menu, inLesson, stopped} {
		for _, text := range []string{"salam", "3", "1"} {
			say(who, text)
		}
	}
	say(inLesson, "1")
	say(stopped, "stop")
	const review = "costing-1/what-counts"
	for _, who := range []string{menu, inLesson, stopped, "whatsapp:+212699999999"} {
		if err := a.ReviewSent(ctx, who, review); err != nil {
			t.Fatalf("ReviewSent(%s): %v", who, err)
		}
	}
	for who, want := range map[string]string{menu: review, inLesson: "", stopped: ""} {
		l, err := s.Get(ctx, who)
		if err != nil {
			t.Fatal(err)
		}
		if l.Review != want {
			t.Errorf("%s: review %q, want %q", who, l.Review, want)
		}
	}
	if _, err := s.Get(ctx, "whatsapp:+212699999999"); bot.KindOf(err) != bot.NotFound {
		t.Errorf("a review for an unknown learner created one (err %v)", err)
	}
	replies := strings.Join(say(menu, "2"), "\n")
	if !strings.Contains(replies, "Exactement") {
		t.Errorf("the answer to the review got %q, want the right answer's feedback", replies)
	}
	if l, _ := s.Get(ctx, menu); l.Review != "" || l.Phase != bot.PhaseMenu {
		t.Errorf("after answering: review %q, phase %s; want none, menu", l.Review, l.Phase)
	}
}

// TestOptOut: a learner Twilio reports as opted out gets nothing more; an
// unknown one is not created.
func TestOptOut(t *testing.T) {
	a := newApp(t)
	send(t, a, "SM1", "salam")
	ctx := context.Background()
	for _, id := range []string{"whatsapp:+212600000001", "whatsapp:+212600000001", "whatsapp:+212699999999"} {
		if err := a.OptOut(ctx, id); err != nil {
			t.Fatalf("OptOut(%s): %v", id, err)
		}
	}
	var lines []app.ExportedLearner
	exportAll(t, a, &lines)
	if len(lines) != 1 || !lines[0].OptedOut {
		t.Fatalf("after OptOut: %+v, want the one learner opted out", lines)
	}
}
