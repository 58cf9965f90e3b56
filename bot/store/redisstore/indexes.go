package redisstore

import (
	"cmp"
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
// the cohort left and the one joined, the learner's alias (aliasArgs: lk is
// the learner's key), and the cohorts' counter moves. A nil before is a new
// learner, a nil after an erased one. A change that moves nothing returns
// empty values: the common message costs no index write.
func (s *Store) indexArgs(before, after *bot.Learner, lk string) []any {
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
	args := append([]any{due, leave, join}, s.aliasArgs(before, after, lk)...)
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

// takeDueScript takes due learners of one bucket that a peek chose.
//
//	KEYS[1]  the bucket's due index
//	ARGV[1]  now (ms)
//	ARGV[2]  the end of the lease (ms)
//	ARGV[3]  the prefix of the bucket's learner keys
//	ARGV[4…] the learners to take, as the index holds them
//
// It returns the learners it took: those still due (another replica may
// have taken some since the peek), each filed again at the end of the
// lease; an entry whose learner is gone leaves the index.
var takeDueScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local out = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local at = tonumber(redis.call('ZSCORE', KEYS[1], id))
  if at and at <= now then
    if redis.call('EXISTS', ARGV[3] .. id) == 1 then
      redis.call('ZADD', KEYS[1], ARGV[2], id)
      out[#out+1] = id
    else
      redis.call('ZREM', KEYS[1], id)
    end
  end
end
return out
`)

// peeked is an entry of a bucket's sorted set that a peek saw.
type peeked struct {
	bucket int
	id     string
	score  float64
}

// peekDue returns the earliest max entries due at now (score ≤ due) over
// the sets of every bucket (set names the set within a bucket), in one
// pipeline, earliest first.
func (s *Store) peekDue(ctx context.Context, set string, due string, max int) ([]peeked, error) {
	cmds := make([]*redis.ZSliceCmd, s.buckets)
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for b := range s.buckets {
			cmds[b] = p.ZRangeByScoreWithScores(ctx, s.bucketTag(b)+set, &redis.ZRangeBy{Min: "-inf", Max: due, Count: int64(max)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var all []peeked
	for b, c := range cmds {
		for _, z := range c.Val() {
			id, _ := z.Member.(string)
			all = append(all, peeked{bucket: b, id: id, score: z.Score})
		}
	}
	slices.SortFunc(all, func(a, b peeked) int {
		return cmp.Or(cmp.Compare(a.score, b.score), cmp.Compare(a.id, b.id))
	})
	return all[:min(len(all), max)], nil
}

// TakeDue implements app.DueIndex in two round trips: a peek at every
// bucket's due learners chooses the earliest, then a script per bucket
// (all in one pipeline) takes those still due and hides them for the
// lease. Learners due at the same time come in no particular order.
// Errors: Unavailable (see Update).
func (s *Store) TakeDue(ctx context.Context, now time.Time, lease time.Duration, max int) ([]string, error) {
	const op = "redisstore.TakeDue"
	if err := ctx.Err(); err != nil {
		return nil, bot.E(op, bot.Unavailable, err)
	}
	if max <= 0 {
		return nil, nil
	}
	nowMs := strconv.FormatInt(now.UnixMilli(), 10)
	chosen, err := s.peekDue(ctx, "due", nowMs, max)
	if err != nil || len(chosen) == 0 {
		return nil, wrapOrNil(op, err)
	}
	byBucket := map[int][]any{}
	for _, p := range chosen {
		byBucket[p.bucket] = append(byBucket[p.bucket], p.id)
	}
	taken := map[string]bool{}
	err = s.runScripts(ctx, takeDueScript, byBucket, func(b int) ([]string, []any) {
		tag := s.bucketTag(b)
		return []string{tag + "due"}, []any{nowMs, now.Add(lease).UnixMilli(), tag + "l:"}
	}, func(res any) error {
		ids, _ := res.([]any)
		for _, id := range ids {
			if v, ok := id.(string); ok {
				taken[v] = true
			}
		}
		return nil
	}, nil)
	if err != nil {
		return nil, wrap(op, err)
	}
	var out []string
	for _, p := range chosen {
		if taken[p.id] {
			out = append(out, unescapeID(p.id))
		}
	}
	return out, nil
}

// runScripts runs script once per bucket of byBucket, all in one pipeline,
// with the keys and leading arguments keysArgs gives for the bucket and
// then the bucket's values; each reply goes to read. more, if not nil,
// adds commands of its own to the same pipeline. A Redis that lost its
// scripts gets them again, and the pipeline once more.
func (s *Store) runScripts(ctx context.Context, script *redis.Script, byBucket map[int][]any,
	keysArgs func(b int) ([]string, []any), read func(any) error, more func(redis.Pipeliner)) error {
	for attempt := 0; ; attempt++ {
		cmds := map[int]*redis.Cmd{}
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for b, vals := range byBucket {
				keys, args := keysArgs(b)
				cmds[b] = script.EvalSha(ctx, p, keys, append(args, vals...)...)
			}
			if more != nil {
				more(p)
			}
			return nil
		})
		if isNoScript(err) && attempt == 0 {
			if err := script.Load(ctx, s.client).Err(); err != nil {
				return err
			}
			continue
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		for _, c := range cmds {
			res, err := c.Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			if err := read(res); err != nil {
				return err
			}
		}
		return nil
	}
}

// wrapOrNil is wrap, or nil for a nil error.
func wrapOrNil(op string, err error) error {
	if err == nil {
		return nil
	}
	return wrap(op, err)
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
					s.indexArgs(nil, l, k.key)...)
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
