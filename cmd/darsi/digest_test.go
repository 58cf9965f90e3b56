package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// coachDigestSID is the coach_digest template of the digest test.
const coachDigestSID = "HX0000000000000000000000000000d1a5"

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// TestCoachDigest runs the daily digest with a fake clock through the
// outbox's runner to the fake Twilio: a coach with a WhatsApp number gets,
// in the configured hour of their local time, one message a day saying how
// many conversations have new questions (the coach_digest template: they
// never wrote to the bot), whatever the number of replicas looking; none
// before the hour, none when nothing is new, none for a coach without a
// number or disabled; quiet hours hold it; inside the coach's window it
// goes as free text.
func TestCoachDigest(t *testing.T) {
	ctx := context.Background()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "darsi.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	casablanca, _ := time.LoadLocation("Africa/Casablanca")
	y, m, d := time.Now().In(casablanca).Date()
	day := func(n, hour, minute int) time.Time { return time.Date(y, m, d+n, hour, minute, 0, 0, casablanca) }
	clock := &fakeClock{t: day(0, 8, 30)}

	cfg := defaultConfig(t)
	policy := cfg.policy()
	content, err := loadContent("")
	if err != nil {
		t.Fatal(err)
	}
	co := newCoaching(cfg, s, func() *dialog.Content { return content }, nil)
	co.Now = clock.Now
	number := "+212600000555"
	fatima, _, err := co.AddCoach(ctx, app.NewCoach{Login: "fatima", Role: cohort.RoleCoach, Password: []byte("fatima-secret-1"), WhatsApp: &number})
	if err != nil {
		t.Fatal(err)
	}
	if fatima.WhatsApp != "whatsapp:"+number {
		t.Fatalf("the coach's number is stored as %q", fatima.WhatsApp)
	}
	// Another coach without a number, another disabled.
	for _, login := range []string{"brahim", "zineb"} {
		other := "+212600000666"
		n := app.NewCoach{Login: login, Role: cohort.RoleCoach, Password: []byte("other-secret-1")}
		if login == "zineb" {
			n.WhatsApp = &other
		}
		if _, _, err := co.AddCoach(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := co.DisableCoach(ctx, app.Operator, "zineb"); err != nil {
		t.Fatal(err)
	}
	if z, _ := s.Coach(ctx, "zineb"); z.WhatsApp != "" {
		t.Errorf("a disabled coach keeps the number %q", z.WhatsApp)
	}
	// A replaced account keeps its number unless told otherwise.
	if again, _, err := co.AddCoach(ctx, app.NewCoach{Login: "fatima", Role: cohort.RoleCoach, Password: []byte("fatima-secret-2")}); err != nil || again.WhatsApp != fatima.WhatsApp {
		t.Errorf("fatima's number after a new password: %q (%v)", again.WhatsApp, err)
	}
	bad := "0612345678"
	if _, _, err := co.AddCoach(ctx, app.NewCoach{Login: "bad", Role: cohort.RoleCoach, Password: []byte("other-secret-1"), WhatsApp: &bad}); bot.KindOf(err) != bot.Invalid || strings.Contains(err.Error(), "0612") {
		t.Errorf("a national number: %v, want Invalid without the number", err)
	}

	for _, login := range []string{"fatima", "brahim", "zineb"} {
		c, _ := s.Coach(ctx, login)
		cohortOf, err := co.CreateCohort(ctx, c, "Cohorte de "+login, "")
		if err != nil {
			t.Fatal(err)
		}
		// One learner of each cohort asked a question.
		if _, err := s.FileInbox(ctx, app.Thread{Key: "L" + strings.Repeat("0", 19) + login[:1], Learner: "whatsapp:+21260000070" + login[:1],
			Cohort: cohortOf.Code, Lang: bot.French}, app.InboxMessage{ID: "q-" + login, Text: "combien ?", At: clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}

	fake := twiliotest.NewFake(t, e2eAccount, e2eToken)
	sender, err := twilio.NewSender(twilio.SenderConfig{AccountSID: e2eAccount, AuthToken: e2eToken, BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	templates, err := schedule.ParseTemplates("templates.yaml", []byte("coach_digest:\n  fr: {sid: "+coachDigestSID+", vars: {\"1\": text, \"2\": coach}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	policy.Templates = templates
	runner, err := schedule.NewRunner(schedule.Config{
		Outbox: s, Learners: s, Sender: sender, Text: content.Text, Deliveries: s, Policy: *policy,
		WhatsAppFrom: "whatsapp:+14155238886", Now: clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Two replicas look every minute.
	replicas := []*app.Digest{
		{Coaching: co, Outbox: s, Hour: 9, Inbox: "https://darsi.example.org/coach/inbox", Now: clock.Now},
		{Coaching: co, Outbox: s, Hour: 9, Inbox: "https://darsi.example.org/coach/inbox", Now: clock.Now},
	}
	look := func(at time.Time) int {
		t.Helper()
		clock.Set(at)
		queued := 0
		for _, dg := range replicas {
			n, err := dg.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			queued += n
		}
		if _, err := runner.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		return queued
	}
	if n := look(day(0, 8, 59)); n != 0 || len(fake.Messages()) != 0 {
		t.Fatalf("before 9:00, %d digests queued, %d sent", n, len(fake.Messages()))
	}
	queued := 0
	for minute := 0; minute < 60; minute += 7 {
		queued += look(day(0, 9, minute))
	}
	msgs := fake.Messages()
	if queued != 1 || len(msgs) != 1 {
		t.Fatalf("in the hour of 9:00, %d digests queued and %d sent, want 1 and 1: %+v", queued, len(msgs), msgs)
	}
	got := msgs[0]
	if got.To != "whatsapp:"+number || got.ContentSID != coachDigestSID || got.Body != "" ||
		got.ContentVariables["1"] != "Darsi : 1 conversation avec une nouvelle question t'attend dans ta boîte. https://darsi.example.org/coach/inbox" ||
		got.ContentVariables["2"] != "fatima" {
		t.Errorf("the digest went as %+v", got)
	}
	if n := look(day(0, 10, 0)); n != 0 || len(fake.Messages()) != 1 {
		t.Errorf("after the hour: %d queued, %d sent in all", n, len(fake.Messages()))
	}

	// The next day: still unread, a new digest; read, none.
	if n := look(day(1, 9, 1)); n != 1 || len(fake.Messages()) != 2 {
		t.Errorf("the next day: %d queued, %d sent in all, want 1 and 2", n, len(fake.Messages()))
	}
	fat, _ := s.Coach(ctx, "fatima")
	page, err := co.Inbox(ctx, fat, "", "", 10)
	if err != nil || len(page.Threads) != 1 {
		t.Fatalf("fatima's inbox: %+v %v", page, err)
	}
	if _, err := co.Thread(ctx, fat, page.Threads[0].Key); err != nil { // reading it marks it read
		t.Fatal(err)
	}
	if n := look(day(2, 9, 0)); n != 0 || len(fake.Messages()) != 2 {
		t.Errorf("nothing new: %d queued, %d sent in all, want none", n, len(fake.Messages()))
	}

	// A new question; quiet hours from 8:00 to 10:00 hold the digest.
	if _, err := s.FileInbox(ctx, app.Thread{Key: page.Threads[0].Key, Learner: "whatsapp:+21260000070f", Cohort: page.Threads[0].Cohort, Lang: bot.French},
		app.InboxMessage{ID: "q-again", Text: "et le loyer ?", At: day(3, 7, 0)}); err != nil {
		t.Fatal(err)
	}
	quiet, err := schedule.ParseQuiet("08:00-10:00")
	if err != nil {
		t.Fatal(err)
	}
	policy.Quiet = quiet
	runner, _ = schedule.NewRunner(schedule.Config{
		Outbox: s, Learners: s, Sender: sender, Text: content.Text, Deliveries: s, Policy: *policy,
		WhatsAppFrom: "whatsapp:+14155238886", Now: clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if n := look(day(3, 9, 0)); n != 1 || len(fake.Messages()) != 2 {
		t.Errorf("in quiet hours: %d queued, %d sent in all, want 1 queued and none sent", n, len(fake.Messages()))
	}
	j, err := s.Job(ctx, app.DigestID("fatima", day(3, 0, 0).Format(time.DateOnly)))
	if err != nil || j.Status != schedule.Queued || !j.DueAt.Equal(day(3, 10, 0)) {
		t.Errorf("the held digest: %+v %v, want queued until 10:00", j, err)
	}
	// The coach wrote to the bot at 9:30 (their number is a learner's):
	// at 10:00 the digest goes as free text.
	if _, err := s.Update(ctx, "whatsapp:"+number, "", func(l *bot.Learner) (app.Change, error) {
		l.Channel, l.Lang, l.Consent, l.LastInboundAt = bot.WhatsApp, bot.French, true, day(3, 9, 30)
		return app.Change{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	look(day(3, 10, 1))
	msgs = fake.Messages()
	if len(msgs) != 3 || msgs[2].ContentSID != "" || !strings.HasPrefix(msgs[2].Body, "Darsi : 1 conversation") {
		t.Errorf("inside the window the digest went as %+v, want free text", msgs[len(msgs)-1])
	}
	for _, m := range msgs {
		if m.To != "whatsapp:"+number {
			t.Errorf("a digest went to %s", bot.Mask(m.To))
		}
	}
}
