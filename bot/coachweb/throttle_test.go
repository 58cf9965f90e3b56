package coachweb

import (
	"fmt"
	"testing"
	"time"
)

func TestBackoffRule(t *testing.T) {
	for n, want := range []time.Duration{0, 0, 0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 32 * time.Second, time.Minute, time.Minute} {
		if got := addrRule.wait(n); got != want {
			t.Errorf("addrRule.wait(%d): got %v, want %v", n, got, want)
		}
	}
	if got := loginRule.wait(1000); got != time.Minute {
		t.Errorf("loginRule.wait(1000): got %v, want a minute", got)
	}
}

// TestThrottleBounded: a spray of logins and addresses never grows the
// throttle's tables past their bound, and the most recent entries stay.
func TestThrottleBounded(t *testing.T) {
	const bound = 100
	th := newThrottle(bound)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := range 30 * bound {
		login, addr := fmt.Sprintf("login%d", i), fmt.Sprintf("203.0.%d.%d", i/256, i%256)
		th.failed(login, addr, now)
		th.succeeded(login, addr)
	}
	for name, n := range map[string]int{"logins": th.logins.len(), "addresses": th.addrs.len(), "known pairs": th.known.len()} {
		if n > bound {
			t.Errorf("%s: got %d entries, want at most %d", name, n, bound)
		}
	}
	// The most recent failure is among those kept.
	th.failed("fatima", "198.51.100.1", now)
	if _, ok := th.logins.peek("fatima"); !ok {
		t.Errorf("the most recent failure's login was dropped")
	}
	for i := range 5 * bound {
		th.failed(fmt.Sprint("spray", i), fmt.Sprint("192.0.2.", i%200), now)
	}
	if th.addrs.len() > bound || th.logins.len() > bound {
		t.Errorf("after a second spray: got %d addresses and %d logins, want at most %d each", th.addrs.len(), th.logins.len(), bound)
	}
}

func TestLRU(t *testing.T) {
	l := newLRU[int](2)
	l.put("a", 1)
	l.put("b", 2)
	l.put("a", 3) // a is now the most recent
	l.put("c", 4) // drops b
	for key, want := range map[string]int{"a": 3, "c": 4} {
		if got, ok := l.peek(key); !ok || got != want {
			t.Errorf("peek(%q): got %d, %v; want %d", key, got, ok, want)
		}
	}
	if _, ok := l.peek("b"); ok {
		t.Errorf("peek(b): found, want it dropped as the least recent")
	}
	l.remove("a")
	if _, ok := l.peek("a"); ok || l.len() != 1 {
		t.Errorf("after remove(a): len %d, a found %v; want 1, false", l.len(), ok)
	}
}
