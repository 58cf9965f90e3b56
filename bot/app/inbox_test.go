package app_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
)

// inboxCoaching is coaching with the inbox, over a store whose clock is
// the use cases' (threads expire by it).
func inboxCoaching(t *testing.T) (*app.Coaching, *app.App, *boltstore.Store) {
	t.Helper()
	clock := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "darsi.db"), boltstore.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := content(t)
	co := &app.Coaching{Cohorts: s, Members: s, Outbox: s, Threads: s, Learners: s, Audit: s,
		Content: func() *dialog.Content { return c }, Now: now}
	a := app.New(s, c)
	a.Cohorts = s
	a.Now = now
	return co, a, s
}

// TestAskCoachLoop: a learner in a cohort asks their coach mid-lesson; the
// question lands in the coach's inbox with the learner's context, not in
// another coach's, and an admin sees it only by the cohort; the coach
// reads it (unread drops) and answers once, through the outbox, whatever
// the form is sent again.
func TestAskCoachLoop(t *testing.T) {
	co, a, s := inboxCoaching(t)
	ctx := context.Background()
	amina := cohort.Coach{Login: "amina", Role: cohort.RoleCoach}
	other := cohort.Coach{Login: "omar", Role: cohort.RoleCoach}
	admin := cohort.Coach{Login: "boss", Role: cohort.RoleAdmin}
	for _, c := range []cohort.Coach{amina, other, admin} {
		if err := s.PutCoach(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	safi, err := co.CreateCohort(ctx, admin, "Couture Safi", "amina")
	if err != nil {
		t.Fatal(err)
	}
	const id = "whatsapp:+212600000001"
	for _, text := range []string{"join " + safi.Code, "3", "1", "١"} {
		say(t, a, id, text)
	}
	replies := say(t, a, id, "coach combien pour l'électricité ?")
	if len(replies) < 2 || !strings.Contains(replies[0], "transmis à ton coach") {
		t.Fatalf("replies = %q, want the learner told it was passed on, then the lesson", replies)
	}
	// The same message delivered again files nothing more.
	say(t, a, id, "coach combien pour l'électricité ?")

	if n, err := co.Unread(ctx, amina); err != nil || n != 1 {
		t.Errorf("amina's unread = %d, %v; want 1", n, err)
	}
	if n, _ := co.Unread(ctx, other); n != 0 {
		t.Errorf("omar's unread = %d, want 0", n)
	}
	if n, _ := co.Unread(ctx, admin); n != 0 {
		t.Errorf("the admin's unread = %d, want 0: the question has a coach", n)
	}
	page, err := co.Inbox(ctx, amina, "", "", 10)
	if err != nil || len(page.Threads) != 1 {
		t.Fatalf("amina's inbox = %+v, %v", page, err)
	}
	key := page.Threads[0].Key
	if strings.Contains(key, "212600000001") || !strings.HasPrefix(key, "L") {
		t.Errorf("thread key %q names the number", key)
	}
	if _, err := co.Thread(ctx, other, key); bot.KindOf(err) != bot.NotFound {
		t.Errorf("another coach reads the thread: %v, want NotFound", err)
	}
	if _, err := co.Answer(ctx, other, key, "hello"); bot.KindOf(err) != bot.NotFound {
		t.Errorf("another coach answers the thread: %v, want NotFound", err)
	}
	// An admin reads it without marking it read for amina.
	if _, err := co.Thread(ctx, admin, key); err != nil {
		t.Errorf("the admin reads the thread: %v", err)
	}
	if n, _ := co.Unread(ctx, amina); n != 1 {
		t.Errorf("amina's unread after the admin read it = %d, want 1", n)
	}

	v, err := co.Thread(ctx, amina, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Messages) != 1 || v.Messages[0].Text != "combien pour l'électricité ?" {
		t.Fatalf("messages = %+v", v.Messages)
	}
	ctxt := v.Messages[0].Context
	if ctxt == nil || ctxt.Lang != bot.French || ctxt.Lesson == "" || ctxt.Step == "" || ctxt.Phase != bot.PhaseLesson {
		t.Errorf("context = %+v, want the learner's language, lesson and step", ctxt)
	}
	if v.Masked != bot.Mask(id) || !v.Reachable {
		t.Errorf("masked %q reachable %v", v.Masked, v.Reachable)
	}
	if v.Answer.Route != schedule.RouteFree {
		t.Errorf("an answer now goes %s, want free text inside the window", v.Answer.Route)
	}
	if n, _ := co.Unread(ctx, amina); n != 0 {
		t.Errorf("amina's unread after reading = %d, want 0", n)
	}

	if _, err := co.Answer(ctx, amina, key, "  "); bot.KindOf(err) != bot.Invalid {
		t.Errorf("an empty answer: %v, want Invalid", err)
	}
	first, err := co.Answer(ctx, amina, key, "Divise la facture par le nombre de pièces.")
	if err != nil {
		t.Fatal(err)
	}
	again, err := co.Answer(ctx, amina, key, "Divise la facture par le nombre de pièces.")
	if err != nil {
		t.Fatal(err)
	}
	if first.Already || !again.Already || first.Job.ID != again.Job.ID {
		t.Errorf("answers: %+v then %+v; want one job, the second call finding it", first, again)
	}
	if first.Job.Kind != schedule.CoachReply || first.Job.Learner != id || strings.Contains(first.Job.ID, "212600000001") {
		t.Errorf("job = %+v", first.Job)
	}
	jobs, _, err := s.Jobs(ctx, schedule.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, j := range jobs {
		if j.Kind == schedule.CoachReply {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d coach_reply jobs queued, want 1", n)
	}
	v, _ = co.Thread(ctx, amina, key)
	if len(v.Messages) != 2 || v.Messages[1].From != "amina" || v.Status[first.Job.ID] != schedule.Queued {
		t.Errorf("thread after the answer = %+v, status %v", v.Messages, v.Status)
	}
	entries, _, _ := s.Audit(ctx, "", 10)
	found := false
	for _, e := range entries {
		if e.Action == app.AuditAnswer && e.Actor == "amina" && e.Target == key {
			found = true
		}
	}
	if !found {
		t.Errorf("no audit entry of the answer in %+v", entries)
	}
}

// TestAskCoachUnassigned: a learner without a cohort asks; admins see the
// question, coaches do not.
func TestAskCoachUnassigned(t *testing.T) {
	co, a, _ := inboxCoaching(t)
	ctx := context.Background()
	for _, text := range []string{"salam", "3", "1", "coach", "Est-ce que je peux changer de cours ?"} {
		say(t, a, "whatsapp:+212600000002", text)
	}
	admin := cohort.Coach{Login: "boss", Role: cohort.RoleAdmin}
	if n, err := co.Unread(ctx, admin); err != nil || n != 1 {
		t.Errorf("the admin's unread = %d, %v; want 1", n, err)
	}
	page, err := co.Inbox(ctx, admin, "", "", 10)
	if err != nil || len(page.Threads) != 1 || page.Threads[0].Messages[0].Text != "Est-ce que je peux changer de cours ?" {
		t.Errorf("the admin's inbox = %+v, %v", page, err)
	}
	if n, _ := co.Unread(ctx, cohort.Coach{Login: "amina", Role: cohort.RoleCoach}); n != 0 {
		t.Errorf("a coach's unread = %d, want 0", n)
	}
}
