package coachweb

import (
	"container/list"
	"sync"
	"time"
)

// The login backoff. A failed login counts against the login tried and
// against the client's address. After a few failures free of charge, each
// further one makes the next attempt wait, twice as long each time from a
// second up to a minute; an attempt during the wait is refused (429 with
// Retry-After) without checking the password, so it does not count, and
// the right password after the wait works. Nothing ever locks an account:
//
//   - a client guessing from one address is slowed after 5 failures,
//     whatever logins it tries, and other addresses are not;
//   - a login guessed at from many addresses is slowed after 10
//     failures, except from the addresses it has logged in from before
//     (remembered in memory), so that a coach at their usual place is not
//     kept out by guesses from elsewhere.
//
// A count is forgotten after 15 minutes without a failure, and a right
// password forgets the login's. The tables are bounded: past maxTracked
// entries each, the least recently used is dropped, so a spray of logins
// or addresses costs a few megabytes at most. The counts are each
// process's own: behind a load balancer, each replica counts what it
// sees.

// backoffRule is how failures of one kind of key slow down attempts.
type backoffRule struct {
	free   int           // failures before any wait
	first  time.Duration // the wait after the first failure past free
	max    time.Duration // the longest wait
	forget time.Duration // a count without a failure for that long is dropped
}

var (
	addrRule  = backoffRule{free: 5, first: time.Second, max: time.Minute, forget: 15 * time.Minute}
	loginRule = backoffRule{free: 10, first: time.Second, max: time.Minute, forget: 15 * time.Minute}
)

// maxTracked bounds each table of the throttle.
const maxTracked = 10000

// wait returns how long after last an attempt must wait after n failures.
func (r backoffRule) wait(n int) time.Duration {
	if n < r.free {
		return 0
	}
	d := r.first
	for i := r.free; i < n && d < r.max; i++ {
		d *= 2
	}
	return min(d, r.max)
}

// throttle holds the counts of failed logins. It is safe for concurrent
// use.
type throttle struct {
	mu     sync.Mutex
	logins *lru[failures] // by login, lower-case
	addrs  *lru[failures] // by client key (clientKey)
	// known holds the (login, client key) pairs that logged in: the
	// login's count does not hold them back.
	known *lru[struct{}]
}

type failures struct {
	n    int
	last time.Time
}

func newThrottle(max int) *throttle {
	return &throttle{logins: newLRU[failures](max), addrs: newLRU[failures](max), known: newLRU[struct{}](max)}
}

// wait returns how long an attempt at login from the client key addr must
// wait: 0 to go ahead.
func (t *throttle) wait(login, addr string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.waitOf(t.addrs, addrRule, addr, now)
	if _, ok := t.known.peek(login + "\x00" + addr); !ok {
		d = max(d, t.waitOf(t.logins, loginRule, login, now))
	}
	return d
}

func (t *throttle) waitOf(table *lru[failures], rule backoffRule, key string, now time.Time) time.Duration {
	f, ok := table.peek(key)
	if !ok {
		return 0
	}
	if now.Sub(f.last) >= rule.forget {
		table.remove(key)
		return 0
	}
	return max(0, f.last.Add(rule.wait(f.n)).Sub(now))
}

// failed counts a failed attempt at login from addr.
func (t *throttle) failed(login, addr string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range []struct {
		table *lru[failures]
		rule  backoffRule
		key   string
	}{{t.logins, loginRule, login}, {t.addrs, addrRule, addr}} {
		f, ok := c.table.peek(c.key)
		if !ok || now.Sub(f.last) >= c.rule.forget {
			f = failures{}
		}
		c.table.put(c.key, failures{n: f.n + 1, last: now})
	}
}

// succeeded forgets the login's failures and remembers that it logs in
// from addr. The address keeps its count: logging in to one's own account
// does not buy guesses at others'.
func (t *throttle) succeeded(login, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.logins.remove(login)
	t.known.put(login+"\x00"+addr, struct{}{})
}

// lru is a map bounded to max entries, which drops the least recently put
// one to make room. It is not safe for concurrent use.
type lru[V any] struct {
	max   int
	order *list.List // of *lruEntry[V], the most recently put first
	byKey map[string]*list.Element
}

type lruEntry[V any] struct {
	key   string
	value V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, order: list.New(), byKey: map[string]*list.Element{}}
}

// peek returns the value of key without making it more recent.
func (l *lru[V]) peek(key string) (V, bool) {
	if e, ok := l.byKey[key]; ok {
		return e.Value.(*lruEntry[V]).value, true
	}
	var zero V
	return zero, false
}

// put sets the value of key and makes it the most recent, dropping the
// least recent entry when the map is full.
func (l *lru[V]) put(key string, v V) {
	if e, ok := l.byKey[key]; ok {
		e.Value.(*lruEntry[V]).value = v
		l.order.MoveToFront(e)
		return
	}
	if l.order.Len() >= l.max {
		oldest := l.order.Back()
		l.order.Remove(oldest)
		delete(l.byKey, oldest.Value.(*lruEntry[V]).key)
	}
	l.byKey[key] = l.order.PushFront(&lruEntry[V]{key: key, value: v})
}

func (l *lru[V]) remove(key string) {
	if e, ok := l.byKey[key]; ok {
		l.order.Remove(e)
		delete(l.byKey, key)
	}
}

func (l *lru[V]) len() int { return l.order.Len() }
