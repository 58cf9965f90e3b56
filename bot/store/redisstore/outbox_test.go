package redisstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/redis/go-redis/v9"
)

var t0 = time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)

func reminders(n int, due time.Time) []schedule.Job {
	jobs := make([]schedule.Job, n)
	for i := range jobs {
		jobs[i] = schedule.Job{
			ID:        fmt.Sprintf("reminder:K7M2QX:%05d", i),
			Kind:      schedule.Reminder,
			Learner:   fmt.Sprintf("whatsapp:+2126%08d", i),
			Cohort:    "K7M2QX",
			Text:      "Ghedda l-ders 3 — n9raw 3la l-hsab",
			DueAt:     due.Add(time.Duration(i) * time.Millisecond),
			CreatedAt: due,
			CreatedBy: "fatima",
		}
	}
	return jobs
}

// claimAcross plays two replicas, each with its own store (its own
// connections) on one Redis: they claim n due jobs in batches and settle
// each as sent. Every job is claimed exactly once.
func claimAcross(t *testing.T, a, b *Store, n, batch int) {
	t.Helper()
	ctx := context.Background()
	if _, err := a.Enqueue(ctx, reminders(n, t0)...); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Hour)
	var (
		mu  sync.Mutex
		got = map[string]string{}
		wg  sync.WaitGroup
	)
	start := time.Now()
	for i, s := range []*Store{a, b, a, b} {
		worker := fmt.Sprint("replica-", i)
		wg.Go(func() {
			for {
				jobs, err := s.Claim(ctx, worker, now, time.Minute, batch)
				if err != nil {
					t.Error(err)
					return
				}
				if len(jobs) == 0 {
					return
				}
				for _, j := range jobs {
					mu.Lock()
					if other, ok := got[j.ID]; ok {
						t.Errorf("job %s claimed by %s and %s", j.ID, other, worker)
					}
					got[j.ID] = worker
					mu.Unlock()
					j.Status, j.SID, j.SentAt = schedule.Sent, "SM"+j.ID, now
					if err := s.Settle(ctx, j); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d jobs claimed and settled by 4 workers on 2 stores in batches of %d: %v", n, batch, time.Since(start))
	if len(got) != n {
		t.Errorf("%d jobs claimed, want %d", len(got), n)
	}
	sent, _, err := a.Jobs(ctx, schedule.Filter{Status: []schedule.Status{schedule.Sent}, Limit: n + 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != n {
		t.Errorf("%d jobs sent, want %d", len(sent), n)
	}
}

// TestOutboxAcrossStores is the two-replica case of issue 5 at the store:
// 10,000 due reminders, claimed 50 at a time.
func TestOutboxAcrossStores(t *testing.T) {
	prefix := newPrefix(t)
	claimAcross(t, open(t, Options{Prefix: prefix}), open(t, Options{Prefix: prefix}), 10_000, 50)
}

// TestOutboxRoundTrips holds the outbox to one round trip per call once
// Redis has the scripts, on one node; two for a claim (a peek at every
// bucket, then the claims). A call over every bucket sends one pipeline.
func TestOutboxRoundTrips(t *testing.T) {
	ctx := context.Background()
	s := open(t, Options{})
	// Warm up: the first run of each script may cost a NOSCRIPT.
	if _, err := s.Enqueue(ctx, reminders(3, t0)...); err != nil {
		t.Fatal(err)
	}
	warm, err := s.Claim(ctx, "w", t0, time.Minute, 1)
	if err != nil || len(warm) != 1 {
		t.Fatalf("Claim: %v, %v", warm, err)
	}
	warm[0].Status = schedule.Sent
	for _, err := range []error{
		s.Settle(ctx, warm[0]),
		s.Delivered(ctx, warm[0].ID, bot.StatusSent, 0),
		s.Cancel(ctx, reminders(3, t0)[2].ID),
		func() error { _, _, err := s.Jobs(ctx, schedule.Filter{}); return err }(),
		func() error { _, err := s.Counts(ctx, ""); return err }(),
		func() error { _, _, err := s.Allow(ctx, "k", 10, t0); return err }(),
		func() error { _, err := s.CoachByToken(ctx, "x"); return err }(),
		s.PutCoach(ctx, cohort.Coach{Login: "warm"}),
	} {
		if err != nil && bot.KindOf(err) != bot.NotFound {
			t.Fatal(err)
		}
	}

	trips := func(what string, want uint64, f func() error) {
		t.Helper()
		before := s.RoundTrips()
		if err := f(); err != nil && bot.KindOf(err) != bot.NotFound {
			t.Fatalf("%s: %v", what, err)
		}
		if got := s.RoundTrips() - before; got != want {
			t.Errorf("%s: %d round trips, want %d", what, got, want)
		}
	}
	jobs := reminders(1000, t0.Add(time.Hour))
	trips("Enqueue of 1,000 jobs", 1, func() error { _, err := s.Enqueue(ctx, jobs...); return err })
	var claimed []schedule.Job
	trips("Claim of 50", 2, func() error {
		var err error
		claimed, err = s.Claim(ctx, "w", t0.Add(2*time.Hour), time.Minute, 50)
		if len(claimed) != 50 {
			return fmt.Errorf("claimed %d, want 50", len(claimed))
		}
		return err
	})
	j := claimed[0]
	j.Status, j.SID = schedule.Sent, "SM1"
	trips("Settle", 1, func() error { return s.Settle(ctx, j) })
	trips("Delivered", 1, func() error { return s.Delivered(ctx, j.ID, bot.StatusDelivered, 0) })
	trips("Job", 1, func() error { _, err := s.Job(ctx, j.ID); return err })
	trips("Jobs", 1, func() error { _, _, err := s.Jobs(ctx, schedule.Filter{Cohort: "K7M2QX", Limit: 20}); return err })
	trips("Counts", 1, func() error { _, err := s.Counts(ctx, "K7M2QX"); return err })
	trips("Cancel", 1, func() error { return s.Cancel(ctx, jobs[999].ID) })
	trips("Allow", 1, func() error { _, _, err := s.Allow(ctx, "k", 10, t0); return err })
	trips("CreateCohort", 1, func() error { return s.CreateCohort(ctx, cohort.Cohort{Code: "K7M2QX"}) })
	trips("Cohort", 1, func() error { _, err := s.Cohort(ctx, "k7m2qx"); return err })
	trips("PutCoach", 1, func() error { return s.PutCoach(ctx, cohort.Coach{Login: "fatima", TokenHash: "h"}) })
	trips("CoachByToken", 1, func() error { _, err := s.CoachByToken(ctx, "h"); return err })
	trips("Session", 1, func() error { _, err := s.Session(ctx, "s1"); return err })
}

// TestOutboxKeys checks that every key of a job has the hash tag of the
// job's bucket, whatever the prefix, job id or cohort, so that the scripts
// run on Redis Cluster; the Cluster suite runs them there.
func TestOutboxKeys(t *testing.T) {
	s := New(redis.NewClient(&redis.Options{}), Options{Prefix: "p{x}:"})
	defer s.Close()
	for _, id := range []string{"nudge1-abc-123", "reminder-{a}-b", "x}"} {
		tag := s.jobTag(id)
		if !strings.HasPrefix(tag, "p%7Bx%7D:{b") || !strings.HasSuffix(tag, "}:") {
			t.Errorf("job %q: tag %q, want p%%7Bx%%7D:{b<n>}:", id, tag)
		}
	}
	ck := s.cohortKeys()
	for _, key := range []string{ck.logins, ck.tokens} {
		if !strings.Contains(key, "%7Bx%7D:{coaches}:") {
			t.Errorf("key %q: hash tag is not {coaches}", key)
		}
	}
}

// TestOutboxUnreachable checks that the outbox, cohort and limiter calls
// fail quickly with Unavailable when Redis does not answer.
func TestOutboxUnreachable(t *testing.T) {
	client, err := newClient("redis://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	s := New(client, Options{})
	defer s.Close()
	ctx := context.Background()
	j := reminders(1, t0)[0]
	j.Status, j.Worker = schedule.Sent, "w"
	for name, f := range map[string]func() error{
		"Enqueue":   func() error { _, err := s.Enqueue(ctx, j); return err },
		"Claim":     func() error { _, err := s.Claim(ctx, "w", t0, time.Minute, 10); return err },
		"Settle":    func() error { return s.Settle(ctx, j) },
		"Delivered": func() error { return s.Delivered(ctx, j.ID, bot.StatusDelivered, 0) },
		"Job":       func() error { _, err := s.Job(ctx, j.ID); return err },
		"Jobs":      func() error { _, _, err := s.Jobs(ctx, schedule.Filter{}); return err },
		"Counts":    func() error { _, err := s.Counts(ctx, ""); return err },
		"Members":   func() error { _, _, err := s.Members(ctx, "K", "", 10); return err },
		"TakeDue":   func() error { _, err := s.TakeDue(ctx, t0, time.Minute, 10); return err },
		"Cancel":    func() error { return s.Cancel(ctx, j.ID) },
		"Allow":     func() error { _, _, err := s.Allow(ctx, "k", 10, t0); return err },
		"Cohort":    func() error { _, err := s.Cohort(ctx, "K"); return err },
		"Session":   func() error { _, err := s.Session(ctx, "s"); return err },
	} {
		start := time.Now()
		err := f()
		if took := time.Since(start); took > time.Second {
			t.Errorf("%s took %v, want under a second", name, took)
		}
		if got := bot.KindOf(err); got != bot.Unavailable {
			t.Errorf("%s: got %v (kind %v), want kind %v", name, err, got, bot.Unavailable)
		}
	}
}

// BenchmarkClaimSettle measures the outbox's part in delivering 1,000 jobs:
// claims of 50 and a settle of each as sent. An op is 1,000 jobs.
//
//	go test -run '^$' -bench ClaimSettle ./bot/store/redisstore/
func BenchmarkClaimSettle(b *testing.B) {
	s := open(b, Options{})
	ctx := context.Background()
	const n, batch = 1000, 50
	var trips uint64
	round := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		jobs := reminders(n, t0)
		for i := range jobs {
			jobs[i].ID = fmt.Sprintf("r%d:%d", round, i)
		}
		round++
		if _, err := s.Enqueue(ctx, jobs...); err != nil {
			b.Fatal(err)
		}
		before := s.RoundTrips()
		b.StartTimer()
		done := 0
		for done < n {
			claimed, err := s.Claim(ctx, "w", t0.Add(time.Hour), time.Minute, batch)
			if err != nil {
				b.Fatal(err)
			}
			if len(claimed) == 0 {
				b.Fatalf("nothing to claim after %d of %d", done, n)
			}
			for _, j := range claimed {
				j.Status, j.SID = schedule.Sent, "SM"+j.ID
				if err := s.Settle(ctx, j); err != nil {
					b.Fatal(err)
				}
			}
			done += len(claimed)
		}
		trips += s.RoundTrips() - before
	}
	b.ReportMetric(float64(trips)/float64(round), "roundtrips/op")
}
