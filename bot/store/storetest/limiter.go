package storetest

import (
	"context"
	"math"
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
		{"BurstThenWait", testLimiterBurstThenWait},
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

func testLimiterBurstThenWait(t *testing.T, s Limiter) {
	now := t0
	n, retry := burst(t, s, "whatsapp:+212500000000", 50, now)
	if n < 1 || n > 10 {
		t.Errorf("at 50/s, %d messages allowed at once; want 1 to 10", n)
	}
	if retry <= 0 || retry > time.Second/50 {
		t.Errorf("retryIn = %v, want within (0, %v]", retry, time.Second/50)
	}
	if ok, _ := allow(t, s, "whatsapp:+212500000000", 50, now.Add(retry-time.Millisecond)); ok {
		t.Errorf("allowed before retryIn")
	}
	if ok, _ := allow(t, s, "whatsapp:+212500000000", 50, now.Add(retry)); !ok {
		t.Errorf("refused at retryIn")
	}
	// A quiet sender gets its burst back, no more.
	later := now.Add(time.Minute)
	if again, _ := burst(t, s, "whatsapp:+212500000000", 50, later); again != n {
		t.Errorf("after a quiet minute, %d allowed at once; want %d as at first", again, n)
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
	if math.Abs(got-want) > want/10 {
		t.Errorf("%.0f allowed in %v at %d/s, want within 10%% of %.0f", got, span, perSecond, want)
	}
}
