package redisstore

import (
	"context"
	"errors"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/redis/go-redis/v9"
)

var _ app.Aliases = (*Store)(nil)

// A learner's alias, the key that finds them by their BSUID, lives in the
// learner's bucket (PB:a:H, layout.go), so that the update script writes
// it with the record in one round trip, even on a Cluster. Its name is the
// keyed hash of the BSUID (app.Keys.Learner of the address): it holds no
// number and no BSUID. Who looks it up knows only the BSUID, not the
// learner's bucket, so Alias reads the name in every bucket in one
// pipeline: it runs only for a BSUID that has no learner of its own.

// aliasArgs returns the update script's ARGV[13…15] for a learner's change
// from before to after (nil: none, or erased): the alias left, the alias
// taken, and the learner's key lk for a tombstone. A change that leaves the
// BSUID as it was returns empty values: no write.
func (s *Store) aliasArgs(before, after *bot.Learner, lk string) []any {
	was, is := "", ""
	if before != nil {
		was = before.BSUID
	}
	if after != nil {
		is = after.BSUID
	}
	if was == is {
		return []any{"", "", ""}
	}
	keys := s.currentKeys()
	leave, take := "", ""
	if was != "" {
		leave = keys.Learner(was)
	}
	if is != "" {
		take = keys.Learner(is)
	}
	return []any{leave, take, lk}
}

// currentKeys returns the store's keys as they are; Update made sure they
// are set before it calls aliasArgs.
func (s *Store) currentKeys() app.Keys {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	return s.keys
}

// Alias implements app.Aliases: one pipeline reads the BSUID's alias in
// every bucket; a tombstone found, and a message id given, costs a second
// one that looks for the message in the erased learner's index. Errors:
// NotFound, Unavailable (see Update).
func (s *Store) Alias(ctx context.Context, bsuid, msgID string) (string, bool, error) {
	const op = "redisstore.Alias"
	if err := ctx.Err(); err != nil {
		return "", false, bot.E(op, bot.Unavailable, err)
	}
	keys, err := s.secretKeys(ctx)
	if err != nil {
		return "", false, wrap(op, err)
	}
	h := keys.Learner(bsuid)
	cmds := make([]*redis.StringCmd, s.buckets)
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for b := range s.buckets {
			cmds[b] = p.Get(ctx, s.bucketTag(b)+"a:"+h)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", false, wrap(op, err)
	}
	type erased struct {
		bucket int
		key    string
	}
	var tombs []erased
	for b, c := range cmds {
		v, err := c.Result()
		switch {
		case errors.Is(err, redis.Nil), v == "":
		case err != nil:
			return "", false, wrap(op, err)
		case v[0] == '~':
			tombs = append(tombs, erased{b, v[1:]})
		default:
			return unescapeID(v), false, nil
		}
	}
	if msgID != "" && len(tombs) > 0 {
		scores := make([]*redis.FloatCmd, len(tombs))
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, e := range tombs {
				scores[i] = p.ZScore(ctx, s.bucketTag(e.bucket)+"ms:"+e.key, keys.Message(e.key, msgID))
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return "", false, wrap(op, err)
		}
		for _, c := range scores {
			if c.Err() == nil {
				return "", true, nil
			}
		}
	}
	// Neither the BSUID nor anything about it in error text, which ends
	// up in logs.
	return "", false, bot.Errorf(op, bot.NotFound, "no learner for this BSUID")
}
