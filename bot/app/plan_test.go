package app

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/schedule/scheduletest"
	"github.com/darsi-ma/darsi/lessons"
	"github.com/darsi-ma/darsi/locales"
)

// TestPlanFollowsEvents wants plan to read what happened from the events
// alone: reviews for a LessonCompleted whatever the learner's list of
// completed lessons says, none for a retake, nothing at all for a learner
// erased or opted out.
func TestPlanFollowsEvents(t *testing.T) {
	text, err := locale.Load(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := lesson.Load(lessons.FS, "lessons")
	if err != nil {
		t.Fatal(err)
	}
	c := &dialog.Content{Lessons: cat, Text: text}
	o := &Outreach{Outbox: scheduletest.NewMemory(), NudgeAfter: 72 * time.Hour, Reviews: DefaultReviews}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	learner := bot.Learner{ID: "whatsapp:+212600000001", Channel: bot.WhatsApp, Lang: bot.French, Consent: true, Phase: bot.PhaseDone}
	stopped := learner
	stopped.OptedOut = true
	// The learner had completed costing-1 before: only the event says
	// whether this message completed it.
	done := learner
	done.Completed = []bot.Completion{{Lesson: "costing-1", Score: 100, At: now.Add(-time.Hour)}}
	completed := dialog.Event{Kind: dialog.LessonCompleted, Lesson: "costing-1", Score: 50}
	retaken := completed
	retaken.Retake = true

	for _, tc := range []struct {
		name string
		out  dialog.Outcome
		want map[schedule.Kind]int
	}{
		{"a plain message", dialog.Outcome{Learner: done}, map[schedule.Kind]int{schedule.Nudge: 1}},
		{"a lesson completed", dialog.Outcome{Learner: done, Events: []dialog.Event{completed}}, map[schedule.Kind]int{schedule.Nudge: 1, schedule.Review: 3}},
		{"a lesson retaken", dialog.Outcome{Learner: done, Events: []dialog.Event{retaken}}, map[schedule.Kind]int{schedule.Nudge: 1}},
		{"a lesson gone from the catalog", dialog.Outcome{Learner: learner, Events: []dialog.Event{{Kind: dialog.LessonCompleted, Lesson: "gone-1"}}}, map[schedule.Kind]int{schedule.Nudge: 1}},
		{"erased", dialog.Outcome{Learner: done, Events: []dialog.Event{{Kind: dialog.Erased}}}, map[schedule.Kind]int{}},
		{"opted out", dialog.Outcome{Learner: stopped, Events: []dialog.Event{{Kind: dialog.OptedOut}}}, map[schedule.Kind]int{}},
		{"still opted out", dialog.Outcome{Learner: stopped}, map[schedule.Kind]int{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[schedule.Kind]int{}
			for _, j := range o.plan(tc.out, now, c) {
				got[j.Kind]++
				if j.Kind == schedule.Review && (j.Lesson != "costing-1" || j.DueAt.Before(now)) {
					t.Errorf("got review %s/%s due %v, want one of costing-1 after %v", j.Lesson, j.Step, j.DueAt, now)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("jobs by kind differ (-want +got):\n%s", diff)
			}
		})
	}
}
