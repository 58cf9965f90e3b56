package boltstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
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
	// jobsEndedBucket holds the jobs that ended, by when: timeKey(EndedAt)
	// and id, so that the purge reads only what has expired.
	jobsEndedBucket = []byte("jobs_ended")
	// jobCountsBucket counts jobs by cohort and status: msgKey(cohort,
	// status) to a count (8 bytes, big-endian), where the cohort "" counts
	// every job. A count at zero is deleted.
	jobCountsBucket = []byte("job_counts")
)

// defaultJobsLimit is Filter.Limit's default.
const defaultJobsLimit = 100

// cancelReason is the Reason of a cancelled job.
const cancelReason = "cancelled"

// jobRecord is a job as stored: with the furthest delivery status Twilio
// reported for its message, which may come before the job is settled, and
// when the job ended (by the store's clock), from which its retention
// runs.
type jobRecord struct {
	schedule.Job
	Delivery  bot.DeliveryStatus `json:"delivery,omitempty"`
	ErrorCode int                `json:"delivery_error,omitempty"`
	EndedAt   time.Time          `json:"ended_at,omitzero"`
}

// jobKeys are the keys of a job in the index buckets; nil where the job
// has none.
type jobKeys struct {
	due    []byte // a job a claim may take
	all    []byte
	cohort []byte // a job of a cohort
	ended  []byte // a job that ended
}

// indexKeys returns the keys of r in the index buckets.
func (r *jobRecord) indexKeys() jobKeys {
	var k jobKeys
	switch r.Status {
	case schedule.Queued:
		k.due = append(timeKey(r.DueAt), r.ID...)
	case schedule.Claimed:
		k.due = append(timeKey(r.LeaseUntil), r.ID...)
	}
	k.all = append(timeKey(r.DueAt), r.ID...)
	if r.Cohort != "" {
		k.cohort = append(append(msgKey(r.Cohort, ""), timeKey(r.DueAt)...), r.ID...)
	}
	if r.Status.Final() {
		k.ended = append(timeKey(r.EndedAt), r.ID...)
	}
	return k
}

// outboxBuckets are the outbox's buckets in a write transaction, and the
// store's time when it began (the end of a job that ends in it).
type outboxBuckets struct {
	jobs, due, all, cohort, ended, counts, learners *bolt.Bucket
	now                                             time.Time
	keys                                            app.Keys
	tx                                              *bolt.Tx
	// keep is the store's job retention: a reply's end is dated back so
	// that it goes after schedule.ReplyRetention (0: not dated back).
	keep time.Duration
}

func writeBuckets(tx *bolt.Tx, now time.Time, keys app.Keys) (outboxBuckets, error) {
	b := outboxBuckets{now: now, keys: keys, tx: tx}
	for _, x := range []struct {
		dst  **bolt.Bucket
		name []byte
	}{{&b.jobs, jobsBucket}, {&b.due, jobsDueBucket}, {&b.all, jobsByDueBucket}, {&b.cohort, jobsByCohortBucket},
		{&b.ended, jobsEndedBucket}, {&b.counts, jobCountsBucket}, {&b.learners, learnerJobsBucket}} {
		var err error
		if *x.dst, err = tx.CreateBucketIfNotExists(x.name); err != nil {
			return b, err
		}
	}
	return b, nil
}

// count moves the counts of r's cohort and of every job, in r's status, by
// delta.
func (b outboxBuckets) count(r *jobRecord, delta int64) error {
	cohorts := []string{""}
	if r.Cohort != "" {
		cohorts = append(cohorts, r.Cohort)
	}
	for _, c := range cohorts {
		if err := addCount(b.counts, msgKey(c, string(r.Status)), delta); err != nil {
			return err
		}
	}
	return nil
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

// put stores r in place of old (nil for none), keeping the indexes and
// the counts in step, by the keys that change. A job that ends now gets
// EndedAt; one that had ended keeps its end.
func (b outboxBuckets) put(old, r *jobRecord) error {
	switch {
	case !r.Status.Final():
		r.EndedAt = time.Time{}
	case old != nil && old.Status.Final() && !old.EndedAt.IsZero():
		r.EndedAt = old.EndedAt
	case r.EndedAt.IsZero():
		r.EndedAt = schedule.RetentionEnd(&r.Job, b.now, b.keep)
	}
	var was jobKeys
	if old != nil {
		was = old.indexKeys()
	}
	is := r.indexKeys()
	for _, x := range []struct {
		b       *bolt.Bucket
		was, is []byte
	}{{b.due, was.due, is.due}, {b.all, was.all, is.all}, {b.cohort, was.cohort, is.cohort}, {b.ended, was.ended, is.ended}} {
		if bytes.Equal(x.was, x.is) {
			continue
		}
		if x.was != nil {
			if err := x.b.Delete(x.was); err != nil {
				return err
			}
		}
		if x.is != nil {
			if err := x.b.Put(x.is, nil); err != nil {
				return err
			}
		}
	}
	if old == nil {
		if err := b.learners.Put(msgKey(b.keys.Learner(r.Learner), r.ID), nil); err != nil {
			return err
		}
	}
	if old == nil || old.Status != r.Status || old.Cohort != r.Cohort {
		if old != nil {
			if err := b.count(old, -1); err != nil {
				return err
			}
		}
		if err := b.count(r, 1); err != nil {
			return err
		}
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return b.jobs.Put([]byte(r.ID), v)
}

// remove deletes r with its index entries and its counts.
func (b outboxBuckets) remove(r *jobRecord) error {
	k := r.indexKeys()
	for _, x := range []struct {
		b   *bolt.Bucket
		key []byte
	}{{b.due, k.due}, {b.all, k.all}, {b.cohort, k.cohort}, {b.ended, k.ended}} {
		if x.key != nil {
			if err := x.b.Delete(x.key); err != nil {
				return err
			}
		}
	}
	if err := b.count(r, -1); err != nil {
		return err
	}
	if err := b.learners.Delete(msgKey(b.keys.Learner(r.Learner), r.ID)); err != nil {
		return err
	}
	return b.jobs.Delete([]byte(r.ID))
}

// forgetLearner removes the jobs addressed to the learner whose key is lk,
// with their index entries and counts, and the delivery records of what
// they sent: an erased learner's.
func (b outboxBuckets) forgetLearner(tx *bolt.Tx, lk string) error {
	prefix := msgKey(lk, "")
	var ids []string
	c := b.learners.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ids = append(ids, string(k[len(prefix):]))
	}
	deliveries := tx.Bucket(deliveriesBucket)
	// Deleted after the walk: deleting under a cursor can skip keys.
	for _, id := range ids {
		r, err := b.get(id)
		if err != nil {
			return err
		}
		if r == nil {
			if err := b.learners.Delete(msgKey(lk, id)); err != nil {
				return err
			}
			continue
		}
		if r.SID != "" {
			if err := deliveries.Delete([]byte(r.SID)); err != nil {
				return err
			}
		}
		if err := b.remove(r); err != nil {
			return err
		}
	}
	return nil
}

// updateOutbox runs fn in a write transaction on the outbox's buckets. A
// cancelled context is noticed before fn runs, never after.
func (s *Store) updateOutbox(ctx context.Context, op string, fn func(b outboxBuckets) error) error {
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	err := s.update(func(tx *bolt.Tx) error {
		if err := ctx.Err(); err != nil {
			return bot.E(op, bot.Unavailable, err)
		}
		b, err := writeBuckets(tx, s.now(), s.keys)
		b.keep = s.jobRetention
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
// jobs or none. New jobs are stored as given, with Status Queued and, when
// zero, UpdatedAt set to CreatedAt; a job whose ID is stored, in any
// status, is left as it is (a second job of one ID in the batch too).
// Errors: Invalid for a job without an ID, Learner or DueAt, Unavailable
// for a closed store or a cancelled context, Internal for a record that
// does not decode or a failed write.
func (s *Store) Enqueue(ctx context.Context, jobs ...schedule.Job) (int, error) {
	const op = "boltstore.Enqueue"
	for i := range jobs {
		if err := jobs[i].Check(); err != nil {
			return 0, bot.E(op, bot.Invalid, err)
		}
	}
	if len(jobs) == 0 {
		return 0, nil
	}
	var stored int
	err := s.updateOutbox(ctx, op, func(b outboxBuckets) error {
		stored = 0 // a retried transaction starts afresh
		for _, j := range jobs {
			if b.jobs.Get([]byte(j.ID)) != nil {
				continue
			}
			j.Status = schedule.Queued
			if j.UpdatedAt.IsZero() {
				j.UpdatedAt = j.CreatedAt
			}
			if err := b.put(nil, &jobRecord{Job: j}); err != nil {
				return err
			}
			stored++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return stored, nil
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

// ClaimJob implements schedule.Outbox in one write transaction.
func (s *Store) ClaimJob(ctx context.Context, worker, id string, now time.Time, lease time.Duration) (schedule.Job, bool, error) {
	const op = "boltstore.ClaimJob"
	if err := schedule.CheckClaim(ctx, op, worker, lease); err != nil {
		return schedule.Job{}, false, err
	}
	var (
		got     schedule.Job
		claimed bool
	)
	err := s.updateOutbox(ctx, op, func(b outboxBuckets) error {
		old, err := b.get(id)
		if err != nil {
			return bot.E(op, bot.Internal, err)
		}
		if old == nil {
			return bot.Errorf(op, bot.NotFound, "no job %s", id)
		}
		got, claimed = old.Job, false
		switch {
		case old.Status == schedule.Queued && !old.DueAt.After(now),
			old.Status == schedule.Claimed && !old.LeaseUntil.After(now):
		default:
			return nil
		}
		r := *old
		r.Status, r.Worker = schedule.Claimed, worker
		r.Attempts++
		if r.ClaimedAt.IsZero() {
			r.ClaimedAt = now
		}
		r.LeaseUntil, r.UpdatedAt = now.Add(lease), now
		if err := b.put(old, &r); err != nil {
			return err
		}
		got, claimed = r.Job, true
		return nil
	})
	if err != nil {
		return schedule.Job{}, false, err
	}
	return got, claimed, nil
}

// EnqueueClaimed implements schedule.Outbox in one write transaction, all
// the jobs or none: each new job is stored claimed by worker, and each
// stored one claimed when ClaimJob would claim it. Errors: Enqueue's and
// Claim's.
func (s *Store) EnqueueClaimed(ctx context.Context, worker string, now time.Time, lease time.Duration, jobs ...schedule.Job) ([]schedule.Job, []bool, error) {
	const op = "boltstore.EnqueueClaimed"
	if err := schedule.CheckClaim(ctx, op, worker, lease); err != nil {
		return nil, nil, err
	}
	for i := range jobs {
		if err := jobs[i].Check(); err != nil {
			return nil, nil, bot.E(op, bot.Invalid, err)
		}
	}
	out, claimed := make([]schedule.Job, len(jobs)), make([]bool, len(jobs))
	err := s.updateOutbox(ctx, op, func(b outboxBuckets) error {
		for i, j := range jobs {
			old, err := b.get(j.ID)
			if err != nil {
				return bot.E(op, bot.Internal, err)
			}
			var r jobRecord
			switch {
			case old == nil:
				j.Status, j.Attempts, j.Reason, j.SID = schedule.Claimed, 1, "", ""
				j.Worker, j.ClaimedAt, j.LeaseUntil, j.UpdatedAt, j.Sending = worker, now, now.Add(lease), now, time.Time{}
				r = jobRecord{Job: j}
			case old.Status == schedule.Queued && !old.DueAt.After(now),
				old.Status == schedule.Claimed && !old.LeaseUntil.After(now):
				r = *old
				r.Status, r.Worker = schedule.Claimed, worker
				r.Attempts++
				if r.ClaimedAt.IsZero() {
					r.ClaimedAt = now
				}
				r.LeaseUntil, r.UpdatedAt = now.Add(lease), now
			default:
				out[i], claimed[i] = old.Job, false
				continue
			}
			if err := b.put(old, &r); err != nil {
				return err
			}
			out[i], claimed[i] = r.Job, true
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, claimed, nil
}

// SettleAll implements schedule.Outbox in one write transaction: each job
// is settled as Settle would, and each delivery recorded as
// AdvanceDelivery would; a job Settle would refuse is left out (its error
// in its place), the others are saved.
func (s *Store) SettleAll(ctx context.Context, items ...schedule.Settlement) []error {
	const op = "boltstore.SettleAll"
	errs := make([]error, len(items))
	err := s.updateOutbox(ctx, op, func(b outboxBuckets) error {
		clear(errs) // a retried transaction starts afresh
		deliveries := b.tx.Bucket(deliveriesBucket)
		for i, it := range items {
			if err := it.CheckDelivery(); err != nil {
				errs[i] = bot.E(op, bot.Invalid, err)
				continue
			}
			if d := it.Delivery; d != nil && d.Status.Known() {
				if err := advanceDelivery(deliveries, *d); err != nil && err != errNotForward {
					return err
				}
			}
			errs[i] = settleJob(b, it.Job)
			if errs[i] != nil && bot.KindOf(errs[i]) == bot.Internal {
				return errs[i]
			}
		}
		return nil
	})
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
	}
	return errs
}

// anyDue reports whether a claim at now may find a job. It errs on the
// side of yes: the claim itself decides.
func (s *Store) anyDue(now time.Time) bool {
	due := true
	_ = s.view(func(tx *bolt.Tx) error {
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
	return s.updateOutbox(ctx, op, func(b outboxBuckets) error { return settleJob(b, j) })
}

// settleJob is Settle's, in its transaction.
func settleJob(b outboxBuckets, j schedule.Job) error {
	const op = "boltstore.Settle"
	if err := j.CheckSettle(); err != nil {
		return bot.E(op, bot.Invalid, err)
	}
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
	if err := b.put(old, &r); err != nil {
		return bot.E(op, bot.Internal, err)
	}
	return nil
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
	err := s.view(func(tx *bolt.Tx) error {
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
// cohort's index (or the index of all jobs) down from the latest due time,
// or from the cursor: the index key (due time and ID) of the last job of
// the page before, which the next page starts below. Jobs of one due time
// come in descending ID order. A page ends at Limit jobs; its cursor is ""
// when no job after it matches the filter. Errors: Invalid for a cursor
// that Jobs did not make, Unavailable for a closed store or a cancelled
// context, Internal for a record that does not decode.
func (s *Store) Jobs(ctx context.Context, f schedule.Filter) ([]schedule.Job, string, error) {
	const op = "boltstore.Jobs"
	if err := ctx.Err(); err != nil {
		return nil, "", bot.E(op, bot.Unavailable, err)
	}
	if f.Limit <= 0 {
		f.Limit = defaultJobsLimit
	}
	var from []byte
	if f.Cursor != "" {
		var err error
		if from, err = base64.RawURLEncoding.DecodeString(f.Cursor); err != nil || len(from) <= 8 {
			return nil, "", bot.Errorf(op, bot.Invalid, "not a cursor of Jobs: %q", f.Cursor)
		}
	}
	var (
		jobs []schedule.Job
		next string
	)
	err := s.view(func(tx *bolt.Tx) error {
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
		// Time keys start with a byte below 0x80, so prefix+0xff is past
		// every key of the cohort. The page starts below the seek.
		seek := append(bytes.Clone(prefix), 0xff)
		if from != nil {
			seek = append(bytes.Clone(prefix), from...)
		}
		var k []byte
		if k, _ = c.Seek(seek); k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		var last []byte
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
			id := k[len(prefix)+8:]
			v := recs.Get(id)
			if v == nil {
				continue
			}
			var r jobRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return bot.Errorf(op, bot.Internal, "decode job %s: %w", id, err)
			}
			if len(f.Status) > 0 && !slices.Contains(f.Status, r.Status) {
				continue
			}
			if len(jobs) == f.Limit {
				next = base64.RawURLEncoding.EncodeToString(last)
				return nil
			}
			jobs = append(jobs, r.Job)
			last = bytes.Clone(k[len(prefix):])
		}
		return nil
	})
	if err != nil {
		return nil, "", wrap(op, err)
	}
	return jobs, next, nil
}

// Counts implements schedule.Outbox in one read transaction, from the
// counts every change of a job's status moves: no status is zero. Errors:
// Unavailable for a closed store or a cancelled context.
func (s *Store) Counts(ctx context.Context, cohort string) (map[schedule.Status]int, error) {
	const op = "boltstore.Counts"
	if err := ctx.Err(); err != nil {
		return nil, bot.E(op, bot.Unavailable, err)
	}
	counts := map[schedule.Status]int{}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(jobCountsBucket)
		if b == nil {
			return nil
		}
		prefix := msgKey(cohort, "")
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			counts[schedule.Status(k[len(prefix):])] = int(readCount(v))
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return counts, nil
}

// purgeJobs deletes the jobs that ended longer than the job retention
// before now, with their index entries and counts, one batch per
// transaction, reading only expired entries of the index of ended jobs.
func (s *Store) purgeJobs(now time.Time) (int, error) {
	const op = "boltstore.PurgeJobs"
	cutoff := timeKey(now.Add(-s.jobRetention))
	total := 0
	for {
		n := 0
		err := s.update(func(tx *bolt.Tx) error {
			if tx.Bucket(jobsEndedBucket) == nil {
				return nil // no job has ended: nothing to create
			}
			b, err := writeBuckets(tx, s.now(), s.keys)
			b.keep = s.jobRetention
			if err != nil {
				return err
			}
			var expired [][]byte
			c := b.ended.Cursor()
			for k, _ := c.First(); k != nil && len(expired) < purgeBatch && bytes.Compare(k[:8], cutoff) < 0; k, _ = c.Next() {
				expired = append(expired, bytes.Clone(k))
			}
			// Deleted after the walk: deleting under a cursor can skip
			// keys.
			for _, k := range expired {
				r, err := b.get(string(k[8:]))
				if err != nil {
					return err
				}
				// An entry of a job that is gone, or ended again since,
				// goes alone.
				if r == nil || !bytes.Equal(r.indexKeys().ended, k) {
					if err := b.ended.Delete(k); err != nil {
						return err
					}
					continue
				}
				if err := b.remove(r); err != nil {
					return err
				}
			}
			n = len(expired)
			return nil
		})
		if err != nil {
			return total, wrap(op, err)
		}
		total += n
		if n < purgeBatch {
			return total, nil
		}
	}
}

// buildOutboxIndexes builds, inside Open's transaction, the counts and
// the index of ended jobs of a file written before they existed; a job
// that ended then is taken to have ended at its last change (or now, when
// it has none).
func buildOutboxIndexes(tx *bolt.Tx, now time.Time, keys app.Keys) error {
	if tx.Bucket(jobsBucket) == nil {
		return nil // no outbox yet: its first write creates it whole
	}
	for _, name := range [][]byte{jobsEndedBucket, jobCountsBucket} {
		if tx.Bucket(name) != nil {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
	}
	b, err := writeBuckets(tx, now, keys)
	if err != nil {
		return err
	}
	var recs []*jobRecord
	err = b.jobs.ForEach(func(k, v []byte) error {
		r := new(jobRecord)
		if err := json.Unmarshal(v, r); err != nil {
			return fmt.Errorf("decode job %s: %w", k, err)
		}
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		return err
	}
	// Written after the walk: writing under a cursor can skip keys.
	for _, r := range recs {
		if r.Status.Final() && r.EndedAt.IsZero() {
			r.EndedAt = r.UpdatedAt
			if r.EndedAt.IsZero() {
				r.EndedAt = now
			}
			v, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if err := b.jobs.Put([]byte(r.ID), v); err != nil {
				return err
			}
		}
		if k := r.indexKeys().ended; k != nil {
			if err := b.ended.Put(k, nil); err != nil {
				return err
			}
		}
		if err := b.count(r, 1); err != nil {
			return err
		}
	}
	return nil
}

// Cancel implements schedule.Outbox in one write transaction, which
// bbolt runs alone, so a Cancel and a BeginSend never interleave;
// cancelling a cancelled job does nothing. Errors: NotFound, Conflict for
// a job a send of which may have gone out, a claimed reply, or a job that
// ended otherwise, Unavailable and Internal as for Enqueue.
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
		case (old.Status == schedule.Queued || old.Status == schedule.Claimed) && !old.Sending.IsZero():
			return bot.Errorf(op, bot.Conflict, "job %s may have been sent already: too late to cancel", id)
		case old.Status == schedule.Claimed && old.Kind == schedule.Reply:
			return bot.Errorf(op, bot.Conflict, "reply %s is being sent", id)
		case old.Status != schedule.Queued && old.Status != schedule.Claimed:
			return bot.Errorf(op, bot.Conflict, "job %s is %s: too late to cancel", id, old.Status)
		}
		r := *old
		r.Status, r.Reason, r.UpdatedAt = schedule.Cancelled, cancelReason, s.now()
		r.Worker, r.LeaseUntil = "", time.Time{}
		return b.put(old, &r)
	})
	if errors.Is(err, errNotForward) {
		return nil
	}
	return err
}

// BeginSend implements schedule.Outbox in one write transaction. Errors:
// NotFound, Conflict when worker no longer holds the job, Unavailable and
// Internal as for Enqueue.
func (s *Store) BeginSend(ctx context.Context, id, worker string, now time.Time) (time.Time, error) {
	const op = "boltstore.BeginSend"
	var at time.Time
	err := s.updateOutbox(ctx, op, func(b outboxBuckets) error {
		old, err := b.get(id)
		if err != nil {
			return bot.E(op, bot.Internal, err)
		}
		switch {
		case old == nil:
			return bot.Errorf(op, bot.NotFound, "no job %s", id)
		case old.Status != schedule.Claimed || old.Worker != worker:
			return bot.Errorf(op, bot.Conflict, "job %s is %s by %q, not claimed by %q", id, old.Status, old.Worker, worker)
		}
		at = old.Sending
		if !at.IsZero() {
			return nil
		}
		r := *old
		r.Sending, at = now, now
		return b.put(old, &r)
	})
	if err != nil {
		return time.Time{}, err
	}
	return at, nil
}
