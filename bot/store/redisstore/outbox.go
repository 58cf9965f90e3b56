package redisstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
)

var _ schedule.Outbox = (*Store)(nil)

// The outbox lives in the buckets (layout.go): a job is in the bucket its
// id hashes to, with its place in the bucket's due set, listings and
// counts, so that one script claims a bucket's due jobs, and another
// settles a job, each in one round trip, and a Cluster spreads the jobs
// over its masters. Claim and the listings visit the buckets in turn.
//
// Scores of due times are microseconds, which a float64 holds exactly
// until the year 2255: a job is due when its due time, to the microsecond,
// has come.
//
// A job that ended is removed, with its place in every set and count,
// Options.JobRetention after it ended: Claim (every replica's runner calls
// it every second) removes those of the buckets it visits.

// enqueueBatch is how many jobs one enqueue script stores: a batch is
// written all or nothing, and a long one would hold up Redis.
const enqueueBatch = 500

// defaultJobsLimit is Filter.Limit's default.
const defaultJobsLimit = 100

// cancelReason is the Reason of a cancelled job.
const cancelReason = "cancelled"

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

// jobTag is the tag of the bucket of job id.
func (s *Store) jobTag(id string) string { return s.bucketTag(s.bucketOf(id)) }

// jobValue writes a job as the scripts keep it (see outboxscripts.go): the
// fields they read and change, then what Go writes. cohort is the job's
// cohort as the sets name it; ds and de are the delivery status Twilio
// reported and its error code. Separators and other control characters are
// kept out of the fields.
func jobValue(j *schedule.Job, cohort, ds, de string) string {
	fields := []string{string(j.Status), j.Worker, strconv.Itoa(j.Attempts), formatTime(j.ClaimedAt),
		formatTime(j.LeaseUntil), j.Reason, formatTime(j.UpdatedAt), j.SID, cohort, ds, de, formatTime(j.Sending)}
	for i, f := range fields {
		fields[i] = strings.Map(dropControl, f)
	}
	return strings.Join(fields, "\x1f") + "\x1e" + string(encodeJob(j))
}

func dropControl(r rune) rune {
	if r < 0x20 {
		return ' '
	}
	return r
}

// decodeJob is the inverse of jobValue: the job, without its ID.
func decodeJob(raw string) (schedule.Job, error) {
	state, v, ok := strings.Cut(raw, "\x1e")
	if !ok {
		return schedule.Job{}, fmt.Errorf("decode job: no separator")
	}
	f := strings.Split(state, "\x1f")
	// A job stored before the send fence existed has 11 fields.
	if len(f) != 11 && len(f) != 12 {
		return schedule.Job{}, fmt.Errorf("decode job: %d fields, want 12", len(f))
	}
	var j schedule.Job
	if err := decodeJobValue(v, &j); err != nil {
		return schedule.Job{}, err
	}
	j.Status = schedule.Status(f[0])
	j.Worker = f[1]
	j.Reason = f[5]
	j.SID = f[7]
	var err error
	if j.Attempts, err = strconv.Atoi(f[2]); err != nil {
		return schedule.Job{}, fmt.Errorf("decode job attempts: %w", err)
	}
	for _, t := range []struct {
		dst *time.Time
		i   int
	}{{&j.ClaimedAt, 3}, {&j.LeaseUntil, 4}, {&j.UpdatedAt, 6}, {&j.Sending, 11}} {
		if t.i >= len(f) {
			continue
		}
		if *t.dst, err = parseTime(f[t.i]); err != nil {
			return schedule.Job{}, fmt.Errorf("decode job time: %w", err)
		}
	}
	return j, nil
}

// decodeJobs reads what claimScript returns: per job, its id and the job.
func decodeJobs(res []any) ([]schedule.Job, error) {
	if len(res)%2 != 0 {
		return nil, fmt.Errorf("script answered %d values, not a multiple of 2", len(res))
	}
	jobs := make([]schedule.Job, 0, len(res)/2)
	for i := 0; i < len(res); i += 2 {
		raw, _ := res[i+1].(string)
		j, err := decodeJob(raw)
		if err != nil {
			return nil, err
		}
		j.ID, _ = res[i].(string)
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// Enqueue implements schedule.Outbox in one round trip (per node of a
// Cluster): a script per bucket the jobs fall in, and per 500 of a
// bucket's jobs, all in one pipeline, each batch written all or nothing.
// Jobs are stored with Status Queued and, when zero, UpdatedAt set to
// CreatedAt. Errors: Invalid for a job without an ID, Learner or DueAt
// (nothing is written then), Unavailable and Internal as for Update; the
// count is then unknown, and given as 0.
func (s *Store) Enqueue(ctx context.Context, jobs ...schedule.Job) (int, error) {
	const op = "redisstore.Enqueue"
	for i := range jobs {
		if err := jobs[i].Check(); err != nil {
			return 0, bot.E(op, bot.Invalid, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, bot.E(op, bot.Unavailable, err)
	}
	byBucket := map[int][]any{}
	for _, j := range jobs {
		if j.UpdatedAt.IsZero() {
			j.UpdatedAt = j.CreatedAt
		}
		j.Status, j.Worker, j.Attempts, j.Reason = schedule.Queued, "", 0, ""
		j.ClaimedAt, j.LeaseUntil = time.Time{}, time.Time{}
		b := s.bucketOf(j.ID)
		byBucket[b] = append(byBucket[b], j.ID, score(j.DueAt), jobValue(&j, escapeID(codeKey(j.Cohort)), "", ""))
	}
	// A bucket's batch of more than 500 jobs goes in several scripts: one
	// bucket number per batch, so that runScripts sends them all at once.
	batches := map[int][]any{}
	bucketOfBatch := map[int]int{}
	n := 0
	for b, vals := range byBucket {
		for len(vals) > 0 {
			batch := vals[:min(len(vals), 3*enqueueBatch)]
			vals = vals[len(batch):]
			batches[n], bucketOfBatch[n] = batch, b
			n++
		}
	}
	stored := 0
	if _, err := s.secretKeys(ctx); err != nil {
		return 0, wrap(op, err)
	}
	err := s.runScripts(ctx, enqueueScript, batches, func(i int) ([]string, []any) {
		tag := s.bucketTag(bucketOfBatch[i])
		return []string{tag + "jd"}, []any{tag}
	}, func(res any) error {
		v, _ := res.(int64)
		stored += int(v)
		return nil
	}, func(p redis.Pipeliner) { s.fileJobs(ctx, p, jobs) })
	if err != nil {
		return 0, wrap(op, err)
	}
	return stored, nil
}

// fileJobs files each job under its learner (PB:lj:K in the learner's
// bucket), in pipeline p, so that erasing the learner finds them; entries
// older than any job can live are trimmed as new ones come, so a
// learner's list stays as short as their jobs.
func (s *Store) fileJobs(ctx context.Context, p redis.Pipeliner, jobs []schedule.Job) {
	keep := s.jobRetention + jobLifetime
	cutoff := strconv.FormatInt(time.Now().Add(-keep).UnixMilli(), 10)
	// A learner's jobs of one call (a turn's replies) go in one ZADD.
	for i := 0; i < len(jobs); {
		key := s.keysOf(jobs[i].Learner, "").jobs
		var members []redis.Z
		for ; i < len(jobs) && (len(members) == 0 || jobs[i].Learner == jobs[i-1].Learner); i++ {
			members = append(members, redis.Z{Score: float64(jobs[i].CreatedAt.UnixMilli()), Member: jobs[i].ID})
		}
		p.ZAdd(ctx, key, members...)
		p.ZRemRangeByScore(ctx, key, "-inf", cutoff)
		p.PExpire(ctx, key, keep)
	}
}

// jobLifetime bounds how long a job lives before it ends: retries and
// quiet hours hold a job for hours at most, a reminder due far ahead is
// set at most a year ahead.
const jobLifetime = 400 * 24 * time.Hour

// forgetJobs removes the jobs addressed to an erased learner, with their
// place in every set and count and the delivery records of what they sent.
func (s *Store) forgetJobs(ctx context.Context, k learnerKeys) error {
	ids, err := s.client.ZRange(ctx, k.jobs, 0, -1).Result()
	if err != nil || len(ids) == 0 {
		return err
	}
	byBucket := map[int][]any{}
	for _, id := range ids {
		b := s.bucketOf(id)
		byBucket[b] = append(byBucket[b], id)
	}
	var sids []string
	err = s.runScripts(ctx, dropJobsScript, byBucket, func(b int) ([]string, []any) {
		tag := s.bucketTag(b)
		return []string{tag + "jd"}, []any{tag}
	}, func(res any) error {
		got, _ := res.([]any)
		for _, sid := range got {
			if v, ok := sid.(string); ok {
				sids = append(sids, v)
			}
		}
		return nil
	}, nil)
	if err != nil {
		return err
	}
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, sid := range sids {
			p.Del(ctx, s.deliveryKey(sid))
		}
		p.Del(ctx, k.jobs)
		return nil
	})
	return err
}

// Claim implements schedule.Outbox in two round trips (per node of a
// Cluster): a peek at every bucket's due jobs chooses the earliest max,
// then a script per bucket (all in one pipeline) claims those still due
// before any other call can. The pipeline also removes the jobs past their
// retention of the buckets it visits, and of one more bucket each call,
// in turn. A job is due when its DueAt, to the microsecond, is not after
// now. Times are the caller's: the replicas' clocks should agree to well
// within a lease, or one may take over a claim that is still alive.
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
	chosen, err := s.peekDue(ctx, "jd", score(now), max)
	if err != nil {
		return nil, wrap(op, err)
	}
	byBucket := map[int][]any{int(s.claimStart.Add(1)) % s.buckets: nil}
	order := map[string]int{}
	for i, p := range chosen {
		byBucket[p.bucket] = append(byBucket[p.bucket], p.id)
		order[p.id] = i
	}
	jobs, err := s.claimBuckets(ctx, byBucket, worker, now, lease)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(jobs, func(a, b schedule.Job) int { return cmp.Compare(order[a.ID], order[b.ID]) })
	return jobs, nil
}

// claimBuckets runs claimScript on each bucket of byBucket, with the ids
// to claim there (none: only remove the jobs past their retention).
func (s *Store) claimBuckets(ctx context.Context, byBucket map[int][]any, worker string, now time.Time, lease time.Duration) ([]schedule.Job, error) {
	const op = "redisstore.Claim"
	until := now.Add(lease)
	var jobs []schedule.Job
	err := s.runScripts(ctx, claimScript, byBucket, func(b int) ([]string, []any) {
		tag := s.bucketTag(b)
		return []string{tag + "jd"}, []any{tag, score(now), formatTime(now), score(until), formatTime(until), worker,
			now.Add(-s.jobRetention).UnixMilli()}
	}, func(res any) error {
		vals, _ := res.([]any)
		got, err := decodeJobs(vals)
		if err != nil {
			return bot.E(op, bot.Internal, err)
		}
		jobs = append(jobs, got...)
		return nil
	}, nil)
	if err != nil {
		return nil, wrap(op, err)
	}
	return jobs, nil
}

// ClaimJob implements schedule.Outbox in one round trip, two when the job
// is not claimed (its state is read then).
func (s *Store) ClaimJob(ctx context.Context, worker, id string, now time.Time, lease time.Duration) (schedule.Job, bool, error) {
	const op = "redisstore.ClaimJob"
	if err := schedule.CheckClaim(ctx, op, worker, lease); err != nil {
		return schedule.Job{}, false, err
	}
	jobs, err := s.claimBuckets(ctx, map[int][]any{s.bucketOf(id): {id}}, worker, now, lease)
	if err != nil {
		return schedule.Job{}, false, err
	}
	if len(jobs) == 1 {
		return jobs[0], true, nil
	}
	j, err := s.Job(ctx, id)
	return j, false, err
}

// EnqueueClaimed implements schedule.Outbox in one round trip (per node of
// a Cluster): a script per bucket the jobs fall in, all in one pipeline,
// each bucket's jobs written all or nothing, with their place under their
// learner as Enqueue files them. It is for a turn's replies, a few jobs:
// a bucket's jobs go in one script however many there are. Errors: as
// for Enqueue and Claim.
func (s *Store) EnqueueClaimed(ctx context.Context, worker string, now time.Time, lease time.Duration, jobs ...schedule.Job) ([]schedule.Job, []bool, error) {
	const op = "redisstore.EnqueueClaimed"
	if err := schedule.CheckClaim(ctx, op, worker, lease); err != nil {
		return nil, nil, err
	}
	for i := range jobs {
		if err := jobs[i].Check(); err != nil {
			return nil, nil, bot.E(op, bot.Invalid, err)
		}
	}
	if len(jobs) == 0 {
		return nil, nil, nil
	}
	until := now.Add(lease)
	byBucket := map[int][]any{}
	place := make(map[string]int, len(jobs))
	stored := make([]schedule.Job, len(jobs)) // each job as stored if new
	for i, j := range jobs {
		if _, ok := place[j.ID]; !ok {
			place[j.ID] = i
		}
		j.Status, j.Worker, j.Attempts, j.Reason, j.SID = schedule.Claimed, worker, 1, "", ""
		j.ClaimedAt, j.LeaseUntil, j.UpdatedAt, j.Sending = now, until, now, time.Time{}
		stored[i] = j
		b := s.bucketOf(j.ID)
		cohort := escapeID(codeKey(j.Cohort))
		byBucket[b] = append(byBucket[b], j.ID, score(j.DueAt), cohort, jobValue(&j, cohort, "", ""))
	}
	if _, err := s.secretKeys(ctx); err != nil {
		return nil, nil, wrap(op, err)
	}
	out, claimed := make([]schedule.Job, len(jobs)), make([]bool, len(jobs))
	err := s.runScripts(ctx, enqueueClaimScript, byBucket, func(b int) ([]string, []any) {
		tag := s.bucketTag(b)
		return []string{tag + "jd"}, []any{tag, score(now), formatTime(now), score(until), formatTime(until), worker}
	}, func(res any) error {
		vals, _ := res.([]any)
		if len(vals)%3 != 0 {
			return bot.Errorf(op, bot.Internal, "script answered %d values, not a multiple of 3", len(vals))
		}
		for i := 0; i < len(vals); i += 3 {
			id, _ := vals[i].(string)
			took, _ := vals[i+1].(int64)
			// A job given twice: the first place gets the claim.
			at, ok := place[id]
			if !ok {
				return bot.Errorf(op, bot.Internal, "script answered job %s, not asked for", id)
			}
			j := stored[at]
			if took != 2 {
				raw, _ := vals[i+2].(string)
				var err error
				if j, err = decodeJob(raw); err != nil {
					return bot.E(op, bot.Internal, err)
				}
				j.ID = id
			}
			out[at], claimed[at] = j, took >= 1
			for k := at + 1; k < len(jobs); k++ {
				if jobs[k].ID == id {
					out[k] = j
				}
			}
		}
		return nil
	}, func(p redis.Pipeliner) { s.fileJobs(ctx, p, jobs) })
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	return out, claimed, nil
}

// SettleAll implements schedule.Outbox in one round trip (per node of a
// Cluster): each job's settle script and each delivery's record, all in
// one pipeline. Each job is settled or not as Settle would; a Redis that
// lost its scripts gets them again, and the commands it refused once
// more. Errors: one per settlement, as for Settle and AdvanceDelivery.
func (s *Store) SettleAll(ctx context.Context, items ...schedule.Settlement) []error {
	const op = "redisstore.SettleAll"
	errs := make([]error, len(items))
	var todo []int
	for i := range items {
		it := &items[i]
		switch err := cmp.Or(it.Job.CheckSettle(), it.CheckDelivery()); {
		case err != nil:
			errs[i] = bot.E(op, bot.Invalid, err)
		case ctx.Err() != nil:
			errs[i] = bot.E(op, bot.Unavailable, ctx.Err())
		default:
			todo = append(todo, i)
		}
	}
	// What is left to write of each settlement: its delivery's record and
	// its settle; a command Redis refused for want of its script goes
	// again, alone.
	record, settle := make([]bool, len(items)), make([]bool, len(items))
	for _, i := range todo {
		d := items[i].Delivery
		record[i], settle[i] = d != nil && d.Status.Known(), true
	}
	for attempt := 0; len(todo) > 0; attempt++ {
		advances, settles := map[int]*redis.Cmd{}, map[int]*redis.Cmd{}
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, i := range todo {
				if record[i] {
					keys, args := s.advanceArgs(*items[i].Delivery)
					advances[i] = advanceScript.EvalSha(ctx, p, keys, args...)
				}
				if settle[i] {
					keys, args := s.settleArgs(&items[i].Job)
					settles[i] = settleScript.EvalSha(ctx, p, keys, args...)
				}
			}
			return nil
		})
		if err != nil && !isNoScript(err) && !errors.Is(err, redis.Nil) {
			for _, i := range todo {
				errs[i] = wrap(op, err)
			}
			return errs
		}
		var again []int
		for _, i := range todo {
			if c := advances[i]; c != nil {
				switch err := c.Err(); {
				case err == nil:
					record[i] = false
				case !isNoScript(err):
					record[i] = false
					errs[i] = wrap(op, err)
				}
			}
			if c := settles[i]; c != nil {
				res, err := c.Slice()
				switch {
				case isNoScript(err):
				case err != nil:
					settle[i], errs[i] = false, wrap(op, err)
				default:
					settle[i], errs[i] = false, cmp.Or(settled(op, items[i].Job, res), errs[i])
				}
			}
			if record[i] || settle[i] {
				again = append(again, i)
			}
		}
		if len(again) == 0 {
			break
		}
		if attempt > 0 {
			for _, i := range again {
				errs[i] = bot.Errorf(op, bot.Internal, "Redis refused the outbox's scripts twice")
			}
			break
		}
		for _, sc := range []*redis.Script{settleScript, advanceScript} {
			if err := sc.Load(ctx, s.client).Err(); err != nil {
				for _, i := range again {
					errs[i] = wrap(op, err)
				}
				return errs
			}
		}
		todo = again
	}
	return errs
}

// PurgeJobs removes the jobs that ended before now minus the job
// retention, in every bucket, as Claim does in the buckets it visits: for
// tests and maintenance. Errors: Unavailable and Internal as for Update.
func (s *Store) PurgeJobs(ctx context.Context, now time.Time) error {
	all := map[int][]any{}
	for b := range s.buckets {
		all[b] = nil
	}
	_, err := s.claimBuckets(ctx, all, "purge", now, time.Second)
	return err
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
	keys, args := s.settleArgs(&j)
	res, err := settleScript.Run(ctx, s.client, keys, args...).Slice()
	if err != nil {
		return wrap(op, err)
	}
	return settled(op, j, res)
}

// settleArgs are the keys and arguments of settleScript for j.
func (s *Store) settleArgs(j *schedule.Job) ([]string, []any) {
	tag := s.jobTag(j.ID)
	return []string{tag + "jd"}, []any{tag, j.ID, j.Worker, score(j.DueAt), score(j.LeaseUntil),
		schedule.RetentionEnd(j, time.Now(), s.jobRetention).UnixMilli(), jobValue(j, "", "", "")}
}

// settled reads settleScript's answer for j.
func settled(op string, j schedule.Job, res []any) error {
	if len(res) == 0 {
		return bot.Errorf(op, bot.Internal, "settle script answered nothing")
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
	tag := s.jobTag(id)
	now := time.Now()
	prev := status.Replaces()
	args := make([]any, 0, 6+len(prev))
	ended := schedule.RetentionEnd(&schedule.Job{ID: id}, now, s.jobRetention)
	args = append(args, tag, id, string(status), errorCode, formatTime(now), ended.UnixMilli())
	for _, p := range prev {
		args = append(args, string(p))
	}
	n, err := deliveredScript.Run(ctx, s.client, []string{tag + "j:" + id}, args...).Int()
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
	raw, err := s.client.Get(ctx, s.jobTag(id)+"j:"+id).Result()
	if errors.Is(err, redis.Nil) {
		return schedule.Job{}, bot.Errorf(op, bot.NotFound, "no job %s", id)
	}
	if err != nil {
		return schedule.Job{}, wrap(op, err)
	}
	j, err := decodeJob(raw)
	if err != nil {
		return schedule.Job{}, bot.E(op, bot.Internal, err)
	}
	j.ID = id
	return j, nil
}

// listed is a job a bucket's listing returned, with its place.
type listed struct {
	bucket, rank int
	score        float64
	job          schedule.Job
}

// Jobs implements schedule.Outbox: every bucket's listing (the cohort's,
// or of all jobs) is read from where the cursor left it, in one pipeline,
// and the newest due of them make the page. The cursor holds each bucket's
// rank in its listing, so a page costs its size times the buckets at most,
// however many jobs there are; jobs queued between two pages may be listed
// twice or not at all, as in any listing of a changing set. Errors:
// Invalid for a cursor Jobs did not make, Unavailable as for Update,
// Internal for a job that does not decode.
func (s *Store) Jobs(ctx context.Context, f schedule.Filter) ([]schedule.Job, string, error) {
	const op = "redisstore.Jobs"
	if err := ctx.Err(); err != nil {
		return nil, "", bot.E(op, bot.Unavailable, err)
	}
	if f.Limit <= 0 {
		f.Limit = defaultJobsLimit
	}
	offsets, err := s.parseJobsCursor(f.Cursor)
	if err != nil {
		return nil, "", bot.E(op, bot.Invalid, err)
	}
	statuses := make([]any, len(f.Status))
	for i, st := range f.Status {
		statuses[i] = string(st)
	}
	cmds := make([]*redis.Cmd, s.buckets)
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for b := range s.buckets {
			if offsets[b] < 0 {
				continue
			}
			tag := s.bucketTag(b)
			set := tag + "ja"
			if f.Cohort != "" {
				set = tag + "jc:" + escapeID(codeKey(f.Cohort))
			}
			// One more than the page: a bucket that has it is not at
			// its end, so a cursor never leads to an empty page.
			args := append([]any{tag, offsets[b], f.Limit + 1}, statuses...)
			cmds[b] = jobsScript.EvalSha(ctx, p, []string{set}, args...)
		}
		return nil
	})
	if err != nil && isNoScript(err) {
		// A Redis that lost its scripts: load it, then once more.
		if err := jobsScript.Load(ctx, s.client).Err(); err != nil {
			return nil, "", wrap(op, err)
		}
		return s.Jobs(ctx, f)
	}
	if err != nil {
		return nil, "", wrap(op, err)
	}
	var all []listed
	end := make([]bool, s.buckets) // the bucket's listing has nothing after what it returned
	for b, c := range cmds {
		if c == nil {
			continue
		}
		res, err := c.Slice()
		if err != nil {
			return nil, "", wrap(op, err)
		}
		if len(res)%4 != 0 {
			return nil, "", bot.Errorf(op, bot.Internal, "jobs script answered %d values", len(res))
		}
		end[b] = len(res)/4 <= f.Limit
		for i := 0; i < len(res); i += 4 {
			rank, _ := res[i].(int64)
			sc, _ := strconv.ParseFloat(fmt.Sprint(res[i+1]), 64)
			raw, _ := res[i+3].(string)
			j, err := decodeJob(raw)
			if err != nil {
				return nil, "", bot.E(op, bot.Internal, err)
			}
			j.ID, _ = res[i+2].(string)
			all = append(all, listed{bucket: b, rank: int(rank), score: sc, job: j})
		}
	}
	slices.SortFunc(all, func(a, b listed) int {
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(b.job.ID, a.job.ID))
	})
	page := all[:min(len(all), f.Limit)]
	jobs := make([]schedule.Job, len(page))
	for i, l := range page {
		jobs[i] = l.job
		offsets[l.bucket] = max(offsets[l.bucket], l.rank+1)
	}
	left := make([]bool, s.buckets) // the bucket returned jobs this page does not take
	for _, l := range all[len(page):] {
		left[l.bucket] = true
	}
	for b := range offsets {
		if cmds[b] != nil && end[b] && !left[b] {
			offsets[b] = -1
		}
	}
	return jobs, s.jobsCursor(offsets), nil
}

// jobsCursor writes the buckets' offsets, -1 for a bucket at its end, or ""
// when every bucket is.
func (s *Store) jobsCursor(offsets []int) string {
	done := true
	parts := make([]string, len(offsets))
	for i, o := range offsets {
		parts[i] = strconv.Itoa(o)
		done = done && o < 0
	}
	if done {
		return ""
	}
	return strings.Join(parts, ".")
}

func (s *Store) parseJobsCursor(c string) ([]int, error) {
	offsets := make([]int, s.buckets)
	if c == "" {
		return offsets, nil
	}
	parts := strings.Split(c, ".")
	if len(parts) != s.buckets {
		return nil, fmt.Errorf("cursor %q is not one of this store's", c)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < -1 {
			return nil, fmt.Errorf("cursor %q is not one of this store's", c)
		}
		offsets[i] = n
	}
	return offsets, nil
}

func isNoScript(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") }

// Counts implements schedule.Outbox: it adds up the counts of every
// bucket, read in one pipeline. Errors: Unavailable as for Update,
// Internal for a count that is not a number.
func (s *Store) Counts(ctx context.Context, cohort string) (map[schedule.Status]int, error) {
	const op = "redisstore.Counts"
	if err := ctx.Err(); err != nil {
		return nil, bot.E(op, bot.Unavailable, err)
	}
	hashes := make([]*redis.MapStringStringCmd, s.buckets)
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for b := range s.buckets {
			key := s.bucketTag(b) + "jn"
			if cohort != "" {
				key += ":" + escapeID(codeKey(cohort))
			}
			hashes[b] = p.HGetAll(ctx, key)
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	counts := map[schedule.Status]int{}
	for _, h := range hashes {
		for st, v := range h.Val() {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, bot.Errorf(op, bot.Internal, "count of %s: %v", st, err)
			}
			if n > 0 {
				counts[schedule.Status(st)] += n
			}
		}
	}
	return counts, nil
}

// Cancel implements schedule.Outbox in one round trip, one script: Redis
// runs it alone, so a Cancel and a BeginSend never interleave; cancelling
// a cancelled job does nothing. Errors: NotFound, Conflict for a job a
// send of which may have gone out, a claimed reply, or a job that ended
// otherwise, Unavailable and Internal as for Update.
func (s *Store) Cancel(ctx context.Context, id string) error {
	const op = "redisstore.Cancel"
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	tag := s.jobTag(id)
	now := time.Now()
	res, err := cancelScript.Run(ctx, s.client, []string{tag + "j:" + id}, tag, id, formatTime(now), cancelReason, now.UnixMilli()).Slice()
	if err != nil {
		return wrap(op, err)
	}
	switch code, _ := res[0].(int64); code {
	case 1:
		return nil
	case 0:
		if res[1] == "sending" {
			return bot.Errorf(op, bot.Conflict, "job %s may have been sent already: too late to cancel", id)
		}
		return bot.Errorf(op, bot.Conflict, "job %s is %v: too late to cancel", id, res[1])
	case -1:
		return bot.Errorf(op, bot.NotFound, "no job %s", id)
	}
	return bot.Errorf(op, bot.Internal, "cancel script answered %v", res)
}

// BeginSend implements schedule.Outbox in one round trip. Errors:
// NotFound, Conflict when worker no longer holds the job, Unavailable and
// Internal as for Update.
func (s *Store) BeginSend(ctx context.Context, id, worker string, now time.Time) (time.Time, error) {
	const op = "redisstore.BeginSend"
	if err := ctx.Err(); err != nil {
		return time.Time{}, bot.E(op, bot.Unavailable, err)
	}
	tag := s.jobTag(id)
	res, err := beginSendScript.Run(ctx, s.client, []string{tag + "j:" + id}, tag, worker, formatTime(now)).Slice()
	if err != nil {
		return time.Time{}, wrap(op, err)
	}
	switch code, _ := res[0].(int64); code {
	case 1:
		g, _ := res[1].(string)
		at, err := parseTime(g)
		if err != nil {
			return time.Time{}, bot.E(op, bot.Internal, err)
		}
		return at, nil
	case 0:
		return time.Time{}, bot.Errorf(op, bot.Conflict, "job %s is %v by %q, not claimed by %q", id, res[1], res[2], worker)
	case -1:
		return time.Time{}, bot.Errorf(op, bot.NotFound, "no job %s", id)
	}
	return time.Time{}, bot.Errorf(op, bot.Internal, "send fence answered %v", res)
}
