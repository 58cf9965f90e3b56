package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
)

func reminder(id string, l bot.Learner, text string) schedule.Job {
	return schedule.Job{ID: id, Kind: schedule.Reminder, Learner: l.ID, Text: text, Cohort: "K7Q2", CreatedBy: "coach@example.org"}
}

// TestWindowAndTemplate checks the choice between free text and a
// template: free text inside WhatsApp's 24-hour window and for SMS, the
// kind's template outside it, and nothing at all without a template.
func TestWindowAndTemplate(t *testing.T) {
	e := newEnv(t)
	inside := e.whatsApp(1, bot.French, time.Hour)
	outside := e.whatsApp(2, bot.French, 25*time.Hour)
	never := e.whatsApp(3, bot.Darija, 0)
	never.Vars = map[string]string{"name": "Amina"}
	e.learners.put(never)
	noTemplate := e.whatsApp(4, bot.Tamazight, 30*time.Hour)
	closing := e.whatsApp(5, bot.French, 24*time.Hour-30*time.Second) // closes during the send
	override := e.whatsApp(6, bot.French, 48*time.Hour)
	darija := e.whatsApp(7, bot.Darija, time.Minute)
	nudged := e.whatsApp(8, bot.French, 72*time.Hour)
	sms := bot.Learner{ID: bot.LearnerID(bot.SMS, "+33612345678"), Channel: bot.SMS, Lang: bot.French}
	e.learners.put(sms)

	text := "Rendez-vous samedi à 10h\npour l'atelier."
	override.Cohort = "K7Q2"
	e.enqueue(
		reminder("in", inside, text),
		reminder("out", outside, text),
		reminder("never", never, text),
		reminder("none", noTemplate, text),
		reminder("closing", closing, text),
		schedule.Job{ID: "override", Kind: schedule.Broadcast, Template: "event", Learner: override.ID, Text: text, Cohort: "K7Q2"},
		reminder("darija", darija, "Ghda f 10"),
		reminder("sms", sms, text),
		schedule.Job{ID: "nudge", Kind: schedule.Nudge, Learner: nudged.ID},
	)
	e.drain(e.runner(e.config()))

	type sent struct {
		Body, ContentSID, From string
		Vars                   map[string]string
		Callback               string
	}
	one := func(to string) sent {
		t.Helper()
		ms := e.sentTo(to)
		if len(ms) != 1 {
			t.Fatalf("%s got %d messages, want 1", to, len(ms))
		}
		m := ms[0]
		return sent{m.Body, m.ContentSID, m.From, m.ContentVariables, m.StatusCallback}
	}
	wants := []struct {
		job       string
		to        string
		want      sent
		templated bool
	}{
		{"in", inside.ID, sent{Body: "Message de ton coach : " + text, From: whatsAppFrom, Callback: publicURL + "/twilio/status?job=in"}, false},
		{"out", outside.ID, sent{ContentSID: "HX00000000000000000000000000000001", From: whatsAppFrom,
			Vars: map[string]string{"1": "Rendez-vous samedi à 10h pour l'atelier."}, Callback: publicURL + "/twilio/status?job=out"}, true},
		{"never", never.ID, sent{ContentSID: "HX00000000000000000000000000000002", From: whatsAppFrom,
			Vars: map[string]string{"1": "Amina", "2": "Rendez-vous samedi à 10h pour l'atelier."}, Callback: publicURL + "/twilio/status?job=never"}, true},
		{"closing", closing.ID, sent{ContentSID: "HX00000000000000000000000000000001", From: whatsAppFrom,
			Vars: map[string]string{"1": "Rendez-vous samedi à 10h pour l'atelier."}, Callback: publicURL + "/twilio/status?job=closing"}, true},
		{"override", override.ID, sent{ContentSID: "HX00000000000000000000000000000004", From: whatsAppFrom,
			Vars: map[string]string{"1": "K7Q2", "2": "Rendez-vous samedi à 10h pour l'atelier."}, Callback: publicURL + "/twilio/status?job=override"}, true},
		{"sms", "+33612345678", sent{Body: "Message de ton coach : " + text, From: smsFrom, Callback: publicURL + "/twilio/status?job=sms"}, false},
	}
	for _, w := range wants {
		got := one(w.to)
		if diff := cmp.Diff(w.want, got); diff != "" {
			t.Errorf("job %s: message (-want +got):\n%s", w.job, diff)
		}
		j := e.job(w.job)
		if j.Status != schedule.Sent || j.SID == "" || j.Templated != w.templated || j.Reason != "" {
			t.Errorf("job %s: status %s, SID %q, templated %v, reason %q; want sent with a SID, templated %v",
				w.job, j.Status, j.SID, j.Templated, j.Reason, w.templated)
		}
	}

	// Darija goes out right to left, framed in Darija.
	if got := one(darija.ID).Body; !strings.HasPrefix(got, "\u200f") || !strings.Contains(got, "الكوتش") {
		t.Errorf("Darija body %q: want an RLM first and the Darija frame", got)
	}
	// Nudges use their own template, never free text outside the window.
	if got := one(nudged.ID); got.ContentSID != "HX00000000000000000000000000000003" || got.Body != "" || got.Vars["1"] != "-" {
		t.Errorf("nudge outside the window: %+v, want the nudge template with \"-\" for the unknown name", got)
	}
	if j := e.job("nudge"); j.Status != schedule.Sent || !j.Templated {
		t.Errorf("nudge: %s, templated %v; want sent as a template", j.Status, j.Templated)
	}

	// No template for zgh: nothing sent, failed with the reason.
	if ms := e.sentTo(noTemplate.ID); len(ms) != 0 {
		t.Errorf("sent %d messages without a template outside the window", len(ms))
	}
	if j := e.job("none"); j.Status != schedule.Failed || j.Reason != "window closed and no template" {
		t.Errorf("job none: %s %q, want failed \"window closed and no template\"", j.Status, j.Reason)
	}
}

// TestOptedOutAndErased: nothing goes to a learner who opted out or whose
// data was erased.
func TestOptedOutAndErased(t *testing.T) {
	e := newEnv(t)
	out := e.whatsApp(1, bot.French, time.Hour)
	out.OptedOut = true
	e.learners.put(out)
	e.enqueue(
		reminder("opted-out", out, "hello"),
		schedule.Job{ID: "erased", Kind: schedule.Nudge, Learner: "whatsapp:+212699999999"},
	)
	e.drain(e.runner(e.config()))
	if n := len(e.fake.Messages()); n != 0 {
		t.Errorf("sent %d messages, want none", n)
	}
	for id, reason := range map[string]string{"opted-out": "opted out", "erased": "no learner"} {
		if j := e.job(id); j.Status != schedule.Failed || j.Reason != reason {
			t.Errorf("job %s: %s %q, want failed %q", id, j.Status, j.Reason, reason)
		}
	}
}

// TestQuietHold: a job due in quiet hours goes back to the queue until
// the next allowed time in the learner's zone, and goes out then.
func TestQuietHold(t *testing.T) {
	loc := casablanca(t)
	tests := []struct {
		name     string
		now      time.Time
		wantDue  time.Time
		wantUTCh int
	}{
		{"night before Ramadan", local(loc, 2026, 2, 13, 21, 30), local(loc, 2026, 2, 14, 8, 0), 7},
		{"night Ramadan starts", local(loc, 2026, 2, 14, 21, 30), local(loc, 2026, 2, 15, 8, 0), 8},
		{"Friday prayer", local(loc, 2026, 4, 10, 13, 0), local(loc, 2026, 4, 10, 14, 30), 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.clock.Set(tt.now)
			l := e.whatsApp(1, bot.French, time.Hour)
			e.enqueue(reminder("r", l, "hello"))
			r := e.runner(e.config())
			e.drain(r)
			j := e.job("r")
			if j.Status != schedule.Queued || !j.DueAt.Equal(tt.wantDue) || j.DueAt.UTC().Hour() != tt.wantUTCh {
				t.Fatalf("got %s due %s, want queued due %s (%02d:00 UTC)", j.Status, j.DueAt, tt.wantDue, tt.wantUTCh)
			}
			if !j.ClaimedAt.IsZero() {
				t.Errorf("ClaimedAt %s kept on a job that was not sent", j.ClaimedAt)
			}
			if !strings.HasPrefix(j.Reason, "quiet hours until") {
				t.Errorf("reason %q, want quiet hours", j.Reason)
			}
			if n := len(e.fake.Messages()); n != 0 {
				t.Fatalf("sent %d messages in quiet hours", n)
			}
			e.clock.Set(tt.wantDue.Add(-time.Second))
			e.drain(r)
			if n := len(e.fake.Messages()); n != 0 {
				t.Fatalf("sent %d messages before the hold ended", n)
			}
			e.clock.Set(tt.wantDue)
			e.drain(r)
			ms := e.fake.Messages()
			if len(ms) != 1 || !ms[0].At.Equal(tt.wantDue) {
				t.Fatalf("got %d messages (%v), want 1 at %s", len(ms), ms, tt.wantDue)
			}
			if j := e.job("r"); j.Status != schedule.Sent || j.Reason != "" {
				t.Errorf("got %s %q, want sent", j.Status, j.Reason)
			}
			if n := e.sender.lookups.Load(); n != 0 {
				t.Errorf("looked in Twilio's list %d times for a job that was held, not sent", n)
			}
		})
	}
}

// TestThrottlingRetry: 63018 and HTTP 429 put the job back with a backoff;
// it goes out once later, without a lookup (Twilio refused the first send).
func TestThrottlingRetry(t *testing.T) {
	tests := []struct {
		name         string
		code, status int
		lookups      int32 // a 5xx may come after Twilio took the message
	}{
		{"63018", 63018, 429, 0},
		{"HTTP 429", 20429, 429, 0},
		{"HTTP 503", 20500, 503, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			l := e.whatsApp(1, bot.French, time.Hour)
			e.fake.FailNext(l.ID, tt.code, tt.status)
			e.fake.FailNext(l.ID, tt.code, tt.status)
			e.enqueue(reminder("r", l, "hello"))
			cfg := e.config()
			cfg.Backoff = time.Minute
			r := e.runner(cfg)

			start := e.clock.Now()
			e.drain(r)
			j := e.job("r")
			if j.Status != schedule.Queued || j.DueAt.Before(start.Add(time.Minute)) || j.DueAt.After(start.Add(66*time.Second)) {
				t.Fatalf("after the first refusal: %s due %s, want queued due in 1 min (+10%% jitter)", j.Status, j.DueAt.Sub(start))
			}
			if !strings.Contains(j.Reason, fmt.Sprint(tt.code)) {
				t.Errorf("reason %q does not name %d", j.Reason, tt.code)
			}
			e.clock.Set(j.DueAt)
			e.drain(r)
			j = e.job("r")
			if j.Status != schedule.Queued || j.DueAt.Sub(e.clock.Now()) < 2*time.Minute {
				t.Fatalf("after the second refusal: %s due in %s, want queued with a doubled backoff", j.Status, j.DueAt.Sub(e.clock.Now()))
			}
			e.clock.Set(j.DueAt)
			e.drain(r)
			if ms := e.sentTo(l.ID); len(ms) != 1 {
				t.Fatalf("got %d messages, want 1", len(ms))
			}
			if j := e.job("r"); j.Status != schedule.Sent || j.Attempts != 3 {
				t.Errorf("got %s after %d attempts, want sent after 3", j.Status, j.Attempts)
			}
			if n := e.sender.lookups.Load(); n != tt.lookups {
				t.Errorf("looked in Twilio's list %d times, want %d", n, tt.lookups)
			}
		})
	}
}

// TestTimeoutLooksBeforeResending: a send that timed out may have gone
// out, so the retry looks in Twilio's list first.
func TestTimeoutLooksBeforeResending(t *testing.T) {
	e := newEnv(t)
	l := e.whatsApp(1, bot.French, time.Hour)
	e.enqueue(reminder("r", l, "hello"))
	cfg := e.config()
	e.fake.SetDelay(3 * time.Second) // longer than the sender's 2 s timeout
	e.drain(e.runner(cfg))
	e.fake.SetDelay(0)
	j := e.job("r")
	if j.Status != schedule.Queued || j.ClaimedAt.IsZero() {
		t.Fatalf("after a timeout: %s, ClaimedAt %s; want queued, ClaimedAt kept", j.Status, j.ClaimedAt)
	}
	e.clock.Set(j.DueAt)
	e.drain(e.runner(cfg))
	if n := e.sender.lookups.Load(); n != 1 {
		t.Errorf("%d lookups, want 1", n)
	}
	if ms := e.sentTo(l.ID); len(ms) != 1 {
		t.Errorf("got %d messages, want 1", len(ms))
	}
}

// TestGiveUp: permanent errors fail the job at once with the reason;
// throttling forever fails it after MaxAttempts.
func TestGiveUp(t *testing.T) {
	tests := []struct {
		name         string
		lang         bot.Lang
		code, status int
		wantReason   string
		wantSent     int // messages that went out in the end
	}{
		{"opted out", bot.French, 21610, 400, "opted out (twilio error 21610)", 0},
		{"window closed, no template", bot.Tamazight, 63016, 400, "window closed and no template (twilio error 63016)", 0},
		{"window closed, template", bot.French, 63016, 400, "", 1},
		{"invalid number", bot.French, 21211, 400, "twilio error 21211: ", 0},
		{"not a mobile", bot.French, 21614, 400, "twilio error 21614: ", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			l := e.whatsApp(1, tt.lang, time.Hour) // inside the window as far as we know
			e.fake.FailNext(l.ID, tt.code, tt.status)
			e.enqueue(reminder("r", l, "hello"))
			cfg := e.config()
			var optedOut []string
			cfg.OptedOut = func(ctx context.Context, learner string) error {
				optedOut = append(optedOut, learner)
				return nil
			}
			e.drain(e.runner(cfg))
			if want := tt.code == 21610; (len(optedOut) == 1 && optedOut[0] == l.ID) != want {
				t.Errorf("opt-outs heard: %v; want the learner's: %v", optedOut, want)
			}
			j := e.job("r")
			ms := e.sentTo(l.ID)
			if len(ms) != tt.wantSent {
				t.Errorf("got %d messages, want %d", len(ms), tt.wantSent)
			}
			if tt.wantSent == 0 {
				if j.Status != schedule.Failed || !strings.HasPrefix(j.Reason, tt.wantReason) {
					t.Errorf("got %s %q, want failed %q", j.Status, j.Reason, tt.wantReason)
				}
				return
			}
			if j.Status != schedule.Sent || !j.Templated || ms[0].ContentSID == "" || ms[0].Body != "" {
				t.Errorf("got %s templated %v, message %+v; want sent as a template", j.Status, j.Templated, ms[0])
			}
		})
	}

	t.Run("throttled forever", func(t *testing.T) {
		e := newEnv(t)
		l := e.whatsApp(1, bot.French, time.Hour)
		for range 5 {
			e.fake.FailNext(l.ID, 63018, 429)
		}
		e.enqueue(reminder("r", l, "hello"))
		cfg := e.config()
		cfg.MaxAttempts = 3
		r := e.runner(cfg)
		for range 5 {
			e.drain(r)
			e.clock.Add(time.Hour)
		}
		j := e.job("r")
		if want := "gave up after 3 attempts: twilio error 63018"; j.Status != schedule.Failed || !strings.HasPrefix(j.Reason, want) {
			t.Errorf("got %s %q, want failed %q", j.Status, j.Reason, want)
		}
		if ms := e.fake.Messages(); len(ms) != 0 {
			t.Errorf("got %d messages, want none", len(ms))
		}
	})
}

// dyingOutbox is the outbox of a replica that dies right after sending:
// its Settle never reaches the store.
type dyingOutbox struct{ schedule.Outbox }

func (dyingOutbox) Settle(ctx context.Context, j schedule.Job) error {
	return errors.New("replica killed")
}

// TestCrashRecovery: a replica claims a job, sends it and dies before
// Settle. After the lease, another replica takes the job over, finds the
// message in Twilio's list and does not send it again.
func TestCrashRecovery(t *testing.T) {
	tests := []struct {
		name string
		// recorded: the dead replica recorded the send's SID with its job
		// before dying.
		recorded bool
		// sent: the dead replica got as far as the send.
		sent bool
		// other: another job's message to the same learner went out after
		// the claim.
		other bool
		// relang: the learner chose another language between the send
		// and the takeover, which frames the coach's words otherwise.
		relang bool
		want   int // messages to the learner in the end
	}{
		{"sent, recorded", true, true, false, false, 1},
		{"sent, not recorded", false, true, false, false, 1},
		{"sent, recorded, another job's message too", true, true, true, false, 2},
		{"died before sending", false, false, false, false, 1},
		{"died before sending, another job's message since", false, false, true, false, 2},
		{"sent, not recorded, the learner chose Arabic since", false, true, false, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			l := e.whatsApp(1, bot.French, time.Hour)
			e.enqueue(reminder("r", l, "hello"))
			cfg := e.config()
			cfg.Lease = 30 * time.Second

			dead := cfg
			dead.Worker = "replica-dead"
			dead.Outbox = dyingOutbox{e.outbox}
			if !tt.recorded {
				dead.Deliveries = nil
			}
			if tt.sent {
				if _, err := e.runner(dead).RunOnce(context.Background()); err != nil {
					t.Fatal(err)
				}
			} else {
				if _, err := e.outbox.Claim(context.Background(), "replica-dead", e.clock.Now(), cfg.Lease, 10); err != nil {
					t.Fatal(err)
				}
			}
			if j := e.job("r"); j.Status != schedule.Claimed || j.Worker != "replica-dead" {
				t.Fatalf("after the crash: %s by %s, want claimed by replica-dead", j.Status, j.Worker)
			}
			var firstSID string
			if ms := e.sentTo(l.ID); tt.sent && len(ms) == 1 {
				firstSID = ms[0].SID
			}
			if tt.relang {
				l.Lang = bot.Arabic
				e.learners.put(l)
			}
			if tt.other {
				// Another job's reminder, sent and recorded by a live replica.
				e.clock.Add(time.Second)
				e.enqueue(reminder("other", l, "another"))
				other := e.config()
				other.Worker = "replica-other"
				if _, err := e.runner(other).RunOnce(context.Background()); err != nil {
					t.Fatal(err)
				}
				if j := e.job("other"); j.Status != schedule.Sent {
					t.Fatalf("other job: %s, want sent", j.Status)
				}
			}

			// Before the lease runs out, nobody takes the job over.
			live := e.runner(cfg)
			e.clock.Add(10 * time.Second)
			e.drain(live)
			if j := e.job("r"); j.Worker != "replica-dead" {
				t.Fatalf("job taken over by %s inside the lease", j.Worker)
			}
			e.clock.Add(cfg.Lease)
			e.drain(live)

			j := e.job("r")
			if j.Status != schedule.Sent || j.Attempts != 2 || j.SID == "" {
				t.Fatalf("after the takeover: %s, %d attempts, SID %q; want sent after 2", j.Status, j.Attempts, j.SID)
			}
			if firstSID != "" && j.SID != firstSID {
				t.Errorf("SID %s, want the dead replica's %s", j.SID, firstSID)
			}
			if ms := e.sentTo(l.ID); len(ms) != tt.want {
				t.Errorf("%d messages to the learner, want %d", len(ms), tt.want)
			}
			if tt.other {
				if other := e.job("other"); other.SID == j.SID {
					t.Errorf("the job took over the other job's message %s", j.SID)
				}
			}
			if n := e.sender.lookups.Load(); n != 1 {
				t.Errorf("%d lookups, want 1", n)
			}
			d, err := e.outbox.Delivery(context.Background(), j.SID)
			if err != nil || d.JobID != "r" {
				t.Errorf("delivery %s: %+v, %v; want recorded for job r", j.SID, d, err)
			}
		})
	}
}

// TestReplicas: two runners on one outbox send each of 400 jobs once.
func TestReplicas(t *testing.T) {
	e := newEnv(t)
	var jobs []schedule.Job
	for i := range 400 {
		l := e.whatsApp(i, bot.French, time.Hour)
		jobs = append(jobs, reminder(fmt.Sprintf("r%03d", i), l, "hello"))
	}
	e.enqueue(jobs...)
	var wg sync.WaitGroup
	for i := range 2 {
		cfg := e.config()
		cfg.Worker = fmt.Sprintf("replica-%d", i)
		cfg.Batch = 7
		r := e.runner(cfg)
		wg.Go(func() { e.drain(r) })
	}
	wg.Wait()
	seen := map[string]int{}
	for _, m := range e.fake.Messages() {
		seen[m.To]++
	}
	if len(seen) != 400 {
		t.Errorf("%d learners got a message, want 400", len(seen))
	}
	for to, n := range seen {
		if n != 1 {
			t.Errorf("%s got %d messages", to, n)
		}
	}
	sent, _, err := e.outbox.Jobs(context.Background(), schedule.Filter{Status: []schedule.Status{schedule.Sent}, Limit: 1000})
	if err != nil || len(sent) != 400 {
		t.Errorf("%d jobs sent (%v), want 400", len(sent), err)
	}
}

// TestRateLimit: a runner sending 300 jobs at 100 a second is measured,
// by the times the fake Twilio received them, within 10% of the setting.
func TestRateLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 3 s")
	}
	const jobs, rate = 300, 100
	e := newEnv(t)
	e.fake.SetClock(time.Now)
	e.outbox.SetClock(time.Now)
	var js []schedule.Job
	now := time.Now()
	for i := range jobs {
		l := bot.Learner{ID: bot.LearnerID(bot.WhatsApp, fmt.Sprintf("+2126%08d", i)), Channel: bot.WhatsApp, Lang: bot.French, LastInboundAt: now}
		e.learners.put(l)
		js = append(js, schedule.Job{ID: fmt.Sprint(i), Kind: schedule.Reminder, Learner: l.ID, Text: "hello", DueAt: now})
	}
	if _, err := e.outbox.Enqueue(context.Background(), js...); err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	cfg.Now = time.Now
	cfg.Policy.Quiet = schedule.Quiet{}
	cfg.Limiter = e.outbox
	cfg.Rate = rate
	cfg.Poll = 10 * time.Millisecond
	r := e.runner(cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	for len(e.fake.Messages()) < jobs && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ms := e.fake.Messages()
	if len(ms) != jobs {
		t.Fatalf("got %d messages, want %d", len(ms), jobs)
	}
	first, last := ms[0].At, ms[0].At
	for _, m := range ms {
		if m.At.Before(first) {
			first = m.At
		}
		if m.At.After(last) {
			last = m.At
		}
	}
	measured := float64(jobs-1) / last.Sub(first).Seconds()
	t.Logf("%d messages in %s: %.1f a second (setting %d)", jobs, last.Sub(first), measured, rate)
	// Never faster than the setting: that is what keeps a sender within
	// Twilio's limits. Slower happens when the machine is busy; the lower
	// bound only catches a runner that waits far longer than the limiter
	// asks.
	if measured > rate*1.1 {
		t.Errorf("measured %.1f messages a second, want at most %d + 10%%", measured, rate)
	}
	if measured < rate*0.5 {
		t.Errorf("measured %.1f messages a second, want at least half of %d", measured, rate)
	}
}

func TestRunStops(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.Poll = time.Hour
	r := e.runner(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestNewRunnerErrors(t *testing.T) {
	e := newEnv(t)
	for name, mod := range map[string]func(*schedule.Config){
		"no outbox":      func(c *schedule.Config) { c.Outbox = nil },
		"no sender":      func(c *schedule.Config) { c.Sender = nil },
		"negative rate":  func(c *schedule.Config) { c.Rate = -1 },
		"bad public URL": func(c *schedule.Config) { c.PublicURL = "darsi.example" },
	} {
		cfg := e.config()
		mod(&cfg)
		if _, err := schedule.NewRunner(cfg); bot.KindOf(err) != bot.Invalid {
			t.Errorf("%s: got %v, want an Invalid error", name, err)
		}
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	cfg := e.config()
	cfg.Registerer = reg
	ok := e.whatsApp(1, bot.French, time.Hour)
	out := e.whatsApp(2, bot.French, time.Hour)
	out.OptedOut = true
	e.learners.put(out)
	e.enqueue(reminder("a", ok, "hello"), reminder("b", out, "hello"))
	e.drain(e.runner(cfg))
	// A second runner on the same registry shares the counter.
	e.runner(cfg)

	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "darsi_outbox_jobs_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					got[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	if diff := cmp.Diff(map[string]float64{"sent": 1, "failed": 1}, got); diff != "" {
		t.Errorf("darsi_outbox_jobs_total (-want +got):\n%s", diff)
	}
}

// TestStatusCallback: the StatusCallback URL brings Twilio's report back
// to the job.
func TestStatusCallback(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/twilio/status" {
			http.NotFound(w, r)
			return
		}
		code, _ := strconv.Atoi(r.PostFormValue("ErrorCode"))
		status := bot.DeliveryStatus(r.PostFormValue("MessageStatus"))
		if err := e.outbox.Delivered(r.Context(), r.URL.Query().Get("job"), status, code); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	cfg := e.config()
	cfg.PublicURL = srv.URL + "/"
	l := e.whatsApp(1, bot.French, time.Hour)
	e.enqueue(reminder("job/1 ?&", l, "hello"))
	e.drain(e.runner(cfg))
	j := e.job("job/1 ?&")
	if err := e.fake.Callback(context.Background(), j.SID, bot.StatusDelivered, 0); err != nil {
		t.Fatal(err)
	}
	if j := e.job("job/1 ?&"); j.Status != schedule.Delivered {
		t.Errorf("after the callback: %s, want delivered", j.Status)
	}
}

func TestRender(t *testing.T) {
	b := texts(t)
	for _, lang := range bot.Langs {
		for _, j := range []schedule.Job{
			{Kind: schedule.Reminder, Text: "Atelier samedi"},
			{Kind: schedule.Broadcast, Text: "Atelier samedi"},
			{Kind: schedule.Nudge},
			{Kind: schedule.Review, Lesson: "costing-1"},
		} {
			got, err := schedule.Render(b, lang, j)
			if err != nil || got == "" {
				t.Errorf("Render(%s, %s) = %q, %v", lang, j.Kind, got, err)
			}
			if j.Text != "" && !strings.Contains(got, j.Text) {
				t.Errorf("Render(%s, %s) = %q, want the coach's text in it", lang, j.Kind, got)
			}
			if j.Lesson != "" && !strings.Contains(got, j.Lesson) {
				t.Errorf("Render(%s, %s) = %q, want the lesson in it", lang, j.Kind, got)
			}
		}
	}
	for name, j := range map[string]schedule.Job{
		"unknown kind": {Kind: "poem", Text: "x"},
		"no text":      {Kind: schedule.Reminder, Text: "  "},
		"too long":     {Kind: schedule.Reminder, Text: strings.Repeat("a", 1600)},
		// 900 runes, but 1,600 of Twilio's units before the frame.
		"too long in emoji": {Kind: schedule.Reminder, Text: strings.Repeat("👍", 700) + strings.Repeat("a", 200)},
	} {
		if _, err := schedule.Render(b, bot.French, j); bot.KindOf(err) != bot.Invalid {
			t.Errorf("%s: got %v, want an Invalid error", name, err)
		}
	}
}

// TestReviewAndLessonTitle: a review names its lesson by title, in the
// text and in the "lesson" template variable.
func TestReviewAndLessonTitle(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.LessonTitle = func(lang bot.Lang, lesson string) string { return "Calculer ses prix (" + string(lang) + ")" }
	tpl, err := schedule.ParseTemplates("t.yaml", []byte(`review: {fr: {sid: HX00000000000000000000000000000009, vars: {"1": lesson}}}`))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Policy.Templates = tpl
	in := e.whatsApp(1, bot.French, time.Hour)
	out := e.whatsApp(2, bot.French, 0)
	e.enqueue(
		schedule.Job{ID: "in", Kind: schedule.Review, Learner: in.ID, Lesson: "costing-1"},
		schedule.Job{ID: "out", Kind: schedule.Review, Learner: out.ID, Lesson: "costing-1"},
	)
	e.drain(e.runner(cfg))
	if ms := e.sentTo(in.ID); len(ms) != 1 || !strings.Contains(ms[0].Body, "Calculer ses prix (fr)") {
		t.Errorf("review inside the window: %+v", ms)
	}
	if ms := e.sentTo(out.ID); len(ms) != 1 || ms[0].ContentVariables["1"] != "Calculer ses prix (fr)" {
		t.Errorf("review outside the window: %+v", ms)
	}
}

// TestRunReleasesOnStop: jobs waiting for the rate limiter when the runner
// stops go back to the queue at once, not after their lease.
func TestRunReleasesOnStop(t *testing.T) {
	e := newEnv(t)
	var js []schedule.Job
	for i := range 6 {
		l := e.whatsApp(i, bot.French, time.Hour)
		js = append(js, reminder(fmt.Sprint(i), l, "hello"))
	}
	e.enqueue(js...)
	cfg := e.config()
	cfg.Limiter = &schedule.LocalLimiter{}
	cfg.Rate = 1
	cfg.Now = time.Now // the limiter waits on the real clock
	cfg.Policy.Quiet = schedule.Quiet{}
	e.fake.SetClock(time.Now)
	r := e.runner(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	sent := len(e.fake.Messages())
	if sent == 0 || sent == len(js) {
		t.Fatalf("%d of %d sent in 300 ms at 1 a second; want a burst, not all", sent, len(js))
	}
	all, _, err := e.outbox.Jobs(context.Background(), schedule.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[schedule.Status]int{}
	for _, j := range all {
		counts[j.Status]++
		if j.Status == schedule.Queued && (j.Reason != "runner stopped" || !j.ClaimedAt.IsZero()) {
			t.Errorf("job %s: reason %q, ClaimedAt %s; want \"runner stopped\" and no ClaimedAt", j.ID, j.Reason, j.ClaimedAt)
		}
	}
	if want := map[schedule.Status]int{schedule.Sent: sent, schedule.Queued: len(js) - sent}; !cmp.Equal(want, counts) {
		t.Errorf("statuses %v, want %v", counts, want)
	}
}

// TestNudgeDroppedWhenLearnerWrote: a nudge queued before the learner's
// last message is not sent (that message queued newer ones); one queued
// after it is.
func TestNudgeDroppedWhenLearnerWrote(t *testing.T) {
	e := newEnv(t)
	l := e.whatsApp(1, bot.French, time.Hour)
	now := e.clock.Now()
	e.enqueue(
		schedule.Job{ID: "stale", Kind: schedule.Nudge, Learner: l.ID, DueAt: now, CreatedAt: l.LastInboundAt.Add(-time.Minute)},
		schedule.Job{ID: "fresh", Kind: schedule.Nudge, Learner: l.ID, DueAt: now, CreatedAt: l.LastInboundAt.Add(time.Second)},
	)
	e.drain(e.runner(e.config()))
	if j := e.job("stale"); j.Status != schedule.Failed || j.SID != "" || !strings.Contains(j.Reason, "wrote since") {
		t.Errorf("stale nudge: %s %q, want failed, unsent, because the learner wrote since", j.Status, j.Reason)
	}
	if j := e.job("fresh"); j.Status != schedule.Sent {
		t.Errorf("fresh nudge: %s %q, want sent", j.Status, j.Reason)
	}
	if n := len(e.fake.Messages()); n != 1 {
		t.Errorf("%d messages sent, want 1", n)
	}
}

// TestReviewWaitsForTheLesson: a review due while its learner is inside a
// lesson waits; once sent, AfterSend hears of it, with the job.
func TestReviewWaitsForTheLesson(t *testing.T) {
	e := newEnv(t)
	busy := e.whatsApp(1, bot.French, time.Minute)
	busy.Phase = bot.PhaseLesson
	e.learners.put(busy)
	free := e.whatsApp(2, bot.French, time.Minute)
	now := e.clock.Now()
	e.enqueue(
		schedule.Job{ID: "busy", Kind: schedule.Review, Learner: busy.ID, Lesson: "costing-1", Step: "what-counts", DueAt: now},
		schedule.Job{ID: "free", Kind: schedule.Review, Learner: free.ID, Lesson: "costing-1", Step: "what-counts", DueAt: now},
	)
	cfg := e.config()
	var after []string
	cfg.AfterSend = func(ctx context.Context, j schedule.Job) error {
		after = append(after, j.ID+" "+string(j.Status))
		return nil
	}
	cfg.Compose = func(l bot.Learner, j schedule.Job) (string, bool) { return "Question ?\n1. Oui\n2. Non", true }
	cfg.ReviewHold = 2 * time.Hour
	e.drain(e.runner(cfg))
	if j := e.job("busy"); j.Status != schedule.Queued || !j.DueAt.Equal(now.Add(2*time.Hour)) || len(e.sentTo(busy.ID)) != 0 {
		t.Errorf("review during a lesson: %s due %s, %d sent; want queued 2 h later, none sent", j.Status, j.DueAt, len(e.sentTo(busy.ID)))
	}
	if got := e.sentTo(free.ID); len(got) != 1 || got[0].Body != "Question ?\n1. Oui\n2. Non" {
		t.Errorf("review: sent %+v, want the composed question", got)
	}
	if len(after) != 1 || after[0] != "free sent" {
		t.Errorf("AfterSend heard %q, want the sent review only", after)
	}
}

// TestCrashRecoveryIgnoresConversationReplies: a replica dies holding a
// job before sending it; meanwhile the bot answered the learner in the
// conversation (a message the outbox does not own). The replica that takes
// the job over must not take that reply for the job's message.
func TestCrashRecoveryIgnoresConversationReplies(t *testing.T) {
	e := newEnv(t)
	l := e.whatsApp(1, bot.French, time.Hour)
	e.enqueue(reminder("r", l, "hello"))
	cfg := e.config()
	cfg.Lease = 30 * time.Second
	if _, err := e.outbox.Claim(context.Background(), "replica-dead", e.clock.Now(), cfg.Lease, 10); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Second)
	if _, err := e.sender.Send(context.Background(), bot.Outbound{To: l.ID, From: whatsAppFrom, Body: "Choisis un cours : réponds avec son numéro."}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(cfg.Lease)
	e.drain(e.runner(cfg))
	j := e.job("r")
	ms := e.sentTo(l.ID)
	if j.Status != schedule.Sent || len(ms) != 2 || ms[1].SID != j.SID || !strings.Contains(ms[1].Body, "hello") {
		t.Errorf("after the takeover: job %s (SID %s), messages %+v; want the reminder sent after the reply", j.Status, j.SID, ms)
	}
}

// TestRenderIsolatesTheCoachsWords: French words in a Darija or Arabic
// frame go in a first-strong isolate, so that a phone shows them left to
// right inside the right-to-left line; a French frame needs none.
func TestRenderIsolatesTheCoachsWords(t *testing.T) {
	words := "Atelier demain à 10 h, apportez vos carnets."
	j := schedule.Job{Kind: schedule.Reminder, Text: words}
	for _, lang := range []bot.Lang{bot.Darija, bot.Arabic} {
		got, err := schedule.Render(texts(t), lang, j)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got, "\u200f") || !strings.Contains(got, "\u2068"+words+"\u2069") {
			t.Errorf("%s: %q, want an RLM first and the words isolated", lang, got)
		}
	}
	got, err := schedule.Render(texts(t), bot.French, j)
	if err != nil {
		t.Fatal(err)
	}
	if got != "Message de ton coach : "+words {
		t.Errorf("French: %q", got)
	}
}

// TestRenderMarksTheCoachsArabicWords: a coach's words in Arabic script are
// marked like the frame, so that a sum in them reads as written, and no
// isolate is nested in another.
func TestRenderMarksTheCoachsArabicWords(t *testing.T) {
	j := schedule.Job{Kind: schedule.Reminder, Text: "احسبوا 300 ÷ 20 = 15\nو 10 × 3 = 30 قبل الورشة"}
	for _, lang := range []bot.Lang{bot.Darija, bot.Arabic} {
		got, err := schedule.Render(texts(t), lang, j)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(got, "\n")
		if len(lines) != 2 || !strings.HasSuffix(lines[0], "احسبوا \u2066300 ÷ 20 = 15\u2069") || lines[1] != "\u200fو \u206610 × 3 = 30\u2069 قبل الورشة" {
			t.Errorf("%s: %q, want each line with an RLM and each sum in one isolate", lang, got)
		}
		if strings.Contains(got, "\u2068") || strings.Count(got, "\u2066") != 2 || strings.Count(got, "\u2069") != 2 {
			t.Errorf("%s: %q, want two isolates, none nested", lang, got)
		}
	}
}

// TestSendEndsWithinTheLease: a send that Twilio is slow to answer is
// given up before the claim's lease runs out, so that no other claim of
// the job can start while it is still in flight; the next claim finds the
// message in Twilio's list instead of sending it again.
func TestSendEndsWithinTheLease(t *testing.T) {
	e := newEnv(t)
	l := e.whatsApp(1, bot.French, time.Hour)
	e.enqueue(reminder("r", l, "hello"))
	cfg := e.config()
	cfg.Lease = 600 * time.Millisecond
	e.fake.SetDelay(1500 * time.Millisecond) // longer than the lease, shorter than the sender's timeout
	start := time.Now()
	e.drain(e.runner(cfg))
	if took := time.Since(start); took >= cfg.Lease+cfg.Lease/2 {
		t.Errorf("the claim took %v with a %v lease; want the send given up within the lease", took, cfg.Lease)
	}
	e.fake.SetDelay(0)
	j := e.job("r")
	if j.Status != schedule.Queued || j.ClaimedAt.IsZero() {
		t.Fatalf("after the given-up send: %s, ClaimedAt %s; want queued, ClaimedAt kept", j.Status, j.ClaimedAt)
	}
	time.Sleep(time.Second) // the slow request reaches the fake Twilio meanwhile
	e.clock.Set(j.DueAt)
	e.drain(e.runner(cfg))
	if n := e.sender.lookups.Load(); n != 1 {
		t.Errorf("%d lookups, want 1", n)
	}
	if ms := e.sentTo(l.ID); len(ms) != 1 {
		t.Errorf("got %d messages, want 1", len(ms))
	}
}
