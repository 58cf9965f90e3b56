package schedule

import (
	"context"
	"sync"
	"time"

	"github.com/darsi-ma/darsi/bot"
)

// Rate is the send-rate limit of one sender, kept by the generic cell rate
// algorithm (GCRA): the limiter stores, per sender, the theoretical arrival
// time (TAT) of its next message, and a message may go when that time is
// at most Tolerance ahead of now. It is the one definition of the rule:
// LocalLimiter applies it in memory, and the Redis store runs the same step
// in a script so that replicas apply it atomically.
//
// The zero Rate is no limit.
type Rate struct {
	// Interval is the spacing of messages: one second divided by the rate.
	Interval time.Duration
	// Tolerance is how far ahead of now the TAT may be for a message to
	// still go: (burst − 1) intervals, burst being how many messages a
	// sender that was quiet may send at once.
	Tolerance time.Duration
}

// RatePerSecond returns the Rate of perSecond messages a second. A sender
// that was quiet may send a burst of perSecond/10 at once, and at least
// one: a tenth of a second's worth, so that a sender that wakes up a little
// late loses nothing at 20 a second and more, while a 1-a-second SMS long
// code never gets two at once. Over any span T, at most perSecond·T +
// perSecond/10 messages go. A perSecond of 0 or less is no limit (the zero
// Rate).
func RatePerSecond(perSecond int) Rate {
	if perSecond <= 0 {
		return Rate{}
	}
	interval := time.Second / time.Duration(perSecond)
	burst := max(1, perSecond/10)
	return Rate{Interval: interval, Tolerance: time.Duration(burst-1) * interval}
}

// Step applies the rule to one message at now, given the sender's stored
// TAT (the zero time for a sender never seen). When the message may go, ok
// is true and next is the TAT to store; when not, next is tat unchanged and
// wait is how long until the message may go. The zero Rate allows every
// message and leaves the TAT as it was.
func (r Rate) Step(tat, now time.Time) (next time.Time, ok bool, wait time.Duration) {
	if r.Interval <= 0 {
		return tat, true, 0
	}
	// A TAT in the past is a sender that was quiet: its unused time is not
	// saved up beyond the tolerance.
	from := tat
	if from.Before(now) {
		from = now
	}
	if wait := from.Sub(now) - r.Tolerance; wait > 0 {
		return tat, false, wait
	}
	return from.Add(r.Interval), true, 0
}

// maxSenders is how many senders a LocalLimiter remembers before it forgets
// the quiet ones.
const maxSenders = 1024

// LocalLimiter is the Limiter of one process: it keeps each sender's TAT in
// memory and applies Rate.Step to it. Replicas that share a sender need a
// shared limiter (the Redis store's) instead. The zero LocalLimiter is
// ready to use; it is safe for concurrent use.
type LocalLimiter struct {
	mu  sync.Mutex
	tat map[string]time.Time // guarded by mu
}

var _ Limiter = (*LocalLimiter)(nil)

// Allow reports whether one more message may go under key (a sender, such
// as "whatsapp:+212500000000") at perSecond messages a second by the rule
// of RatePerSecond, and counts it if so; when not, retryIn says when to ask
// again. A rate of 0 or less is no limit.
//
// Once it knows maxSenders senders, a new one makes it forget those whose
// TAT has passed: that changes nothing, since the rule takes a past TAT as
// now, and it keeps a process that sends for many numbers from growing
// without end.
//
// Errors: Unavailable for a cancelled context.
func (l *LocalLimiter) Allow(ctx context.Context, key string, perSecond int, now time.Time) (ok bool, retryIn time.Duration, err error) {
	if perSecond <= 0 {
		return true, 0, nil
	}
	if err := ctx.Err(); err != nil {
		return false, 0, bot.E("schedule.LocalLimiter.Allow", bot.Unavailable, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tat, known := l.tat[key]
	next, ok, retryIn := RatePerSecond(perSecond).Step(tat, now)
	if !ok {
		return false, retryIn, nil
	}
	if l.tat == nil {
		l.tat = map[string]time.Time{}
	}
	if !known && len(l.tat) >= maxSenders {
		for k, t := range l.tat {
			if !t.After(now) {
				delete(l.tat, k)
			}
		}
	}
	l.tat[key] = next
	return true, 0, nil
}
