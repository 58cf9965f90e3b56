package storetest

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
	"github.com/darsi-ma/darsi/locales"
)

// The cancel's semantics (schedule.Outbox.Cancel and BeginSend): a job is
// cancelled as long as no send of it may have reached Twilio, whichever
// replica holds its claim; a worker passes the send fence (BeginSend)
// just before it sends, and from then on Cancel refuses the job, which
// ends Sent (then Delivered or Failed). The two are atomic against each
// other, so a job ends either Cancelled and never sent, or sent and never
// Cancelled.

// testOutboxCancelClaimed: a job cancelled while a worker holds its claim
// is cancelled; the worker's fence and settle then fail with Conflict, and
// no later claim takes it.
func testOutboxCancelClaimed(t *testing.T, s schedule.Outbox) {
	ctx := context.Background()
	enqueue(t, s, job("r1", t0))
	j := claim(t, s, "w1", t0, 1)[0]
	if err := s.Cancel(ctx, "r1"); err != nil {
		t.Fatalf("Cancel of a claimed job before its send: %v", err)
	}
	got := getJob(t, s, "r1")
	if got.Status != schedule.Cancelled || got.Reason == "" || got.Worker != "" {
		t.Errorf("cancelled while claimed: status %s, reason %q, worker %q; want cancelled with a reason, no worker", got.Status, got.Reason, got.Worker)
	}
	_, err := s.BeginSend(ctx, "r1", "w1", t0.Add(time.Second))
	wantKind(t, "BeginSend of a cancelled job", err, bot.Conflict)
	j.Status, j.SID, j.SentAt = schedule.Sent, "SM1", t0
	wantKind(t, "Settle of a cancelled job", s.Settle(ctx, j), bot.Conflict)
	wantStatus(t, s, "r1", schedule.Cancelled, "cancelled")
	wantIDs(t, "Claim after the lease of a cancelled job", claim(t, s, "w2", t0.Add(2*lease), 10))
	if c := wantCounts(t, s); c[schedule.Cancelled] != 1 || c[schedule.Claimed] != 0 {
		t.Errorf("counts after a cancel of a claimed job: %v, want 1 cancelled", c)
	}
}

// testOutboxCancelAfterFence: once the worker passed the fence, Cancel
// refuses the job, also when it went back to the queue after a send that
// may have gone out; a job back in the queue after a send that Twilio
// refused (Sending cleared) may be cancelled again.
func testOutboxCancelAfterFence(t *testing.T, s schedule.Outbox) {
	ctx := context.Background()
	later := t0.Add(2 * time.Hour)
	enqueue(t, s, job("r1", t0), job("r2", later))
	jobs := claim(t, s, "w1", t0, 2)
	at, err := s.BeginSend(ctx, "r1", "w1", t0.Add(time.Second))
	if err != nil || !at.Equal(t0.Add(time.Second)) {
		t.Fatalf("BeginSend: %v, %v; want %v", at, err, t0.Add(time.Second))
	}
	if again, err := s.BeginSend(ctx, "r1", "w1", t0.Add(2*time.Second)); err != nil || !again.Equal(at) {
		t.Errorf("BeginSend again: %v, %v; want the first fence's time %v", again, err, at)
	}
	wantKind(t, "Cancel after the fence", s.Cancel(ctx, "r1"), bot.Conflict)
	got := getJob(t, s, "r1")
	if got.Status != schedule.Claimed || got.Worker != "w1" || !got.Sending.Equal(at) {
		t.Fatalf("after a refused cancel: %+v; want still claimed by w1, sending since %v", got, at)
	}
	// A timeout: the send may have gone out, the job goes back to the
	// queue with its Sending, and stays out of Cancel's reach.
	r1 := jobs[0]
	r1.Status, r1.Sending, r1.DueAt, r1.LeaseUntil = schedule.Queued, at, t0.Add(time.Minute), time.Time{}
	settle(t, s, r1)
	wantKind(t, "Cancel of a queued job whose send may have gone out", s.Cancel(ctx, "r1"), bot.Conflict)
	// Reclaimed by another replica after the lease: the mark stays.
	re := claim(t, s, "w2", t0.Add(time.Minute), 10)
	wantIDs(t, "Claim of the requeued job", re, "r1")
	if !re[0].Sending.Equal(at) {
		t.Errorf("reclaimed: Sending %v, want %v", re[0].Sending, at)
	}
	_, err = s.BeginSend(ctx, "r1", "w1", t0.Add(time.Minute))
	wantKind(t, "BeginSend by the replica that lost the claim", err, bot.Conflict)
	re[0].Status, re[0].SID, re[0].SentAt = schedule.Sent, "SM1", t0.Add(time.Minute)
	settle(t, s, re[0])
	wantKind(t, "Cancel of a sent job", s.Cancel(ctx, "r1"), bot.Conflict)
	wantStatus(t, s, "r1", schedule.Sent, "")

	// Twilio refused r2's send (4xx): it went back without the mark.
	r2 := claim(t, s, "w1", later, 1)[0]
	if _, err := s.BeginSend(ctx, "r2", "w1", later); err != nil {
		t.Fatal(err)
	}
	r2.Status, r2.Sending, r2.ClaimedAt, r2.DueAt, r2.LeaseUntil = schedule.Queued, time.Time{}, time.Time{}, later.Add(time.Minute), time.Time{}
	settle(t, s, r2)
	if err := s.Cancel(ctx, "r2"); err != nil {
		t.Errorf("Cancel of a job whose send Twilio refused: %v", err)
	}
	wantStatus(t, s, "r2", schedule.Cancelled, "cancelled")
}

// testOutboxBeginSendFenced: only the worker that holds the claim passes.
func testOutboxBeginSendFenced(t *testing.T, s schedule.Outbox) {
	ctx := context.Background()
	enqueue(t, s, job("r1", t0), job("r2", t0.Add(time.Hour)))
	claim(t, s, "w1", t0, 1)
	_, err := s.BeginSend(ctx, "r1", "w2", t0)
	wantKind(t, "BeginSend by another worker", err, bot.Conflict)
	_, err = s.BeginSend(ctx, "r2", "w1", t0)
	wantKind(t, "BeginSend of a queued job", err, bot.Conflict)
	_, err = s.BeginSend(ctx, "nope", "w1", t0)
	wantKind(t, "BeginSend of an unknown job", err, bot.NotFound)
	if j := getJob(t, s, "r1"); !j.Sending.IsZero() {
		t.Errorf("a refused BeginSend marked the job: %v", j.Sending)
	}
	// The lease ran out and w2 took the job over: w1 is fenced off.
	claim(t, s, "w2", t0.Add(2*lease), 1)
	_, err = s.BeginSend(ctx, "r1", "w1", t0.Add(2*lease))
	wantKind(t, "BeginSend after a takeover", err, bot.Conflict)
	if _, err := s.BeginSend(ctx, "r1", "w2", t0.Add(2*lease)); err != nil {
		t.Errorf("BeginSend by the worker that took over: %v", err)
	}
}

// testOutboxCancelReply: a reply can be cancelled while queued, not once
// claimed (it answers the learner's message of a moment ago).
func testOutboxCancelReply(t *testing.T, s schedule.Outbox) {
	ctx := context.Background()
	r := func(id string) schedule.Job {
		j := job(schedule.ReplyIDPrefix+id, t0)
		j.Kind, j.Cohort, j.Template = schedule.Reply, "", ""
		return j
	}
	enqueue(t, s, r("k-SM1-0"), r("k-SM1-1"))
	if err := s.Cancel(ctx, schedule.ReplyIDPrefix+"k-SM1-1"); err != nil {
		t.Errorf("Cancel of a queued reply: %v", err)
	}
	if _, ok, err := s.ClaimJob(ctx, "w1", schedule.ReplyIDPrefix+"k-SM1-0", t0, lease); err != nil || !ok {
		t.Fatalf("ClaimJob: %v, %v", ok, err)
	}
	wantKind(t, "Cancel of a claimed reply", s.Cancel(ctx, schedule.ReplyIDPrefix+"k-SM1-0"), bot.Conflict)
	wantStatus(t, s, schedule.ReplyIDPrefix+"k-SM1-0", schedule.Claimed, "")
}

// testOutboxCancelRace: Cancel and BeginSend on the same claimed jobs at
// once: for each job exactly one wins, and the job's state says which.
func testOutboxCancelRace(t *testing.T, s schedule.Outbox) {
	ctx := context.Background()
	const n = 40
	for i := range n {
		enqueue(t, s, job(fmt.Sprintf("r%02d", i), t0))
	}
	if got := claim(t, s, "w1", t0, n); len(got) != n {
		t.Fatalf("claimed %d of %d", len(got), n)
	}
	type result struct{ cancel, begin error }
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		id := fmt.Sprintf("r%02d", i)
		wg.Go(func() { results[i].cancel = s.Cancel(ctx, id) })
		wg.Go(func() { _, results[i].begin = s.BeginSend(ctx, id, "w1", t0.Add(time.Second)) })
	}
	within(t, "racing Cancel and BeginSend", wg.Wait)
	cancelled := 0
	for i, r := range results {
		id := fmt.Sprintf("r%02d", i)
		j := getJob(t, s, id)
		switch {
		case r.cancel == nil && bot.KindOf(r.begin) == bot.Conflict:
			cancelled++
			if j.Status != schedule.Cancelled || !j.Sending.IsZero() {
				t.Errorf("%s: the cancel won, but the job is %s, sending %v", id, j.Status, j.Sending)
			}
		case r.begin == nil && bot.KindOf(r.cancel) == bot.Conflict:
			if j.Status != schedule.Claimed || j.Sending.IsZero() {
				t.Errorf("%s: the send won, but the job is %s, sending %v", id, j.Status, j.Sending)
			}
		default:
			t.Errorf("%s: Cancel %v, BeginSend %v; want exactly one to win", id, r.cancel, r.begin)
		}
	}
	t.Logf("%d of %d cancelled before their send", cancelled, n)
}

// recordingSender is a Twilio stand-in for RunOutboxRunnerCancel: it
// records each send; during may run while a send is in flight.
type recordingSender struct {
	mu     sync.Mutex
	sent   []bot.Outbound
	during func()
	n      atomic.Int64
}

func (f *recordingSender) Send(ctx context.Context, m bot.Outbound) (bot.Delivery, error) {
	f.mu.Lock()
	during := f.during
	f.mu.Unlock()
	if during != nil {
		during()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, m)
	return bot.Delivery{SID: fmt.Sprintf("SM%032d", f.n.Add(1)), Status: bot.StatusQueued}, nil
}

func (f *recordingSender) Sent(ctx context.Context, to string, since time.Time) ([]bot.Delivery, error) {
	return nil, nil
}

func (f *recordingSender) messages() []bot.Outbound {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bot.Outbound(nil), f.sent...)
}

// hookedLearners finds amina (inside her WhatsApp window); before runs
// first, while the runner that asks holds the job's claim.
type hookedLearners struct {
	mu     sync.Mutex
	before func()
}

func (h *hookedLearners) Get(ctx context.Context, id string) (bot.Learner, error) {
	h.mu.Lock()
	before := h.before
	h.before = nil
	h.mu.Unlock()
	if before != nil {
		before()
	}
	return bot.Learner{ID: id, Channel: bot.WhatsApp, Lang: bot.French, Consent: true, LastInboundAt: t0.Add(-time.Hour)}, nil
}

// RunOutboxRunnerCancel runs two runners, A and B (two replicas), on one
// outbox and cancels jobs at the worst moments: while A holds the claim
// before its send (nothing goes out, ever, and the job ends Cancelled),
// while A's send is in flight (the cancel is refused, and the job ends
// Sent, then Delivered), and while A is slow enough that its lease runs
// out and B takes the job over (B sends it once; A, fenced off, does not).
func RunOutboxRunnerCancel(t *testing.T, open func(t *testing.T) schedule.Outbox) {
	texts, err := locale.Load(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	type replicas struct {
		s        schedule.Outbox
		a, b     *schedule.Runner
		learners *hookedLearners
		sender   *recordingSender
		clock    func(time.Time)
	}
	setup := func(t *testing.T) replicas {
		s := open(t)
		var mu sync.Mutex
		now := t0
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		rs := replicas{s: s, learners: &hookedLearners{}, sender: &recordingSender{},
			clock: func(at time.Time) { mu.Lock(); defer mu.Unlock(); now = at }}
		for _, r := range []struct {
			dst    **schedule.Runner
			worker string
		}{{&rs.a, "replica-a"}, {&rs.b, "replica-b"}} {
			*r.dst, err = schedule.NewRunner(schedule.Config{Outbox: s, Learners: rs.learners, Sender: rs.sender, Text: texts,
				WhatsAppFrom: "whatsapp:+212500000000", Worker: r.worker, Lease: lease, Now: clock})
			if err != nil {
				t.Fatal(err)
			}
		}
		return rs
	}
	ctx := context.Background()

	t.Run("CancelledWhileClaimed", func(t *testing.T) {
		rs := setup(t)
		enqueue(t, rs.s, job("r1", t0))
		var cancelErr error
		rs.learners.mu.Lock()
		rs.learners.before = func() {
			if j := getJob(t, rs.s, "r1"); j.Status != schedule.Claimed || j.Worker != "replica-a" {
				t.Errorf("while A works: %s by %q, want claimed by replica-a", j.Status, j.Worker)
			}
			cancelErr = rs.s.Cancel(ctx, "r1")
		}
		rs.learners.mu.Unlock()
		if n, err := rs.a.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("A: claimed %d, %v; want the job", n, err)
		}
		if cancelErr != nil {
			t.Fatalf("Cancel while A held the claim: %v", cancelErr)
		}
		// Later, with the lease long gone, neither replica sends it.
		for _, at := range []time.Time{t0.Add(2 * lease), t0.Add(time.Hour)} {
			rs.clock(at)
			for _, r := range []*schedule.Runner{rs.b, rs.a} {
				if n, err := r.RunOnce(ctx); err != nil || n != 0 {
					t.Errorf("%s at %v: claimed %d, %v; want nothing", r.Worker(), at, n, err)
				}
			}
		}
		if msgs := rs.sender.messages(); len(msgs) != 0 {
			t.Errorf("sent %d messages of a job cancelled before its send", len(msgs))
		}
		wantStatus(t, rs.s, "r1", schedule.Cancelled, "cancelled")
	})

	t.Run("CancelledInFlight", func(t *testing.T) {
		rs := setup(t)
		enqueue(t, rs.s, job("r1", t0))
		var cancelErr error
		rs.sender.during = func() { cancelErr = rs.s.Cancel(ctx, "r1") }
		if n, err := rs.a.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("A: claimed %d, %v", n, err)
		}
		if bot.KindOf(cancelErr) != bot.Conflict {
			t.Errorf("Cancel while the send was in flight: %v, want a Conflict", cancelErr)
		}
		if msgs := rs.sender.messages(); len(msgs) != 1 {
			t.Fatalf("sent %d messages, want the one in flight", len(msgs))
		}
		j := getJob(t, rs.s, "r1")
		if j.Status != schedule.Sent || j.SID == "" {
			t.Fatalf("after the send: %s %q, want sent with its SID", j.Status, j.SID)
		}
		if err := rs.s.Delivered(ctx, "r1", bot.StatusDelivered, 0); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, rs.s, "r1", schedule.Delivered, "")
		wantKind(t, "Cancel of a delivered job", rs.s.Cancel(ctx, "r1"), bot.Conflict)
	})

	t.Run("TakenOverThenFenced", func(t *testing.T) {
		rs := setup(t)
		enqueue(t, rs.s, job("r1", t0))
		// A claims, then stalls past its lease before sending; B takes
		// the job over and sends it meanwhile.
		rs.learners.mu.Lock()
		rs.learners.before = func() {
			rs.clock(t0.Add(lease + time.Second))
			if n, err := rs.b.RunOnce(ctx); err != nil || n != 1 {
				t.Errorf("B: claimed %d, %v; want the job whose lease ran out", n, err)
			}
			rs.clock(t0.Add(time.Second)) // A's view of time when it goes on
		}
		rs.learners.mu.Unlock()
		if _, err := rs.a.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if msgs := rs.sender.messages(); len(msgs) != 1 {
			t.Errorf("sent %d messages, want 1: A, fenced off, must not send what B sent", len(msgs))
		}
		if j := getJob(t, rs.s, "r1"); j.Status != schedule.Sent || j.Worker != "replica-b" {
			t.Errorf("the job: %s by %q, want sent by replica-b", j.Status, j.Worker)
		}
	})
}
