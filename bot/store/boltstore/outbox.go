package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
	bolt "go.etcd.io/bbolt"
)

var _ schedule.Outbox = (*Store)(nil)

// The outbox's buckets, created by the first write that needs them (a file
// written by an older darsi has none, and reads as an empty outbox).
var (
	// jobsBucket maps a job id to a jobRecord as JSON.
	jobsBucket = []byte("jobs")
	// jobsDueBucket holds the jobs a claim may take: the key is the time
	// they become claimable (timeKey; the due time of a queued job, the end
	// of the lease of a claimed one) followed by the job id.
	jobsDueBucket = []byte("jobs_due")
	// jobsByDueBucket holds every job, keyed by timeKey(DueAt) and id.
	jobsByDueBucket = []byte("jobs_by_due")
	// jobsByCohortBucket holds the jobs of cohorts, keyed by
	// msgKey(cohort, ""), timeKey(DueAt) and id.
	jobsByCohortBucket = []byte("jobs_by_cohort")
)

// defaultJobsLimit is Filter.Limit's default.
const defaultJobsLimit = 100

// cancelReason is the Reason of a cancelled job.
const cancelReason = "cancelled"

// jobRecord is a job as stored: with the furthest delivery status Twilio
// reported for its message, which may come before the job is settled.
type jobRecord struct {
	schedule.Job
	Delivery  bot.DeliveryStatus `json:"delivery,omitempty"`
	ErrorCode int                `json:"delivery_error,omitempty"`
}

// indexKeys returns the keys of r in the three index buckets; due is nil
// for a job no claim may take, cohort for a job of no cohort.
func (r *jobRecord) indexKeys() (due, all, cohort []byte) {
	switch r.Status {
	case schedule.Queued:
		due = append(timeKey(r.DueAt), r.ID...)
	case schedule.Claimed:
		due = append(timeKey(r.LeaseUntil), r.ID...)
	}
	all = append(timeKey(r.DueAt), r.ID...)
	if r.Cohort != "" {
		cohort = append(append(msgKey(r.Cohort, ""), timeKey(r.DueAt)...), r.ID...)
	}
	return due, all, cohort
}

// outboxBuckets are the outbox's buckets in a write transaction.
type outboxBuckets struct{ jobs, due, all, cohort *bolt.Bucket }

func writeBuckets(tx *bolt.Tx) (outboxBuckets, error) {
	var b outboxBuckets
	for _, x := range []struct {
		dst  **bolt.Bucket
		name []byte
	}{{&b.jobs, jobsBucket}, {&b.due, jobsDueBucket}, {&b.all, jobsByDueBucket}, {&b.cohort, jobsByCohortBucket}} {
		var err error
		if *x.dst, err = tx.CreateBucketIfNotExists(x.name); err != nil {
			return b, err
		}
	}
	return b, nil
}

func (b outboxBuckets) get(id string) (*jobRecord, error) {
	v := b.jobs.Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	r := new(jobRecord)
	if err := json.Unmarshal(v, r); err != nil {
		return nil, fmt.Errorf("decode job %s: %w", id, err)
	}
	return r, nil
}

// put stores r in place of old (nil for none), keeping the indexes in step.
func (b outboxBuckets) put(old, r *jobRecord) error {
	if old != nil {
		due, all, cohort := old.indexKeys()
		for _, x := range []struct {
			b   *bolt.Bucket
			key []byte
		}{{b.due, due}, {b.all, all}, {b.cohort, cohort}} {
			if x.key != nil {
				if err := x.b.Delete(x.key); err != nil {
					return err
				}
			}
		}
	}
	due, all, cohort := r.indexKeys()
	for _, x := range []struct {
		b   *bolt.Bucket
		key []byte
	}{{b.due, due}, {b.all, all}, {b.cohort, cohort}} {
		if x.key != nil {
			if err := x.b.Put(x.key, nil); err != nil {
				return err
			}
		}
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return b.jobs.Put([]byte(r.ID), v)
}

// updateOutbox runs fn in a write transaction on the outbox's buckets. A
// cancelled context is noticed before fn runs, never after.
func (s *Store) updateOutbox(ctx context.Context, op string, fn func(b outboxBuckets) error) error {
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := ctx.Err(); err != nil {
			return bot.E(op, bot.Unavailable, err)
		}
		b, err := writeBuckets(tx)
		if err != nil {
			return err
		}
		return fn(b)
	})
	if err != nil {
		return wrap(op, err)
	}
	return nil
}

// Enqueue implements schedule.Outbox in one write transaction: all the
// jobs or none. Jobs are stored as given, with Status Queued and, when
// zero, UpdatedAt set to CreatedAt. Errors: Invalid for a job without an
// ID, Learner or DueAt, Unavailable for a closed store or a cancelled
// context, Internal for a record that does not decode or a failed write.
func (s *Store) Enqueue(ctx context.Context, jobs ...schedule.Job) error {
	const op = "boltstore.Enqueue"
	for i := range jobs {
		if err := jobs[i].Check(); err != nil {
			return bot.E(op, bot.Invalid, err)
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	return s.updateOutbox(ctx, op, func(b outboxBuckets) error {
		for _, j := range jobs {
			old, err := b.get(j.ID)
			if err != nil {
				return bot.E(op, bot.Internal, err)
			}
			if old != nil && old.Status != schedule.Queued {
				continue
			}
			j.Status = schedule.Queued
			if j.UpdatedAt.IsZero() {
				j.UpdatedAt = j.CreatedAt
			}
			if err := b.put(old, &jobRecord{Job: j}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Claim implements schedule.Outbox in one write transaction, which bbolt
// runs alone: no two claims ever see the same job as due. Errors: Invalid
// for an empty worker or a lease that is not positive, Unavailable for a
// closed store or a cancelled context, Internal for a record that does not
// decode or a failed write.
func (s *Store) Claim(ctx context.Context, worker string, now time.Time, lease time.Duration, max int) ([]schedule.Job, error) {
	const op = "boltstore.Claim"
	if err := schedule.CheckClaim(ctx, op, worker, lease); err != nil {
		return nil, err
	}
	if max <= 0 {
		return nil, nil
	}
	// Nothing due: a read transaction answers without the writer lock or a
	// sync to disk, which matters to a scheduler polling an idle outbox.
	if !s.anyDue(now) {
		return nil, nil
	}
	var claimed []schedule.Job
	err := s.updateOutbox(ctx, op, func(b outboxBuckets) error {
		claimed = nil // a retried transaction starts afresh
		nowKey := timeKey(now)
		var keys [][]byte
		c := b.due.Cursor()
		for k, _ := c.First(); k != nil && len(keys) < max && bytes.Compare(k[:8], nowKey) <= 0; k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		// Changed after the walk: deleting under a cursor can skip keys.
		for _, k := range keys {
			old, err := b.get(string(k[8:]))
			if err != nil {
				return bot.E(op, bot.Internal, err)
			}
			if old == nil || (old.Status != schedule.Queued && old.Status != schedule.Claimed) {
				if err := b.due.Delete(k); err != nil {
					return err
				}
				continue
			}
			r := *old
			r.Status = schedule.Claimed
			r.Worker = worker
			r.Attempts++
			if r.ClaimedAt.IsZero() {
				r.ClaimedAt = now
			}
			r.LeaseUntil = now.Add(lease)
			r.UpdatedAt = now
			if err := b.put(old, &r); err != nil {
				return err
			}
			claimed = append(claimed, r.Job)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return claimed, nil
}

// anyDue reports whether a claim at now may find a job. It errs on the
// side of yes: the claim itself decides.
func (s *Store) anyDue(now time.Time) bool {
	due := true
	_ = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(jobsDueBucket)
		if b == nil {
			due = false
			return nil
		}
		k, _ := b.Cursor().First()
		due = k != nil && bytes.Compare(k[:8], timeKey(now)) <= 0
		return nil
	})
	return due
}

// Settle implements schedule.Outbox in one write transaction. The job is
// saved as given, except that a job settled as Sent whose delivery Twilio
// has already reported (the callback can beat the worker) takes that
// outcome at once. Errors: Conflict when the job is not claimed by
// j.Worker, NotFound when there is no such job, Invalid for a job Enqueue
// would refuse or an unknown status, Unavailable and Internal as for
// Enqueue.
func (s *Store) Settle(ctx context.Context, j schedule.Job) error {
	const op = "boltstore.Settle"
	if err := j.CheckSettle(); err != nil {
		return bot.E(op, bot.Invalid, err)
	}
	return s.updateOutbox(ctx, op, func(b outboxBuckets) error {
		old, err := b.get(j.ID)
		if err != nil {
			return bot.E(op, bot.Internal, err)
		}
		if old == nil {
			return bot.Errorf(op, bot.NotFound, "no job %s", j.ID)
		}
		if old.Status != schedule.Claimed || old.Worker != j.Worker {
			return bot.Errorf(op, bot.Conflict, "job %s is %s by %q, not claimed by %q", j.ID, old.Status, old.Worker, j.Worker)
		}
		r := jobRecord{Job: j, Delivery: old.Delivery, ErrorCode: old.ErrorCode}
		if r.Status == schedule.Sent && r.Delivery != "" {
			st, reason := schedule.Outcome(r.Delivery, r.ErrorCode)
			if st != schedule.Sent {
				r.Status, r.Reason = st, reason
			}
		}
		return b.put(old, &r)
	})
}

// Delivered implements schedule.Outbox in one write transaction. The job
// keeps the furthest status Twilio reported (by bot.DeliveryStatus's
// ranks, so callbacks may come in any order); a job that was sent becomes
// Delivered on delivered or read, and Failed on failed, undelivered or
// canceled with the error code as its Reason (the status when there is no
// code). A job not settled yet takes the outcome when it is settled as
// Sent. An unknown status is ignored. Errors: NotFound, Unavailable and
// Internal as for Enqueue.
func (s *Store) Delivered(ctx context.Context, id string, status bot.DeliveryStatus, errorCode int) error {
	const op = "boltstore.Delivered"
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	if !status.Known() {
		return nil
	}
	err := s.updateOutbox(ctx, op, func(b outboxBuckets) error {
		old, err := b.get(id)
		if err != nil {
			return bot.E(op, bot.Internal, err)
		}
		if old == nil {
			return bot.Errorf(op, bot.NotFound, "no job %s", id)
		}
		if old.Delivery != "" && !status.After(old.Delivery) {
			return errNotForward
		}
		r := *old
		r.Delivery, r.ErrorCode = status, errorCode
		switch r.Status {
		case schedule.Sent, schedule.Delivered, schedule.Failed:
			if r.SID != "" {
				r.Status, r.Reason = schedule.Outcome(status, errorCode)
				r.UpdatedAt = s.now()
			}
		}
		return b.put(old, &r)
	})
	if errors.Is(err, errNotForward) {
		return nil
	}
	return err
}

// Job implements schedule.Outbox. Errors: NotFound, Unavailable for a
// closed store or a cancelled context, Internal for a record that does not
// decode.
func (s *Store) Job(ctx context.Context, id string) (schedule.Job, error) {
	const op = "boltstore.Job"
	if err := ctx.Err(); err != nil {
		return schedule.Job{}, bot.E(op, bot.Unavailable, err)
	}
	var r jobRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		var v []byte
		if b := tx.Bucket(jobsBucket); b != nil {
			v = b.Get([]byte(id))
		}
		if v == nil {
			return bot.Errorf(op, bot.NotFound, "no job %s", id)
		}
		if err := json.Unmarshal(v, &r); err != nil {
			return bot.Errorf(op, bot.Internal, "decode job %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return schedule.Job{}, wrap(op, err)
	}
	return r.Job, nil
}

// Jobs implements schedule.Outbox in one read transaction, walking the
// cohort's index (or the index of all jobs) from the latest due time.
// Errors: Unavailable for a closed store or a cancelled context, Internal
// for a record that does not decode.
func (s *Store) Jobs(ctx context.Context, f schedule.Filter) ([]schedule.Job, error) {
	const op = "boltstore.Jobs"
	if err := ctx.Err(); err != nil {
		return nil, bot.E(op, bot.Unavailable, err)
	}
	if f.Limit <= 0 {
		f.Limit = defaultJobsLimit
	}
	var jobs []schedule.Job
	err := s.db.View(func(tx *bolt.Tx) error {
		recs := tx.Bucket(jobsBucket)
		var prefix []byte
		index := tx.Bucket(jobsByDueBucket)
		if f.Cohort != "" {
			prefix = msgKey(f.Cohort, "")
			index = tx.Bucket(jobsByCohortBucket)
		}
		if recs == nil || index == nil {
			return nil
		}
		c := index.Cursor()
		var k []byte
		// Time keys start with a byte below 0x80, so prefix+0xff is past
		// every key of the cohort.
		if k, _ = c.Seek(append(bytes.Clone(prefix), 0xff)); k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(jobs) < f.Limit; k, _ = c.Prev() {
			id := k[len(prefix)+8:]
			v := recs.Get(id)
			if v == nil {
				continue
			}
			var r jobRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return bot.Errorf(op, bot.Internal, "decode job %s: %w", id, err)
			}
			if len(f.Status) == 0 || slices.Contains(f.Status, r.Status) {
				jobs = append(jobs, r.Job)
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return jobs, nil
}

// Cancel implements schedule.Outbox in one write transaction; cancelling a
// cancelled job does nothing. Errors: NotFound, Conflict for a job past
// Queued, Unavailable and Internal as for Enqueue.
func (s *Store) Cancel(ctx context.Context, id string) error {
	const op = "boltstore.Cancel"
	err := s.updateOutbox(ctx, op, func(b outboxBuckets) error {
		old, err := b.get(id)
		if err != nil {
			return bot.E(op, bot.Internal, err)
		}
		switch {
		case old == nil:
			return bot.Errorf(op, bot.NotFound, "no job %s", id)
		case old.Status == schedule.Cancelled:
			return errNotForward
		case old.Status != schedule.Queued:
			return bot.Errorf(op, bot.Conflict, "job %s is %s: too late to cancel", id, old.Status)
		}
		r := *old
		r.Status, r.Reason, r.UpdatedAt = schedule.Cancelled, cancelReason, s.now()
		return b.put(old, &r)
	})
	if errors.Is(err, errNotForward) {
		return nil
	}
	return err
}
