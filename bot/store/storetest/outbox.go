package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/google/go-cmp/cmp"
)

// RunOutbox runs the suite of schedule.Outbox. open must return a new,
// empty store each time it is called, as for Run.
func RunOutbox(t *testing.T, open func(t *testing.T) schedule.Outbox) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s schedule.Outbox)
	}{
		{"RoundTrip", testOutboxRoundTrip},
		{"Unknown", testOutboxUnknown},
		{"EnqueueInvalid", testOutboxEnqueueInvalid},
		{"ClaimDueOnly", testOutboxClaimDueOnly},
		{"ClaimOrder", testOutboxClaimOrder},
		{"ClaimNone", testOutboxClaimNone},
		{"ConcurrentClaims", testOutboxConcurrentClaims},
		{"LeaseExpiry", testOutboxLeaseExpiry},
		{"SettleSent", testOutboxSettleSent},
		{"SettleRequeue", testOutboxSettleRequeue},
		{"SettleFailed", testOutboxSettleFailed},
		{"SettleFenced", testOutboxSettleFenced},
		{"EnqueueCounts", testOutboxEnqueueCounts},
		{"EnqueueLeavesQueued", testOutboxEnqueueLeavesQueued},
		{"EnqueueLeavesOthers", testOutboxEnqueueLeavesOthers},
		{"EnqueueKeepsCohort", testOutboxEnqueueKeepsCohort},
		{"Delivered", testOutboxDelivered},
		{"DeliveredFailed", testOutboxDeliveredFailed},
		{"DeliveredBeforeSettle", testOutboxDeliveredBeforeSettle},
		{"DeliveredIgnored", testOutboxDeliveredIgnored},
		{"Jobs", testOutboxJobs},
		{"JobsDefaultLimit", testOutboxJobsDefaultLimit},
		{"JobsPages", testOutboxJobsPages},
		{"Counts", testOutboxCounts},
		{"Cancel", testOutboxCancel},
		{"CancelClaimed", testOutboxCancelClaimed},
		{"CancelAfterFence", testOutboxCancelAfterFence},
		{"BeginSendFenced", testOutboxBeginSendFenced},
		{"CancelReply", testOutboxCancelReply},
		{"CancelRace", testOutboxCancelRace},
		{"CancelledContext", testOutboxCancelledContext},
		{"ClaimJob", testOutboxClaimJob},
		{"ReplyRoundTrip", testOutboxReplyRoundTrip},
		{"EnqueueClaimed", testOutboxEnqueueClaimed},
		{"EnqueueClaimedRecovered", testOutboxEnqueueClaimedRecovered},
		{"EnqueueClaimedInvalid", testOutboxEnqueueClaimedInvalid},
		{"SettleAll", testOutboxSettleAll},
		{"Backlog", testOutboxBacklog},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
	t.Run("RunnerCancel", func(t *testing.T) { RunOutboxRunnerCancel(t, open) })
}

// t0 is the suite's "now": it carries nanoseconds and a zone other than UTC.
var t0 = time.Date(2025, 3, 14, 10, 0, 0, 123456789, time.FixedZone("+01", 3600))

const lease = time.Minute

// job returns a reminder to amina due at due, with every field a caller of
// Enqueue sets.
func job(id string, due time.Time) schedule.Job {
	return schedule.Job{
		ID:        id,
		Kind:      schedule.Reminder,
		Learner:   amina,
		Cohort:    "TIZ25A",
		Text:      "Ghedda l-ders 3 — n9raw 3la l-hsab 🧮",
		Template:  "reminder",
		Lesson:    "costing-1",
		Step:      "units",
		DueAt:     due,
		CreatedAt: t0.Add(-time.Hour),
		CreatedBy: "fatima",
		UpdatedAt: t0.Add(-time.Hour),
	}
}

// enqueue enqueues jobs and returns how many the outbox stored.
func enqueue(tb testing.TB, s schedule.Outbox, jobs ...schedule.Job) int {
	tb.Helper()
	n, err := s.Enqueue(context.Background(), jobs...)
	if err != nil {
		tb.Fatalf("Enqueue(%d jobs): %v", len(jobs), err)
	}
	return n
}

// list returns the first page of jobs f selects.
func list(tb testing.TB, s schedule.Outbox, f schedule.Filter) []schedule.Job {
	tb.Helper()
	jobs, _, err := s.Jobs(context.Background(), f)
	if err != nil {
		tb.Fatalf("Jobs(%+v): %v", f, err)
	}
	return jobs
}

func claim(tb testing.TB, s schedule.Outbox, worker string, now time.Time, max int) []schedule.Job {
	tb.Helper()
	jobs, err := s.Claim(context.Background(), worker, now, lease, max)
	if err != nil {
		tb.Fatalf("Claim(%s, %v, %d): %v", worker, now, max, err)
	}
	return jobs
}

func settle(tb testing.TB, s schedule.Outbox, j schedule.Job) {
	tb.Helper()
	if err := s.Settle(context.Background(), j); err != nil {
		tb.Fatalf("Settle(%s → %s): %v", j.ID, j.Status, err)
	}
}

func getJob(tb testing.TB, s schedule.Outbox, id string) schedule.Job {
	tb.Helper()
	j, err := s.Job(context.Background(), id)
	if err != nil {
		tb.Fatalf("Job(%q): %v", id, err)
	}
	return j
}

func wantJob(tb testing.TB, s schedule.Outbox, want schedule.Job) {
	tb.Helper()
	if diff := cmp.Diff(getJob(tb, s, want.ID), want, opts); diff != "" {
		tb.Errorf("Job(%q) mismatch (-got +want):\n%s", want.ID, diff)
	}
}

func wantKind(tb testing.TB, what string, err error, want bot.Kind) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("%s succeeded, want an error of kind %v", what, want)
	}
	if got := bot.KindOf(err); got != want {
		tb.Fatalf("%s: kind of %v is %v, want %v", what, err, got, want)
	}
}

func ids(jobs []schedule.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

func wantIDs(tb testing.TB, what string, jobs []schedule.Job, want ...string) {
	tb.Helper()
	if diff := cmp.Diff(ids(jobs), want, opts); diff != "" {
		tb.Errorf("%s: job ids mismatch (-got +want):\n%s", what, diff)
	}
}

// claimed is what Claim makes of a queued job j at now for worker.
func claimed(j schedule.Job, worker string, now time.Time) schedule.Job {
	j.Status = schedule.Claimed
	j.Worker = worker
	j.Attempts++
	if j.ClaimedAt.IsZero() {
		j.ClaimedAt = now
	}
	j.LeaseUntil = now.Add(lease)
	j.UpdatedAt = now
	return j
}

func testOutboxRoundTrip(t *testing.T, s schedule.Outbox) {
	want := job("r1", t0.Add(time.Hour))
	// Enqueue stores jobs as Queued whatever the caller wrote.
	in := want
	in.Status = schedule.Sent
	enqueue(t, s, in)
	want.Status = schedule.Queued
	wantJob(t, s, want)

	got := claim(t, s, "w1", want.DueAt, 10)
	want = claimed(want, "w1", want.DueAt)
	if diff := cmp.Diff(got, []schedule.Job{want}, opts); diff != "" {
		t.Errorf("Claim mismatch (-got +want):\n%s", diff)
	}
	wantJob(t, s, want)
}

func testOutboxUnknown(t *testing.T, s schedule.Outbox) {
	ctx := context.Background()
	_, err := s.Job(ctx, "nope")
	wantKind(t, "Job of an unknown id", err, bot.NotFound)
	wantKind(t, "Cancel of an unknown id", s.Cancel(ctx, "nope"), bot.NotFound)
	wantKind(t, "Delivered of an unknown id", s.Delivered(ctx, "nope", bot.StatusDelivered, 0), bot.NotFound)
	j := claimed(job("nope", t0), "w1", t0)
	wantKind(t, "Settle of an unknown id", s.Settle(ctx, j), bot.NotFound)
	jobs, next, err := s.Jobs(ctx, schedule.Filter{})
	if err != nil || len(jobs) != 0 || next != "" {
		t.Errorf("Jobs of an empty outbox = %v, %q, %v; want none and no next page", ids(jobs), next, err)
	}
	counts, err := s.Counts(ctx, "")
	if err != nil {
		t.Fatalf("Counts of an empty outbox: %v", err)
	}
	if got := nonZero(counts); len(got) != 0 {
		t.Errorf("Counts of an empty outbox = %v, want none", got)
	}
}

func testOutboxEnqueueInvalid(t *testing.T, s schedule.Outbox) {
	ctx := context.Background()
	for name, j := range map[string]schedule.Job{
		"no id":      job("", t0),
		"no learner": func() schedule.Job { j := job("r1", t0); j.Learner = ""; return j }(),
		"no due":     job("r1", time.Time{}),
	} {
		n, err := s.Enqueue(ctx, job("ok", t0), j)
		wantKind(t, "Enqueue with "+name, err, bot.Invalid)
		if n != 0 {
			t.Errorf("Enqueue with %s refused the batch but says it stored %d jobs, want 0", name, n)
		}
	}
	// Nothing of a batch with an invalid job is stored.
	if _, err := s.Job(ctx, "ok"); bot.KindOf(err) != bot.NotFound {
		t.Errorf("Job(ok) after a refused batch: %v, want NotFound", err)
	}
	if n, err := s.Enqueue(ctx); err != nil || n != 0 {
		t.Errorf("Enqueue of nothing = %d, %v; want 0, nil", n, err)
	}
}

func testOutboxClaimDueOnly(t *testing.T, s schedule.Outbox) {
	enqueue(t, s,
		job("past", t0.Add(-time.Minute)),
		job("now", t0),
		job("later", t0.Add(time.Second)),
	)
	got := claim(t, s, "w1", t0, 10)
	wantIDs(t, "Claim at t0", got, "past", "now")
	wantIDs(t, "Claim again at t0", claim(t, s, "w1", t0, 10))
	wantIDs(t, "Claim a second later", claim(t, s, "w2", t0.Add(time.Second), 10), "later")
	for _, id := range []string{"past", "now"} {
		j := getJob(t, s, id)
		if j.Status != schedule.Claimed || j.Worker != "w1" || j.Attempts != 1 ||
			!j.ClaimedAt.Equal(t0) || !j.LeaseUntil.Equal(t0.Add(lease)) {
			t.Errorf("Job(%s) after Claim = status %s, worker %q, attempts %d, claimed at %v, lease until %v; want claimed by w1, 1, %v, %v",
				id, j.Status, j.Worker, j.Attempts, j.ClaimedAt, j.LeaseUntil, t0, t0.Add(lease))
		}
	}
}

func testOutboxClaimOrder(t *testing.T, s schedule.Outbox) {
	var jobs []schedule.Job
	for _, m := range []int{5, 1, 4, 2, 3} {
		jobs = append(jobs, job(fmt.Sprint("m", m), t0.Add(-time.Duration(10-m)*time.Minute)))
	}
	enqueue(t, s, jobs...)
	wantIDs(t, "first Claim of 2", claim(t, s, "w1", t0, 2), "m1", "m2")
	wantIDs(t, "second Claim of 2", claim(t, s, "w1", t0, 2), "m3", "m4")
	wantIDs(t, "third Claim of 2", claim(t, s, "w1", t0, 2), "m5")
}

func testOutboxClaimNone(t *testing.T, s schedule.Outbox) {
	wantIDs(t, "Claim of an empty outbox", claim(t, s, "w1", t0, 10))
	enqueue(t, s, job("r1", t0))
	wantIDs(t, "Claim of at most 0", claim(t, s, "w1", t0, 0))
	wantIDs(t, "Claim after max 0", claim(t, s, "w1", t0, 1), "r1")
}

// testOutboxConcurrentClaims has claimers race over 500 due jobs in small
// batches: each job is claimed exactly once.
func testOutboxConcurrentClaims(t *testing.T, s schedule.Outbox) {
	const n, claimers = 500, 4
	jobs := make([]schedule.Job, n)
	for i := range jobs {
		jobs[i] = job(fmt.Sprintf("r%03d", i), t0.Add(-time.Duration(i)*time.Second))
	}
	enqueue(t, s, jobs...)
	var (
		mu  sync.Mutex
		got = map[string]string{} // job id → worker
		wg  sync.WaitGroup
	)
	for w := range claimers {
		worker := fmt.Sprint("w", w)
		wg.Go(func() {
			for {
				batch, err := s.Claim(context.Background(), worker, t0, lease, 7)
				if err != nil {
					t.Errorf("Claim(%s): %v", worker, err)
					return
				}
				if len(batch) == 0 {
					return
				}
				mu.Lock()
				for _, j := range batch {
					if other, ok := got[j.ID]; ok {
						t.Errorf("job %s claimed by %s and %s", j.ID, other, worker)
					}
					if j.Worker != worker {
						t.Errorf("job %s claimed by %s has Worker %q", j.ID, worker, j.Worker)
					}
					got[j.ID] = worker
				}
				mu.Unlock()
			}
		})
	}
	within(t, "concurrent claims", wg.Wait)
	if len(got) != n {
		t.Errorf("%d jobs claimed, want %d", len(got), n)
	}
	perWorker := map[string]int{}
	for _, w := range got {
		perWorker[w]++
	}
	t.Logf("claims per worker: %v", perWorker)
}

func testOutboxLeaseExpiry(t *testing.T, s schedule.Outbox) {
	enqueue(t, s, job("r1", t0))
	first := claim(t, s, "a", t0, 1)
	wantIDs(t, "Claim by a", first, "r1")
	wantIDs(t, "Claim by b within a's lease", claim(t, s, "b", t0.Add(lease-time.Second), 1))

	t1 := t0.Add(lease + time.Second)
	got := claim(t, s, "b", t1, 1)
	wantIDs(t, "Claim by b after a's lease", got, "r1")
	want := claimed(first[0], "b", t1)
	if diff := cmp.Diff(got[0], want, opts); diff != "" {
		t.Errorf("reclaimed job mismatch (-got +want):\n%s", diff)
	}
	if got[0].Attempts != 2 || !got[0].ClaimedAt.Equal(t0) {
		t.Errorf("reclaimed job: attempts %d, claimed at %v; want 2 and the first claim's %v", got[0].Attempts, got[0].ClaimedAt, t0)
	}

	// a comes back from its pause and reports a send: it no longer holds
	// the job, so nothing is saved.
	late := first[0]
	late.Status, late.SID = schedule.Sent, "SMa"
	wantKind(t, "Settle by a after b reclaimed", s.Settle(context.Background(), late), bot.Conflict)
	wantJob(t, s, want)

	done := got[0]
	done.Status, done.SID, done.SentAt, done.UpdatedAt = schedule.Sent, "SMb", t1, t1
	settle(t, s, done)
	wantJob(t, s, done)
}

func testOutboxSettleSent(t *testing.T, s schedule.Outbox) {
	enqueue(t, s, job("r1", t0))
	j := claim(t, s, "w1", t0, 1)[0]
	j.Status, j.SID, j.Templated, j.SentAt, j.UpdatedAt = schedule.Sent, "SM1", true, t0.Add(time.Second), t0.Add(time.Second)
	settle(t, s, j)
	wantJob(t, s, j)
	wantIDs(t, "Claim of a sent job after its lease", claim(t, s, "w2", t0.Add(2*lease), 10))
	// Settled once, the job is no longer the worker's.
	wantKind(t, "second Settle", s.Settle(context.Background(), j), bot.Conflict)
}

func testOutboxSettleRequeue(t *testing.T, s schedule.Outbox) {
	enqueue(t, s, job("r1", t0))
	j := claim(t, s, "w1", t0, 1)[0]
	// Quiet hours: back to the queue until 08:00.
	morning := t0.Add(10 * time.Hour)
	j.Status, j.DueAt, j.LeaseUntil, j.UpdatedAt = schedule.Queued, morning, time.Time{}, t0
	settle(t, s, j)
	wantJob(t, s, j)
	wantIDs(t, "Claim before the new due time", claim(t, s, "w1", morning.Add(-time.Second), 10))
	got := claim(t, s, "w2", morning, 10)
	wantIDs(t, "Claim at the new due time", got, "r1")
	if diff := cmp.Diff(got[0], claimed(j, "w2", morning), opts); diff != "" {
		t.Errorf("claim after requeue mismatch (-got +want):\n%s", diff)
	}
}

func testOutboxSettleFailed(t *testing.T, s schedule.Outbox) {
	enqueue(t, s, job("r1", t0))
	j := claim(t, s, "w1", t0, 1)[0]
	j.Status, j.Reason = schedule.Failed, "21610 opted out"
	settle(t, s, j)
	wantJob(t, s, j)
	wantIDs(t, "Claim of a failed job", claim(t, s, "w2", t0.Add(2*lease), 10))
}

func testOutboxSettleFenced(t *testing.T, s schedule.Outbox) {
	ctx := context.Background()
	enqueue(t, s, job("r1", t0), job("r2", t0.Add(time.Hour)))
	j := claim(t, s, "w1", t0, 1)[0]

	other := j
	other.Worker, other.Status = "w2", schedule.Sent
	wantKind(t, "Settle by a worker that never claimed it", s.Settle(ctx, other), bot.Conflict)

	queued := job("r2", t0.Add(time.Hour))
	queued.Worker, queued.Status = "w1", schedule.Sent
	wantKind(t, "Settle of a queued job", s.Settle(ctx, queued), bot.Conflict)
	want := job("r2", t0.Add(time.Hour))
	want.Status = schedule.Queued
	wantJob(t, s, want)
	wantJob(t, s, j)

	// A lease that ran out with nobody taking over is still the worker's.
	j.Status, j.SID = schedule.Sent, "SM1"
	settle(t, s, j)
	wantJob(t, s, j)
}

// testOutboxEnqueueCounts: Enqueue says how many jobs it stored, those
// whose ID was not stored yet; an ID twice in one batch is one job.
func testOutboxEnqueueCounts(t *testing.T, s schedule.Outbox) {
	if got := enqueue(t, s, job("r1", t0), job("r2", t0)); got != 2 {
		t.Errorf("Enqueue of 2 new jobs = %d, want 2", got)
	}
	if got := enqueue(t, s, job("r2", t0), job("r3", t0), job("r3", t0.Add(time.Hour)), job("r4", t0)); got != 2 {
		t.Errorf("Enqueue of r2 (stored), r3 twice and r4 = %d, want 2", got)
	}
	want := job("r3", t0)
	want.Status = schedule.Queued
	wantJob(t, s, want)
	got := ids(list(t, s, schedule.Filter{}))
	slices.Sort(got)
	if diff := cmp.Diff(got, []string{"r1", "r2", "r3", "r4"}); diff != "" {
		t.Errorf("Jobs: job ids (-got +want):\n%s", diff)
	}
}

// testOutboxEnqueueLeavesQueued is the nudge's case: the job of one
// silence, decided twice, is queued once, as it was first.
func testOutboxEnqueueLeavesQueued(t *testing.T, s schedule.Outbox) {
	n := job("nudge1-5f2c9a", t0.Add(48*time.Hour))
	n.Kind, n.Text, n.Cohort = schedule.Nudge, "", ""
	enqueue(t, s, n)
	later := n
	later.DueAt, later.CreatedAt = t0.Add(72*time.Hour), t0
	if got := enqueue(t, s, later); got != 0 {
		t.Errorf("Enqueue of a queued ID = %d, want 0", got)
	}
	n.Status = schedule.Queued
	wantJob(t, s, n)
	wantIDs(t, "Claim at the first due time", claim(t, s, "w1", t0.Add(48*time.Hour), 10), n.ID)
	wantIDs(t, "Jobs after enqueueing again", list(t, s, schedule.Filter{}), n.ID)
}

func testOutboxEnqueueLeavesOthers(t *testing.T, s schedule.Outbox) {
	enqueue(t, s, job("claimed", t0), job("sent", t0), job("cancelled", t0.Add(time.Hour)))
	c := claim(t, s, "w1", t0, 2)
	c[1].Status, c[1].SID = schedule.Sent, "SM1"
	settle(t, s, c[1])
	if err := s.Cancel(context.Background(), "cancelled"); err != nil {
		t.Fatal(err)
	}
	before := map[string]schedule.Job{}
	for _, id := range []string{"claimed", "sent", "cancelled"} {
		before[id] = getJob(t, s, id)
	}
	for id := range before {
		again := job(id, t0.Add(-time.Hour))
		again.Text = "changed"
		if got := enqueue(t, s, again); got != 0 {
			t.Errorf("Enqueue of %s again = %d, want 0", id, got)
		}
	}
	for _, want := range before {
		wantJob(t, s, want)
	}
	wantIDs(t, "Claim after enqueueing again", claim(t, s, "w2", t0, 10))
}

// testOutboxEnqueueKeepsCohort: a stored job stays in its cohort's list
// and counts when its ID is enqueued again for another cohort.
func testOutboxEnqueueKeepsCohort(t *testing.T, s schedule.Outbox) {
	a := job("r1", t0)
	a.Cohort = "A"
	enqueue(t, s, a)
	b := a
	b.Cohort = "B"
	enqueue(t, s, b)
	wantIDs(t, "Jobs of A", list(t, s, schedule.Filter{Cohort: "A"}), "r1")
	wantIDs(t, "Jobs of B", list(t, s, schedule.Filter{Cohort: "B"}))
	wantCounts(t, s)
}

// sent enqueues a job, claims it and settles it as sent with sid.
func sent(tb testing.TB, s schedule.Outbox, id, sid string) schedule.Job {
	tb.Helper()
	enqueue(tb, s, job(id, t0))
	j := claim(tb, s, "w1", t0, 1)[0]
	j.Status, j.SID, j.SentAt = schedule.Sent, sid, t0
	settle(tb, s, j)
	return j
}

func delivered(tb testing.TB, s schedule.Outbox, id string, status bot.DeliveryStatus, code int) {
	tb.Helper()
	if err := s.Delivered(context.Background(), id, status, code); err != nil {
		tb.Fatalf("Delivered(%s, %s, %d): %v", id, status, code, err)
	}
}

func wantStatus(tb testing.TB, s schedule.Outbox, id string, status schedule.Status, reason string) {
	tb.Helper()
	j := getJob(tb, s, id)
	if j.Status != status || j.Reason != reason {
		tb.Errorf("Job(%s): status %s, reason %q; want %s, %q", id, j.Status, j.Reason, status, reason)
	}
}

func testOutboxDelivered(t *testing.T, s schedule.Outbox) {
	j := sent(t, s, "r1", "SM1")
	delivered(t, s, "r1", bot.StatusQueued, 0)
	delivered(t, s, "r1", bot.StatusSent, 0)
	wantStatus(t, s, "r1", schedule.Sent, "")
	delivered(t, s, "r1", bot.StatusDelivered, 0)
	wantStatus(t, s, "r1", schedule.Delivered, "")
	delivered(t, s, "r1", bot.StatusRead, 0)
	wantStatus(t, s, "r1", schedule.Delivered, "")
	// A late failure never undoes a receipt.
	delivered(t, s, "r1", bot.StatusUndelivered, 30008)
	wantStatus(t, s, "r1", schedule.Delivered, "")
	got := getJob(t, s, "r1")
	if got.SID != j.SID || !got.SentAt.Equal(j.SentAt) || got.Worker != "w1" {
		t.Errorf("Delivered changed the send: sid %q, sent at %v, worker %q", got.SID, got.SentAt, got.Worker)
	}
	if !got.UpdatedAt.After(j.UpdatedAt) {
		t.Errorf("Delivered left UpdatedAt at %v", got.UpdatedAt)
	}
}

func testOutboxDeliveredFailed(t *testing.T, s schedule.Outbox) {
	sent(t, s, "r1", "SM1")
	delivered(t, s, "r1", bot.StatusUndelivered, 63016)
	wantStatus(t, s, "r1", schedule.Failed, "63016")
	// Older statuses arriving late change nothing.
	delivered(t, s, "r1", bot.StatusSent, 0)
	delivered(t, s, "r1", bot.StatusFailed, 30008)
	wantStatus(t, s, "r1", schedule.Failed, "63016")
	// A receipt outranks a failure (bot.DeliveryStatus): it arrived after all.
	delivered(t, s, "r1", bot.StatusDelivered, 0)
	wantStatus(t, s, "r1", schedule.Delivered, "")

	sent(t, s, "r2", "SM2")
	delivered(t, s, "r2", bot.StatusFailed, 0)
	wantStatus(t, s, "r2", schedule.Failed, "failed")
}

// testOutboxDeliveredBeforeSettle: Twilio may call back before the worker
// that sent the message has saved the send.
func testOutboxDeliveredBeforeSettle(t *testing.T, s schedule.Outbox) {
	enqueue(t, s, job("r1", t0), job("r2", t0))
	c := claim(t, s, "w1", t0, 2)
	delivered(t, s, "r1", bot.StatusDelivered, 0)
	delivered(t, s, "r2", bot.StatusUndelivered, 63016)
	wantStatus(t, s, "r1", schedule.Claimed, "")
	wantStatus(t, s, "r2", schedule.Claimed, "")
	for i, sid := range []string{"SM1", "SM2"} {
		c[i].Status, c[i].SID = schedule.Sent, sid
		settle(t, s, c[i])
	}
	wantStatus(t, s, "r1", schedule.Delivered, "")
	wantStatus(t, s, "r2", schedule.Failed, "63016")
}

func testOutboxDeliveredIgnored(t *testing.T, s schedule.Outbox) {
	sent(t, s, "r1", "SM1")
	delivered(t, s, "r1", bot.DeliveryStatus("teleported"), 0)
	wantStatus(t, s, "r1", schedule.Sent, "")
	// A job that was never sent does not become delivered.
	enqueue(t, s, job("q", t0.Add(time.Hour)))
	delivered(t, s, "q", bot.StatusDelivered, 0)
	wantStatus(t, s, "q", schedule.Queued, "")
}

func testOutboxJobs(t *testing.T, s schedule.Outbox) {
	ctx := context.Background()
	mk := func(id, cohort string, due time.Duration) schedule.Job {
		j := job(id, t0.Add(due))
		j.Cohort = cohort
		return j
	}
	enqueue(t, s,
		mk("a1", "A", -3*time.Hour),
		mk("a2", "A", -2*time.Hour),
		mk("a3", "A", time.Hour),
		mk("b1", "B", -90*time.Minute),
		mk("n1", "", -time.Minute),
	)
	c := claim(t, s, "w1", t0, 1) // a1
	c[0].Status, c[0].SID = schedule.Sent, "SM1"
	settle(t, s, c[0])
	if err := s.Cancel(ctx, "a3"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		f    schedule.Filter
		want []string
	}{
		{schedule.Filter{}, []string{"a3", "n1", "b1", "a2", "a1"}},
		{schedule.Filter{Cohort: "A"}, []string{"a3", "a2", "a1"}},
		{schedule.Filter{Cohort: "B"}, []string{"b1"}},
		{schedule.Filter{Cohort: "C"}, nil},
		{schedule.Filter{Status: []schedule.Status{schedule.Queued}}, []string{"n1", "b1", "a2"}},
		{schedule.Filter{Cohort: "A", Status: []schedule.Status{schedule.Sent, schedule.Cancelled}}, []string{"a3", "a1"}},
		{schedule.Filter{Cohort: "A", Status: []schedule.Status{schedule.Delivered}}, nil},
		{schedule.Filter{Limit: 2}, []string{"a3", "n1"}},
		{schedule.Filter{Status: []schedule.Status{schedule.Queued}, Limit: 2}, []string{"n1", "b1"}},
	} {
		got := list(t, s, tt.f)
		wantIDs(t, fmt.Sprintf("Jobs(%+v)", tt.f), got, tt.want...)
		for _, j := range got {
			if diff := cmp.Diff(j, getJob(t, s, j.ID), opts); diff != "" {
				t.Errorf("Jobs(%+v) gave %s unlike Job (-Jobs +Job):\n%s", tt.f, j.ID, diff)
			}
		}
	}
}

func testOutboxJobsDefaultLimit(t *testing.T, s schedule.Outbox) {
	jobs := make([]schedule.Job, 120)
	for i := range jobs {
		jobs[i] = job(fmt.Sprintf("r%03d", i), t0.Add(time.Duration(i)*time.Minute))
	}
	enqueue(t, s, jobs...)
	got := list(t, s, schedule.Filter{})
	if len(got) != 100 {
		t.Fatalf("Jobs with no limit: %d jobs, want the default 100", len(got))
	}
	if got[0].ID != "r119" || got[99].ID != "r020" {
		t.Errorf("Jobs with no limit: %s … %s, want r119 … r020", got[0].ID, got[99].ID)
	}
	if !slices.IsSortedFunc(got, func(a, b schedule.Job) int { return b.DueAt.Compare(a.DueAt) }) {
		t.Errorf("Jobs not newest due first: %v", ids(got))
	}
}

func testOutboxCancel(t *testing.T, s schedule.Outbox) {
	ctx := context.Background()
	enqueue(t, s, job("r1", t0), job("r2", t0))
	if err := s.Cancel(ctx, "r1"); err != nil {
		t.Fatalf("Cancel(r1): %v", err)
	}
	j := getJob(t, s, "r1")
	if j.Status != schedule.Cancelled || j.Reason == "" {
		t.Errorf("cancelled job: status %s, reason %q; want %s with a reason", j.Status, j.Reason, schedule.Cancelled)
	}
	if err := s.Cancel(ctx, "r1"); err != nil {
		t.Errorf("Cancel of a cancelled job: %v, want nil", err)
	}
	wantIDs(t, "Claim after Cancel", claim(t, s, "w1", t0, 10), "r2")
	r2 := getJob(t, s, "r2")
	r2.Status, r2.Reason = schedule.Failed, "opted out"
	settle(t, s, r2)
	wantKind(t, "Cancel of a failed job", s.Cancel(ctx, "r2"), bot.Conflict)
	wantStatus(t, s, "r2", schedule.Failed, "opted out")
}

func testOutboxCancelledContext(t *testing.T, s schedule.Outbox) {
	enqueue(t, s, job("r1", t0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var err error
	within(t, "Claim with a cancelled context", func() {
		_, err = s.Claim(ctx, "w1", t0, lease, 10)
	})
	if err == nil {
		t.Fatalf("Claim with a cancelled context succeeded")
	}
	wantStatus(t, s, "r1", schedule.Queued, "")
	within(t, "Enqueue with a cancelled context", func() {
		_, err = s.Enqueue(ctx, job("r2", t0))
	})
	if err == nil {
		t.Errorf("Enqueue with a cancelled context succeeded")
	}
}

// allJobs pages through the jobs f selects, f.Limit at a time, and
// returns them. It fails tb when a page is longer than the limit, when a
// page before the last is shorter, when the last page is empty (a cursor
// must not lead to nothing) or when a job comes twice.
func allJobs(tb testing.TB, s schedule.Outbox, f schedule.Filter) []schedule.Job {
	tb.Helper()
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var all []schedule.Job
	seen := map[string]bool{}
	f.Cursor = ""
	for page := 0; ; page++ {
		if page > 1000 {
			tb.Fatalf("Jobs(%+v): more than 1000 pages", f)
		}
		jobs, next, err := s.Jobs(context.Background(), f)
		if err != nil {
			tb.Fatalf("Jobs(%+v): %v", f, err)
		}
		if len(jobs) > limit {
			tb.Fatalf("Jobs(%+v): %d jobs, want at most %d", f, len(jobs), limit)
		}
		if page > 0 && len(jobs) == 0 {
			tb.Fatalf("Jobs(%+v): an empty page after a cursor, want the cursor of the page before to be \"\"", f)
		}
		if next != "" && len(jobs) < limit {
			tb.Fatalf("Jobs(%+v): %d jobs and a next page, want %d jobs on a page that is not the last", f, len(jobs), limit)
		}
		for _, j := range jobs {
			if seen[j.ID] {
				tb.Fatalf("Jobs(%+v): %s listed twice", f, j.ID)
			}
			seen[j.ID] = true
		}
		all = append(all, jobs...)
		if next == "" {
			return all
		}
		f.Cursor = next
	}
}

// nonZero returns counts without the statuses at zero, which a store may
// keep or not.
func nonZero[M ~map[K]N, K comparable, N int | int64](counts M) M {
	out := M{}
	for k, n := range counts {
		if n != 0 {
			out[k] = n
		}
	}
	return out
}

// recount counts by status the jobs that Jobs lists.
func recount(jobs []schedule.Job) map[schedule.Status]int {
	out := map[schedule.Status]int{}
	for _, j := range jobs {
		out[j.Status]++
	}
	return out
}

// wantCounts checks Counts against a recount through Jobs, for every job
// and for each cohort of a job, and returns the counts of every job.
func wantCounts(tb testing.TB, s schedule.Outbox) map[schedule.Status]int {
	tb.Helper()
	all := allJobs(tb, s, schedule.Filter{Limit: 7})
	cohorts := map[string]bool{"": true, "no such cohort": true}
	for _, j := range all {
		cohorts[j.Cohort] = true
	}
	for c := range cohorts {
		jobs := all
		if c != "" {
			jobs = allJobs(tb, s, schedule.Filter{Cohort: c, Limit: 7})
		}
		got, err := s.Counts(context.Background(), c)
		if err != nil {
			tb.Fatalf("Counts(%q): %v", c, err)
		}
		if diff := cmp.Diff(nonZero(got), recount(jobs)); diff != "" {
			tb.Errorf("Counts(%q) differ from a recount of Jobs (-got +want):\n%s", c, diff)
		}
	}
	return recount(all)
}

// testOutboxJobsPages pages through jobs of several cohorts and statuses,
// many of them due at the same time, with small limits: every job the
// filter selects comes exactly once, newest due first.
func testOutboxJobsPages(t *testing.T, s schedule.Outbox) {
	const n = 24
	var jobs []schedule.Job
	for i := range n {
		// Three jobs share each due time, so that pages break inside a
		// due time.
		j := job(fmt.Sprintf("j%02d", i), t0.Add(time.Duration(i/3)*time.Minute))
		j.Cohort = []string{"A", "B", "A", ""}[i%4]
		jobs = append(jobs, j)
	}
	enqueue(t, s, jobs...)
	// Some claimed and sent, so that a status filter skips jobs between
	// those it keeps.
	for i, c := range claim(t, s, "w1", t0.Add(time.Hour), 9) {
		if i%2 == 0 {
			c.Status, c.SID = schedule.Sent, fmt.Sprint("SM", i)
			settle(t, s, c)
		}
	}
	stored := allJobs(t, s, schedule.Filter{Limit: 1000})
	if len(stored) != n {
		t.Fatalf("Jobs: %d jobs, want %d", len(stored), n)
	}
	for _, f := range []schedule.Filter{
		{},
		{Cohort: "A"},
		{Cohort: "B"},
		{Status: []schedule.Status{schedule.Queued}},
		{Cohort: "A", Status: []schedule.Status{schedule.Claimed, schedule.Sent}},
		{Status: []schedule.Status{schedule.Delivered}},
	} {
		var want []string
		for _, j := range stored {
			if (f.Cohort == "" || j.Cohort == f.Cohort) && (len(f.Status) == 0 || slices.Contains(f.Status, j.Status)) {
				want = append(want, j.ID)
			}
		}
		slices.Sort(want)
		for _, limit := range []int{1, 3, 4, 5, len(want), 0} {
			f.Limit = limit
			got := allJobs(t, s, f)
			if !slices.IsSortedFunc(got, func(a, b schedule.Job) int { return b.DueAt.Compare(a.DueAt) }) {
				t.Errorf("Jobs(%+v) pages not newest due first: %v", f, ids(got))
			}
			gotIDs := ids(got)
			slices.Sort(gotIDs)
			if diff := cmp.Diff(gotIDs, want, opts); diff != "" {
				t.Errorf("Jobs(%+v) pages: job ids differ (-got +want):\n%s", f, diff)
			}
		}
	}
}

// testOutboxCounts follows Counts through every change of a job's status:
// each time they equal a recount of Jobs, for every job and each cohort.
func testOutboxCounts(t *testing.T, s schedule.Outbox) {
	ctx := context.Background()
	mk := func(id, cohort string, due time.Time) schedule.Job {
		j := job(id, due)
		j.Cohort = cohort
		return j
	}
	later := t0.Add(2 * time.Hour)
	enqueue(t, s, mk("a1", "A", t0), mk("a2", "A", t0), mk("a3", "A", t0), mk("b1", "B", t0), mk("b2", "B", t0),
		mk("n1", "", later), mk("n2", "", later))
	wantCounts(t, s)
	enqueue(t, s, mk("a1", "B", t0)) // stored: nothing moves
	wantCounts(t, s)

	// Claimed jobs by ID: the order of a claim among jobs due at the same
	// time is the store's.
	c := map[string]schedule.Job{}
	for _, j := range claim(t, s, "w1", t0, 5) {
		c[j.ID] = j
	}
	if len(c) != 5 || c["a1"].ID == "" || c["b2"].ID == "" {
		t.Fatalf("Claim at t0 took %v, want a1, a2, a3, b1 and b2", c)
	}
	wantCounts(t, s)
	settleAs := func(id string, change func(j *schedule.Job)) {
		t.Helper()
		j := c[id]
		change(&j)
		settle(t, s, j)
	}
	settleAs("a1", func(j *schedule.Job) { j.Status, j.SID = schedule.Sent, "SM1" })
	wantCounts(t, s)
	settleAs("a2", func(j *schedule.Job) { j.Status, j.Reason = schedule.Failed, "21610" })
	wantCounts(t, s)
	settleAs("a3", func(j *schedule.Job) {
		j.Status, j.DueAt, j.LeaseUntil = schedule.Queued, t0.Add(time.Hour), time.Time{}
	})
	wantCounts(t, s)
	delivered(t, s, "a1", bot.StatusDelivered, 0)
	wantCounts(t, s)
	// The callback beats the worker: the job becomes delivered as it is
	// settled.
	delivered(t, s, "b1", bot.StatusDelivered, 0)
	wantCounts(t, s)
	settleAs("b1", func(j *schedule.Job) { j.Status, j.SID = schedule.Sent, "SM4" })
	wantCounts(t, s)
	// A lease runs out and another worker takes the job over.
	if got := claim(t, s, "w2", t0.Add(2*lease), 1); len(got) != 1 || got[0].ID != "b2" {
		t.Fatalf("Claim after the lease = %v, want b2", ids(got))
	}
	wantCounts(t, s)
	b2 := getJob(t, s, "b2")
	b2.Status, b2.SID = schedule.Sent, "SM5"
	settle(t, s, b2)
	delivered(t, s, "b2", bot.StatusUndelivered, 63016)
	wantCounts(t, s)
	if err := s.Cancel(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	got := wantCounts(t, s)
	want := map[schedule.Status]int{schedule.Queued: 2, schedule.Delivered: 2, schedule.Failed: 2, schedule.Cancelled: 1}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("counts of every job at the end (-got +want):\n%s", diff)
	}
}

// testOutboxClaimJob: ClaimJob claims one job by its id when Claim could
// take it, once; otherwise it returns the job as it stands.
func testOutboxClaimJob(t *testing.T, s schedule.Outbox) {
	ctx := context.Background()
	enqueue(t, s, job("now", t0), job("later", t0.Add(time.Hour)))
	if _, _, err := s.ClaimJob(ctx, "w1", "none", t0, lease); bot.KindOf(err) != bot.NotFound {
		t.Fatalf("ClaimJob of no job: %v, want NotFound", err)
	}
	if _, _, err := s.ClaimJob(ctx, "", "now", t0, lease); bot.KindOf(err) != bot.Invalid {
		t.Fatalf("ClaimJob without a worker: %v, want Invalid", err)
	}
	got, ok, err := s.ClaimJob(ctx, "w1", "now", t0, lease)
	if err != nil || !ok || got.Status != schedule.Claimed || got.Worker != "w1" || got.Attempts != 1 || !got.ClaimedAt.Equal(t0) {
		t.Fatalf("ClaimJob = %+v, %v, %v", got, ok, err)
	}
	// Taken: neither a second ClaimJob nor Claim gets it.
	if again, ok, err := s.ClaimJob(ctx, "w2", "now", t0, lease); err != nil || ok || again.Worker != "w1" {
		t.Fatalf("second ClaimJob = %+v, %v, %v", again, ok, err)
	}
	if jobs := claim(t, s, "w2", t0, 5); len(jobs) != 0 {
		t.Fatalf("Claim took %d jobs, want none", len(jobs))
	}
	if _, ok, _ := s.ClaimJob(ctx, "w2", "later", t0, lease); ok {
		t.Fatal("ClaimJob took a job not due")
	}
	// Its lease ran out: another worker takes it over.
	over, ok, err := s.ClaimJob(ctx, "w2", "now", t0.Add(2*lease), lease)
	if err != nil || !ok || over.Worker != "w2" || over.Attempts != 2 || !over.ClaimedAt.Equal(t0) {
		t.Fatalf("take-over = %+v, %v, %v", over, ok, err)
	}
	over.Status, over.SID, over.SentAt, over.UpdatedAt = schedule.Sent, "SM1", t0.Add(2*lease), t0.Add(2*lease)
	over.LeaseUntil = time.Time{}
	settle(t, s, over)
	if sent, ok, err := s.ClaimJob(ctx, "w3", "now", t0.Add(time.Hour), lease); err != nil || ok || sent.Status != schedule.Sent || sent.SID != "SM1" {
		t.Fatalf("ClaimJob of a sent job = %+v, %v, %v", sent, ok, err)
	}
}

// testOutboxReplyRoundTrip: a reply's media, choice and the reply before
// it are kept.
func testOutboxReplyRoundTrip(t *testing.T, s schedule.Outbox) {
	j := job(schedule.ReplyID("L0123456789abcdef0123", "SM0123456789abcdef0123456789abcdef", 1), t0)
	j.Kind, j.Cohort, j.Template, j.Lesson, j.Step = schedule.Reply, "", "", "", ""
	j.Text = "Qu'est-ce qui entre dans le coût ?\n1. La matière\n2. Tout"
	j.Media = "https://darsi.example.org/media/costing/tagine.jpg"
	j.After = schedule.ReplyID("L0123456789abcdef0123", "SM0123456789abcdef0123456789abcdef", 0)
	j.Choice = &bot.Choice{Scope: "costing-1/what-counts", Lang: bot.French, Body: "Qu'est-ce qui entre dans le coût ?",
		Options: []bot.ChoiceOption{{ID: "darsi:costing-1/what-counts#1", Title: "La matière"}, {ID: "darsi:costing-1/what-counts#2", Title: "Tout"}}}
	enqueue(t, s, j)
	got := getJob(t, s, j.ID)
	if diff := cmp.Diff(got.Choice, j.Choice); diff != "" || got.Media != j.Media || got.After != j.After || got.Text != j.Text || got.Kind != schedule.Reply {
		t.Fatalf("reply read back as %+v (choice -got +want:\n%s)", got, diff)
	}
}

// turn returns the reply jobs of one turn of amina's, due at t0.
func turn(msg string, texts ...string) []schedule.Job {
	jobs := make([]schedule.Job, len(texts))
	for i, text := range texts {
		jobs[i] = schedule.Job{ID: schedule.ReplyID("L0123456789abcdef0123", msg, i), Kind: schedule.Reply, Learner: amina,
			Text: text, DueAt: t0, CreatedAt: t0, UpdatedAt: t0, CreatedBy: "darsi"}
		if i > 0 {
			jobs[i].After = jobs[i-1].ID
		}
	}
	return jobs
}

func enqueueClaimed(tb testing.TB, s schedule.Outbox, worker string, now time.Time, jobs ...schedule.Job) ([]schedule.Job, []bool) {
	tb.Helper()
	got, ok, err := s.EnqueueClaimed(context.Background(), worker, now, lease, jobs...)
	if err != nil {
		tb.Fatalf("EnqueueClaimed(%s, %d jobs): %v", worker, len(jobs), err)
	}
	if len(got) != len(jobs) || len(ok) != len(jobs) {
		tb.Fatalf("EnqueueClaimed(%d jobs) returned %d jobs and %d claims", len(jobs), len(got), len(ok))
	}
	return got, ok
}

// testOutboxEnqueueClaimed: EnqueueClaimed stores new jobs claimed by the
// worker, as Claim would have claimed them, so that no claim takes them
// within the lease; a second call (a retried webhook, at another replica)
// claims nothing and returns them as they stand, and a job another call
// left queued is claimed when due.
func testOutboxEnqueueClaimed(t *testing.T, s schedule.Outbox) {
	jobs := turn("SM1", "Bravo !", "La suite", "Prêt ?")
	got, ok := enqueueClaimed(t, s, "w1", t0, jobs...)
	for i, j := range jobs {
		want := claimed(j, "w1", t0)
		want.Status, want.Attempts = schedule.Claimed, 1
		if !ok[i] {
			t.Errorf("job %d not claimed", i)
		}
		if diff := cmp.Diff(got[i], want, opts); diff != "" {
			t.Errorf("job %d as returned (-got +want):\n%s", i, diff)
		}
		wantJob(t, s, want)
	}
	if diff := cmp.Diff(wantCounts(t, s), map[schedule.Status]int{schedule.Claimed: 3}); diff != "" {
		t.Errorf("counts (-got +want):\n%s", diff)
	}
	wantIDs(t, "Claim by w2 within w1's lease", claim(t, s, "w2", t0.Add(lease-time.Second), 5))
	again, ok := enqueueClaimed(t, s, "w2", t0.Add(time.Second), jobs...)
	for i := range jobs {
		if ok[i] || again[i].Worker != "w1" || again[i].Attempts != 1 || again[i].Status != schedule.Claimed {
			t.Errorf("job %d again: claimed %v, %s by %q after %d claims; want w1's, untouched", i, ok[i], again[i].Status, again[i].Worker, again[i].Attempts)
		}
	}

	// w1 sends the first; the others go back to the queue, the second due
	// later: a call claims the third only.
	first := got[0]
	first.Status, first.SID, first.SentAt, first.UpdatedAt, first.LeaseUntil = schedule.Sent, "SM0", t0, t0, time.Time{}
	second := got[1]
	second.Status, second.DueAt, second.LeaseUntil = schedule.Queued, t0.Add(time.Hour), time.Time{}
	third := got[2]
	third.Status, third.LeaseUntil, third.ClaimedAt = schedule.Queued, time.Time{}, time.Time{}
	for _, j := range []schedule.Job{first, second, third} {
		settle(t, s, j)
	}
	t1 := t0.Add(time.Minute / 2)
	after, ok := enqueueClaimed(t, s, "w2", t1, jobs...)
	if ok[0] || after[0].Status != schedule.Sent || after[0].SID != "SM0" {
		t.Errorf("the sent job: claimed %v, %+v", ok[0], after[0])
	}
	if ok[1] || after[1].Status != schedule.Queued {
		t.Errorf("the job due later: claimed %v, %s", ok[1], after[1].Status)
	}
	if want := claimed(third, "w2", t1); !ok[2] || !cmp.Equal(after[2], want, opts) {
		t.Errorf("the queued job: claimed %v (-got +want):\n%s", ok[2], cmp.Diff(after[2], want, opts))
	}
	if diff := cmp.Diff(wantCounts(t, s), map[schedule.Status]int{schedule.Sent: 1, schedule.Queued: 1, schedule.Claimed: 1}); diff != "" {
		t.Errorf("counts (-got +want):\n%s", diff)
	}
}

// testOutboxEnqueueClaimedRecovered: the replica that queued a turn
// claimed dies; when the lease runs out, another replica's Claim takes
// the jobs over (as the first claim's, so that its runner looks in
// Twilio's list before sending), and so does a retried webhook's
// EnqueueClaimed at a third replica.
func testOutboxEnqueueClaimedRecovered(t *testing.T, s schedule.Outbox) {
	jobs := turn("SM1", "Bravo !", "Prêt ?")
	got, _ := enqueueClaimed(t, s, "dead", t0, jobs...)
	t1 := t0.Add(lease + time.Second)
	over := claim(t, s, "w2", t1, 1)
	wantIDs(t, "Claim after the lease", over, jobs[0].ID)
	if want := claimed(got[0], "w2", t1); !cmp.Equal(over[0], want, opts) || over[0].Attempts != 2 || !over[0].ClaimedAt.Equal(t0) {
		t.Errorf("taken over (-got +want):\n%s", cmp.Diff(over[0], want, opts))
	}
	again, ok := enqueueClaimed(t, s, "w3", t1, jobs...)
	if ok[0] || again[0].Worker != "w2" {
		t.Errorf("the job w2 holds: claimed %v by %q", ok[0], again[0].Worker)
	}
	if want := claimed(got[1], "w3", t1); !ok[1] || !cmp.Equal(again[1], want, opts) || again[1].Attempts != 2 {
		t.Errorf("the dead replica's job at a retried webhook: claimed %v (-got +want):\n%s", ok[1], cmp.Diff(again[1], want, opts))
	}
	// The dead replica comes back and settles: too late.
	late := got[1]
	late.Status, late.SID = schedule.Sent, "SMlate"
	wantKind(t, "Settle by the dead replica", s.Settle(context.Background(), late), bot.Conflict)
	if diff := cmp.Diff(wantCounts(t, s), map[schedule.Status]int{schedule.Claimed: 2}); diff != "" {
		t.Errorf("counts (-got +want):\n%s", diff)
	}
}

// testOutboxEnqueueClaimedInvalid: a job Enqueue refuses, or a claim
// without a worker, stores nothing of the call.
func testOutboxEnqueueClaimedInvalid(t *testing.T, s schedule.Outbox) {
	ctx := context.Background()
	jobs := turn("SM1", "Bravo !", "Prêt ?")
	bad := jobs[1]
	bad.Learner = ""
	_, _, err := s.EnqueueClaimed(ctx, "w1", t0, lease, jobs[0], bad)
	wantKind(t, "EnqueueClaimed of a job without a learner", err, bot.Invalid)
	_, _, err = s.EnqueueClaimed(ctx, "", t0, lease, jobs...)
	wantKind(t, "EnqueueClaimed without a worker", err, bot.Invalid)
	for _, j := range jobs {
		_, err := s.Job(ctx, j.ID)
		wantKind(t, "Job after refused calls", err, bot.NotFound)
	}
}

// testOutboxSettleAll: SettleAll settles each job as Settle would, records
// each delivery, and refuses only the job its caller no longer holds.
func testOutboxSettleAll(t *testing.T, s schedule.Outbox) {
	ctx := context.Background()
	jobs := turn("SM1", "Bravo !", "La suite", "Prêt ?")
	got, _ := enqueueClaimed(t, s, "w1", t0, jobs...)
	// The third's lease ran out and w2 took it over.
	t1 := t0.Add(lease + time.Second)
	if _, ok, err := s.ClaimJob(ctx, "w2", jobs[2].ID, t1, lease); err != nil || !ok {
		t.Fatalf("ClaimJob by w2: %v, %v", ok, err)
	}
	delivered(t, s, jobs[0].ID, bot.StatusDelivered, 0) // the callback beat the settle
	sent := func(j schedule.Job, sid string) schedule.Settlement {
		j.Status, j.SID, j.SentAt, j.UpdatedAt, j.LeaseUntil = schedule.Sent, sid, t0, t0, time.Time{}
		return schedule.Settlement{Job: j, Delivery: &bot.Delivery{SID: sid, JobID: j.ID, Status: bot.StatusQueued, UpdatedAt: t0}}
	}
	items := []schedule.Settlement{sent(got[0], "SM0"), sent(got[1], "SM1"), sent(got[2], "SM2")}
	errs := s.SettleAll(ctx, items...)
	if len(errs) != 3 || errs[0] != nil || errs[1] != nil {
		t.Fatalf("SettleAll = %v, want nil for the jobs w1 holds", errs)
	}
	wantKind(t, "SettleAll of a job w2 took over", errs[2], bot.Conflict)
	wantStatus(t, s, jobs[0].ID, schedule.Delivered, "")
	wantJob(t, s, items[1].Job)
	if j := getJob(t, s, jobs[2].ID); j.Status != schedule.Claimed || j.Worker != "w2" {
		t.Errorf("the job w2 holds is %s by %q", j.Status, j.Worker)
	}
	if d, ok := s.(schedule.Deliveries); ok {
		for _, it := range items {
			rec, err := d.Delivery(ctx, it.Delivery.SID)
			if err != nil || rec.JobID != it.Job.ID || rec.Status != bot.StatusQueued {
				t.Errorf("the delivery of %s: %+v, %v", it.Job.ID, rec, err)
			}
		}
	}
	if diff := cmp.Diff(wantCounts(t, s), map[schedule.Status]int{schedule.Delivered: 1, schedule.Sent: 1, schedule.Claimed: 1}); diff != "" {
		t.Errorf("counts (-got +want):\n%s", diff)
	}
	// A settle refused as Settle refuses it, with what it was given.
	bad := items[1]
	bad.Job.Status = "lost"
	wantKind(t, "SettleAll of an unknown status", s.SettleAll(ctx, bad)[0], bot.Invalid)
	noSID := sent(got[1], "")
	wantKind(t, "SettleAll of a delivery without a SID", s.SettleAll(ctx, noSID)[0], bot.Invalid)
}

// testOutboxBacklog counts what a claim would take, and since when the
// earliest has waited, across the jobs' buckets: queued jobs due, claims
// whose lease ran out; not jobs due later, claimed, sent or failed.
func testOutboxBacklog(t *testing.T, s schedule.Outbox) {
	br, ok := s.(schedule.BacklogReader)
	if !ok {
		t.Fatalf("%T does not implement schedule.BacklogReader", s)
	}
	ctx := context.Background()
	backlog := func(now time.Time, limit int) schedule.Backlog {
		t.Helper()
		b, err := br.Backlog(ctx, now, limit)
		if err != nil {
			t.Fatalf("Backlog(%v, %d): %v", now, limit, err)
		}
		return b
	}
	want := func(what string, got schedule.Backlog, due int, oldest time.Time) {
		t.Helper()
		// Stores may keep times to the microsecond.
		if got.Due != due || !got.Oldest.Truncate(time.Microsecond).Equal(oldest.Truncate(time.Microsecond)) {
			t.Errorf("%s: Backlog = %d due, oldest %v; want %d, %v", what, got.Due, got.Oldest, due, oldest)
		}
	}
	want("empty outbox", backlog(t0, 0), 0, time.Time{})

	// Twelve jobs due over the last twelve minutes (ids spread over the
	// stores' buckets), two later.
	var jobs []schedule.Job
	for i := range 12 {
		jobs = append(jobs, job(fmt.Sprintf("due-%02d", i), t0.Add(-time.Duration(12-i)*time.Minute)))
	}
	jobs = append(jobs, job("later-1", t0.Add(time.Minute)), job("later-2", t0.Add(time.Hour)))
	enqueue(t, s, jobs...)
	want("twelve due", backlog(t0, 0), 12, t0.Add(-12*time.Minute))
	want("counted up to 5", backlog(t0, 5), 5, t0.Add(-12*time.Minute))
	want("an hour earlier", backlog(t0.Add(-time.Hour), 0), 0, time.Time{})

	// The three earliest claimed: they leave the backlog until their
	// lease runs out. One of them is sent, one failed: gone for good.
	got := claim(t, s, "w1", t0, 3)
	wantIDs(t, "Claim of 3", got, "due-00", "due-01", "due-02")
	want("three claimed", backlog(t0, 0), 9, t0.Add(-9*time.Minute))
	sentJob := got[0]
	sentJob.Status, sentJob.SID, sentJob.SentAt, sentJob.UpdatedAt = schedule.Sent, "SMbacklog", t0, t0
	settle(t, s, sentJob)
	failedJob := got[1]
	failedJob.Status, failedJob.Reason, failedJob.UpdatedAt = schedule.Failed, "no learner", t0
	settle(t, s, failedJob)
	want("one sent, one failed", backlog(t0, 0), 9, t0.Add(-9*time.Minute))

	// After the lease, the claim left hanging is due again, from the end
	// of its lease; the later jobs have come due too.
	t1 := t0.Add(lease + 2*time.Minute)
	want("after the lease", backlog(t1, 0), 11, t0.Add(-9*time.Minute))
	if n := len(claim(t, s, "w2", t1, 100)); n != 11 {
		t.Errorf("Claim after the lease took %d jobs; the backlog said 11", n)
	}
	want("everything claimed", backlog(t1, 0), 0, time.Time{})

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err := br.Backlog(cancelled, t0, 0)
	wantKind(t, "Backlog with a cancelled context", err, bot.Unavailable)
}
