package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/google/go-cmp/cmp"
)

// Expire runs, before it returns, the purge of a store's job retention as
// if the time were now: every job that ended more than the retention
// before now is removed, as the store's own purge would remove it by then.
// It reports its own failures on the test that opened the store. Jobs end
// by the store's own clock, which is the real time: RunOutboxRetention
// reads the time around each call that ends a job, and asks for purges at
// now well inside or well past the retention of those ends.
type Expire func(now time.Time)

// retentionMargin is how far inside or past a job's retention the suite
// purges: larger than a store's rounding of times (Redis scores are
// milliseconds), smaller than the gap the suite leaves between two ends.
const retentionMargin = 10 * time.Millisecond

// RunOutboxRetention runs the suite of the outbox's job retention:
// a job that ended (Delivered, Failed or Cancelled) is removed with every
// trace of it (Job, Jobs, Counts, its ID) schedule.DefaultJobRetention
// after it ended, and not before; a job still queued, claimed or sent
// stays. open must return a new, empty store with the default job
// retention and the store's Expire.
func RunOutboxRetention(t *testing.T, open func(t *testing.T) (schedule.Outbox, Expire)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s schedule.Outbox, expire Expire)
	}{
		{"EndedJobsExpire", testRetentionEndedJobsExpire},
		{"FromTheEnd", testRetentionFromTheEnd},
		{"Replies", testRetentionReplies},
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

// testRetentionEndedJobsExpire ends jobs in every way and asks for purges
// just inside and just past their retention.
func testRetentionEndedJobsExpire(t *testing.T, s schedule.Outbox, expire Expire) {
	ctx := context.Background()
	const retention = schedule.DefaultJobRetention
	begin := time.Now()
	mk := func(id, cohort string, due time.Time) schedule.Job {
		j := job(id, due)
		j.Cohort = cohort
		return j
	}
	enqueue(t, s, mk("sent", "A", begin), mk("delivered", "A", begin), mk("failed", "B", begin), mk("undelivered", "", begin), mk("claimed", "A", begin))
	enqueue(t, s, mk("queued", "A", begin.Add(time.Hour)), mk("cancelled", "A", begin.Add(time.Hour)))
	for _, c := range claim(t, s, "w1", begin, 5) {
		c.UpdatedAt = time.Now()
		switch c.ID {
		case "sent", "delivered", "undelivered":
			c.Status, c.SID, c.SentAt = schedule.Sent, "SM-"+c.ID, c.UpdatedAt
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
	end := time.Now()
	before := wantCounts(t, s)

	expire(begin.Add(retention - retentionMargin))
	for _, id := range []string{"sent", "delivered", "failed", "undelivered", "claimed", "queued", "cancelled"} {
		getJob(t, s, id)
	}
	if diff := cmp.Diff(wantCounts(t, s), before); diff != "" {
		t.Errorf("counts within the retention differ from before (-got +want):\n%s", diff)
	}

	expire(end.Add(retention + retentionMargin))
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
	if n := enqueue(t, s, mk("delivered", "A", begin)); n != 1 {
		t.Errorf("Enqueue of a purged job's ID = %d, want 1", n)
	}
	wantStatus(t, s, "delivered", schedule.Queued, "")
	wantCounts(t, s)
}

// testRetentionFromTheEnd: the retention runs from when a job ended, not
// from when it was queued or due: of two jobs queued together and ended
// apart, the first to end goes first.
func testRetentionFromTheEnd(t *testing.T, s schedule.Outbox, expire Expire) {
	ctx := context.Background()
	const retention = schedule.DefaultJobRetention
	now := time.Now()
	enqueue(t, s, job("early", now), job("late", now.Add(-time.Hour)))
	if err := s.Cancel(ctx, "early"); err != nil {
		t.Fatal(err)
	}
	earlyEnd := time.Now()
	time.Sleep(5 * retentionMargin)
	lateBegin := time.Now()
	if err := s.Cancel(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	lateEnd := time.Now()

	expire(earlyEnd.Add(retention + retentionMargin))
	gone(t, s, "early")
	if j := getJob(t, s, "late"); j.Status != schedule.Cancelled {
		t.Errorf("Job(late) within its retention: status %s, want %s", j.Status, schedule.Cancelled)
	}
	if diff := cmp.Diff(wantCounts(t, s), map[schedule.Status]int{schedule.Cancelled: 1}); diff != "" {
		t.Errorf("counts after the first retention (-got +want):\n%s", diff)
	}

	expire(lateBegin.Add(retention - retentionMargin))
	getJob(t, s, "late")
	expire(lateEnd.Add(retention + retentionMargin))
	gone(t, s, "late")
	if got := wantCounts(t, s); len(got) != 0 {
		t.Errorf("counts after every retention = %v, want none", got)
	}
}

// testRetentionReplies: a reply that ended goes schedule.ReplyRetention
// after, while a reminder that ended with it stays for the job retention;
// a reply ended by a delivery callback goes as soon.
func testRetentionReplies(t *testing.T, s schedule.Outbox, expire Expire) {
	begin := time.Now()
	reply := func(i int) schedule.Job {
		j := job(schedule.ReplyID("L0123456789abcdef0123", "SM0123456789abcdef0123456789abcdef", i), begin)
		j.Kind, j.Cohort, j.Template = schedule.Reply, "", ""
		return j
	}
	r0, r1 := reply(0), reply(1)
	r1.After = r0.ID
	enqueue(t, s, r0, r1, job("reminder", begin))
	for _, c := range claim(t, s, "w1", begin, 3) {
		c.UpdatedAt = time.Now()
		if c.ID == r0.ID {
			c.Status, c.Reason = schedule.Failed, "21610"
		} else {
			c.Status, c.SID, c.SentAt = schedule.Sent, "SM-"+c.ID, c.UpdatedAt
		}
		settle(t, s, c)
	}
	delivered(t, s, r1.ID, bot.StatusDelivered, 0)
	delivered(t, s, "reminder", bot.StatusDelivered, 0)
	end := time.Now()

	expire(begin.Add(schedule.ReplyRetention - retentionMargin))
	getJob(t, s, r0.ID)
	getJob(t, s, r1.ID)
	expire(end.Add(schedule.ReplyRetention + retentionMargin))
	gone(t, s, r0.ID)
	gone(t, s, r1.ID)
	if got := getJob(t, s, "reminder"); got.Status != schedule.Delivered {
		t.Errorf("the reminder is %s after a reply's retention, want delivered and kept", got.Status)
	}
}
