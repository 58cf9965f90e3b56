package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/google/go-cmp/cmp"
)

// Expire is how RunOutboxRetention drives a store's time: it sets the
// store's clock to now (the time the store stamps on a job that ends from
// then on) and, before it returns, runs the purge that the store runs on
// its own in the background, so that whatever has expired by now is gone.
// It reports its own failures on the test that opened the store. The
// embedded store makes it from Options.Now and its purge; another store
// may use its own means, as long as Expire keeps this promise.
type Expire func(now time.Time)

// RunOutboxRetention runs the suite of the outbox's job retention:
// a job that ended (Delivered, Failed or Cancelled) is removed with every
// trace of it (Job, Jobs, Counts, its ID) schedule.DefaultJobRetention
// after it ended, and not before; a job still queued, claimed or sent
// stays. open must return a new, empty store with the default job
// retention and the Expire that drives it.
func RunOutboxRetention(t *testing.T, open func(t *testing.T) (schedule.Outbox, Expire)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s schedule.Outbox, expire Expire)
	}{
		{"EndedJobsExpire", testRetentionEndedJobsExpire},
		{"FromTheEnd", testRetentionFromTheEnd},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, expire := open(t)
			tt.fn(t, s, expire)
		})
	}
}

// gone fails tb unless the job is unknown to Job and missing from Jobs.
func gone(tb testing.TB, s schedule.Outbox, id string) {
	tb.Helper()
	_, err := s.Job(context.Background(), id)
	if bot.KindOf(err) != bot.NotFound {
		tb.Errorf("Job(%s) after its retention: %v, want an error of kind %v", id, err, bot.NotFound)
	}
	for _, j := range allJobs(tb, s, schedule.Filter{Limit: 3}) {
		if j.ID == id {
			tb.Errorf("Jobs lists %s after its retention", id)
		}
	}
}

// testRetentionEndedJobsExpire ends jobs in every way at t0 and moves the
// clock past the retention.
func testRetentionEndedJobsExpire(t *testing.T, s schedule.Outbox, expire Expire) {
	ctx := context.Background()
	const retention = schedule.DefaultJobRetention
	expire(t0)
	mk := func(id, cohort string) schedule.Job {
		j := job(id, t0)
		j.Cohort = cohort
		return j
	}
	enqueue(t, s, mk("sent", "A"), mk("delivered", "A"), mk("failed", "B"), mk("undelivered", ""), mk("claimed", "A"))
	queued, cancelled := mk("queued", "A"), mk("cancelled", "A")
	queued.DueAt, cancelled.DueAt = t0.Add(time.Hour), t0.Add(time.Hour)
	enqueue(t, s, queued, cancelled)
	for _, c := range claim(t, s, "w1", t0, 5) {
		c.UpdatedAt = t0
		switch c.ID {
		case "sent", "delivered", "undelivered":
			c.Status, c.SID, c.SentAt = schedule.Sent, "SM-"+c.ID, t0
		case "failed":
			c.Status, c.Reason = schedule.Failed, "21610"
		default:
			continue // stays claimed; its lease runs out
		}
		settle(t, s, c)
	}
	delivered(t, s, "delivered", bot.StatusRead, 0)
	delivered(t, s, "undelivered", bot.StatusUndelivered, 30008)
	if err := s.Cancel(ctx, "cancelled"); err != nil {
		t.Fatal(err)
	}
	before := wantCounts(t, s)

	expire(t0.Add(retention - time.Second))
	for _, id := range []string{"sent", "delivered", "failed", "undelivered", "claimed", "queued", "cancelled"} {
		getJob(t, s, id)
	}
	if diff := cmp.Diff(wantCounts(t, s), before); diff != "" {
		t.Errorf("counts within the retention differ from before (-got +want):\n%s", diff)
	}

	expire(t0.Add(retention + time.Second))
	for _, id := range []string{"delivered", "failed", "undelivered", "cancelled"} {
		gone(t, s, id)
	}
	for _, want := range []struct {
		id     string
		status schedule.Status
	}{{"sent", schedule.Sent}, {"claimed", schedule.Claimed}, {"queued", schedule.Queued}} {
		wantStatus(t, s, want.id, want.status, "")
	}
	got := wantCounts(t, s)
	if diff := cmp.Diff(got, map[schedule.Status]int{schedule.Sent: 1, schedule.Claimed: 1, schedule.Queued: 1}); diff != "" {
		t.Errorf("counts after the retention (-got +want):\n%s", diff)
	}
	// No trace is left: the ID is free again.
	if n := enqueue(t, s, mk("delivered", "A")); n != 1 {
		t.Errorf("Enqueue of a purged job's ID = %d, want 1", n)
	}
	wantStatus(t, s, "delivered", schedule.Queued, "")
	wantCounts(t, s)
}

// testRetentionFromTheEnd: the retention runs from when a job ended, not
// from when it was queued or due.
func testRetentionFromTheEnd(t *testing.T, s schedule.Outbox, expire Expire) {
	ctx := context.Background()
	const retention = schedule.DefaultJobRetention
	expire(t0)
	enqueue(t, s, job("early", t0), job("late", t0.Add(time.Hour)))
	if err := s.Cancel(ctx, "early"); err != nil {
		t.Fatal(err)
	}
	ended := t0.Add(10 * 24 * time.Hour)
	expire(ended)
	if err := s.Cancel(ctx, "late"); err != nil {
		t.Fatal(err)
	}

	expire(t0.Add(retention + time.Second))
	gone(t, s, "early")
	if j := getJob(t, s, "late"); j.Status != schedule.Cancelled {
		t.Errorf("Job(late) within its retention: status %s, want %s", j.Status, schedule.Cancelled)
	}
	if diff := cmp.Diff(wantCounts(t, s), map[schedule.Status]int{schedule.Cancelled: 1}); diff != "" {
		t.Errorf("counts after the first retention (-got +want):\n%s", diff)
	}

	expire(ended.Add(retention - time.Second))
	getJob(t, s, "late")
	expire(ended.Add(retention + time.Second))
	gone(t, s, "late")
	if got := wantCounts(t, s); len(got) != 0 {
		t.Errorf("counts after every retention = %v, want none", got)
	}
}
