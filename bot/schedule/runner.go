package schedule

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/locale"
)

// Learners finds the learner a job is for. app.Store implements it.
type Learners interface {
	// Get returns the learner, or an error of kind NotFound.
	Get(ctx context.Context, id string) (bot.Learner, error)
}

// Deliveries records which job sent which Twilio message. app.Deliveries
// (both stores) and scheduletest.Memory implement it.
type Deliveries interface {
	AdvanceDelivery(ctx context.Context, d bot.Delivery) (bool, error)
	// Delivery returns what is stored for a MessageSid, or an error of
	// kind NotFound.
	Delivery(ctx context.Context, sid string) (bot.Delivery, error)
}

// Limiter is the rate limit every replica shares. The stores implement it;
// LocalLimiter does for one process.
type Limiter interface {
	// Allow reports whether one more send under key fits in perSecond at
	// now and, if not, how long to wait before asking again.
	Allow(ctx context.Context, key string, perSecond int, now time.Time) (bool, time.Duration, error)
}

// Sender sends messages over Twilio's REST API. twilio.Sender implements
// it; cmd/darsi hands one to the Runner, since this package may not import
// the Twilio adapter.
type Sender interface {
	// Send sends m. Its errors are *bot.SendError; any other error is
	// taken as RetryLater from a send that may have gone out.
	Send(ctx context.Context, m bot.Outbound) (bot.Delivery, error)
	// Sent lists the messages sent to `to` since the given time, newest
	// first.
	Sent(ctx context.Context, to string, since time.Time) ([]bot.Delivery, error)
}

// reason is how a job's Reason names a failed send: by Twilio's error code,
// else by the HTTP status, else as no answer at all.
func reason(se *bot.SendError) string {
	if se.Code != 0 {
		return "twilio error " + strconv.Itoa(se.Code)
	}
	if se.HTTPStatus != 0 {
		return "twilio HTTP " + strconv.Itoa(se.HTTPStatus)
	}
	return "twilio unreachable"
}

// replyWait is how long a reply waits for the reply before it to go.
const replyWait = time.Second

// Defaults of Config.
const (
	DefaultLease       = 45 * time.Second
	DefaultBatch       = 50
	DefaultConcurrency = 8
	DefaultPoll        = time.Second
	DefaultMaxAttempts = 10
	DefaultBackoff     = 30 * time.Second
	DefaultMaxBackoff  = time.Hour
	WhatsAppWindow     = 24 * time.Hour
)

// Config configures a Runner. Outbox, Learners, Sender and Text are
// required.
type Config struct {
	Outbox   Outbox
	Learners Learners
	Sender   Sender
	Text     *locale.Bundle
	// Deliveries records the SID each send got with its job ID, so that a
	// job taken over after a crash tells its own message in Twilio's list
	// from another job's. Nil: any message listed counts as the job's.
	Deliveries Deliveries
	// Limiter and Rate (DARSI_SEND_RATE): at most Rate messages a second
	// per sender, across every replica sharing the Limiter. Rate 0 or a
	// nil Limiter: no limit.
	Limiter Limiter
	Rate    int
	// Policy decides when and how each job goes: quiet hours in the
	// learner's zone, WhatsApp's window, the template outside it. The
	// coaches' preview asks the same Policy.
	Policy Policy
	// The senders (TWILIO_WHATSAPP_FROM, TWILIO_SMS_FROM,
	// TWILIO_MESSAGING_SERVICE_SID); a channel with neither fails its jobs.
	WhatsAppFrom, SMSFrom, MessagingServiceSID string
	// PublicURL (DARSI_PUBLIC_URL): status callbacks go to PublicURL +
	// "/twilio/status?job=ID". Empty: no callbacks.
	PublicURL string
	// LessonTitle names a lesson in a language for reviews and the
	// "lesson" template variable. Nil: the lesson's ID.
	LessonTitle func(lang bot.Lang, lesson string) string
	// Compose may write a nudge or a review itself (a review's question);
	// when it returns false the locale's text is used.
	Compose func(l bot.Learner, j Job) (string, bool)
	// AfterSend runs after a job was sent, such as to tell the
	// conversation that a review's question awaits the learner's answer.
	// Its error is logged: the message has gone out.
	AfterSend func(ctx context.Context, j Job) error
	// OptedOut hears of a learner Twilio says opted out (21610, they sent
	// STOP to the sender), so that the conversation records it and no
	// other job is tried. Its error is logged.
	OptedOut func(ctx context.Context, learner string) error
	// Content returns the SID of the interactive content of a reply's
	// choice (making it on first use), ok false when the choice keeps its
	// numbered lines. Nil: replies go as text.
	Content func(ctx context.Context, c *bot.Choice) (sid string, ok bool, err error)
	// ReviewHold is how long a review waits when it falls due while its
	// learner is inside a lesson; default 1 h.
	ReviewHold time.Duration

	Worker      string        // this replica's name; default host-pid-random
	Lease       time.Duration // how long a claim lasts; default 45 s
	Batch       int           // jobs per claim; default 50
	Concurrency int           // jobs sent at once; default max(8, Rate/2)
	Poll        time.Duration // wait when nothing is due; default 1 s
	// MaxAttempts bounds the claims of a job that keeps failing with
	// RetryLater (claims held by quiet hours count too); default 10.
	MaxAttempts int
	// Backoff doubles from Backoff up to MaxBackoff between retries.
	Backoff, MaxBackoff time.Duration
	// ClockSkew widens the Twilio lookup before a resend to messages
	// dated up to this much before the first claim (Twilio's clock is
	// not ours). Default 0.
	ClockSkew time.Duration

	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Runner delivers due jobs of the outbox. Any replica may run one; each
// job is claimed by one runner at a time. It is safe for concurrent use.
type Runner struct {
	cfg     Config
	metrics *prometheus.CounterVec
	// sendErrors counts Twilio's refusals of sends by error code.
	sendErrors *prometheus.CounterVec
	log        *slog.Logger
}

// Results of a job's claim, the "result" label of darsi_outbox_jobs_total.
const (
	resultSent     = "sent"     // sent to Twilio
	resultAdopted  = "adopted"  // found in Twilio's list after a crash: not sent again
	resultFailed   = "failed"   // given up
	resultHeld     = "held"     // quiet hours: back to the queue
	resultRetried  = "retried"  // back to the queue after an error
	resultReleased = "released" // claim given back unsent (shutdown, lease nearly out)
	resultConflict = "conflict" // cancelled, or another replica took the job over, before Settle
	resultFenced   = "fenced"   // cancelled, or taken over, before its send: not sent
	resultError    = "error"    // Settle failed; the lease will bring the job back
)

// NewRunner returns a Runner. Errors are of kind Invalid: a required
// dependency missing, or a setting out of range.
func NewRunner(cfg Config) (*Runner, error) {
	const op = "schedule.NewRunner"
	switch {
	case cfg.Outbox == nil || cfg.Learners == nil || cfg.Sender == nil || cfg.Text == nil:
		return nil, bot.Errorf(op, bot.Invalid, "outbox, learners, sender and texts are required")
	case cfg.Rate < 0:
		return nil, bot.Errorf(op, bot.Invalid, "send rate %d: want 0 (no limit) or more", cfg.Rate)
	}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, bot.Errorf(op, bot.Invalid, "public URL %q: want http(s)://host", cfg.PublicURL)
		}
		cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	}
	if cfg.WhatsAppFrom != "" && !strings.HasPrefix(cfg.WhatsAppFrom, "whatsapp:") {
		cfg.WhatsAppFrom = "whatsapp:" + cfg.WhatsAppFrom
	}
	if cfg.Worker == "" {
		cfg.Worker = workerName()
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Concurrency <= 0 {
		// Enough sends in flight for the rate with half a second of
		// latency each.
		cfg.Concurrency = max(DefaultConcurrency, cfg.Rate/2)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Runner{cfg: cfg, log: cfg.Logger}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.metrics = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "darsi_outbox_jobs_total",
		Help: "Outbox jobs handled by this replica's runner, by result: sent, adopted (found already sent after a crash), failed, held (quiet hours), retried, released, conflict, fenced (cancelled before its send), error.",
	}, []string{"result"})
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(r.metrics); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, bot.E(op, bot.Internal, err)
			}
			r.metrics = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	r.sendErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "darsi_outbox_send_errors_total",
		Help: "Sends of outbox jobs that Twilio's REST API refused or that failed, by Twilio error code (none: no code, such as a timeout or a network failure; other: past the first 40 codes) and class (retry, template, opted_out, permanent).",
	}, []string{"code", "class"})
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(r.sendErrors); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, bot.E(op, bot.Internal, err)
			}
			r.sendErrors = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	if cfg.PublicURL == "" {
		r.log.Warn("outbox: no public URL, so no delivery status callbacks")
	}
	return r, nil
}

// Worker returns the name this runner claims jobs under.
func (r *Runner) Worker() string { return r.cfg.Worker }

func workerName() string {
	host, _ := os.Hostname()
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Run delivers due jobs until ctx ends, then stops claiming, gives back
// the claims it has not started sending, finishes the sends in flight and
// returns nil. Claims are pipelined: the next batch is claimed as soon as
// the last job of the one before has been taken by a worker, so the
// workers never wait for the slowest send of a batch.
func (r *Runner) Run(ctx context.Context) error {
	type claim struct {
		j  Job
		at time.Time
	}
	work := make(chan claim)
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Go(func() {
			for c := range work {
				r.deliver(ctx, c.j, c.at, false)
			}
		})
	}
	defer func() {
		close(work)
		wg.Wait()
	}()
	for {
		now := r.cfg.Now()
		jobs, err := r.cfg.Outbox.Claim(ctx, r.cfg.Worker, now, r.cfg.Lease, r.batch())
		// Jobs claimed as ctx ended are handed over all the same: the
		// workers give them back at once.
		for _, j := range jobs {
			work <- claim{j, now}
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.log.Error("outbox: claim", "err", err)
		}
		if err != nil || len(jobs) < r.batch() {
			t := time.NewTimer(r.cfg.Poll)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
	}
}

// batch is how many jobs one claim takes: Batch, or fewer when the rate
// limit would not let them all go out within two thirds of the lease,
// shared with another replica.
func (r *Runner) batch() int {
	n := r.cfg.Batch
	if r.cfg.Rate > 0 && r.cfg.Limiter != nil {
		fit := r.cfg.Rate * int(r.sendWindow()/time.Second) / 2
		n = max(1, min(n, fit))
	}
	return n
}

// sendWindow is how long after a claim a send may still start: a send
// started later could outlast the lease.
func (r *Runner) sendWindow() time.Duration { return r.cfg.Lease * 2 / 3 }

// RunOnce claims one batch of due jobs, delivers them and returns how many
// it claimed. Errors are the Claim's; what happens to each job is settled
// in the outbox and logged.
func (r *Runner) RunOnce(ctx context.Context) (int, error) {
	now := r.cfg.Now()
	jobs, err := r.cfg.Outbox.Claim(ctx, r.cfg.Worker, now, r.cfg.Lease, r.batch())
	if err != nil {
		return 0, err
	}
	if len(jobs) == 0 {
		return 0, nil
	}
	work := make(chan Job)
	var wg sync.WaitGroup
	for range min(r.cfg.Concurrency, len(jobs)) {
		wg.Go(func() {
			for j := range work {
				r.deliver(ctx, j, now, false)
			}
		})
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	return len(jobs), nil
}

// attempt is one claim of a job being worked on.
type attempt struct {
	j       Job
	claimed time.Time // when this claim was taken
	// earlier is set when an earlier claim may have sent the message: the
	// claim that set ClaimedAt is not this one.
	earlier bool
	// sent is set once this claim's send may have reached Twilio.
	sent bool
	// batch, when set, takes the job's settle and delivery record, for
	// one write after the turn's last reply (see DeliverReplies).
	batch *replyBatch
	// delivery is the record of the message this claim sent, for batch.
	delivery *bot.Delivery
	// begun is set once this claim passed the send fence (BeginSend).
	begun bool
}

// Turn is a turn's replies as QueueReplies left them, for DeliverReplies.
type Turn struct {
	jobs    []Job
	claimed []bool // by this runner, when queued
	at      time.Time
}

// Len is how many replies the turn has.
func (t *Turn) Len() int { return len(t.jobs) }

// QueueReplies queues a turn's replies (Kind Reply, in order, each naming
// the one before in After), claimed at once by this runner, in one write
// (Outbox.EnqueueClaimed): the replica that took the webhook calls it
// before answering, then DeliverReplies. Replies queued before (Twilio
// sent the webhook again) are claimed when a claim could take them: their
// replica died, or they went back to the queue. It fails only when the
// replies could not be queued.
func (r *Runner) QueueReplies(ctx context.Context, jobs []Job) (*Turn, error) {
	now := r.cfg.Now()
	got, claimed, err := r.cfg.Outbox.EnqueueClaimed(ctx, r.cfg.Worker, now, r.cfg.Lease, jobs...)
	if err != nil {
		return nil, err
	}
	return &Turn{jobs: got, claimed: claimed, at: now}, nil
}

// DeliverReplies sends the replies of a turn QueueReplies queued, at once,
// one after the other, each only after Twilio accepted the one before,
// then settles them all with their delivery records in one write
// (Outbox.SettleAll). A reply another replica holds, or one that must go
// back to the queue (an error to retry), stops it: the replies after it
// that it holds go back to the queue, and the runner of every replica
// sends them, in order (see Job.After). Should this replica die before
// the settle, the claims' lease brings the replies back to every
// replica's runner, which finds those sent in Twilio's list (see the
// package's doc). It returns how many replies it sent.
func (r *Runner) DeliverReplies(ctx context.Context, t *Turn) int {
	b := &replyBatch{}
	sent := 0
	stopped := false
	for i, j := range t.jobs {
		switch {
		case !t.claimed[i]:
			if j.Status == Sent || j.Status.Final() {
				continue // sent (or given up) by an earlier delivery
			}
			stopped = true
		case stopped || ctx.Err() != nil:
			// After a reply that did not go: back to the queue, unsent,
			// for the runner to send after it.
			stopped = true
			a := &attempt{j: j, claimed: t.at, earlier: j.Attempts > 1 && j.ClaimedAt.Before(t.at), batch: b}
			a.j.Status, a.j.DueAt, a.j.Reason = Queued, r.cfg.Now(), "after the reply before"
			r.settle(ctx, r.log.With("job", j.ID, "kind", j.Kind), a, resultReleased)
		default:
			switch r.deliverIn(ctx, j, t.at, b) {
			case Sent, Delivered:
				sent++
			case Failed:
			default:
				stopped = true
			}
		}
	}
	r.flush(ctx, b)
	return sent
}

// same reports whether a and b are one value (one store behind both
// interfaces), without the panic of == on values that cannot be compared.
func same(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	return va.IsValid() && vb.IsValid() && va.Type() == vb.Type() && va.Comparable() && va.Equal(vb)
}

// replyBatch holds what DeliverReplies settles in one write at the end:
// each settlement, the result it counts under, its log, and whether
// AfterSend is due once it is saved.
type replyBatch struct {
	items   []Settlement
	results []string
	logs    []*slog.Logger
	after   []bool
}

// flush settles what b holds, in one write.
func (r *Runner) flush(ctx context.Context, b *replyBatch) {
	if len(b.items) == 0 {
		return
	}
	work := context.WithoutCancel(ctx)
	var errs []error
	if r.cfg.Deliveries == nil || same(r.cfg.Deliveries, r.cfg.Outbox) {
		errs = r.cfg.Outbox.SettleAll(work, b.items...)
	} else {
		// Records kept apart from the outbox: written first, as record
		// does.
		items := slices.Clone(b.items)
		for i := range items {
			if d := items[i].Delivery; d != nil {
				if _, err := r.cfg.Deliveries.AdvanceDelivery(work, *d); err != nil {
					b.logs[i].Warn("outbox: recording the delivery", "sid", d.SID, "err", err)
				}
				items[i].Delivery = nil
			}
		}
		errs = r.cfg.Outbox.SettleAll(work, items...)
	}
	for i, it := range b.items {
		r.settled(b.logs[i], it.Job, b.results[i], errs[i])
		if b.after[i] && errs[i] == nil && r.cfg.AfterSend != nil {
			if err := r.cfg.AfterSend(work, it.Job); err != nil {
				b.logs[i].Warn("outbox: after the send", "err", err)
			}
		}
	}
}

// deliver handles one claimed job and settles it, and returns the status
// it settled it in. ctx ending stops it before a send, never during one.
// inOrder is set when the caller knows the reply before it went.
func (r *Runner) deliver(ctx context.Context, j Job, claimed time.Time, inOrder bool) Status {
	a := &attempt{j: j, claimed: claimed, earlier: j.Attempts > 1 && j.ClaimedAt.Before(claimed)}
	r.work(ctx, a, inOrder)
	return a.j.Status
}

// deliverIn is deliver for a reply of a turn whose writes go in b.
func (r *Runner) deliverIn(ctx context.Context, j Job, claimed time.Time, b *replyBatch) Status {
	a := &attempt{j: j, claimed: claimed, earlier: j.Attempts > 1 && j.ClaimedAt.Before(claimed), batch: b}
	r.work(ctx, a, true)
	return a.j.Status
}

// work is deliver's: it settles a.j.
func (r *Runner) work(ctx context.Context, a *attempt, inOrder bool) {
	j := a.j
	// The send and the Settle run to the end even when the runner stops:
	// a send cut short may still have gone out, and only Settle says so.
	work := context.WithoutCancel(ctx)
	log := r.log.With("job", j.ID, "kind", j.Kind, "learner", bot.Mask(j.Learner), "attempt", j.Attempts)

	ch, to := recipient(j.Learner)

	var (
		l   bot.Learner
		err error
	)
	if j.Kind == Reply && inOrder {
		// The replies of a turn the replica just saved: the learner wrote
		// a moment ago, and the replies say what the turn made of it.
		l = bot.Learner{ID: j.Learner, Channel: ch, LastInboundAt: j.CreatedAt}
	} else {
		l, err = r.cfg.Learners.Get(work, j.Learner)
	}
	if bot.KindOf(err) == bot.NotFound && j.Kind == CoachDigest {
		// A coach who never wrote to the bot: no window is open.
		l, err = bot.Learner{ID: j.Learner, Channel: ch, Lang: bot.French}, nil
	}
	switch {
	case bot.KindOf(err) == bot.NotFound:
		r.fail(work, log, a, "no learner")
		return
	case err != nil:
		r.retry(work, log, a, "learner: "+err.Error())
		return
	case l.OptedOut:
		r.fail(work, log, a, "opted out")
		return
	case (j.Kind == Review || j.Kind == Followup) && l.Phase == bot.PhaseLesson:
		// A review's question would cut into the lesson: later.
		hold := r.cfg.ReviewHold
		if hold <= 0 {
			hold = time.Hour
		}
		a.j.Status, a.j.DueAt, a.j.Reason = Queued, r.cfg.Now().Add(hold), "the learner is in a lesson"
		r.settle(work, log, a, resultHeld)
		return
	case j.Kind == Reply && j.After != "" && !inOrder:
		// The reply before must have gone first.
		prev, err := r.cfg.Outbox.Job(work, j.After)
		switch {
		case bot.KindOf(err) == bot.NotFound:
			// Gone (retention, an erase): nothing to wait for.
		case err != nil:
			r.retry(work, log, a, "the reply before: "+err.Error())
			return
		case prev.Status != Sent && !prev.Status.Final():
			a.j.Status, a.j.DueAt, a.j.Reason = Queued, r.cfg.Now().Add(replyWait), "after the reply before"
			r.settle(work, log, a, resultHeld)
			return
		}
	case j.Kind == Nudge && !j.CreatedAt.IsZero() && l.LastInboundAt.After(j.CreatedAt):
		// The learner wrote since the nudge was queued: a newer pair of
		// nudges is queued from that message.
		a.j.Status, a.j.Reason = Failed, "not needed: the learner wrote since"
		r.settle(work, log, a, resultFailed)
		return
	}

	now := r.cfg.Now()
	d := r.cfg.Policy.Decide(l, j, now)
	switch {
	case d.Route == RouteSkip:
		r.fail(work, log, a, d.Skip)
		return
	case d.Held:
		a.j.Status, a.j.DueAt = Queued, d.SendAt
		a.j.Reason = "quiet hours until " + d.SendAt.Format("2006-01-02 15:04 MST")
		r.settle(work, log, a, resultHeld)
		return
	}

	from, msid := r.sender(ch)
	if from == "" && msid == "" {
		r.fail(work, log, a, "no sender for channel "+string(ch))
		return
	}
	lang := d.Lang
	text, body, err := r.compose(l, lang, j)
	if err != nil {
		r.fail(work, log, a, err.Error())
		return
	}
	m := bot.Outbound{To: to, From: from, MessagingServiceSID: msid, JobID: j.ID}
	// A reply with a choice goes as its content when there is one.
	var content string
	if j.Kind == Reply {
		if j.Media != "" {
			m.MediaURL = []string{j.Media}
		}
		if j.Choice != nil && r.cfg.Content != nil && ch == bot.WhatsApp {
			sid, ok, err := r.cfg.Content(work, j.Choice)
			switch {
			case err != nil:
				log.Warn("outbox: the reply's content, sent as text instead", "err", err)
			case ok:
				content = sid
			}
		}
	}
	if r.cfg.PublicURL != "" {
		m.StatusCallback = r.cfg.PublicURL + "/twilio/status?job=" + url.QueryEscape(j.ID)
	}
	tp, useTemplate := d.Template, d.Route == RouteTemplate
	if useTemplate && d.NoTemplate {
		r.fail(work, log, a, "window closed and no template")
		return
	}

	// A claim that may have sent the message before its replica died: look
	// in Twilio's list for it before sending again. A listed message is
	// the job's only if it says what the job would say (a conversation's
	// replies go to the same learner): the same text, or for a template
	// (whose text Twilio fills in) the coach's words in it.
	if a.earlier && to != "" {
		matches := func(d bot.Delivery) bool {
			switch {
			case d.Body == "":
				return true // Twilio did not say: any unowned message may be it
			case content != "" && d.Body == j.Choice.Body:
				return true
			case !useTemplate && d.Body == body:
				return true
			case !useTemplate && j.Kind != Reminder && j.Kind != Broadcast && j.Kind != CoachReply:
				return false
			}
			// A template, or a coach's words framed in the learner's
			// language: the frame of the earlier send may be another
			// language's (the learner chose one in between).
			return text == "" || strings.Contains(d.Body, text)
		}
		d, found, err := r.lookup(work, a, to, matches)
		if err != nil {
			r.retry(work, log, a, "looking for an earlier send: "+err.Error())
			return
		}
		if found {
			a.j.Status, a.j.SID, a.j.SentAt, a.j.Templated = Sent, d.SID, r.cfg.Now(), useTemplate
			a.j.Reason = ""
			r.record(work, log, a, d)
			r.settle(work, log, a, resultAdopted)
			return
		}
	}

	for {
		switch {
		case useTemplate:
			m.Body, m.ContentSID, m.ContentVariables = "", tp.SID, r.fill(tp, l, lang, j, text, body)
		case content != "":
			m.Body, m.ContentSID, m.ContentVariables = "", content, nil
		default:
			m.Body, m.ContentSID, m.ContentVariables = body, "", nil
		}
		// Replies go in their own lane: they answer the learner's
		// messages, so the inbound rate bounds them, and they do not
		// wait behind reminders.
		if j.Kind != Reply && !r.wait(ctx, log, a, from, msid) {
			return
		}
		// The fence: a job cancelled while this replica held it is not
		// sent; one that passed it can no longer be cancelled. Replies
		// cannot be cancelled once claimed, and skip it.
		if j.Kind != Reply && !a.begun {
			at, err := r.cfg.Outbox.BeginSend(work, j.ID, j.Worker, r.cfg.Now())
			switch {
			case bot.KindOf(err) == bot.Conflict || bot.KindOf(err) == bot.NotFound:
				log.Info("outbox: cancelled or taken over before its send: not sent", "err", err)
				r.metrics.WithLabelValues(resultFenced).Inc()
				return
			case err != nil:
				r.retry(work, log, a, "send fence: "+err.Error())
				return
			}
			a.begun, a.j.Sending = true, at
		}
		a.sent = true
		d, err := r.send(work, a, m)
		if err == nil {
			a.j.Status, a.j.SID, a.j.SentAt, a.j.Templated = Sent, d.SID, r.cfg.Now(), useTemplate
			a.j.Reason = ""
			d.JobID = j.ID
			r.record(work, log, a, d)
			r.settle(work, log, a, resultSent)
			if a.batch != nil {
				a.batch.after[len(a.batch.after)-1] = true
			} else if r.cfg.AfterSend != nil {
				if err := r.cfg.AfterSend(work, a.j); err != nil {
					log.Warn("outbox: after the send", "err", err)
				}
			}
			return
		}
		var se *bot.SendError
		if !errors.As(err, &se) {
			se = &bot.SendError{Class: bot.RetryLater, Err: err}
		}
		switch se.Class {
		case bot.RetryLater:
			// An answer from Twilio (429, 63018) means the message was
			// refused; without one (timeout), it may have gone out, and
			// the next claim looks for it first.
			if se.HTTPStatus >= 400 && se.HTTPStatus < 500 {
				a.sent = false
			}
			r.retry(work, log, a, reason(se)+": "+se.Error())
			return
		case bot.Permanent, bot.NeedsTemplate:
			if content != "" && se.Class == bot.Permanent {
				// Twilio refused the content (63021, 21655): the
				// numbered lines say the same.
				log.Warn("outbox: the reply's content refused, sending it as text", "err", se)
				a.sent, content = false, ""
				continue
			}
			if se.Class == bot.Permanent {
				r.fail(work, log, a, reason(se)+": "+se.Error())
				return
			}
			a.sent = false
			if j.Kind != Reply && !useTemplate {
				if tp, useTemplate = r.cfg.Policy.Template(j, lang); useTemplate {
					log.Info("outbox: window closed at Twilio, sending the template")
					continue
				}
			}
			r.fail(work, log, a, "window closed and no template ("+reason(se)+")")
		case bot.OptedOut:
			r.fail(work, log, a, "opted out ("+reason(se)+")")
			if r.cfg.OptedOut != nil {
				if err := r.cfg.OptedOut(work, j.Learner); err != nil {
					log.Warn("outbox: recording the opt-out", "err", err)
				}
			}
		default:
			r.fail(work, log, a, reason(se)+": "+se.Error())
		}
		return
	}
}

// wait waits for the rate limiter. It returns false, having given the
// claim back, when ctx ends or the lease would run out before a send.
func (r *Runner) wait(ctx context.Context, log *slog.Logger, a *attempt, from, msid string) bool {
	deadline := a.claimed.Add(r.sendWindow())
	release := func(why string) bool {
		a.j.Status, a.j.DueAt, a.j.Reason = Queued, r.cfg.Now(), why
		r.settle(context.WithoutCancel(ctx), log, a, resultReleased)
		return false
	}
	key := from // "whatsapp:+212…" or the SMS number
	if msid != "" {
		key = msid
	}
	for {
		if ctx.Err() != nil {
			return release("runner stopped")
		}
		now := r.cfg.Now()
		if now.After(deadline) {
			return release("lease nearly out")
		}
		if r.cfg.Rate <= 0 || r.cfg.Limiter == nil {
			return true
		}
		ok, wait, err := r.cfg.Limiter.Allow(ctx, key, r.cfg.Rate, now)
		switch {
		case err != nil:
			log.Warn("outbox: rate limiter", "err", err)
			wait = 100 * time.Millisecond
		case ok:
			return true
		}
		t := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}

// send hands m to Twilio, giving up before the claim's lease runs out: a
// send still in flight when another claim of the job could start would
// race that claim's look in Twilio's list, and the learner could get the
// message twice. A send given up this way counts as a timeout, so the
// next claim looks for it first.
func (r *Runner) send(ctx context.Context, a *attempt, m bot.Outbound) (bot.Delivery, error) {
	left := a.claimed.Add(r.cfg.Lease - r.cfg.Lease/10).Sub(r.cfg.Now())
	ctx, cancel := context.WithTimeout(ctx, max(left, time.Millisecond))
	defer cancel()
	d, err := r.cfg.Sender.Send(ctx, m)
	if err != nil {
		var se *bot.SendError
		if !errors.As(err, &se) {
			se = &bot.SendError{Class: bot.RetryLater}
		}
		r.sendErrors.WithLabelValues(bot.ErrorCodeLabel(se.Code), classLabel(se.Class)).Inc()
	}
	return d, err
}

// classLabel is the class label of darsi_outbox_send_errors_total.
func classLabel(c bot.SendClass) string {
	switch c {
	case bot.RetryLater:
		return "retry"
	case bot.NeedsTemplate:
		return "template"
	case bot.OptedOut:
		return "opted_out"
	}
	return "permanent"
}

// lookup looks in Twilio's list for a message an earlier claim of the job
// sent: one recorded as this job's, or else the oldest one to the
// recipient since the first claim that no other job owns.
func (r *Runner) lookup(ctx context.Context, a *attempt, to string, matches func(bot.Delivery) bool) (bot.Delivery, bool, error) {
	listed, err := r.cfg.Sender.Sent(ctx, to, a.j.ClaimedAt.Add(-r.cfg.ClockSkew))
	if err != nil {
		return bot.Delivery{}, false, err
	}
	var unowned []bot.Delivery
	for _, d := range listed {
		if !matches(d) {
			continue
		}
		if r.cfg.Deliveries == nil {
			unowned = append(unowned, d)
			continue
		}
		rec, err := r.cfg.Deliveries.Delivery(ctx, d.SID)
		switch {
		case bot.KindOf(err) == bot.NotFound, err == nil && rec.JobID == "":
			unowned = append(unowned, d)
		case err != nil:
			return bot.Delivery{}, false, err
		case rec.JobID == a.j.ID:
			return d, true, nil
		}
	}
	if len(unowned) == 0 {
		return bot.Delivery{}, false, nil
	}
	// Twilio lists newest first; the crashed send came right after the
	// claim, so before anything else.
	return unowned[len(unowned)-1], true, nil
}

// record stores which job sent the message, so that a later lookup tells
// it from another job's.
func (r *Runner) record(ctx context.Context, log *slog.Logger, a *attempt, d bot.Delivery) {
	if r.cfg.Deliveries == nil {
		return
	}
	d.JobID = a.j.ID
	if d.Status == "" {
		d.Status = bot.StatusQueued
	}
	if d.UpdatedAt.IsZero() {
		d.UpdatedAt = r.cfg.Now()
	}
	if a.batch != nil {
		a.delivery = &d
		return
	}
	if _, err := r.cfg.Deliveries.AdvanceDelivery(ctx, d); err != nil {
		log.Warn("outbox: recording the delivery", "sid", d.SID, "err", err)
	}
}

func (r *Runner) fail(ctx context.Context, log *slog.Logger, a *attempt, reason string) {
	a.j.Status, a.j.Reason = Failed, reason
	r.settle(ctx, log, a, resultFailed)
}

// retry puts the job back in the queue after a backoff, or gives up after
// MaxAttempts.
func (r *Runner) retry(ctx context.Context, log *slog.Logger, a *attempt, reason string) {
	n := a.j.Attempts
	if n >= r.cfg.MaxAttempts {
		r.fail(ctx, log, a, fmt.Sprintf("gave up after %d attempts: %s", n, reason))
		return
	}
	a.j.Status = Queued
	a.j.DueAt = r.cfg.Now().Add(r.backoff(n))
	a.j.Reason = fmt.Sprintf("retry %d of %d: %s", n, r.cfg.MaxAttempts, reason)
	r.settle(ctx, log, a, resultRetried)
}

// backoff is the wait before the next claim after the nth: Backoff,
// doubled each time up to MaxBackoff, with up to a tenth of jitter so that
// jobs throttled together do not come back together.
func (r *Runner) backoff(n int) time.Duration {
	d := r.cfg.Backoff
	for i := 1; i < n && d < r.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.cfg.MaxBackoff)
	return d + time.Duration(mrand.Int64N(int64(d)/10+1))
}

// settle saves the job (the outbox saves it as given). A job going back
// to the queue that no claim may have sent loses its ClaimedAt, so that
// its next claim sends without looking in Twilio's list first.
func (r *Runner) settle(ctx context.Context, log *slog.Logger, a *attempt, result string) {
	if a.j.Status == Queued && !a.sent && !a.earlier {
		a.j.ClaimedAt, a.j.Sending = time.Time{}, time.Time{}
	}
	a.j.LeaseUntil, a.j.UpdatedAt = time.Time{}, r.cfg.Now()
	if b := a.batch; b != nil {
		b.items = append(b.items, Settlement{Job: a.j, Delivery: a.delivery})
		b.results, b.logs, b.after = append(b.results, result), append(b.logs, log), append(b.after, false)
		return
	}
	r.settled(log, a.j, result, r.cfg.Outbox.Settle(ctx, a.j))
}

// settled logs and counts what became of a settle.
func (r *Runner) settled(log *slog.Logger, j Job, result string, err error) {
	switch {
	case bot.KindOf(err) == bot.Conflict:
		result = resultConflict
		log.Warn("outbox: the job was cancelled, or another replica took it over", "err", err)
	case err != nil:
		result = resultError
		log.Error("outbox: settle", "err", err)
	default:
		log.Debug("outbox: settled", "status", j.Status, "reason", j.Reason, "sid", j.SID)
	}
	r.metrics.WithLabelValues(result).Inc()
}

// recipient returns the channel of a learner ID and the address Twilio
// sends to: "whatsapp:+212…" for WhatsApp, the bare number for SMS, ""
// for channels Twilio does not serve.
func recipient(learner string) (bot.Channel, string) {
	ch, number := bot.SplitLearnerID(learner)
	switch ch {
	case bot.WhatsApp:
		return ch, learner
	case bot.SMS:
		return ch, number
	case bot.Sim:
		return ch, learner // the simulator's mailbox (see Policy.Sim)
	}
	return ch, ""
}

// sender returns the From or the messaging service for a channel.
func (r *Runner) sender(ch bot.Channel) (from, msid string) {
	switch ch {
	case bot.WhatsApp:
		from = r.cfg.WhatsAppFrom
	case bot.SMS:
		from = r.cfg.SMSFrom
	case bot.Sim:
		if r.cfg.Policy.Sim {
			return string(bot.Sim), ""
		}
		return "", ""
	default:
		return "", ""
	}
	if from == "" {
		msid = r.cfg.MessagingServiceSID
	}
	return from, msid
}

// Locale message IDs of the outbox (locales/*.yaml).
const (
	msgReminder   = "OutboxReminder"
	msgBroadcast  = "OutboxBroadcast"
	msgCoachReply = "OutboxCoachReply"
	msgNudge      = "OutboxNudge"
	msgReview     = "OutboxReview"
)

// compose returns the job's own text (the coach's words, or the bot's for
// nudges and reviews) and the message body in the learner's language.
func (r *Runner) compose(l bot.Learner, lang bot.Lang, j Job) (text, body string, err error) {
	var own string
	if r.cfg.Compose != nil && (j.Kind == Nudge || j.Kind == Review || j.Kind == Followup) {
		own, _ = r.cfg.Compose(l, j)
	}
	return render(r.cfg.Text, lang, j, own, r.lessonTitle)
}

// Render returns the text a learner in lang gets for j inside the window
// (or by SMS), as the Runner sends it: the coach's words framed by the
// locale's text for reminders and broadcasts ("Message de ton coach : …"),
// the locale's texts for nudges and reviews, with the directional marks
// of Arabic-script languages. Previews use it. Errors (of kind Invalid):
// an unknown kind, no text, a message over bot.MaxBody as bot.BodyLen
// counts.
func Render(text *locale.Bundle, lang bot.Lang, j Job) (string, error) {
	_, body, err := render(text, lang, j, "", func(_ bot.Lang, lesson string) string { return lesson })
	if err != nil {
		return "", bot.E("schedule.Render", bot.Invalid, err)
	}
	return body, nil
}

func render(texts *locale.Bundle, lang bot.Lang, j Job, own string, title func(bot.Lang, string) string) (text, body string, err error) {
	switch j.Kind {
	case Reminder, Broadcast, CoachReply:
		text = strings.TrimSpace(j.Text)
		if text == "" {
			return "", "", errors.New("empty text")
		}
		id := msgReminder
		switch j.Kind {
		case Broadcast:
			id = msgBroadcast
		case CoachReply:
			id = msgCoachReply
		}
		// The coach may write French in an Arabic frame: the frame gets
		// its direction marks, and the coach's words keep their own
		// direction (locale.DirectionalQuote).
		const slot = "\uE000"
		body = locale.DirectionalQuote(lang, texts.T(lang, id, map[string]any{"Text": slot}), slot, text)
	case CoachDigest:
		text = strings.TrimSpace(j.Text)
		if text == "" {
			return "", "", errors.New("empty text")
		}
		body = text
	case Reply:
		text, body = j.Text, j.Text
		if strings.TrimSpace(text) == "" && j.Media == "" {
			return "", "", errors.New("empty reply")
		}
	case Nudge, Review, Followup:
		text = own
		if text == "" && j.Kind == Nudge {
			text = texts.T(lang, msgNudge, nil)
		}
		if text == "" {
			text = texts.T(lang, msgReview, map[string]any{"Title": title(lang, j.Lesson)})
		}
		body = locale.Directional(lang, text)
	default:
		return "", "", fmt.Errorf("unknown kind %q", j.Kind)
	}
	if n := bot.BodyLen(body); n > bot.MaxBody {
		return "", "", fmt.Errorf("message too long: %d characters, at most %d", n, bot.MaxBody)
	}
	return text, body, nil
}

func (r *Runner) lessonTitle(lang bot.Lang, lesson string) string {
	if r.cfg.LessonTitle != nil && lesson != "" {
		if t := r.cfg.LessonTitle(lang, lesson); t != "" {
			return t
		}
	}
	return lesson
}

// fill gives each template variable its value. WhatsApp refuses
// variables with line breaks, tabs, more than four spaces in a row, or
// nothing at all: values are flattened to one line, and empty ones
// become "-".
func (r *Runner) fill(tp Template, l bot.Learner, lang bot.Lang, j Job, text, body string) map[string]string {
	vars := make(map[string]string, len(tp.Vars))
	for k, src := range tp.Vars {
		var v string
		switch src {
		case "text":
			v = text
		case "body":
			v = body
		case "name":
			v = cmp.Or(l.Name, l.Vars["name"])
		case "lesson":
			lesson := j.Lesson
			if lesson == "" {
				lesson = l.Lesson
			}
			v = r.lessonTitle(lang, lesson)
		case "cohort":
			v = j.Cohort
			if v == "" {
				v = l.Cohort
			}
		case "coach":
			v = j.CreatedBy
		}
		v = strings.Join(strings.Fields(v), " ")
		if v == "" {
			v = "-"
		}
		vars[k] = v
	}
	return vars
}
