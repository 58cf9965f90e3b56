package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
)

var _ schedule.Outbox = (*Store)(nil)

// The outbox's keys, where P is Options.Prefix:
//
//	P{outbox}:due        the jobs a claim may take: a sorted set of job ids,
//	                     queued ones scored by due time, claimed ones by the
//	                     end of their lease (microseconds since 1970)
//	P{outbox}:all        every job by due time, for listing
//	P{outbox}:c:<code>   the jobs of one cohort by due time
//	P{outbox}:j:<id>     one job, a hash (see outboxscripts.go)
//
// The hash tag {outbox} puts them all in one slot of a Redis Cluster, so
// that one script claims a batch, and another settles a job, each in one
// round trip. The price is that every job lives on one node; 10,000 queued
// reminders take a few megabytes there.
//
// Scores are microseconds, which a float64 holds exactly until the year
// 2255: a job is due when its due time, to the microsecond, has come.
//
// Jobs are kept after they end, for coaches to see; nothing expires them
// yet.

// enqueueBatch is how many jobs one enqueue script stores: a batch is
// written all or nothing, and a long one would hold up Redis.
const enqueueBatch = 500

// defaultJobsLimit is Filter.Limit's default.
const defaultJobsLimit = 100

// cancelReason is the Reason of a cancelled job.
const cancelReason = "cancelled"

type outboxKeys struct {
	due, all, job, cohort string // job and cohort are prefixes
}

func (s *Store) outboxKeys() outboxKeys {
	tag := s.prefix + "{outbox}:"
	return outboxKeys{due: tag + "due", all: tag + "all", job: tag + "j:", cohort: tag + "c:"}
}

// score is t as a sorted-set score.
func score(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// formatTime writes t as the job fields keep it; the zero time is "".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

func parseTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, v)
}

// jobValues returns the hash values of j in the scripts' order: v s w a c
// l r u i k.
func jobValues(j *schedule.Job) ([]any, error) {
	v, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	return []any{v, string(j.Status), j.Worker, j.Attempts, formatTime(j.ClaimedAt),
		formatTime(j.LeaseUntil), j.Reason, formatTime(j.UpdatedAt), j.SID, j.Cohort}, nil
}

// decodeJob reads a job from the fields v s w a c l r u, as the scripts
// return them.
func decodeJob(f []any) (schedule.Job, error) {
	if len(f) != 8 {
		return schedule.Job{}, fmt.Errorf("job has %d fields, want 8", len(f))
	}
	str := func(i int) string { v, _ := f[i].(string); return v }
	var j schedule.Job
	if err := json.Unmarshal([]byte(str(0)), &j); err != nil {
		return schedule.Job{}, fmt.Errorf("decode job: %w", err)
	}
	j.Status = schedule.Status(str(1))
	j.Worker = str(2)
	j.Reason = str(6)
	var err error
	if j.Attempts, err = strconv.Atoi(str(3)); err != nil {
		return schedule.Job{}, fmt.Errorf("decode job attempts: %w", err)
	}
	for _, t := range []struct {
		dst *time.Time
		i   int
	}{{&j.ClaimedAt, 4}, {&j.LeaseUntil, 5}, {&j.UpdatedAt, 7}} {
		if *t.dst, err = parseTime(str(t.i)); err != nil {
			return schedule.Job{}, fmt.Errorf("decode job time: %w", err)
		}
	}
	return j, nil
}

// decodeJobs reads what claimScript and jobsScript return: per job, its id
// and its fields.
func decodeJobs(res []any) ([]schedule.Job, error) {
	if len(res)%9 != 0 {
		return nil, fmt.Errorf("script answered %d values, not a multiple of 9", len(res))
	}
	jobs := make([]schedule.Job, 0, len(res)/9)
	for i := 0; i < len(res); i += 9 {
		j, err := decodeJob(res[i+1 : i+9])
		if err != nil {
			return nil, err
		}
		j.ID, _ = res[i].(string)
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// Enqueue implements schedule.Outbox, in one round trip per 500 jobs; each
// such batch is written all or nothing. Jobs are stored as given, with
// Status Queued and, when zero, UpdatedAt set to CreatedAt. Errors: Invalid
// for a job without an ID, Learner or DueAt (nothing is written then),
// Unavailable and Internal as for Update.
func (s *Store) Enqueue(ctx context.Context, jobs ...schedule.Job) error {
	const op = "redisstore.Enqueue"
	for i := range jobs {
		if err := jobs[i].Check(); err != nil {
			return bot.E(op, bot.Invalid, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	k := s.outboxKeys()
	for len(jobs) > 0 {
		batch := jobs[:min(len(jobs), enqueueBatch)]
		jobs = jobs[len(batch):]
		args := make([]any, 0, 2+12*len(batch))
		args = append(args, k.job, k.cohort)
		for _, j := range batch {
			j.Status = schedule.Queued
			if j.UpdatedAt.IsZero() {
				j.UpdatedAt = j.CreatedAt
			}
			vals, err := jobValues(&j)
			if err != nil {
				return bot.E(op, bot.Internal, err)
			}
			args = append(args, j.ID, score(j.DueAt))
			args = append(args, vals...)
		}
		if err := enqueueScript.Run(ctx, s.client, []string{k.due, k.all}, args...).Err(); err != nil {
			return wrap(op, err)
		}
	}
	return nil
}

// Claim implements schedule.Outbox in one round trip: a script takes the
// due jobs, earliest first, and marks them claimed before any other call
// can see them. A job is due when its DueAt, to the microsecond, is not
// after now. Times are the caller's: the replicas' clocks should agree to
// well within a lease, or one may take over a claim that is still alive.
// Errors: Invalid for an empty worker or a lease that is not positive,
// Unavailable and Internal as for Update.
func (s *Store) Claim(ctx context.Context, worker string, now time.Time, lease time.Duration, max int) ([]schedule.Job, error) {
	const op = "redisstore.Claim"
	if err := schedule.CheckClaim(ctx, op, worker, lease); err != nil {
		return nil, err
	}
	if max <= 0 {
		return nil, nil
	}
	k := s.outboxKeys()
	until := now.Add(lease)
	res, err := claimScript.Run(ctx, s.client, []string{k.due},
		score(now), formatTime(now), score(until), formatTime(until), worker, max, k.job).Slice()
	if err != nil {
		return nil, wrap(op, err)
	}
	jobs, err := decodeJobs(res)
	if err != nil {
		return nil, bot.E(op, bot.Internal, err)
	}
	return jobs, nil
}

// Settle implements schedule.Outbox in one round trip. The job is saved as
// given, except that a job settled as Sent whose delivery Twilio has
// already reported (the callback can beat the worker) takes that outcome
// at once. A Claimed job keeps its claim until its new LeaseUntil.
// Errors: Conflict when the job is not claimed by j.Worker, NotFound when
// there is no such job, Invalid for a job Enqueue would refuse or an
// unknown status, Unavailable and Internal as for Update.
func (s *Store) Settle(ctx context.Context, j schedule.Job) error {
	const op = "redisstore.Settle"
	if err := j.CheckSettle(); err != nil {
		return bot.E(op, bot.Invalid, err)
	}
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	vals, err := jobValues(&j)
	if err != nil {
		return bot.E(op, bot.Internal, err)
	}
	k := s.outboxKeys()
	args := append([]any{k.job, k.cohort, j.ID, j.Worker, score(j.DueAt), score(j.LeaseUntil)}, vals...)
	res, err := settleScript.Run(ctx, s.client, []string{k.due, k.all}, args...).Slice()
	if err != nil {
		return wrap(op, err)
	}
	switch code, _ := res[0].(int64); code {
	case 1:
		return nil
	case 0:
		return bot.Errorf(op, bot.Conflict, "job %s is %v by %q, not claimed by %q", j.ID, res[1], res[2], j.Worker)
	case -1:
		return bot.Errorf(op, bot.NotFound, "no job %s", j.ID)
	}
	return bot.Errorf(op, bot.Internal, "settle script answered %v", res)
}

// Delivered implements schedule.Outbox in one round trip. The job keeps
// the furthest status Twilio reported (by bot.DeliveryStatus's ranks, so
// callbacks may come in any order); a job that was sent becomes Delivered
// on delivered or read, and Failed on failed, undelivered or canceled with
// the error code as its Reason (the status when there is no code). A job
// not settled yet takes the outcome when it is settled as Sent. An unknown
// status is ignored. Errors: NotFound, Unavailable and Internal as for
// Update.
func (s *Store) Delivered(ctx context.Context, id string, status bot.DeliveryStatus, errorCode int) error {
	const op = "redisstore.Delivered"
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	if !status.Known() {
		return nil
	}
	prev := status.Replaces()
	args := make([]any, 0, 3+len(prev))
	args = append(args, string(status), errorCode, formatTime(time.Now()))
	for _, p := range prev {
		args = append(args, string(p))
	}
	n, err := deliveredScript.Run(ctx, s.client, []string{s.outboxKeys().job + id}, args...).Int()
	if err != nil {
		return wrap(op, err)
	}
	if n < 0 {
		return bot.Errorf(op, bot.NotFound, "no job %s", id)
	}
	return nil
}

// Job implements schedule.Outbox in one round trip. Errors: NotFound,
// Unavailable as for Update, Internal for a job that does not decode.
func (s *Store) Job(ctx context.Context, id string) (schedule.Job, error) {
	const op = "redisstore.Job"
	if err := ctx.Err(); err != nil {
		return schedule.Job{}, bot.E(op, bot.Unavailable, err)
	}
	f, err := s.client.HMGet(ctx, s.outboxKeys().job+id, "v", "s", "w", "a", "c", "l", "r", "u").Result()
	if err != nil {
		return schedule.Job{}, wrap(op, err)
	}
	if len(f) == 0 || f[0] == nil {
		return schedule.Job{}, bot.Errorf(op, bot.NotFound, "no job %s", id)
	}
	j, err := decodeJob(f)
	if err != nil {
		return schedule.Job{}, bot.E(op, bot.Internal, err)
	}
	j.ID = id
	return j, nil
}

// Jobs implements schedule.Outbox in one round trip: a script walks the
// cohort's index (or the index of all jobs) from the latest due time and
// keeps the jobs of the statuses asked for. Errors: Unavailable as for
// Update, Internal for a job that does not decode.
func (s *Store) Jobs(ctx context.Context, f schedule.Filter) ([]schedule.Job, error) {
	const op = "redisstore.Jobs"
	if err := ctx.Err(); err != nil {
		return nil, bot.E(op, bot.Unavailable, err)
	}
	if f.Limit <= 0 {
		f.Limit = defaultJobsLimit
	}
	k := s.outboxKeys()
	index := k.all
	if f.Cohort != "" {
		index = k.cohort + f.Cohort
	}
	args := make([]any, 0, 2+len(f.Status))
	args = append(args, f.Limit, k.job)
	for _, st := range f.Status {
		args = append(args, string(st))
	}
	res, err := jobsScript.Run(ctx, s.client, []string{index}, args...).Slice()
	if err != nil {
		return nil, wrap(op, err)
	}
	jobs, err := decodeJobs(res)
	if err != nil {
		return nil, bot.E(op, bot.Internal, err)
	}
	return jobs, nil
}

// Cancel implements schedule.Outbox in one round trip; cancelling a
// cancelled job does nothing. Errors: NotFound, Conflict for a job past
// Queued, Unavailable and Internal as for Update.
func (s *Store) Cancel(ctx context.Context, id string) error {
	const op = "redisstore.Cancel"
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	k := s.outboxKeys()
	res, err := cancelScript.Run(ctx, s.client, []string{k.job + id, k.due}, id, formatTime(time.Now()), cancelReason).Slice()
	if err != nil {
		return wrap(op, err)
	}
	switch code, _ := res[0].(int64); code {
	case 1:
		return nil
	case 0:
		return bot.Errorf(op, bot.Conflict, "job %s is %v: too late to cancel", id, res[1])
	case -1:
		return bot.Errorf(op, bot.NotFound, "no job %s", id)
	}
	return bot.Errorf(op, bot.Internal, "cancel script answered %v", res)
}
