package soak

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSoakShort is make soak's short form, part of make test: 45 seconds
// of learners and faults (latency, dropped connections, a replica and
// Redis killed), then the invariants: every learner as their twin, every
// reply and due reminder and nudge sent once, nothing in quiet hours.
// SOAK_DURATION and SOAK_LEARNERS make it longer.
func TestSoakShort(t *testing.T) {
	opts := Options{Duration: 45 * time.Second, Learners: 120, Progress: testWriter{t}}
	if d, err := time.ParseDuration(os.Getenv("SOAK_DURATION")); err == nil {
		opts.Duration = d
	}
	if n := atoiEnv("SOAK_LEARNERS"); n > 0 {
		opts.Learners = n
	}
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.Print(&b)
	t.Log("\n" + b.String())
	if !rep.OK() {
		t.Fatalf("invariants failed: lost %d, duplicated %d, wrong %d, %d problems", rep.Lost, rep.Duplicated, rep.Wrong, len(rep.Problems))
	}
	// The run did what it says: faults of each kind, retried webhooks,
	// replies over REST, reminders and nudges.
	for _, kind := range []string{"latency", "drop", "redis-kill", "replica-kill"} {
		if rep.Faults[kind] == 0 {
			t.Errorf("no %s fault injected", kind)
		}
	}
	if sum(rep.Retries) == 0 || rep.REST == 0 || rep.Reminders == 0 || rep.Nudges == 0 || rep.Held == 0 || rep.Callbacks == 0 {
		t.Errorf("a part of the soak did not happen: %+v", rep)
	}
}

func atoiEnv(name string) int {
	n := 0
	for _, c := range os.Getenv(name) {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// testWriter sends progress lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
