package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/redisstore"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// e2eAccount is the Twilio account the end-to-end replicas use.
const e2eAccount = "AC00000000000000000000000000000000"

// killLearner is one seeded learner of TestOutboxSurvivesAKilledReplica.
type killLearner struct {
	id       string
	toronto  bool // +1 number: inside the quiet hours for the whole test
	inWindow bool // wrote within the last 24 hours
	optedOut bool
	// stopped: opted out after the reminder was queued; the replicas
	// must see it at send time.
	stopped bool
}

// TestOutboxSurvivesAKilledReplica queues 10,000 reminders with
// "darsi remind", lets two Redis-backed replicas deliver them to a fake
// Twilio API, and kills one replica (SIGKILL) in the middle. The fake must
// receive each deliverable reminder exactly once: as free text inside the
// 24-hour window and as the template outside it, nothing for opted-out
// learners, and nothing for learners whose local time is inside the quiet
// hours (numbers in Canada, whose clock is hours behind Morocco's: the
// quiet range is set around their time of day), nor for learners who
// opted out after the reminder was queued.
func TestOutboxSurvivesAKilledReplica(t *testing.T) {
	const total = 10000
	store := e2eRedis(t)
	ctx := context.Background()
	now := time.Now()

	// Quiet hours: from 30 minutes before to 90 minutes after Toronto's
	// time now, which is four to six hours away from Casablanca's.
	toronto, _ := time.LoadLocation("America/Toronto")
	casablanca, _ := time.LoadLocation("Africa/Casablanca")
	tn := now.In(toronto)
	from, to := tn.Add(-30*time.Minute), tn.Add(90*time.Minute)
	quiet := from.Format("15:04") + "-" + to.Format("15:04")
	q, err := schedule.ParseQuiet(quiet)
	if err != nil {
		t.Fatal(err)
	}
	if !q.Next(now, casablanca).Equal(now) {
		t.Fatalf("quiet hours %s cover Casablanca's time too (%s)", quiet, now.In(casablanca).Format("15:04"))
	}

	// The cohort, from the CLI.
	out := runDarsi(t, store, "cohort", "create", "Coopérative Tafraout", "--json")
	var created struct{ Code, Link string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Code == "" {
		t.Fatalf("cohort create --json printed %q (%v)", out, err)
	}

	// The learners, written straight into the store.
	s, err := redisstore.Open(ctx, store, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	learners := make([]killLearner, total)
	for i := range learners {
		k := killLearner{toronto: i%10 == 3, inWindow: i%2 == 0, optedOut: i%50 == 7, stopped: i%50 == 11}
		if k.toronto {
			k.id = fmt.Sprintf("whatsapp:+1514555%04d", i)
		} else {
			k.id = fmt.Sprintf("whatsapp:+2126%08d", i)
		}
		learners[i] = k
	}
	var seed sync.WaitGroup
	slots := make(chan struct{}, 8)
	errs := make(chan error, len(learners))
	for i, k := range learners {
		slots <- struct{}{}
		seed.Go(func() {
			defer func() { <-slots }()
			last := now.Add(-2 * time.Hour)
			if !k.inWindow {
				last = now.Add(-72 * time.Hour)
			}
			lang := bot.Langs[i%len(bot.Langs)]
			_, err := s.Update(ctx, k.id, "", func(l *bot.Learner) (app.Change, error) {
				l.Channel, l.Lang, l.Consent, l.OptedOut = bot.WhatsApp, lang, true, k.optedOut
				l.Cohort, l.Phase, l.LastInboundAt, l.UpdatedAt = created.Code, bot.PhaseMenu, last, last
				return app.Change{}, nil
			})
			if err != nil {
				errs <- err
			}
		})
	}
	seed.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	seeded := time.Now()
	// The reminder, from the CLI.
	out = runDarsi(t, store, "remind", "--cohort", created.Code, "--text", "Rendez-vous samedi au souk à 10 h.")
	if !strings.Contains(out, fmt.Sprint(total-total/50)) {
		t.Fatalf("darsi remind printed %q, want %d queued (the opted-out left out)", out, total-total/50)
	}

	// Some learners send STOP after the reminder was queued.
	for _, k := range learners {
		if !k.stopped {
			continue
		}
		if _, err := s.Update(ctx, k.id, "", func(l *bot.Learner) (app.Change, error) {
			l.OptedOut = true
			return app.Change{}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	// Two replicas on a fake Twilio.
	fake := twiliotest.NewFake(t, e2eAccount, e2eToken)
	templates := filepath.Join(t.TempDir(), "templates.yaml")
	var tpl strings.Builder
	tpl.WriteString("reminder:\n")
	for i, lang := range bot.Langs {
		fmt.Fprintf(&tpl, "  %s: {sid: HX%032d, vars: {\"1\": text}}\n", lang, i+1)
	}
	if err := os.WriteFile(templates, []byte(tpl.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TWILIO_API_BASE_URL", fake.URL)
	t.Setenv("TWILIO_WHATSAPP_FROM", "whatsapp:+212500000000")
	t.Setenv("DARSI_TEMPLATES", templates)
	t.Setenv("DARSI_QUIET_HOURS", quiet)
	t.Setenv("DARSI_SEND_RATE", "1500")
	t.Setenv("DARSI_OUTBOX_LEASE", "3s")
	queued := time.Now()
	a := startReplica(t, store)
	startReplica(t, store)

	want := 0
	for _, k := range learners {
		if !k.toronto && !k.optedOut && !k.stopped {
			want++
		}
	}
	deadline := time.Now().Add(90 * time.Second)
	for len(fake.Messages()) < want/3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d reminders sent before the kill", len(fake.Messages()), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.cmd.Process.Kill()
	a.cmd.Wait()
	killedAt := len(fake.Messages())

	for len(fake.Messages()) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d reminders sent in time (%d before the kill)", len(fake.Messages()), want, killedAt)
		}
		time.Sleep(50 * time.Millisecond)
	}
	delivered := time.Now()
	// Longer than a lease: a job the killed replica held comes back now,
	// and must not be sent again.
	time.Sleep(5 * time.Second)
	msgs := fake.Messages()
	t.Logf("%d reminders delivered, %d before the kill; seeding %v, queueing %v, delivering %v",
		len(msgs), killedAt, seeded.Sub(now).Round(time.Millisecond), queued.Sub(seeded).Round(time.Millisecond), delivered.Sub(queued).Round(time.Millisecond))

	byTo := map[string][]twiliotest.FakeMessage{}
	for _, m := range msgs {
		byTo[m.To] = append(byTo[m.To], m)
	}
	for _, k := range learners {
		got := byTo[k.id]
		switch {
		case k.optedOut || k.stopped || k.toronto:
			if len(got) != 0 {
				t.Errorf("%s (opted out %v, stopped %v, Toronto %v) got %d messages", k.id, k.optedOut, k.stopped, k.toronto, len(got))
			}
		case len(got) != 1:
			t.Errorf("%s got %d messages, want exactly 1", k.id, len(got))
		case k.inWindow && (got[0].ContentSID != "" || !strings.Contains(got[0].Body, "souk")):
			t.Errorf("%s is inside the window but got template %q body %q", k.id, got[0].ContentSID, got[0].Body)
		case !k.inWindow && (got[0].ContentSID == "" || got[0].Body != ""):
			t.Errorf("%s is outside the window but got free text %q", k.id, got[0].Body)
		}
	}
	for _, m := range msgs {
		loc := schedule.ZoneOf(bot.Learner{ID: m.To})
		if loc == nil {
			loc = casablanca
		}
		if !q.Next(m.At, loc).Equal(m.At) {
			t.Errorf("message to %s sent at %s local time, inside the quiet hours %s", m.To, m.At.In(loc).Format("15:04"), quiet)
		}
	}

	// Every Toronto job waits for the end of the quiet hours.
	jobs, _, err := s.Jobs(ctx, schedule.Filter{Cohort: created.Code, Status: []schedule.Status{schedule.Queued}, Limit: total})
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, j := range jobs {
		if strings.HasPrefix(j.Learner, "whatsapp:+1") {
			held++
			if !j.DueAt.After(to.Add(-time.Minute)) {
				t.Errorf("job %s for %s is due at %s, inside the quiet hours", j.ID, j.Learner, j.DueAt.In(toronto).Format("15:04"))
			}
		}
	}
	if wantHeld := total/10 - total/10/25; held < wantHeld-5 {
		t.Errorf("%d Toronto reminders held for the quiet hours, want about %d", held, wantHeld)
	}
}

// runDarsi runs the darsi binary with args on store and returns its
// standard output; it fails the test on a non-zero exit.
func runDarsi(t *testing.T, store string, args ...string) string {
	t.Helper()
	cmd := exec.Command(darsiBinary(t), args...)
	cmd.Env = append(os.Environ(), "DARSI_STORE="+store, "TWILIO_WHATSAPP_FROM=whatsapp:+212500000000")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("darsi %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}
