// Package scheduletest is the scheduler's outbox in memory, for tests:
// Memory keeps the jobs, the delivery records and the send rate that a
// schedule.Runner uses, as the stores do, and passes the stores'
// conformance suites, so that code built on package schedule is tested
// without a store.
package scheduletest

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// Memory is a schedule.Outbox in memory, with the delivery records
// (schedule.Deliveries) and the rate limiter (schedule.Limiter) a Runner
// uses beside it. Its jobs live no longer than the value: a job that ended
// is removed only when the test calls Purge, since a test's outbox rarely
// lives as long as a job's retention. Counts and Jobs scan every job,
// which a test's outbox can afford. It is safe for concurrent use.
type Memory struct {
	mu      sync.Mutex
	jobs    map[string]*memJob
	pending map[string]struct{} // IDs of Queued and Claimed jobs: what Claim scans
	sids    map[string]bot.Delivery
	now     func() time.Time

	limiter schedule.LocalLimiter
}

type memJob struct {
	schedule.Job
	// delivery is the furthest status Twilio reported for the job's
	// message; it may come while the job is still Claimed (the callback
	// beat Settle), and Settle applies it then.
	delivery  bot.DeliveryStatus
	errorCode int
	// endedAt is when the job ended, by the clock: what Purge goes by.
	endedAt time.Time
}

// ended stamps, by the clock, when a job reaches a final status (a job
// that had ended keeps its end).
func (m *Memory) ended(s *memJob) {
	switch {
	case !s.Status.Final():
		s.endedAt = time.Time{}
	case s.endedAt.IsZero():
		s.endedAt = schedule.RetentionEnd(&s.Job, m.now(), schedule.DefaultJobRetention)
	}
}

var (
	_ schedule.Outbox     = (*Memory)(nil)
	_ schedule.Deliveries = (*Memory)(nil)
	_ schedule.Limiter    = (*Memory)(nil)
)

// NewMemory returns an empty in-memory outbox.
func NewMemory() *Memory {
	return &Memory{
		jobs:    map[string]*memJob{},
		pending: map[string]struct{}{},
		sids:    map[string]bot.Delivery{},
		now:     time.Now,
	}
}

// SetClock replaces the clock that stamps UpdatedAt on Delivered and
// Cancel, and the end of a job that reaches a final status (see Purge).
// Claim and Allow take their time as an argument; Enqueue and Settle save
// the job as given.
func (m *Memory) SetClock(now func() time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = now
}

// Enqueue implements schedule.Outbox: it stores, as Queued, the jobs
// whose ID it does not hold, and returns how many; a job whose ID it holds,
// in any status, is left as it is. Errors: Invalid for a job without ID,
// learner or due time (nothing of the batch is stored then), and the
// context's error.
func (m *Memory) Enqueue(ctx context.Context, jobs ...schedule.Job) (int, error) {
	const op = "scheduletest.Memory.Enqueue"
	if err := ctx.Err(); err != nil {
		return 0, bot.E(op, bot.Unavailable, err)
	}
	for i := range jobs {
		if err := jobs[i].Check(); err != nil {
			return 0, bot.E(op, bot.Invalid, err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	stored := 0
	for _, j := range jobs {
		if _, ok := m.jobs[j.ID]; ok {
			continue
		}
		j.Status = schedule.Queued
		m.jobs[j.ID] = &memJob{Job: j}
		m.pending[j.ID] = struct{}{}
		stored++
	}
	return stored, nil
}

// Claim implements schedule.Outbox: the due jobs, earliest due first.
// Errors: the context's.
func (m *Memory) Claim(ctx context.Context, worker string, now time.Time, lease time.Duration, max int) ([]schedule.Job, error) {
	const op = "scheduletest.Memory.Claim"
	if err := ctx.Err(); err != nil {
		return nil, bot.E(op, bot.Unavailable, err)
	}
	if worker == "" {
		return nil, bot.Errorf(op, bot.Invalid, "no worker name")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []*memJob
	for id := range m.pending {
		j := m.jobs[id]
		switch {
		case j.Status == schedule.Queued && !j.DueAt.After(now),
			j.Status == schedule.Claimed && !j.LeaseUntil.After(now):
			due = append(due, j)
		}
	}
	slices.SortFunc(due, func(a, b *memJob) int {
		return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.ID, b.ID))
	})
	if max < 0 {
		max = 0
	}
	if len(due) > max {
		due = due[:max]
	}
	out := make([]schedule.Job, len(due))
	for i, j := range due {
		j.Status = schedule.Claimed
		j.Worker = worker
		j.LeaseUntil = now.Add(lease)
		j.Attempts++
		if j.ClaimedAt.IsZero() {
			j.ClaimedAt = now
		}
		j.UpdatedAt = now
		out[i] = j.Job
	}
	return out, nil
}

// ClaimJob implements schedule.Outbox.
func (m *Memory) ClaimJob(ctx context.Context, worker, id string, now time.Time, lease time.Duration) (schedule.Job, bool, error) {
	const op = "scheduletest.Memory.ClaimJob"
	if err := schedule.CheckClaim(ctx, op, worker, lease); err != nil {
		return schedule.Job{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	j := m.jobs[id]
	if j == nil {
		return schedule.Job{}, false, bot.Errorf(op, bot.NotFound, "no job %s", id)
	}
	switch {
	case j.Status == schedule.Queued && !j.DueAt.After(now),
		j.Status == schedule.Claimed && !j.LeaseUntil.After(now):
	default:
		return j.Job, false, nil
	}
	j.Status = schedule.Claimed
	j.Worker = worker
	j.LeaseUntil = now.Add(lease)
	j.Attempts++
	if j.ClaimedAt.IsZero() {
		j.ClaimedAt = now
	}
	j.UpdatedAt = now
	return j.Job, true, nil
}

// EnqueueClaimed implements schedule.Outbox: Enqueue, then ClaimJob of
// each job, under one lock. Errors: Enqueue's and ClaimJob's.
func (m *Memory) EnqueueClaimed(ctx context.Context, worker string, now time.Time, lease time.Duration, jobs ...schedule.Job) ([]schedule.Job, []bool, error) {
	const op = "scheduletest.Memory.EnqueueClaimed"
	if err := schedule.CheckClaim(ctx, op, worker, lease); err != nil {
		return nil, nil, err
	}
	for i := range jobs {
		if err := jobs[i].Check(); err != nil {
			return nil, nil, bot.E(op, bot.Invalid, err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out, claimed := make([]schedule.Job, len(jobs)), make([]bool, len(jobs))
	for i, j := range jobs {
		s, ok := m.jobs[j.ID]
		if !ok {
			j.Status, j.Attempts = schedule.Queued, 0
			j.ClaimedAt, j.LeaseUntil, j.Worker, j.Sending = time.Time{}, time.Time{}, "", time.Time{}
			s = &memJob{Job: j}
			m.jobs[j.ID] = s
			m.pending[j.ID] = struct{}{}
		}
		switch {
		case s.Status == schedule.Queued && !s.DueAt.After(now),
			s.Status == schedule.Claimed && !s.LeaseUntil.After(now):
			s.Status, s.Worker, s.LeaseUntil = schedule.Claimed, worker, now.Add(lease)
			s.Attempts++
			if s.ClaimedAt.IsZero() {
				s.ClaimedAt = now
			}
			s.UpdatedAt = now
			claimed[i] = true
		}
		out[i] = s.Job
	}
	return out, claimed, nil
}

// SettleAll implements schedule.Outbox: Settle and AdvanceDelivery of
// each, under one lock.
func (m *Memory) SettleAll(ctx context.Context, items ...schedule.Settlement) []error {
	errs := make([]error, len(items))
	if err := ctx.Err(); err != nil {
		for i := range errs {
			errs[i] = bot.E("scheduletest.Memory.SettleAll", bot.Unavailable, err)
		}
		return errs
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, it := range items {
		if err := cmp.Or(it.Job.CheckSettle(), it.CheckDelivery()); err != nil {
			errs[i] = bot.E("scheduletest.Memory.SettleAll", bot.Invalid, err)
			continue
		}
		if d := it.Delivery; d != nil {
			rec := *d
			rec.To = ""
			if rec, forward := rec.Advance(m.sids[rec.SID]); forward {
				m.sids[rec.SID] = rec
			}
		}
		errs[i] = m.settle(it.Job)
	}
	return errs
}

// Settle implements schedule.Outbox: it saves j as given (Sent, Failed or
// Queued). Errors: NotFound, Conflict when j.Worker no longer holds the job,
// Invalid for another status.
func (m *Memory) Settle(ctx context.Context, j schedule.Job) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.settle(j)
}

func (m *Memory) settle(j schedule.Job) error {
	const op = "scheduletest.Memory.Settle"
	s, ok := m.jobs[j.ID]
	if !ok {
		return bot.Errorf(op, bot.NotFound, "no job %s", j.ID)
	}
	if s.Status != schedule.Claimed || s.Worker != j.Worker {
		return bot.Errorf(op, bot.Conflict, "job %s is no longer claimed by %s", j.ID, j.Worker)
	}
	switch j.Status {
	case schedule.Sent, schedule.Failed, schedule.Queued:
	default:
		return bot.Errorf(op, bot.Invalid, "job %s: cannot settle as %q", j.ID, j.Status)
	}
	s.Job = j
	if s.Status != schedule.Queued {
		delete(m.pending, s.ID)
	}
	if s.Status == schedule.Sent && s.delivery != "" {
		m.apply(s)
	} else {
		s.delivery, s.errorCode = "", 0
	}
	m.ended(s)
	return nil
}

// Delivered implements schedule.Outbox: delivered and read make a sent job
// Delivered; failed, undelivered and canceled make it Failed with the
// error code (or the status) as its reason. Statuses only move forward
// (bot.DeliveryStatus.After); a status that comes while the job is still
// Claimed is applied when the job is settled as sent; jobs never sent
// ignore it. Errors: NotFound.
func (m *Memory) Delivered(ctx context.Context, id string, status bot.DeliveryStatus, errorCode int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.jobs[id]
	if !ok {
		return bot.Errorf("scheduletest.Memory.Delivered", bot.NotFound, "no job %s", id)
	}
	if !status.After(s.delivery) {
		return nil
	}
	switch {
	case s.Status == schedule.Claimed:
		s.delivery, s.errorCode = status, errorCode
	case s.SID != "" && (s.Status == schedule.Sent || s.Status == schedule.Delivered || s.Status == schedule.Failed):
		s.delivery, s.errorCode = status, errorCode
		m.apply(s)
		s.UpdatedAt = m.now()
		m.ended(s)
	}
	return nil
}

// apply makes a sent job's status follow its delivery status.
func (m *Memory) apply(s *memJob) {
	if st, reason := schedule.Outcome(s.delivery, s.errorCode); st != schedule.Sent {
		s.Status, s.Reason = st, reason
	}
}

// Job implements schedule.Outbox. Errors: NotFound.
func (m *Memory) Job(ctx context.Context, id string) (schedule.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.jobs[id]
	if !ok {
		return schedule.Job{}, bot.Errorf("scheduletest.Memory.Job", bot.NotFound, "no job %s", id)
	}
	return s.Job, nil
}

// Jobs implements schedule.Outbox: newest due first, and in descending ID
// order within a due time, as the embedded store lists them. The cursor is
// the due time and ID of the last job of the page before; a page ends at
// Limit jobs, with the cursor "" when no job after it matches. Errors:
// Invalid for a cursor Jobs did not make.
func (m *Memory) Jobs(ctx context.Context, f schedule.Filter) ([]schedule.Job, string, error) {
	var (
		after    schedule.Job // the last job of the page before
		paging   bool
		newFirst = func(a, b schedule.Job) int {
			return cmp.Or(b.DueAt.Compare(a.DueAt), cmp.Compare(b.ID, a.ID))
		}
	)
	if f.Cursor != "" {
		var err error
		if after, err = decodeCursor(f.Cursor); err != nil {
			return nil, "", bot.E("scheduletest.Memory.Jobs", bot.Invalid, err)
		}
		paging = true
	}
	m.mu.Lock()
	var out []schedule.Job
	for _, s := range m.jobs {
		if f.Cohort != "" && s.Cohort != f.Cohort || len(f.Status) > 0 && !slices.Contains(f.Status, s.Status) {
			continue
		}
		if paging && newFirst(s.Job, after) <= 0 {
			continue
		}
		out = append(out, s.Job)
	}
	m.mu.Unlock()
	slices.SortFunc(out, newFirst)
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	if len(out) <= limit {
		return out, "", nil
	}
	out = out[:limit]
	return out, encodeCursor(out[limit-1]), nil
}

// encodeCursor names the place of j in the order of Jobs.
func encodeCursor(j schedule.Job) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(j.DueAt.UnixNano(), 10) + "/" + j.ID))
}

// decodeCursor is the inverse of encodeCursor: a job with only DueAt and
// ID.
func decodeCursor(cursor string) (schedule.Job, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return schedule.Job{}, fmt.Errorf("not a cursor of Jobs: %q", cursor)
	}
	due, id, ok := strings.Cut(string(raw), "/")
	nanos, err := strconv.ParseInt(due, 10, 64)
	if !ok || err != nil {
		return schedule.Job{}, fmt.Errorf("not a cursor of Jobs: %q", cursor)
	}
	return schedule.Job{ID: id, DueAt: time.Unix(0, nanos)}, nil
}

// Counts implements schedule.Outbox by counting every job of the cohort
// ("" for every job); no status is zero.
func (m *Memory) Counts(ctx context.Context, cohort string) (map[schedule.Status]int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	counts := map[schedule.Status]int{}
	for _, s := range m.jobs {
		if cohort == "" || s.Cohort == cohort {
			counts[s.Status]++
		}
	}
	return counts, nil
}

// Purge removes the jobs that ended (delivered, failed or cancelled, by
// the clock: see SetClock) more than schedule.DefaultJobRetention before
// now, as the stores' retention does, and returns how many. Memory never
// purges on its own.
func (m *Memory) Purge(now time.Time) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	cutoff := now.Add(-schedule.DefaultJobRetention)
	n := 0
	for id, s := range m.jobs {
		if s.Status.Final() && s.endedAt.Before(cutoff) {
			delete(m.jobs, id)
			n++
		}
	}
	return n
}

// Cancel implements schedule.Outbox; cancelling a cancelled job does
// nothing. Errors: NotFound, Conflict when a send of the job may have
// gone out, for a claimed reply, and for a job that ended otherwise.
func (m *Memory) Cancel(ctx context.Context, id string) error {
	const op = "scheduletest.Memory.Cancel"
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.jobs[id]
	if !ok {
		return bot.Errorf(op, bot.NotFound, "no job %s", id)
	}
	switch {
	case s.Status == schedule.Cancelled:
		return nil
	case (s.Status == schedule.Queued || s.Status == schedule.Claimed) && !s.Sending.IsZero():
		return bot.Errorf(op, bot.Conflict, "job %s may have been sent already: too late to cancel", id)
	case s.Status == schedule.Claimed && s.Kind == schedule.Reply:
		return bot.Errorf(op, bot.Conflict, "reply %s is being sent", id)
	case s.Status != schedule.Queued && s.Status != schedule.Claimed:
		return bot.Errorf(op, bot.Conflict, "job %s is %s: too late to cancel", id, s.Status)
	}
	s.Status, s.Reason = schedule.Cancelled, "cancelled"
	s.Worker, s.LeaseUntil = "", time.Time{}
	s.UpdatedAt = m.now()
	m.ended(s)
	delete(m.pending, id)
	return nil
}

// BeginSend implements schedule.Outbox. Errors: NotFound, Conflict when
// the job is no longer claimed by worker.
func (m *Memory) BeginSend(ctx context.Context, id, worker string, now time.Time) (time.Time, error) {
	const op = "scheduletest.Memory.BeginSend"
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.jobs[id]
	if !ok {
		return time.Time{}, bot.Errorf(op, bot.NotFound, "no job %s", id)
	}
	if s.Status != schedule.Claimed || s.Worker != worker {
		return time.Time{}, bot.Errorf(op, bot.Conflict, "job %s is %s by %q, not claimed by %q", id, s.Status, s.Worker, worker)
	}
	if s.Sending.IsZero() {
		s.Sending = now
	}
	return s.Sending, nil
}

// AdvanceDelivery implements schedule.Deliveries (app.Deliveries): it
// records d if its status moves the stored one forward, keeping the stored
// JobID that d leaves empty, and, like the stores, never the recipient.
func (m *Memory) AdvanceDelivery(ctx context.Context, d bot.Delivery) (bool, error) {
	if d.SID == "" {
		return false, bot.Errorf("scheduletest.Memory.AdvanceDelivery", bot.Invalid, "delivery without a SID")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d.To = ""
	d, forward := d.Advance(m.sids[d.SID])
	if forward {
		m.sids[d.SID] = d
	}
	return forward, nil
}

// Delivery implements schedule.Deliveries. Errors: NotFound.
func (m *Memory) Delivery(ctx context.Context, sid string) (bot.Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.sids[sid]
	if !ok {
		return bot.Delivery{}, bot.Errorf("scheduletest.Memory.Delivery", bot.NotFound, "no delivery %s", sid)
	}
	return d, nil
}

// Allow implements schedule.Limiter for one process with a
// schedule.LocalLimiter, so that it spaces messages by the stores' rule
// (schedule.RatePerSecond). Errors: Unavailable for a cancelled context.
func (m *Memory) Allow(ctx context.Context, key string, perSecond int, now time.Time) (bool, time.Duration, error) {
	return m.limiter.Allow(ctx, key, perSecond, now)
}

var _ schedule.BacklogReader = (*Memory)(nil)

// Backlog implements schedule.BacklogReader.
func (m *Memory) Backlog(ctx context.Context, now time.Time, limit int) (schedule.Backlog, error) {
	if err := ctx.Err(); err != nil {
		return schedule.Backlog{}, bot.E("scheduletest.Memory.Backlog", bot.Unavailable, err)
	}
	if limit <= 0 {
		limit = schedule.DefaultBacklogLimit
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var b schedule.Backlog
	for id := range m.pending {
		j := m.jobs[id]
		var at time.Time
		switch {
		case j.Status == schedule.Queued && !j.DueAt.After(now):
			at = j.DueAt
		case j.Status == schedule.Claimed && !j.LeaseUntil.After(now):
			at = j.LeaseUntil
		default:
			continue
		}
		b.Due++
		if b.Oldest.IsZero() || at.Before(b.Oldest) {
			b.Oldest = at
		}
	}
	b.Due = min(b.Due, limit)
	return b, nil
}
