package redisstore

import (
	"context"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/redis/go-redis/v9"
)

// allowScript is schedule.Rate.Step, the generic cell rate algorithm, in
// Lua, so that the read and the write of a sender's TAT are one atomic step
// in Redis however many replicas ask at once. The rule's numbers are not
// here: Allow passes the interval and tolerance of schedule.RatePerSecond.
// The key holds the theoretical arrival time (TAT) of the next message, in
// microseconds; a message may go when the TAT is at most the tolerance
// ahead of now, and pushes it one interval further.
//
//	KEYS[1]  the limiter's key
//	ARGV[1]  now, in microseconds since 1970
//	ARGV[2]  the interval between two messages, in microseconds
//	ARGV[3]  the tolerance, in microseconds
//
// It returns {1, 0} when the message may go and {0, wait} when not, wait
// being the microseconds until it may.
var allowScript = redis.NewScript(`
local now, interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return {0, math.ceil(wait)} end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return {1, 0}
`)

var _ schedule.Limiter = (*Store)(nil)

// Allow is the send-rate limiter that every replica shares: it reports
// whether one more message may go under key (a sender, such as
// "whatsapp:+212500000000") at perSecond messages a second, and counts it
// if so; when not, retryIn says when to ask again. A rate of 0 or less is
// no limit. One round trip.
//
// The limit is schedule.RatePerSecond, the rule the embedded store and the
// in-process limiter apply too, run by allowScript on one key per sender:
// messages are spaced 1/perSecond apart, and a sender that was quiet may
// send a burst of perSecond/10 at once (at least one). Times are the
// callers' now, to the microsecond, so the replicas' clocks should agree to
// well within a message interval; the key expires a second after the
// sender's last message.
//
// Errors: Unavailable and Internal as for Update.
func (s *Store) Allow(ctx context.Context, key string, perSecond int, now time.Time) (ok bool, retryIn time.Duration, err error) {
	const op = "redisstore.Allow"
	if perSecond <= 0 {
		return true, 0, nil
	}
	if err := ctx.Err(); err != nil {
		return false, 0, bot.E(op, bot.Unavailable, err)
	}
	rate := schedule.RatePerSecond(perSecond)
	res, err := allowScript.Run(ctx, s.client, []string{s.prefix + "rate:" + escapeID(key)},
		now.UnixMicro(), rate.Interval.Microseconds(), rate.Tolerance.Microseconds()).Int64Slice()
	if err != nil {
		return false, 0, wrap(op, err)
	}
	if len(res) != 2 {
		return false, 0, bot.Errorf(op, bot.Internal, "allow script answered %v", res)
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}
