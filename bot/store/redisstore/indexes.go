package redisstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/redis/go-redis/v9"
)

var (
	_ app.Members  = (*Store)(nil)
	_ app.DueIndex = (*Store)(nil)
)

// indexArgs returns what a learner's change from before to after moves in
// their indexes, as updateScript takes it (ARGV[10] on): the due index,
// the cohort left and the one joined, and the cohorts' counter moves. A
// nil before is a new learner, a nil after an erased one. A change that
// moves nothing returns "", "", "": the common message costs no index
// write.
func indexArgs(before, after *bot.Learner) []any {
	var atBefore, atAfter time.Time
	var cohortBefore, cohortAfter string
	if before != nil {
		atBefore, cohortBefore = before.Outreach.At, app.CohortKey(before.Cohort)
	}
	if after != nil {
		atAfter, cohortAfter = after.Outreach.At, app.CohortKey(after.Cohort)
	}
	due := ""
	switch {
	case atAfter.Equal(atBefore):
	case atAfter.IsZero():
		due = "-"
	default:
		due = strconv.FormatInt(atAfter.UnixMilli(), 10)
	}
	leave, join := "", ""
	if cohortBefore != cohortAfter {
		if cohortBefore != "" {
			leave = escapeID(cohortBefore)
		}
		if cohortAfter != "" {
			join = escapeID(cohortAfter)
		}
	}
	args := []any{due, leave, join}
	for _, d := range app.CountDeltas(before, after) {
		args = append(args, escapeID(d.Cohort), d.Name, d.Delta)
	}
	return args
}

// defaultMembersLimit is Members' default page size.
const defaultMembersLimit = 100

// Members implements app.Members: it reads the cohort's member sets of
// every bucket in one pipeline, then the page's learners in another. The
// work is the cohort's size, whatever the store's. Errors: Unavailable (see
// Update), Internal for a stored value that does not decode.
func (s *Store) Members(ctx context.Context, code, cursor string, limit int) ([]bot.Learner, string, error) {
	const op = "redisstore.Members"
	if err := ctx.Err(); err != nil {
		return nil, "", bot.E(op, bot.Unavailable, err)
	}
	if limit <= 0 {
		limit = defaultMembersLimit
	}
	key := app.CohortKey(code)
	if key == "" {
		return nil, "", nil
	}
	sets := make([]*redis.StringSliceCmd, s.buckets)
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for b := range s.buckets {
			sets[b] = p.SMembers(ctx, s.cohortMembersKey(b, key))
		}
		return nil
	})
	if err != nil {
		return nil, "", wrap(op, err)
	}
	var ids []string
	for _, c := range sets {
		for _, m := range c.Val() {
			if id := unescapeID(m); id > cursor {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = ids[limit-1]
	}
	page, err := s.page(ctx, ids)
	if err != nil {
		return nil, "", wrap(op, err)
	}
	return page, next, nil
}

// CohortCounts implements app.Members: it adds up the cohort's counters of
// every bucket, read in one pipeline. Errors: Unavailable (see Update),
// Internal for a counter that is not a number.
func (s *Store) CohortCounts(ctx context.Context, code string) (app.Counts, error) {
	const op = "redisstore.CohortCounts"
	if err := ctx.Err(); err != nil {
		return nil, bot.E(op, bot.Unavailable, err)
	}
	key := app.CohortKey(code)
	if key == "" {
		return app.Counts{}, nil
	}
	hashes := make([]*redis.MapStringStringCmd, s.buckets)
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for b := range s.buckets {
			hashes[b] = p.HGetAll(ctx, s.cohortCountsKey(b, key))
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	counts := app.Counts{}
	for _, h := range hashes {
		for name, v := range h.Val() {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, bot.Errorf(op, bot.Internal, "counter %s of cohort %s: %v", name, key, err)
			}
			counts[name] += n
		}
	}
	for name, n := range counts {
		if n == 0 {
			delete(counts, name)
		}
	}
	return counts, nil
}

// takeDueScript takes the due learners of one bucket.
//
//	KEYS[1]  the bucket's due index
//	ARGV[1]  now (ms)
//	ARGV[2]  the end of the lease (ms)
//	ARGV[3]  the most learners to take
//	ARGV[4]  the prefix of the bucket's learner keys
//
// It returns the learners taken (as the index holds them), each filed
// again at the end of the lease; an entry whose learner is gone leaves the
// index.
var takeDueScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  if redis.call('EXISTS', ARGV[4] .. id) == 1 then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    out[#out+1] = id
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
`)

// TakeDue implements app.DueIndex: it takes due learners bucket after
// bucket, starting each call at the bucket after the one the last call
// started at, so that replicas and calls share out the buckets, until it
// has max of them or has visited every bucket: one round trip per bucket
// visited. Within a bucket, the earliest due come first. Errors:
// Unavailable (see Update).
func (s *Store) TakeDue(ctx context.Context, now time.Time, lease time.Duration, max int) ([]string, error) {
	const op = "redisstore.TakeDue"
	if err := ctx.Err(); err != nil {
		return nil, bot.E(op, bot.Unavailable, err)
	}
	var out []string
	start := int(s.dueStart.Add(1))
	for i := 0; i < s.buckets && len(out) < max; i++ {
		b := (start + i) % s.buckets
		tag := s.bucketTag(b)
		ids, err := takeDueScript.Run(ctx, s.client, []string{tag + "due"},
			now.UnixMilli(), now.Add(lease).UnixMilli(), max-len(out), tag+"l:").StringSlice()
		if err != nil && !errors.Is(err, redis.Nil) {
			return out, wrap(op, err)
		}
		for _, id := range ids {
			out = append(out, unescapeID(id))
		}
	}
	return out, nil
}

// importBatch is how many learners one pipeline of Import writes.
const importBatch = 1000

// Import writes learners the store does not have yet, with their indexes,
// as Update would write them from nothing, many at a time: one pipeline of
// scripts per 1,000 learners. A learner the store has is left as it is.
// It is for loading a store (a move from another store, a load test), not
// for conversations. Errors: Invalid for a learner without an ID,
// Unavailable and Internal as for Update.
func (s *Store) Import(ctx context.Context, learners []bot.Learner) error {
	const op = "redisstore.Import"
	for len(learners) > 0 {
		batch := learners[:min(len(learners), importBatch)]
		learners = learners[len(batch):]
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range batch {
				l := &batch[i]
				if l.ID == "" {
					return bot.Errorf(op, bot.Invalid, "learner without an id")
				}
				k := s.keysOf(l.ID, "")
				args := append([]any{"", encodeLearner(l, rand.Uint64()), "", s.retention.Milliseconds(), k.msgPrefix, "", "0", k.member, k.bucket},
					indexArgs(nil, l)...)
				updateScript.EvalSha(ctx, p, []string{k.learner, k.index, k.due}, args...)
			}
			return nil
		})
		if err != nil && isNoScript(err) {
			if err := updateScript.Load(ctx, s.client).Err(); err != nil {
				return wrap(op, err)
			}
			batch := batch
			learners = append(batch, learners...)
			continue
		}
		if err != nil {
			var e *bot.Error
			if errors.As(err, &e) {
				return err
			}
			return wrap(op, err)
		}
	}
	return nil
}
