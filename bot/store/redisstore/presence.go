package redisstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Who is using the store. Each serving replica announces itself in
// P{meta}:replicas (a sorted set of replica ids scored by when their
// announcement ends, in Redis's milliseconds) and renews it while it runs;
// a move (darsi migrate) holds P{meta}:moving, with a short expiry it
// renews, while it reads or writes the store. A move refuses a store a
// replica announced itself in, and a replica refuses to start while a
// move holds the store: each writes its own key first and then reads the
// other's, so that of two starting at once at least one sees the other.

func (s *Store) replicasKey() string { return s.prefix + "{meta}:replicas" }
func (s *Store) movingKey() string   { return s.prefix + "{meta}:moving" }

// announceScript files a replica until ARGV[2] ms from now (by Redis's
// clock) and drops the announcements that ended; it answers how many
// replicas are announced.
var announceScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[1] ~= '' then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('ZCARD', KEYS[1])
`)

// Announce files replica as serving the store for ttl; a replica renews
// it well within ttl while it runs. Errors: Unavailable.
func (s *Store) Announce(ctx context.Context, replica string, ttl time.Duration) error {
	err := announceScript.Run(ctx, s.client, []string{s.replicasKey()}, replica, ttl.Milliseconds()).Err()
	return wrapOrNil("redisstore.Announce", err)
}

// Withdraw ends a replica's announcement (at shutdown).
func (s *Store) Withdraw(ctx context.Context, replica string) error {
	return wrapOrNil("redisstore.Withdraw", s.client.ZRem(ctx, s.replicasKey(), replica).Err())
}

// Replicas returns how many replicas announced themselves and are not
// past their announcement. Errors: Unavailable.
func (s *Store) Replicas(ctx context.Context) (int, error) {
	n, err := announceScript.Run(ctx, s.client, []string{s.replicasKey()}, "", 0).Int()
	return n, wrapOrNil("redisstore.Replicas", err)
}

// LockMove takes the store for a move, holder naming it, for ttl; taking
// it again with the same holder renews it. It returns false when another
// holder has it. Errors: Unavailable.
func (s *Store) LockMove(ctx context.Context, holder string, ttl time.Duration) (bool, error) {
	ok, err := s.client.SetNX(ctx, s.movingKey(), holder, ttl).Result()
	if err != nil {
		return false, wrap("redisstore.LockMove", err)
	}
	if ok {
		return true, nil
	}
	v, err := s.client.Get(ctx, s.movingKey()).Result()
	if errors.Is(err, redis.Nil) {
		return s.LockMove(ctx, holder, ttl)
	}
	if err != nil {
		return false, wrap("redisstore.LockMove", err)
	}
	if v != holder {
		return false, nil
	}
	return true, wrapOrNil("redisstore.LockMove", s.client.PExpire(ctx, s.movingKey(), ttl).Err())
}

// UnlockMove releases the store when holder has it.
func (s *Store) UnlockMove(ctx context.Context, holder string) error {
	v, err := s.client.Get(ctx, s.movingKey()).Result()
	if errors.Is(err, redis.Nil) || (err == nil && v != holder) {
		return nil
	}
	if err != nil {
		return wrap("redisstore.UnlockMove", err)
	}
	return wrapOrNil("redisstore.UnlockMove", s.client.Del(ctx, s.movingKey()).Err())
}

// Moving reports whether a move holds the store, and for how much longer
// at most. Errors: Unavailable.
func (s *Store) Moving(ctx context.Context) (bool, time.Duration, error) {
	ttl, err := s.client.PTTL(ctx, s.movingKey()).Result()
	if err != nil {
		return false, 0, wrap("redisstore.Moving", err)
	}
	return ttl > 0 || ttl == -1, max(ttl, 0), nil
}

// ReplicaID returns a new id for a serving replica: random, naming no
// host.
func ReplicaID() string { return "r" + strconv.FormatUint(rand.Uint64(), 36) }
