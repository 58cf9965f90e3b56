package boltstore

import (
	"context"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
)

var _ schedule.Limiter = (*Store)(nil)

// Allow is the send-rate limiter of the scheduler: it reports whether one
// more message may go under key (a sender, such as
// "whatsapp:+212500000000") at perSecond messages a second, and counts it
// if so; when not, retryIn says when to ask again. A rate of 0 or less is
// no limit.
//
// Only one process writes the embedded store, so the limiter lives in
// memory, not in the file: a schedule.LocalLimiter, with the rule of
// schedule.RatePerSecond that the Redis store applies too. Messages are
// spaced 1/perSecond apart, and a sender that was quiet may send a burst
// of perSecond/10 at once (at least one).
//
// Errors: Unavailable for a cancelled context.
func (s *Store) Allow(ctx context.Context, key string, perSecond int, now time.Time) (ok bool, retryIn time.Duration, err error) {
	ok, retryIn, err = s.limiter.Allow(ctx, key, perSecond, now)
	if err != nil {
		return false, 0, bot.E("boltstore.Allow", bot.KindOf(err), err)
	}
	return ok, retryIn, nil
}
