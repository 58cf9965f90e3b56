package redisstore

import "sync"

// DefaultRemember is how many learners' values a store remembers.
const DefaultRemember = 50_000

// knownValues remembers the last value this process read or wrote for each
// learner, so that the next update can skip the read. It is only a guess:
// the compare-and-set in Redis decides, and answers the current value when
// the guess was stale. A nil *knownValues remembers nothing.
type knownValues struct {
	mu     sync.Mutex
	max    int
	values map[string]string // learner id → encoded value, "" for none
}

func newKnownValues(max int) *knownValues {
	if max <= 0 {
		return nil
	}
	return &knownValues{max: max, values: make(map[string]string)}
}

func (k *knownValues) get(id string) (string, bool) {
	if k == nil {
		return "", false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.values[id]
	return v, ok
}

func (k *knownValues) put(id, value string) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.values[id]; !ok && len(k.values) >= k.max {
		// Full: forget an arbitrary tenth (map order is random), so
		// that learners who write often stay and the cost is spread.
		n := k.max/10 + 1
		for other := range k.values {
			delete(k.values, other)
			if n--; n == 0 {
				break
			}
		}
	}
	k.values[id] = value
}

func (k *knownValues) forget(id string) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.values, id)
}
