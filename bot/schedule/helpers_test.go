package schedule_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/schedule/scheduletest"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
	"github.com/darsi-ma/darsi/locales"
)

const (
	testAccount  = "AC00000000000000000000000000000001"
	testToken    = "token0123456789"
	whatsAppFrom = "whatsapp:+212500000000"
	smsFrom      = "+212500000001"
	publicURL    = "https://darsi.example"
)

// countingSender counts the calls of Sent (lookups before a resend).
type countingSender struct {
	schedule.Sender
	lookups atomic.Int32
}

func (c *countingSender) Sent(ctx context.Context, to string, since time.Time) ([]bot.Delivery, error) {
	c.lookups.Add(1)
	return c.Sender.Sent(ctx, to, since)
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// learners is a schedule.Learners in memory.
type learners struct {
	mu sync.Mutex
	m  map[string]bot.Learner
}

func (s *learners) Get(ctx context.Context, id string) (bot.Learner, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.m[id]
	if !ok {
		return bot.Learner{}, bot.Errorf("learners.Get", bot.NotFound, "no learner %s", id)
	}
	return l, nil
}

func (s *learners) put(ls ...bot.Learner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]bot.Learner{}
	}
	for _, l := range ls {
		s.m[l.ID] = l
	}
}

var (
	bundleOnce sync.Once
	bundle     *locale.Bundle
	bundleErr  error
)

func texts(tb testing.TB) *locale.Bundle {
	tb.Helper()
	bundleOnce.Do(func() { bundle, bundleErr = locale.Load(locales.FS) })
	if bundleErr != nil {
		tb.Fatal(bundleErr)
	}
	return bundle
}

// env is a runner's world: a fake Twilio, the real twilio.Sender pointed at
// it, a memory outbox, learners and a clock.
type env struct {
	tb       testing.TB
	fake     *twiliotest.Fake
	sender   *countingSender
	outbox   *scheduletest.Memory
	learners *learners
	clock    *clock
}

// casablancaMorning is a weekday morning in Morocco, outside quiet hours:
// Tuesday 10 March 2026, 09:00 local (+00: Ramadan).
var casablancaMorning = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

func newEnv(tb testing.TB) *env {
	tb.Helper()
	e := &env{
		tb:       tb,
		fake:     twiliotest.NewFake(tb, testAccount, testToken),
		outbox:   scheduletest.NewMemory(),
		learners: &learners{},
		clock:    &clock{t: casablancaMorning},
	}
	e.fake.SetClock(e.clock.Now)
	e.outbox.SetClock(e.clock.Now)
	s, err := twilio.NewSender(twilio.SenderConfig{
		AccountSID: testAccount, AuthToken: testToken, BaseURL: e.fake.URL,
		Timeout: 2 * time.Second, Now: e.clock.Now,
	})
	if err != nil {
		tb.Fatal(err)
	}
	e.sender = &countingSender{Sender: s}
	return e
}

// config is a runner's configuration in env, with the default quiet hours.
func (e *env) config() schedule.Config {
	q, err := schedule.ParseQuiet(schedule.DefaultQuietHours)
	if err != nil {
		e.tb.Fatal(err)
	}
	return schedule.Config{
		Outbox:       e.outbox,
		Learners:     e.learners,
		Sender:       e.sender,
		Deliveries:   e.outbox,
		Text:         texts(e.tb),
		Policy:       schedule.Policy{Templates: testTemplates(e.tb), Quiet: q},
		WhatsAppFrom: whatsAppFrom,
		SMSFrom:      smsFrom,
		PublicURL:    publicURL,
		Worker:       "replica-1",
		Now:          e.clock.Now,
	}
}

func (e *env) runner(cfg schedule.Config) *schedule.Runner {
	e.tb.Helper()
	r, err := schedule.NewRunner(cfg)
	if err != nil {
		e.tb.Fatal(err)
	}
	return r
}

// drain runs r until a claim finds nothing due.
func (e *env) drain(r *schedule.Runner) {
	e.tb.Helper()
	for range 1000 {
		n, err := r.RunOnce(context.Background())
		if err != nil {
			e.tb.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	e.tb.Fatal("runner never ran out of due jobs")
}

func (e *env) enqueue(jobs ...schedule.Job) {
	e.tb.Helper()
	for i := range jobs {
		if jobs[i].DueAt.IsZero() {
			jobs[i].DueAt = e.clock.Now()
		}
	}
	if _, err := e.outbox.Enqueue(context.Background(), jobs...); err != nil {
		e.tb.Fatal(err)
	}
}

func (e *env) job(id string) schedule.Job {
	e.tb.Helper()
	j, err := e.outbox.Job(context.Background(), id)
	if err != nil {
		e.tb.Fatal(err)
	}
	return j
}

// sentTo returns the messages the fake accepted for a recipient.
func (e *env) sentTo(to string) []twiliotest.FakeMessage {
	var out []twiliotest.FakeMessage
	for _, m := range e.fake.Messages() {
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}

// whatsApp returns a French-speaking WhatsApp learner whose last message
// came `ago` before now (0: never).
func (e *env) whatsApp(n int, lang bot.Lang, ago time.Duration) bot.Learner {
	id := bot.LearnerID(bot.WhatsApp, fmt.Sprintf("+2126%08d", n))
	l := bot.Learner{ID: id, Channel: bot.WhatsApp, Lang: lang, Consent: true}
	if ago > 0 {
		l.LastInboundAt = e.clock.Now().Add(-ago)
	}
	e.learners.put(l)
	return l
}

const templatesYAML = `# test templates
reminder:
  fr: {sid: HX00000000000000000000000000000001, vars: {"1": text}}
  ary:
    sid: HX00000000000000000000000000000002
    vars: {"1": name, "2": text}
nudge:
  fr: {sid: HX00000000000000000000000000000003, vars: {"1": name}}
event:
  fr: {sid: HX00000000000000000000000000000004, vars: {"1": cohort, "2": text}}
`

func testTemplates(tb testing.TB) *schedule.Templates {
	tb.Helper()
	t, err := schedule.ParseTemplates("templates.yaml", []byte(templatesYAML))
	if err != nil {
		tb.Fatal(err)
	}
	return t
}
