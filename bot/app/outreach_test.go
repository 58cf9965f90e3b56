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

// TestOutreachQueuesNudgesAndReviews takes a learner through a lesson on
// the embedded store and checks what the bot queues on its own: a pair of
// nudges pushed back by every message, and the lesson's key question at 1,
// 3 and 7 days after it is finished.
func TestOutreachQueuesNudgesAndReviews(t *testing.T) {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "darsi.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := app.New(s, content(t))
	clock := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	a.Now = func() time.Time { clock = clock.Add(time.Second); return clock }
	a.Outreach = &app.Outreach{Outbox: s, NudgeAfter: 72 * time.Hour, SecondNudgeAfter: 96 * time.Hour, Reviews: app.DefaultReviews}
	ctx := context.Background()
	const who = "whatsapp:+212600000001"
	n := 0
	next := func(text string) {
		n++
		if _, err := a.HandleInbound(ctx, bot.Inbound{ID: "SM" + strconv.Itoa(n), From: who, Channel: bot.WhatsApp, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	jobs := func(kind schedule.Kind) []schedule.Job {
		all, err := s.Jobs(ctx, schedule.Filter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var out []schedule.Job
		for _, j := range all {
			if j.Kind == kind {
				out = append(out, j)
			}
		}
		return out
	}

	for _, text := range []string{"salam", "3", "1", "1"} {
		next(text)
	}
	c := a.Content()
	var finished time.Time
	for i := 0; i < 40; i++ {
		l, err := s.Get(ctx, who)
		if err != nil {
			t.Fatal(err)
		}
		if l.Phase == bot.PhaseDone {
			finished = clock
			break
		}
		st, _ := c.Lessons.Lesson(l.Lesson).Step(l.Step)
		switch {
		case st.Kind == lesson.Question:
			next(strconv.Itoa(st.Correct() + 1))
		case st.InputKind == "text":
			next("tapis")
		default:
			next("25")
		}
	}
	if finished.IsZero() {
		t.Fatal("the lesson never ended")
	}

	nudges := jobs(schedule.Nudge)
	if len(nudges) != 2 {
		t.Fatalf("%d nudges queued, want one pair (each message pushes the same pair back): %+v", len(nudges), nudges)
	}
	for _, j := range nudges {
		gap := j.DueAt.Sub(finished)
		if strings.HasPrefix(j.ID, "nudge1:") && (gap < 72*time.Hour-time.Minute || gap > 72*time.Hour) {
			t.Errorf("first nudge due %v after the last message, want 72h", gap)
		}
		if strings.HasPrefix(j.ID, "nudge2:") && (gap < 168*time.Hour-time.Minute || gap > 168*time.Hour) {
			t.Errorf("second nudge due %v after the last message, want 72h + 96h", gap)
		}
		if j.Status != schedule.Queued || j.Learner != who {
			t.Errorf("nudge %+v", j)
		}
	}

	reviews := jobs(schedule.Review)
	if len(reviews) != 3 {
		t.Fatalf("%d reviews queued, want 3: %+v", len(reviews), reviews)
	}
	key := ""
	for _, st := range c.Lessons.Lesson("costing-1").Steps {
		if st.Kind == lesson.Question {
			key = st.ID
			break
		}
	}
	gaps := map[time.Duration]bool{}
	for _, j := range reviews {
		if j.Lesson != "costing-1" || j.Step != key {
			t.Errorf("review of %s/%s, want costing-1/%s", j.Lesson, j.Step, key)
		}
		gaps[j.DueAt.Sub(finished).Round(time.Hour)] = true
	}
	for _, d := range app.DefaultReviews {
		if !gaps[d] {
			t.Errorf("no review %v after the lesson; due after: %v", d, gaps)
		}
	}

	// More messages queue no more reviews of the same lesson.
	next("menu")
	if got := len(jobs(schedule.Review)); got != 3 {
		t.Errorf("%d reviews after another message, want still 3", got)
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
