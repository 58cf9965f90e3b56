package schedule

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestLocalLimiterForgetsQuietSenders: once a LocalLimiter knows
// maxSenders senders, a new one makes it forget those whose TAT has
// passed, and only those.
func TestLocalLimiterForgetsQuietSenders(t *testing.T) {
	var l LocalLimiter
	ctx := context.Background()
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	allow := func(key string, at time.Time) bool {
		t.Helper()
		ok, _, err := l.Allow(ctx, key, 1, at)
		if err != nil {
			t.Fatalf("Allow(%s): %v", key, err)
		}
		return ok
	}
	const busy = "whatsapp:+212500000000"
	allow(busy, now) // next message a second from now
	for i := range maxSenders {
		allow(fmt.Sprintf("sms:+1555%07d", i), now.Add(-time.Minute))
	}
	if got, want := len(l.tat), maxSenders+1; got != want {
		t.Fatalf("senders remembered before any is quiet: got %d, want %d", got, want)
	}
	allow("whatsapp:+212500000001", now)
	if got, want := len(l.tat), 2; got != want {
		t.Errorf("senders remembered after a new one came: got %d, want %d (the busy one and the new one)", got, want)
	}
	if allow(busy, now) {
		t.Errorf("the busy sender was allowed again at once: its TAT was forgotten")
	}
}
