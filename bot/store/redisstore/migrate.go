package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// layoutV2 is how P{meta}:layout names the layout of layout.go.
const layoutV2 = "2"

// checkLayout makes sure the keys are laid out as layout.go says, with the
// store's number of buckets. A store first used by this version records
// its layout; a store written before buckets (a key per learner's own hash
// tag, the outbox under {outbox}) is moved to buckets, once, by whichever
// replica gets there first while the others wait. Errors: Invalid for a
// number of buckets other than the store's, Unavailable as for Update.
func (s *Store) checkLayout(ctx context.Context) error {
	const op = "redisstore.Open"
	want := layoutV2 + " buckets=" + strconv.Itoa(s.buckets)
	for wait := 0; ; wait++ {
		v, err := s.client.Get(ctx, s.layoutKey()).Result()
		switch {
		case err == nil && v == want:
			return nil
		case err == nil:
			return bot.Errorf(op, bot.Invalid, "the store's keys are laid out as %q, and this replica is set for %q: give every replica the same number of buckets", v, want)
		case !errors.Is(err, redis.Nil):
			return wrap(op, err)
		}
		// No layout yet: take the migration lock, or wait for who has it.
		lock := s.prefix + "{meta}:migrating"
		got, err := s.client.SetNX(ctx, lock, "1", 10*time.Minute).Result()
		if err != nil {
			return wrap(op, err)
		}
		if got {
			err := s.migrateV1(ctx)
			if err == nil {
				err = s.client.Set(ctx, s.layoutKey(), want, 0).Err()
			}
			s.client.Del(context.WithoutCancel(ctx), lock)
			if err != nil {
				return wrap(op, fmt.Errorf("moving the keys to buckets: %w", err))
			}
			return nil
		}
		if wait > 1200 {
			return bot.Errorf(op, bot.Unavailable, "another replica is moving the store's keys to buckets: try again later")
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return bot.E(op, bot.Unavailable, err)
		}
	}
}

// migrateV1 moves the keys of the layout before buckets: each learner (and
// their place in the new indexes), and each job of the outbox, whatever
// its status. Message records are not moved: they only matter to a
// webhook retried within the hour, and expire anyway. Moving a key twice
// (after a crash) writes the same again.
func (s *Store) migrateV1(ctx context.Context) error {
	nodes, err := s.nodes(ctx)
	if err != nil {
		return err
	}
	for _, node := range nodes {
		for _, pattern := range []string{globEscape(s.prefix) + "{*}:l", globEscape(s.prefix) + "{outbox}:j:*"} {
			iter := node.Scan(ctx, 0, pattern, 500).Iterator()
			for iter.Next(ctx) {
				key := iter.Val()
				var err error
				if strings.HasPrefix(key, s.prefix+"{outbox}:j:") {
					err = s.migrateJob(ctx, key)
				} else {
					err = s.migrateLearner(ctx, key)
				}
				if err != nil {
					return fmt.Errorf("%s: %w", key, err)
				}
			}
			if err := iter.Err(); err != nil {
				return err
			}
		}
	}
	// The old outbox's sets, now empty of meaning.
	for _, node := range nodes {
		iter := node.Scan(ctx, 0, globEscape(s.prefix)+"{outbox}:*", 500).Iterator()
		for iter.Next(ctx) {
			if err := s.client.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
	}
	return nil
}

// migrateLearner moves one learner of the old layout (P{L}:l) into their
// bucket, with their indexes, and deletes their old keys.
func (s *Store) migrateLearner(ctx context.Context, key string) error {
	rest, _ := strings.CutPrefix(key, s.prefix+"{")
	esc, _, ok := strings.Cut(rest, "}:l")
	if !ok {
		return nil
	}
	id := unescapeID(esc)
	old, err := s.client.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return err
	}
	l, err := decodeLearner(old, id)
	if err != nil {
		return err
	}
	k := s.keysOf(id, "")
	value := encodeLearner(&l, rand.Uint64())
	args := append([]any{"", value, "", s.retention.Milliseconds(), k.msgPrefix, "", "0", k.member, k.bucket}, s.indexArgs(nil, &l, k.key)...)
	res, err := updateScript.Run(ctx, s.client, []string{k.learner, k.index, k.due}, args...).Slice()
	if err != nil {
		return err
	}
	if code, _ := res[0].(int64); code != 1 && code != 0 {
		return fmt.Errorf("update script answered %v", res)
	}
	// code 0: moved before a crash; the old keys go all the same.
	tag := s.prefix + "{" + esc + "}:"
	ids, err := s.client.ZRange(ctx, tag+"ms", 0, -1).Result()
	if err != nil {
		return err
	}
	keys := []string{key, tag + "ms"}
	for _, m := range ids {
		keys = append(keys, tag+"m:"+m)
	}
	return s.client.Del(ctx, keys...).Err()
}

// migrateJob moves one job of the old outbox into its bucket, with its
// status, its place in the sets and the counts.
func (s *Store) migrateJob(ctx context.Context, key string) error {
	id := strings.TrimPrefix(key, s.prefix+"{outbox}:j:")
	f, err := s.client.HGetAll(ctx, key).Result()
	if err != nil || len(f) == 0 {
		return err
	}
	var j schedule.Job
	if err := json.Unmarshal([]byte(f["v"]), &j); err != nil {
		return err
	}
	j.ID = id
	j.Status = schedule.Status(f["s"])
	j.Worker, j.Reason = f["w"], f["r"]
	j.Attempts, _ = strconv.Atoi(f["a"])
	j.ClaimedAt, _ = parseTime(f["c"])
	j.LeaseUntil, _ = parseTime(f["l"])
	j.UpdatedAt, _ = parseTime(f["u"])
	j.SID = f["i"]
	tag := s.jobTag(id)
	if err := importJobScript.Run(ctx, s.client, []string{tag + "jd"}, tag, id, score(j.DueAt), score(j.LeaseUntil),
		time.Now().UnixMilli(), jobValue(&j, escapeID(codeKey(j.Cohort)), f["ds"], f["de"])).Err(); err != nil {
		return err
	}
	return s.client.Del(ctx, key).Err()
}

// importJobScript writes a job as it stands, with its place in the
// bucket's sets and counts: for moving the old outbox into buckets.
//
//	KEYS[1]  the bucket's due set
//	ARGV[1]  the bucket's tag
//	ARGV[2]  the job id
//	ARGV[3]  the due score
//	ARGV[4]  the lease score
//	ARGV[5]  now (ms)
//	ARGV[6]  the job as jobValue writes it
var importJobScript = redis.NewScript(outboxLua + `
local bp, id = ARGV[1], ARGV[2]
local k = bp .. 'j:' .. id
local prev = load(k)
redis.call('SET', k, ARGV[6])
local f = load(k)
count(bp, f.k, prev and prev.s or '', f.s)
if f.s == 'queued' then redis.call('ZADD', KEYS[1], ARGV[3], id)
elseif f.s == 'claimed' then redis.call('ZADD', KEYS[1], ARGV[4], id) end
if ended(f.s) then redis.call('ZADD', bp .. 'jf', ARGV[5], id) end
index(bp, id, ARGV[3], f.k)
return 1
`)
