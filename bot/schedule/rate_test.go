package schedule_test

import (
	"context"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/storetest"
)

func TestRatePerSecond(t *testing.T) {
	tests := []struct {
		perSecond int
		want      schedule.Rate
	}{
		{perSecond: -1, want: schedule.Rate{}},
		{perSecond: 0, want: schedule.Rate{}},
		{perSecond: 1, want: schedule.Rate{Interval: time.Second}},
		{perSecond: 5, want: schedule.Rate{Interval: 200 * time.Millisecond}},
		{perSecond: 19, want: schedule.Rate{Interval: time.Second / 19}},
		{perSecond: 20, want: schedule.Rate{Interval: 50 * time.Millisecond, Tolerance: 50 * time.Millisecond}},
		{perSecond: 50, want: schedule.Rate{Interval: 20 * time.Millisecond, Tolerance: 80 * time.Millisecond}},
		{perSecond: 100, want: schedule.Rate{Interval: 10 * time.Millisecond, Tolerance: 90 * time.Millisecond}},
	}
	for _, tt := range tests {
		if got := schedule.RatePerSecond(tt.perSecond); got != tt.want {
			t.Errorf("RatePerSecond(%d): got %+v, want %+v", tt.perSecond, got, tt.want)
		}
	}
}

func TestRateStep(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	fifty := schedule.RatePerSecond(50) // 20 ms apart, 80 ms of tolerance: a burst of 5
	tests := []struct {
		name     string
		rate     schedule.Rate
		tat      time.Time
		wantNext time.Time
		wantOK   bool
		wantWait time.Duration
	}{
		{"a sender never seen goes", fifty, time.Time{}, now.Add(20 * ms), true, 0},
		{"a quiet sender saves up nothing", fifty, now.Add(-time.Hour), now.Add(20 * ms), true, 0},
		{"a TAT of now goes", fifty, now, now.Add(20 * ms), true, 0},
		{"the last of a burst goes", fifty, now.Add(80 * ms), now.Add(100 * ms), true, 0},
		{"past the tolerance waits", fifty, now.Add(100 * ms), now.Add(100 * ms), false, 20 * ms},
		{"a nanosecond past waits a nanosecond", fifty, now.Add(80*ms + 1), now.Add(80*ms + 1), false, 1},
		{"one a second has no burst", schedule.RatePerSecond(1), now.Add(time.Second / 2), now.Add(time.Second / 2), false, time.Second / 2},
		{"no limit leaves the TAT", schedule.Rate{}, now.Add(time.Hour), now.Add(time.Hour), true, 0},
	}
	for _, tt := range tests {
		next, ok, wait := tt.rate.Step(tt.tat, now)
		if !next.Equal(tt.wantNext) || ok != tt.wantOK || wait != tt.wantWait {
			t.Errorf("%s: Step(%s, now): got (%s, %v, %v), want (%s, %v, %v)", tt.name,
				fromNow(tt.tat, now), fromNow(next, now), ok, wait, fromNow(tt.wantNext, now), tt.wantOK, tt.wantWait)
		}
	}
}

// fromNow names t by its distance from now, as the cases give it.
func fromNow(t, now time.Time) string {
	if t.IsZero() {
		return "zero time"
	}
	d := t.Sub(now)
	if d < 0 {
		return "now" + d.String()
	}
	return "now+" + d.String()
}

// LocalLimiter passes the suite the stores' limiters pass.
func TestLocalLimiter(t *testing.T) {
	storetest.RunLimiter(t, func(t *testing.T) storetest.Limiter { return &schedule.LocalLimiter{} })
}

func TestLocalLimiterCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var l schedule.LocalLimiter
	ok, _, err := l.Allow(ctx, "whatsapp:+212500000000", 20, time.Now())
	if ok || bot.KindOf(err) != bot.Unavailable {
		t.Errorf("Allow with a cancelled context: got %v, %v; want refused, an error of kind %v", ok, err, bot.Unavailable)
	}
}
