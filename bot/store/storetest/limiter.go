package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Limiter is the shared send-rate limiter both stores offer, so that every
// replica of the bot together keeps to DARSI_SEND_RATE per sender.
type Limiter interface {
	// Allow reports whether one more message may go under key at
	// perSecond messages a second, counting it if so; when not, retryIn
	// says when to ask again.
	Allow(ctx context.Context, key string, perSecond int, now time.Time) (ok bool, retryIn time.Duration, err error)
}

// RunLimiter runs the suite of Limiter. open must return a new, empty
// store each time it is called, as for Run.
func RunLimiter(t *testing.T, open func(t *testing.T) Limiter) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Limiter)
	}{
		{"Rule", testLimiterRule},
		{"KeysApart", testLimiterKeysApart},
		{"Unlimited", testLimiterUnlimited},
		{"Rate", testLimiterRate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

func allow(tb testing.TB, s Limiter, key string, perSecond int, now time.Time) (bool, time.Duration) {
	tb.Helper()
	ok, retry, err := s.Allow(context.Background(), key, perSecond, now)
	if err != nil {
		tb.Fatalf("Allow(%s, %d, %v): %v", key, perSecond, now, err)
	}
	return ok, retry
}

// burst counts the messages allowed at one instant.
func burst(tb testing.TB, s Limiter, key string, perSecond int, now time.Time) (int, time.Duration) {
	tb.Helper()
	for n := 0; n <= perSecond; n++ {
		if ok, retry := allow(tb, s, key, perSecond, now); !ok {
			return n, retry
		}
	}
	tb.Fatalf("Allow(%s, %d) allowed more than a second's worth at one instant", key, perSecond)
	return 0, 0
}

// limiterRule is the rule every limiter keeps (schedule.RatePerSecond), by
// its effects: a sender that was quiet may send burst messages at once
// (a tenth of the rate, at least one), and then one every interval.
var limiterRule = []struct {
	perSecond int
	burst     int
	interval  time.Duration
}{
	{perSecond: 1, burst: 1, interval: time.Second},
	{perSecond: 5, burst: 1, interval: 200 * time.Millisecond},
	{perSecond: 20, burst: 2, interval: 50 * time.Millisecond},
	{perSecond: 50, burst: 5, interval: 20 * time.Millisecond},
	{perSecond: 100, burst: 10, interval: 10 * time.Millisecond},
}

// testLimiterRule pins the burst and the retry times of limiterRule. The
// times are checked to the microsecond, which is as fine as the Redis
// store counts.
func testLimiterRule(t *testing.T, s Limiter) {
	for _, tt := range limiterRule {
		t.Run(fmt.Sprintf("%d a second", tt.perSecond), func(t *testing.T) {
			key := fmt.Sprintf("whatsapp:+212500000%03d", tt.perSecond)
			now := t0
			n, retry := burst(t, s, key, tt.perSecond, now)
			if n != tt.burst || retry != tt.interval {
				t.Fatalf("at one instant: got %d allowed, then retryIn %v; want %d, then %v", n, retry, tt.burst, tt.interval)
			}
			// Asking a microsecond early is refused, for that microsecond.
			early := now.Add(retry - time.Microsecond)
			if ok, retry := allow(t, s, key, tt.perSecond, early); ok || retry != time.Microsecond {
				t.Errorf("a microsecond before retryIn: got ok %v, retryIn %v; want refused, retryIn 1µs", ok, retry)
			}
			// At retryIn one more goes, and the next waits a whole interval.
			next := now.Add(retry)
			if ok, _ := allow(t, s, key, tt.perSecond, next); !ok {
				t.Errorf("at retryIn: refused, want allowed")
			}
			if ok, retry := allow(t, s, key, tt.perSecond, next); ok || retry != tt.interval {
				t.Errorf("again at retryIn: got ok %v, retryIn %v; want refused, retryIn %v", ok, retry, tt.interval)
			}
			// A sender quiet for a minute gets its burst back, no more.
			later := now.Add(time.Minute)
			if n, retry := burst(t, s, key, tt.perSecond, later); n != tt.burst || retry != tt.interval {
				t.Errorf("after a quiet minute: got %d allowed, then retryIn %v; want %d, then %v", n, retry, tt.burst, tt.interval)
			}
		})
	}
}

func testLimiterKeysApart(t *testing.T, s Limiter) {
	a, _ := burst(t, s, "whatsapp:+212500000001", 5, t0)
	b, _ := burst(t, s, "whatsapp:+212500000002", 5, t0)
	if a == 0 || a != b {
		t.Errorf("two senders' bursts: %d and %d; want the same, above 0", a, b)
	}
}

func testLimiterUnlimited(t *testing.T, s Limiter) {
	for range 1000 {
		if ok, _ := allow(t, s, "k", 0, t0); !ok {
			t.Fatalf("Allow at rate 0 (no limit) refused")
		}
	}
}

// testLimiterRate is the scheduler's use: four senders for one number ask
// for as much as they can on the real clock for three seconds at 50/s.
func testLimiterRate(t *testing.T, s Limiter) {
	const (
		perSecond = 50
		senders   = 4
		span      = 3 * time.Second
	)
	var (
		allowed atomic.Int64
		wg      sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(span)
	for range senders {
		wg.Go(func() {
			for {
				now := time.Now()
				if !now.Before(end) {
					return
				}
				ok, retry, err := s.Allow(context.Background(), "whatsapp:+212500000009", perSecond, now)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					allowed.Add(1)
					continue
				}
				time.Sleep(min(retry, time.Until(end)))
			}
		})
	}
	wg.Wait()
	want := perSecond * span.Seconds()
	got := float64(allowed.Load())
	t.Logf("%.0f allowed in %v at %d/s from %d senders", got, span, perSecond, senders)
	// Never more than the rate allows: that is what keeps a number within
	// Twilio's limits, whatever the load. Fewer can happen when the machine
	// is busy and the senders wake late from their retry sleeps, so the
	// lower bound only catches a limiter that starves its senders; the
	// exact grants are pinned on a fake clock by testLimiterRule.
	if got > want+want/10 {
		t.Errorf("%.0f allowed in %v at %d/s, want at most %.0f", got, span, perSecond, want+want/10)
	}
	if got < want/4 {
		t.Errorf("%.0f allowed in %v at %d/s, want at least %.0f", got, span, perSecond, want/4)
	}
}
