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
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
)

// TestFollowupSixWeeksLater: with a fake clock, a learner in a cohort
// completes a course (its survey answered "2" at the end); six weeks later
// the sweep queues the course's follow-up survey, which goes as the
// followup template (the window has closed); the learner answers "1"; the
// cohort's counters hold the baseline and the follow-up answer, dated.
func TestFollowupSixWeeksLater(t *testing.T) {
	clock := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "darsi.db"), boltstore.Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := app.New(s, content(t))
	a.Now = now
	a.Cohorts = s
	a.Outreach = &app.Outreach{Outbox: s, Due: s, Reviews: app.DefaultReviews}
	co := &app.Coaching{Cohorts: s, Members: s, Outbox: s, Content: a.Content, Now: now}
	ctx := context.Background()
	cohort, err := co.CreateCohort(ctx, app.Operator, "Couture Salé", "")
	if err != nil {
		t.Fatal(err)
	}
	const who = "whatsapp:+212600000001"
	n := 0
	say := func(text string) {
		n++
		if _, err := a.HandleInbound(ctx, bot.Inbound{ID: "SM" + strconv.Itoa(n), From: who, Channel: bot.WhatsApp, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	for _, text := range []string{"salam", "3", "1", "join " + cohort.Code, "1"} {
		say(text)
	}
	course := a.Content().Lessons.Course("costing")
	for i := range course.Lessons {
		if i > 0 {
			say("1") // the next lesson
		}
		finishLesson(t, a, s, who, say)
	}
	finished := clock
	l, _ := s.Get(ctx, who)
	f := course.Followups[0]
	if l.Indicators[f.Survey] == "" {
		t.Fatalf("the course's survey was not answered at its end: %v", l.Indicators)
	}
	baseline := l.Indicators[f.Survey]

	// Five weeks on: no follow-up yet; six: the survey.
	followups := func() []schedule.Job { return queuedJobs(t, s)[schedule.Followup] }
	for at := finished.Add(time.Hour); at.Before(finished.Add(5 * 7 * 24 * time.Hour)); at = at.Add(24 * time.Hour) {
		if _, err := a.Sweep(ctx, at); err != nil {
			t.Fatal(err)
		}
	}
	if got := followups(); len(got) != 0 {
		t.Fatalf("a follow-up was queued before six weeks: %+v", got)
	}
	sixWeeks := finished.Add(6*7*24*time.Hour + time.Hour)
	clock = sixWeeks
	if _, err := a.Sweep(ctx, sixWeeks); err != nil {
		t.Fatal(err)
	}
	got := followups()
	if len(got) != 1 || got[0].Lesson != f.Lesson || got[0].Step != f.Step || got[0].Cohort != cohort.Code {
		t.Fatalf("follow-ups after six weeks: %+v, want the survey %s/%s", got, f.Lesson, f.Step)
	}
	// Outside the window: the followup template.
	l, _ = s.Get(ctx, who)
	tmpl, err := schedule.ParseTemplates("t.yaml", []byte("followup:\n  fr: {sid: HX00000000000000000000000000000009, vars: {\"1\": body}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := (&schedule.Policy{Templates: tmpl}).Decide(l, got[0], sixWeeks)
	if d.Route != schedule.RouteTemplate || d.NoTemplate || d.Template.Kind != "followup" {
		t.Errorf("the follow-up goes %+v, want the followup template", d)
	}

	// Sent (as the runner's AfterSend records it); the learner answers.
	if err := a.ReviewSent(ctx, who, dialog.FollowupOf(f.Lesson, f.Step)); err != nil {
		t.Fatal(err)
	}
	say("1")
	l, _ = s.Get(ctx, who)
	if len(l.Followups) != 1 || l.Followups[0].Survey != f.Survey || l.Followups[0].Value == "" || !l.Followups[0].At.After(finished) {
		t.Fatalf("follow-up answers: %+v", l.Followups)
	}
	if l.Indicators[f.Survey] != baseline {
		t.Errorf("the baseline became %q, want %q kept", l.Indicators[f.Survey], baseline)
	}
	// The learner's summary of their data lists the follow-up, dated.
	res, err := a.HandleInbound(ctx, bot.Inbound{ID: "SM-mydata", From: who, Channel: bot.WhatsApp, Text: "mes données"})
	if err != nil {
		t.Fatal(err)
	}
	if all := strings.Join(bot.Texts(res.Replies), "\n"); !strings.Contains(all, "(suivi du "+l.Followups[0].At.Format("02/01/2006")+")") {
		t.Errorf("the summary of the learner's data lacks the follow-up:\n%s", all)
	}
	counts, err := s.CohortCounts(ctx, cohort.Code)
	if err != nil {
		t.Fatal(err)
	}
	if counts[app.CountAnswer+f.Survey+"="+baseline] != 1 || counts[app.CountFollowup+f.Survey+"="+l.Followups[0].Value] != 1 {
		t.Errorf("the cohort's counters %v lack the baseline %s and the follow-up %s", counts, baseline, l.Followups[0].Value)
	}
}
