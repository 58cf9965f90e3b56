package boltstore

import (
	"context"
	"runtime"
	"sync"
	"time"
	"weak"

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
// memory, not in the file: the same generic cell rate algorithm as the
// Redis store's. Messages are spaced 1/perSecond apart, and a sender that
// was quiet may send a burst of perSecond/10 at once (at least one), so
// that callers that wake up a little late lose nothing. Over any span T, at
// most perSecond·T + perSecond/10 messages go.
//
// Errors: Unavailable for a cancelled context.
func (s *Store) Allow(ctx context.Context, key string, perSecond int, now time.Time) (ok bool, retryIn time.Duration, err error) {
	if perSecond <= 0 {
		return true, 0, nil
	}
	if err := ctx.Err(); err != nil {
		return false, 0, bot.E("boltstore.Allow", bot.Unavailable, err)
	}
	ok, retryIn = limiterOf(s).allow(key, perSecond, now)
	return ok, retryIn, nil
}

// limiter keeps the theoretical arrival time of each sender's next message.
type limiter struct {
	mu  sync.Mutex
	tat map[string]time.Time
}

// limiters holds the limiter of each open store. Store has no field for it
// (boltstore.go is another's file): a weak key lets a store that is no
// longer used take its limiter with it.
var limiters struct {
	sync.Mutex
	m map[weak.Pointer[Store]]*limiter
}

func limiterOf(s *Store) *limiter {
	wp := weak.Make(s)
	limiters.Lock()
	defer limiters.Unlock()
	if l, ok := limiters.m[wp]; ok {
		return l
	}
	if limiters.m == nil {
		limiters.m = map[weak.Pointer[Store]]*limiter{}
	}
	l := &limiter{tat: map[string]time.Time{}}
	limiters.m[wp] = l
	runtime.AddCleanup(s, func(wp weak.Pointer[Store]) {
		limiters.Lock()
		defer limiters.Unlock()
		delete(limiters.m, wp)
	}, wp)
	return l
}

// maxSenders is how many senders a limiter remembers before it forgets the
// quiet ones.
const maxSenders = 1024

func (l *limiter) allow(key string, perSecond int, now time.Time) (bool, time.Duration) {
	interval := time.Second / time.Duration(perSecond)
	tolerance := time.Duration(max(1, perSecond/10)-1) * interval
	l.mu.Lock()
	defer l.mu.Unlock()
	tat := l.tat[key]
	if tat.Before(now) {
		tat = now
	}
	if wait := tat.Sub(now) - tolerance; wait > 0 {
		return false, wait
	}
	if _, ok := l.tat[key]; !ok && len(l.tat) >= maxSenders {
		for k, t := range l.tat {
			if t.Before(now) {
				delete(l.tat, k)
			}
		}
	}
	l.tat[key] = tat.Add(interval)
	return true, 0
}
