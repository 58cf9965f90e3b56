package app_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
)

// coaching returns the coaching use cases and the conversation over one
// fresh embedded store, at a fixed time.
func coaching(t *testing.T) (*app.Coaching, *app.App, *boltstore.Store) {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "darsi.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := content(t)
	clock := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	co := &app.Coaching{Cohorts: s, Members: s, Outbox: s, Content: func() *dialog.Content { return c },
		WhatsAppFrom: "whatsapp:+212522000000", Now: now}
	a := app.New(s, c)
	a.Cohorts = s
	a.Now = now
	return co, a, s
}

// say sends one learner's message through the conversation.
func say(t *testing.T, a *app.App, id, text string) []string {
	t.Helper()
	ch, _ := bot.SplitLearnerID(id)
	res, err := a.HandleInbound(context.Background(), bot.Inbound{ID: id + "/" + text, From: id, Channel: ch, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return bot.Texts(res.Replies)
}

func TestAddCoach(t *testing.T) {
	co, _, s := coaching(t)
	ctx := context.Background()
	c, token, err := co.AddCoach(ctx, app.NewCoach{Login: "Amina", Name: "Amina B.", Role: cohort.RoleCoach, Password: []byte("correct horse battery")})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Coach(ctx, "amina")
	if err != nil {
		t.Fatal(err)
	}
	if stored.Login != "amina" || stored.Name != "Amina B." || stored.Role != cohort.RoleCoach || c.Login != "amina" {
		t.Errorf("stored %+v", stored)
	}
	if err := bcrypt.CompareHashAndPassword(stored.PasswordHash, []byte("correct horse battery")); err != nil {
		t.Errorf("password hash does not verify: %v", err)
	}
	if cost, _ := bcrypt.Cost(stored.PasswordHash); cost != app.BcryptCost {
		t.Errorf("bcrypt cost %d, want %d", cost, app.BcryptCost)
	}
	if !strings.HasPrefix(token, "darsi_") || len(token) < 40 || strings.Contains(stored.TokenHash, token) {
		t.Errorf("token %q, stored hash %q", token, stored.TokenHash)
	}
	if got, err := s.CoachByToken(ctx, cohort.TokenHash(token)); err != nil || got.Login != "amina" {
		t.Errorf("CoachByToken(hash of the returned token) = %+v, %v", got, err)
	}

	// Again: a new password and token, the same creation time; the old
	// token stops working.
	created := stored.CreatedAt
	co.Now = func() time.Time { return created.Add(time.Hour) }
	_, token2, err := co.AddCoach(ctx, app.NewCoach{Login: "amina", Role: cohort.RoleAdmin, Password: []byte("another long password")})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.Coach(ctx, "amina")
	if !again.CreatedAt.Equal(created) || again.Role != cohort.RoleAdmin || again.Name != "Amina B." || token2 == token {
		t.Errorf("replaced account %+v", again)
	}
	if _, err := s.CoachByToken(ctx, cohort.TokenHash(token)); bot.KindOf(err) != bot.NotFound {
		t.Errorf("the old token still works: %v", err)
	}

	for _, bad := range []app.NewCoach{
		{Login: "a", Role: cohort.RoleCoach, Password: []byte("long enough password")},
		{Login: "amina fassi", Role: cohort.RoleCoach, Password: []byte("long enough password")},
		{Login: "amina", Role: "boss", Password: []byte("long enough password")},
		{Login: "amina", Role: cohort.RoleCoach, Password: []byte("short")},
		{Login: "amina", Role: cohort.RoleCoach, Password: []byte(strings.Repeat("x", 73))},
	} {
		if _, _, err := co.AddCoach(ctx, bad); bot.KindOf(err) != bot.Invalid {
			t.Errorf("AddCoach(%q, %q, %d-byte password): got %v, want an Invalid error", bad.Login, bad.Role, len(bad.Password), err)
		}
	}
}

func TestCreateCohort(t *testing.T) {
	co, _, _ := coaching(t)
	ctx := context.Background()
	if _, err := co.CreateCohort(ctx, app.Operator, "Couture Safi", "nobody"); bot.KindOf(err) != bot.Invalid || !strings.Contains(err.Error(), "darsi coach add") {
		t.Errorf("unknown coach: got %v, want Invalid naming darsi coach add", err)
	}
	for _, login := range []string{"amina", "youssef"} {
		if _, _, err := co.AddCoach(ctx, app.NewCoach{Login: login, Role: cohort.RoleCoach, Password: []byte("long enough password")}); err != nil {
			t.Fatal(err)
		}
	}
	amina := cohort.Coach{Login: "amina", Role: cohort.RoleCoach}
	c, err := co.CreateCohort(ctx, app.Operator, "Couture Safi", "amina")
	if err != nil {
		t.Fatal(err)
	}
	if !cohort.ValidCode(c.Code) || c.Coach != "amina" || c.Name != "Couture Safi" {
		t.Errorf("created %+v", c)
	}
	if got, want := co.Link(c.Code), "https://wa.me/212522000000?text=join%20"+c.Code; got != want {
		t.Errorf("link %q, want %q", got, want)
	}
	// A coach's own cohort, by default; never another coach's.
	own, err := co.CreateCohort(ctx, amina, "Tissage", "")
	if err != nil || own.Coach != "amina" {
		t.Errorf("a coach's cohort: %+v, %v", own, err)
	}
	if _, err := co.CreateCohort(ctx, amina, "Poterie", "youssef"); bot.KindOf(err) != bot.Forbidden {
		t.Errorf("a coach creating youssef's cohort: got %v, want Forbidden", err)
	}
	for _, name := range []string{"", "  ", "two\nlines", strings.Repeat("x", app.MaxCohortName+1)} {
		if _, err := co.CreateCohort(ctx, amina, name, ""); bot.KindOf(err) != bot.Invalid {
			t.Errorf("name %q: got %v, want Invalid", name, err)
		}
	}
	// The Operator's cohort without a coach, seen by admins only.
	orphan, err := co.CreateCohort(ctx, app.Operator, "Sans coach", "")
	if err != nil || orphan.Coach != "" {
		t.Errorf("the operator's cohort: %+v, %v", orphan, err)
	}
	if _, err := co.Cohort(ctx, amina, orphan.Code); bot.KindOf(err) != bot.NotFound {
		t.Errorf("a coach sees a cohort not theirs: %v", err)
	}

	list, err := co.ListCohorts(ctx, amina, "")
	codes := []string{}
	for _, l := range list {
		codes = append(codes, l.Code)
	}
	if err != nil || len(list) != 2 || !slices.Contains(codes, c.Code) || !slices.Contains(codes, own.Code) {
		t.Errorf("amina's list: %+v, %v", list, err)
	}
	all, err := co.ListCohorts(ctx, app.Operator, "")
	if err != nil || len(all) != 3 {
		t.Errorf("every cohort: %d, %v", len(all), err)
	}
	// An admin filters by coach; a coach's filter is always themselves.
	if l, _ := co.ListCohorts(ctx, app.Operator, "youssef"); len(l) != 0 {
		t.Errorf("youssef's cohorts: %+v", l)
	}
	if l, _ := co.ListCohorts(ctx, amina, "youssef"); len(l) != 2 {
		t.Errorf("amina asking for youssef's: %+v", l)
	}
}

func TestRemind(t *testing.T) {
	co, a, s := coaching(t)
	ctx := context.Background()
	c, err := co.CreateCohort(ctx, app.Operator, "Couture Safi", "")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := co.CreateCohort(ctx, app.Operator, "Tissage", "")

	// Five learners join by the conversation, one of them in another
	// cohort first; one opts out; one chats from the terminal.
	members := []string{"whatsapp:+212600000001", "whatsapp:+212600000002", "sms:+33600000003", "whatsapp:+212600000004", "whatsapp:+212600000005"}
	for i, id := range members {
		if i == 3 {
			say(t, a, id, "join "+other.Code)
		}
		say(t, a, id, strings.ToLower(c.Code))
		say(t, a, id, "3")
	}
	say(t, a, "whatsapp:+212600000005", "STOP")
	say(t, a, "chat:+212600000006", "rejoindre "+c.Code)
	say(t, a, "whatsapp:+212600000007", "join "+other.Code)

	text := "N'oubliez pas la leçon 2 !"
	res, err := co.Remind(ctx, app.Operator, app.Reminder{Cohort: strings.ToLower(c.Code), Text: text})
	if err != nil {
		t.Fatal(err)
	}
	if res.Queued != 4 || res.OptedOut != 1 || res.Unreachable != 1 || res.Already != 0 {
		t.Errorf("got %+v, want 4 queued, 1 opted out, 1 unreachable", res)
	}
	jobs, _, err := s.Jobs(ctx, schedule.Filter{Cohort: c.Code})
	if err != nil {
		t.Fatal(err)
	}
	var learners []string
	for _, j := range jobs {
		learners = append(learners, j.Learner)
		if j.Kind != schedule.Reminder || j.Status != schedule.Queued || j.Text != text || j.CreatedBy != "darsi" ||
			!j.DueAt.Equal(co.Now()) || j.Cohort != c.Code || j.ID != app.JobID(res.Reminder, s.Keys().Learner(j.Learner)) {
			t.Errorf("job %+v", j)
		}
		if strings.Contains(j.ID, "+") || strings.Contains(j.ID, "2126") {
			t.Errorf("job id %q holds a phone number", j.ID)
		}
	}
	slices.Sort(learners)
	want := slices.Clone(members[:4])
	slices.Sort(want)
	if !slices.Equal(learners, want) {
		t.Errorf("jobs for %q, want %q", learners, want)
	}

	// The same reminder again, the same day: nothing more.
	co.Now = func() time.Time { return time.Date(2026, 3, 2, 22, 0, 0, 0, time.UTC) }
	again, err := co.Remind(ctx, app.Operator, app.Reminder{Cohort: c.Code, Text: "  " + text + "\n"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Queued != 0 || again.Already != 4 || again.Reminder != res.Reminder {
		t.Errorf("again: %+v, want 0 queued, 4 already, reminder %s", again, res.Reminder)
	}
	// Days are the programme's: in April, Morocco is at UTC+1, so 23:30
	// UTC is the next day there.
	co.Now = func() time.Time { return time.Date(2026, 4, 6, 22, 0, 0, 0, time.UTC) }
	april, err := co.Remind(ctx, app.Operator, app.Reminder{Cohort: c.Code, Text: text})
	if err != nil || april.Queued != 4 {
		t.Errorf("in April: %+v, %v; want 4 queued", april, err)
	}
	co.Now = func() time.Time { return time.Date(2026, 4, 6, 23, 30, 0, 0, time.UTC) }
	if next, err := co.Remind(ctx, app.Operator, app.Reminder{Cohort: c.Code, Text: text}); err != nil || next.Queued != 4 || next.Reminder == april.Reminder {
		t.Errorf("the next day in Morocco: %+v, %v; want 4 queued under a new reminder", next, err)
	}
	co.Now = func() time.Time { return time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) }

	// At a given time, with a template and a sender: other jobs.
	at := time.Date(2026, 3, 3, 9, 0, 0, 0, time.FixedZone("", 3600))
	later, err := co.Remind(ctx, app.Operator, app.Reminder{Cohort: c.Code, Text: text, At: at, Template: "reminder_lesson", By: "amina"})
	if err != nil {
		t.Fatal(err)
	}
	if later.Queued != 4 || later.Reminder == res.Reminder || !later.DueAt.Equal(at) {
		t.Errorf("later: %+v", later)
	}
	j, err := s.Job(ctx, app.JobID(later.Reminder, s.Keys().Learner(members[0])))
	if err != nil || !j.DueAt.Equal(at) || j.Template != "reminder_lesson" || j.CreatedBy != "amina" {
		t.Errorf("job %+v, %v", j, err)
	}
	// The same time written in another zone is the same reminder.
	if same, _ := co.Remind(ctx, app.Operator, app.Reminder{Cohort: c.Code, Text: text, At: at.UTC(), Template: "reminder_lesson"}); same.Reminder != later.Reminder || same.Queued != 0 {
		t.Errorf("the same time in UTC: %+v, want reminder %s with nothing queued", same, later.Reminder)
	}
	// An explicit key names the reminder whatever its text.
	k1, _ := co.Remind(ctx, app.Operator, app.Reminder{Cohort: c.Code, Text: "v1", Key: "week-2"})
	k2, _ := co.Remind(ctx, app.Operator, app.Reminder{Cohort: c.Code, Text: "v2, corrected", Key: "week-2"})
	if k1.Queued != 4 || k2.Queued != 0 || k2.Already != 4 {
		t.Errorf("by key: %+v then %+v", k1, k2)
	}

	// Bad input.
	for _, r := range []app.Reminder{
		{Cohort: "ZZ9ZZ9", Text: "x"},
		{Cohort: c.Code, Text: "  "},
		{Cohort: c.Code, Text: strings.Repeat("x", bot.MaxBody+1)},
		{Cohort: c.Code, Text: strings.Repeat("👍", bot.MaxBody/2+1)}, // 1,602 UTF-16 units in 801 characters
		{Cohort: c.Code, Text: "x", Template: "Not A Kind"},
		{Cohort: c.Code, Text: "x", Kind: schedule.Nudge},
		{Cohort: c.Code, Text: "x", At: co.Now().AddDate(2, 0, 0)},
	} {
		if _, err := co.Remind(ctx, app.Operator, r); err == nil {
			t.Errorf("Remind(%+v) succeeded", r)
		}
	}
	// A coach reminds their own cohorts only.
	if _, err := co.Remind(ctx, cohort.Coach{Login: "youssef", Role: cohort.RoleCoach}, app.Reminder{Cohort: c.Code, Text: "x"}); bot.KindOf(err) != bot.NotFound {
		t.Errorf("another coach's cohort: got %v, want NotFound", err)
	}
}

// TestPreviewFollowsThePolicy: the preview says what the outbox will do,
// quiet hours and the window margin included.
func TestPreviewFollowsThePolicy(t *testing.T) {
	co, a, _ := coaching(t)
	ctx := context.Background()
	c, _ := co.CreateCohort(ctx, app.Operator, "Couture Safi", "")
	say(t, a, "whatsapp:+212600000001", c.Code)
	say(t, a, "whatsapp:+212600000001", "3") // wrote at 10:00 UTC, 11:00 in Morocco
	quiet, err := schedule.ParseQuiet("21:00-08:00")
	if err != nil {
		t.Fatal(err)
	}
	co.Policy = &schedule.Policy{Quiet: quiet, ZoneOf: schedule.ZoneOf}
	for _, tt := range []struct {
		name  string
		at    time.Time
		route schedule.Route
		held  bool
	}{
		{"now: free text", time.Time{}, schedule.RouteFree, false},
		// 23:00 in Morocco is quiet: held to 08:00 the next day, when the
		// window (open until 10:00 UTC, 11:00 there) is still open.
		{"late evening, held, still in the window", time.Date(2026, 3, 2, 22, 0, 0, 0, time.UTC), schedule.RouteFree, true},
		// 09:59:30 UTC: within the margin of the window's end.
		{"a minute before the window closes", time.Date(2026, 3, 3, 9, 59, 30, 0, time.UTC), schedule.RouteTemplate, false},
		// 07:00 in Morocco is quiet; by 08:00 there is 07:00 UTC, in the window.
		{"early morning, held", time.Date(2026, 3, 3, 6, 0, 0, 0, time.UTC), schedule.RouteFree, true},
	} {
		plan, err := co.Preview(ctx, app.Operator, app.Reminder{Cohort: c.Code, Text: "Atelier demain", At: tt.at})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Members) != 1 {
			t.Fatalf("%s: %d members, want 1", tt.name, len(plan.Members))
		}
		m := plan.Members[0]
		if m.Route != tt.route || m.Held != tt.held || m.Learner != "whatsapp:+2126******01" {
			t.Errorf("%s: got %s (held %v) for %s, want %s (held %v)", tt.name, m.Route, m.Held, m.Learner, tt.route, tt.held)
		}
		if tt.route == schedule.RouteTemplate && !m.NoTemplate {
			t.Errorf("%s: no templates are configured, yet NoTemplate is not set", tt.name)
		}
		if len(plan.Langs) != len(bot.Langs) || !strings.Contains(plan.Langs[2].Text, "Atelier demain") {
			t.Errorf("%s: previews %+v", tt.name, plan.Langs)
		}
	}
}

func TestDeliveryReportsMoveTheJob(t *testing.T) {
	co, a, s := coaching(t)
	ctx := context.Background()
	c, _ := co.CreateCohort(ctx, app.Operator, "Couture Safi", "")
	say(t, a, "whatsapp:+212600000001", c.Code)
	say(t, a, "whatsapp:+212600000001", "3")
	res, err := co.Remind(ctx, app.Operator, app.Reminder{Cohort: c.Code, Text: "x"})
	if err != nil || res.Queued != 1 {
		t.Fatalf("remind: %+v, %v", res, err)
	}
	id := app.JobID(res.Reminder, s.Keys().Learner("whatsapp:+212600000001"))
	claimed, err := s.Claim(ctx, "w", co.Now().Add(time.Minute), time.Minute, 1)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %d, %v", len(claimed), err)
	}
	j := claimed[0]
	j.Status, j.SID = schedule.Sent, "SM00000000000000000000000000000001"
	if err := s.Settle(ctx, j); err != nil {
		t.Fatal(err)
	}
	reports := app.DeliveryReports{Deliveries: s, Outbox: s}
	applied, err := reports.AdvanceDelivery(ctx, bot.Delivery{SID: j.SID, Status: bot.StatusDelivered, JobID: id, UpdatedAt: co.Now()})
	if err != nil || !applied {
		t.Fatalf("AdvanceDelivery: %v, %v", applied, err)
	}
	if got, _ := s.Job(ctx, id); got.Status != schedule.Delivered {
		t.Errorf("job status %s, want delivered", got.Status)
	}
	// A callback for a job the outbox no longer has is recorded all the same.
	if applied, err := reports.AdvanceDelivery(ctx, bot.Delivery{SID: "SM00000000000000000000000000000002", Status: bot.StatusSent, JobID: "gone"}); err != nil || !applied {
		t.Errorf("a callback for a gone job: %v, %v", applied, err)
	}
}
