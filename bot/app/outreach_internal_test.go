package app

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/lessons"
	"github.com/darsi-ma/darsi/locales"
)

func internalContent(tb testing.TB) *dialog.Content {
	tb.Helper()
	text, err := locale.Load(locales.FS)
	if err != nil {
		tb.Fatal(err)
	}
	cat, err := lesson.Load(lessons.FS, "lessons")
	if err != nil {
		tb.Fatal(err)
	}
	return &dialog.Content{Lessons: cat, Text: text}
}

// reviewsOf returns the lessons of pending reviews, in order.
func reviewsOf(l *bot.Learner) []string {
	var out []string
	for _, r := range l.Outreach.Reviews {
		out = append(out, r.Lesson)
	}
	return out
}

// TestAfterMessageFollowsEvents wants afterMessage to read what happened
// from the events alone: reviews for a LessonCompleted whatever the
// learner's list of completed lessons says, none for a retake or a lesson
// gone from the catalog, and nothing at all pending for a learner the bot
// may not write to (opted out, no consent, the terminal chat).
func TestAfterMessageFollowsEvents(t *testing.T) {
	c := internalContent(t)
	o := &Outreach{NudgeAfter: 72 * time.Hour, SecondNudgeAfter: 96 * time.Hour, Reviews: DefaultReviews}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	learner := bot.Learner{ID: "whatsapp:+212600000001", Channel: bot.WhatsApp, Lang: bot.French, Consent: true,
		Phase: bot.PhaseDone, LastInboundAt: now}
	// The learner had completed costing-1 before: only the event says
	// whether this message completed it.
	done := learner
	done.Completed = []bot.Completion{{Lesson: "costing-1", Score: 100, At: now.Add(-time.Hour)}}
	stopped := done
	stopped.OptedOut = true
	noConsent := learner
	noConsent.Consent = false
	chat := learner
	chat.ID, chat.Channel = "chat:local", bot.Chat
	completed := dialog.Event{Kind: dialog.LessonCompleted, Lesson: "costing-1", Score: 50}
	retaken := completed
	retaken.Retake = true
	nudge := now.Add(72 * time.Hour)

	for _, tc := range []struct {
		name    string
		l       bot.Learner
		events  []dialog.Event
		reviews []string
		at      time.Time
	}{
		{"a plain message", done, nil, nil, nudge},
		{"a lesson completed", done, []dialog.Event{completed}, []string{"costing-1", "costing-1", "costing-1"}, now.Add(DefaultReviews[0])},
		{"a lesson retaken", done, []dialog.Event{retaken}, nil, nudge},
		{"a lesson gone from the catalog", learner, []dialog.Event{{Kind: dialog.LessonCompleted, Lesson: "gone-1"}}, nil, nudge},
		{"opted out", stopped, []dialog.Event{{Kind: dialog.OptedOut}, completed}, nil, time.Time{}},
		{"still opted out", stopped, nil, nil, time.Time{}},
		{"no consent", noConsent, []dialog.Event{completed}, nil, time.Time{}},
		{"the terminal chat", chat, []dialog.Event{completed}, nil, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.l
			l.Outreach = bot.Outreach{Nudges: 2} // a silence before this message
			o.afterMessage(&l, tc.events, now, c)
			if diff := cmp.Diff(reviewsOf(&l), tc.reviews); diff != "" {
				t.Errorf("pending reviews (-got +want):\n%s", diff)
			}
			for i, r := range l.Outreach.Reviews {
				if want := now.Add(DefaultReviews[i]); !r.At.Equal(want) || r.Step == "" {
					t.Errorf("review %d of %s/%s at %v, want a key question at %v", i, r.Lesson, r.Step, r.At, want)
				}
			}
			if !l.Outreach.At.Equal(tc.at) {
				t.Errorf("Outreach.At = %v, want %v", l.Outreach.At, tc.at)
			}
			if l.Outreach.Nudges != 0 {
				t.Errorf("Outreach.Nudges = %d after a message, want 0", l.Outreach.Nudges)
			}
		})
	}
}

// TestAfterMessageKeepsEarlierAt: a message moves Outreach.At only to
// something earlier, so that a learner's message writes no index in the
// common case; and however many lessons a learner completes, their record
// keeps a bounded number of pending reviews.
func TestAfterMessageKeepsEarlierAt(t *testing.T) {
	c := internalContent(t)
	o := &Outreach{NudgeAfter: 72 * time.Hour, Reviews: DefaultReviews}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	l := bot.Learner{ID: "whatsapp:+212600000001", Channel: bot.WhatsApp, Consent: true, LastInboundAt: now}
	o.afterMessage(&l, []dialog.Event{{Kind: dialog.LessonCompleted, Lesson: "costing-1"}}, now, c)
	first := l.Outreach.At
	for i := 1; i <= 5; i++ {
		later := now.Add(time.Duration(i) * time.Hour)
		l.LastInboundAt = later
		var events []dialog.Event
		for _, id := range []string{"cashflow-1", "costing-2", "customers-1"} {
			if les := c.Lessons.Lesson(id); les == nil || len(les.KeyQuestions()) == 0 {
				t.Fatalf("lesson %s is gone or has no key question: pick another", id)
			}
			events = append(events, dialog.Event{Kind: dialog.LessonCompleted, Lesson: id})
		}
		o.afterMessage(&l, events, later, c)
		if !l.Outreach.At.Equal(first) {
			t.Errorf("message %d moved Outreach.At from %v to %v, want it kept (earlier)", i, first, l.Outreach.At)
		}
	}
	// 48 reviews were asked for; the most recent are kept.
	if n := len(l.Outreach.Reviews); n != maxPendingReviews {
		t.Errorf("%d reviews pending, want the bound, %d", n, maxPendingReviews)
	}
	if got := l.Outreach.Reviews[len(l.Outreach.Reviews)-1].Lesson; got != "customers-1" {
		t.Errorf("the last review pending is of %s, want one of the last lesson completed, customers-1", got)
	}
}

// TestDueDecides follows a learner who goes quiet after a lesson: each
// time the index brings them back, due queues what is due and files them
// at the next thing pending; job IDs say what a job is for, never a phone
// number, so that deciding twice queues once.
func TestDueDecides(t *testing.T) {
	c := internalContent(t)
	o := &Outreach{NudgeAfter: 72 * time.Hour, SecondNudgeAfter: 96 * time.Hour, Reviews: DefaultReviews}
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	l := bot.Learner{ID: "whatsapp:+212600000001", Channel: bot.WhatsApp, Lang: bot.French, Consent: true,
		Phase: bot.PhaseDone, LastInboundAt: start}
	o.afterMessage(&l, []dialog.Event{{Kind: dialog.LessonCompleted, Lesson: "costing-1"}}, start, c)

	type step struct {
		after time.Duration // since the last message
		kinds []schedule.Kind
		next  time.Duration // the next Outreach.At since the last message; 0: none
	}
	for _, st := range []step{
		{23 * time.Hour, []schedule.Kind{schedule.Review}, 71 * time.Hour},
		{71 * time.Hour, []schedule.Kind{schedule.Review}, 72 * time.Hour},
		{72 * time.Hour, []schedule.Kind{schedule.Nudge}, 167 * time.Hour},
		{167 * time.Hour, []schedule.Kind{schedule.Review}, 168 * time.Hour},
		{168 * time.Hour, []schedule.Kind{schedule.Nudge}, 0},
	} {
		now := start.Add(st.after)
		again := l
		again.Outreach.Reviews = append([]bot.PendingReview(nil), l.Outreach.Reviews...)
		jobs := o.due(&l, now, testKeys)
		var kinds []schedule.Kind
		for _, j := range jobs {
			kinds = append(kinds, j.Kind)
			if strings.Contains(j.ID, "+") || strings.Contains(j.ID, "212600000001") {
				t.Errorf("job id %q holds the phone number", j.ID)
			}
			if j.Learner != l.ID || !j.DueAt.Equal(now) || j.CreatedBy != "darsi" {
				t.Errorf("job %+v, want one for %s due at %v", j, bot.Mask(l.ID), now)
			}
			if j.Kind == schedule.Review && j.Lesson != "costing-1" {
				t.Errorf("review of %s/%s, want one of costing-1", j.Lesson, j.Step)
			}
		}
		if diff := cmp.Diff(kinds, st.kinds); diff != "" {
			t.Errorf("due %v after the last message: kinds (-got +want):\n%s", st.after, diff)
		}
		var next time.Time
		if st.next != 0 {
			next = start.Add(st.next)
		}
		if !l.Outreach.At.Equal(next) {
			t.Errorf("due %v after the last message: next At %v, want %v", st.after, l.Outreach.At, next)
		}
		// Deciding again on the same state queues the same jobs.
		if diff := cmp.Diff(o.due(&again, now, testKeys), jobs); diff != "" {
			t.Errorf("due %v after the last message, decided twice (-again +first):\n%s", st.after, diff)
		}
	}
}

// TestDueHoldsReviews: inside a lesson no review comes (it waits, and the
// learner is looked at again later); several reviews due at once come one
// at a time.
func TestDueHoldsReviews(t *testing.T) {
	o := &Outreach{Reviews: DefaultReviews}
	now := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	l := bot.Learner{ID: "whatsapp:+212600000001", Channel: bot.WhatsApp, Consent: true, Phase: bot.PhaseLesson,
		LastInboundAt: now.Add(-time.Hour)}
	l.Outreach.Reviews = []bot.PendingReview{
		{Lesson: "cashflow-1", Step: "q2", At: now.Add(-time.Hour)},
		{Lesson: "costing-1", Step: "q1", At: now.Add(-2 * time.Hour)},
	}
	if jobs := o.due(&l, now, testKeys); len(jobs) != 0 {
		t.Errorf("due inside a lesson queued %d jobs, want none", len(jobs))
	}
	if want := now.Add(reviewHold); !l.Outreach.At.Equal(want) || len(l.Outreach.Reviews) != 2 {
		t.Errorf("inside a lesson: At %v with %d reviews, want %v with both kept", l.Outreach.At, len(l.Outreach.Reviews), want)
	}

	l.Phase = bot.PhaseMenu
	jobs := o.due(&l, now, testKeys)
	if len(jobs) != 1 || jobs[0].Lesson != "costing-1" {
		t.Fatalf("due at the menu: %+v, want the earliest review (costing-1) alone", jobs)
	}
	if want := now.Add(reviewHold); len(l.Outreach.Reviews) != 1 || !l.Outreach.Reviews[0].At.Equal(want) || !l.Outreach.At.Equal(want) {
		t.Errorf("after one review: %+v, At %v; want cashflow-1 held until %v", l.Outreach.Reviews, l.Outreach.At, want)
	}

	l.OptedOut = true
	if jobs := o.due(&l, now.Add(reviewHold), testKeys); len(jobs) != 0 || !cmp.Equal(l.Outreach, bot.Outreach{}) {
		t.Errorf("due for an opted-out learner: %d jobs, outreach %+v; want none, nothing pending", len(jobs), l.Outreach)
	}
}

// testKeys are the Keys of the package's tests.
var testKeys = NewKeys([]byte("the secret of bot/app's tests, 32+ bytes"))
