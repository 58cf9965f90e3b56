package redisstore

import (
	"context"
	"math"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
)

var _ schedule.BacklogReader = (*Store)(nil)

// Backlog implements schedule.BacklogReader in one round trip (per node of
// a Cluster): per bucket, the count of its claimable jobs up to now and
// the earliest of them.
func (s *Store) Backlog(ctx context.Context, now time.Time, limit int) (schedule.Backlog, error) {
	const op = "redisstore.Backlog"
	if err := ctx.Err(); err != nil {
		return schedule.Backlog{}, bot.E(op, bot.Unavailable, err)
	}
	if limit <= 0 {
		limit = schedule.DefaultBacklogLimit
	}
	due := score(now)
	counts := make([]*redis.IntCmd, s.buckets)
	firsts := make([]*redis.ZSliceCmd, s.buckets)
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for b := range s.buckets {
			key := s.bucketTag(b) + "jd"
			counts[b] = p.ZCount(ctx, key, "-inf", due)
			firsts[b] = p.ZRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Min: "-inf", Max: due, Count: 1})
		}
		return nil
	})
	if err != nil {
		return schedule.Backlog{}, wrap(op, err)
	}
	var out schedule.Backlog
	oldest := math.Inf(1)
	for b := range s.buckets {
		out.Due += int(counts[b].Val())
		for _, z := range firsts[b].Val() {
			oldest = min(oldest, z.Score)
		}
	}
	out.Due = min(out.Due, limit)
	if out.Due > 0 && !math.IsInf(oldest, 1) {
		out.Oldest = time.UnixMicro(int64(oldest))
	}
	return out, nil
}
