package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/google/go-cmp/cmp"
)

// DueStore is a store with the due index that Update keeps.
type DueStore interface {
	app.Store
	app.DueIndex
}

// RunDueIndex runs the suite of app.DueIndex and of the part of Update
// that keeps it: learners with an Outreach.At are taken when due and not
// before, earliest first, hidden for the lease and taken again after it;
// an update that moves At files them again, a zero At or an erase takes
// them out; concurrent callers never take one learner twice within a
// lease. open must return a new, empty store each time it is called, as
// for Run.
func RunDueIndex(t *testing.T, open func(t *testing.T) DueStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s DueStore)
	}{
		{"NotBefore", testDueNotBefore},
		{"EarliestFirst", testDueEarliestFirst},
		{"Lease", testDueLease},
		{"UpdateMoves", testDueUpdateMoves},
		{"UpdateKeeps", testDueUpdateKeeps},
		{"ZeroAt", testDueZeroAt},
		{"Erase", testDueErase},
		{"Unchanged", testDueUnchanged},
		{"Concurrent", testDueConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// dueLease is how long the suite's callers hide the learners they take.
const dueLease = time.Minute

// dueAt returns an update function that files the learner at at.
func dueAt(at time.Time) func(*bot.Learner) (app.Change, error) {
	return change(func(l *bot.Learner) { l.Outreach.At = at })
}

// take takes up to max learners due at now.
func take(tb testing.TB, s app.DueIndex, now time.Time, max int) []string {
	tb.Helper()
	ids, err := s.TakeDue(context.Background(), now, dueLease, max)
	if err != nil {
		tb.Fatalf("TakeDue(%v, %v, %d): %v", now, dueLease, max, err)
	}
	return ids
}

func wantTaken(tb testing.TB, what string, got []string, want ...string) {
	tb.Helper()
	if diff := cmp.Diff(got, want, opts); diff != "" {
		tb.Errorf("%s: learners taken (-got +want):\n%s", what, diff)
	}
}

func testDueNotBefore(t *testing.T, s DueStore) {
	update(t, s, amina, "SM1", dueAt(t0.Add(time.Hour)))
	// A learner with nothing pending is not in the index.
	update(t, s, youssef, "SM1", count)
	wantTaken(t, "TakeDue an hour early", take(t, s, t0, 10))
	wantTaken(t, "TakeDue a second early", take(t, s, t0.Add(time.Hour-time.Second), 10))
	wantTaken(t, "TakeDue on time", take(t, s, t0.Add(time.Hour), 10), amina)
	wantTaken(t, "TakeDue of at most 0", take(t, s, t0.Add(48*time.Hour), 0))
}

func testDueEarliestFirst(t *testing.T, s DueStore) {
	var want []string
	for _, m := range []int{5, 1, 4, 2, 3} {
		id := bot.LearnerID(bot.WhatsApp, fmt.Sprint("+21260000000", m))
		update(t, s, id, "SM1", dueAt(t0.Add(-time.Duration(10-m)*time.Minute)))
	}
	for m := 1; m <= 5; m++ {
		want = append(want, bot.LearnerID(bot.WhatsApp, fmt.Sprint("+21260000000", m)))
	}
	wantTaken(t, "first TakeDue of 3", take(t, s, t0, 3), want[:3]...)
	wantTaken(t, "second TakeDue of 3", take(t, s, t0, 3), want[3:]...)
	wantTaken(t, "third TakeDue", take(t, s, t0, 3))
}

// testDueLease: a learner taken is hidden for the lease, then taken again
// unless an update moved them.
func testDueLease(t *testing.T, s DueStore) {
	update(t, s, amina, "SM1", dueAt(t0))
	update(t, s, youssef, "SM1", dueAt(t0.Add(30*time.Second)))
	wantTaken(t, "TakeDue at t0", take(t, s, t0, 10), amina)
	wantTaken(t, "TakeDue within the lease", take(t, s, t0.Add(dueLease-time.Second), 10), youssef)
	wantTaken(t, "TakeDue at the end of the lease", take(t, s, t0.Add(dueLease), 10), amina)
	// Each is filed at the end of their own lease.
	wantTaken(t, "TakeDue at the end of both leases", take(t, s, t0.Add(3*dueLease), 10), youssef, amina)
}

func testDueUpdateMoves(t *testing.T, s DueStore) {
	update(t, s, amina, "SM1", dueAt(t0))
	update(t, s, youssef, "SM1", dueAt(t0.Add(time.Second)))
	wantTaken(t, "TakeDue at t0", take(t, s, t0.Add(time.Second), 10), amina, youssef)
	// The sweeper decided: amina is due again in 10 minutes, youssef
	// wrote and is due an hour ago (earlier than his lease).
	update(t, s, amina, "", dueAt(t0.Add(10*time.Minute)))
	update(t, s, youssef, "SM2", dueAt(t0.Add(-time.Hour)))
	wantTaken(t, "TakeDue at t0 after the updates", take(t, s, t0, 10), youssef)
	wantTaken(t, "TakeDue within youssef's new lease", take(t, s, t0.Add(dueLease-time.Second), 10))
	wantTaken(t, "TakeDue at amina's new time", take(t, s, t0.Add(10*time.Minute), 10), youssef, amina)
}

// testDueUpdateKeeps: an update that leaves Outreach.At as it is leaves
// the learner where the index holds them, within a lease too: a message
// that moves nothing writes nothing to the index.
func testDueUpdateKeeps(t *testing.T, s DueStore) {
	update(t, s, amina, "SM1", dueAt(t0.Add(time.Hour)))
	update(t, s, amina, "SM2", count)
	update(t, s, amina, "SM3", change(func(l *bot.Learner) { l.Cohort = "TIZ25A" }))
	wantTaken(t, "TakeDue before the time", take(t, s, t0, 10))
	wantTaken(t, "TakeDue on time", take(t, s, t0.Add(time.Hour), 10), amina)
	// Taken, then written to without a move: still hidden for the lease.
	update(t, s, amina, "SM4", count)
	wantTaken(t, "TakeDue within the lease", take(t, s, t0.Add(time.Hour+time.Second), 10))
	wantTaken(t, "TakeDue after the lease", take(t, s, t0.Add(time.Hour+dueLease), 10), amina)
}

func testDueZeroAt(t *testing.T, s DueStore) {
	update(t, s, amina, "SM1", dueAt(t0))
	update(t, s, youssef, "SM1", dueAt(t0))
	update(t, s, amina, "SM2", dueAt(time.Time{}))
	wantTaken(t, "TakeDue after amina's At went", take(t, s, t0, 10), youssef)
	// Taken, then nothing pending: out for good.
	update(t, s, youssef, "", dueAt(time.Time{}))
	wantTaken(t, "TakeDue long after", take(t, s, t0.Add(365*24*time.Hour), 10))
}

func testDueErase(t *testing.T, s DueStore) {
	update(t, s, amina, "SM1", dueAt(t0.Add(-3*time.Second)))
	update(t, s, youssef, "SM1", dueAt(t0.Add(-2*time.Second)))
	update(t, s, "sms:+1", "SM1", dueAt(t0.Add(-time.Second)))
	// Erased, then back as a new learner with nothing pending: the erase
	// took her out, so the new learner is not due.
	update(t, s, amina, "SM2", erase)
	update(t, s, amina, "SM3", count)
	wantTaken(t, "TakeDue after an erase", take(t, s, t0, 1), youssef)
	// Erased while taken, and back.
	update(t, s, youssef, "SM2", erase)
	update(t, s, youssef, "SM3", count)
	wantTaken(t, "TakeDue after the lease", take(t, s, t0.Add(dueLease), 10), "sms:+1")
	wantTaken(t, "TakeDue long after", take(t, s, t0.Add(365*24*time.Hour), 10), "sms:+1")
}

// testDueUnchanged: an update that fails, or a message applied before,
// moves nothing in the index, even when the update function ran.
func testDueUnchanged(t *testing.T, s DueStore) {
	update(t, s, amina, "SM1", dueAt(t0.Add(time.Hour)))
	_, err := s.Update(context.Background(), amina, "SM2", func(l *bot.Learner) (app.Change, error) {
		l.Outreach.At = t0
		return app.Change{}, errStep
	})
	if err == nil {
		t.Fatal("Update with a failing fn succeeded")
	}
	update(t, s, amina, "SM1", dueAt(t0))
	update(t, s, amina, "SM1", erase)
	wantTaken(t, "TakeDue at t0", take(t, s, t0, 10))
	wantTaken(t, "TakeDue on time", take(t, s, t0.Add(time.Hour), 10), amina)
}

// testDueConcurrent has callers race over 60 due learners in small
// batches: each learner is taken exactly once within the lease.
func testDueConcurrent(t *testing.T, s DueStore) {
	const n, callers = 60, 6
	for i := range n {
		update(t, s, bot.LearnerID(bot.SMS, fmt.Sprintf("+1555%07d", i)), "SM1", dueAt(t0.Add(-time.Duration(i)*time.Second)))
	}
	var (
		mu  sync.Mutex
		got = map[string]int{} // learner → caller
		wg  sync.WaitGroup
	)
	for c := range callers {
		wg.Go(func() {
			for {
				ids, err := s.TakeDue(context.Background(), t0, dueLease, 4)
				if err != nil {
					t.Errorf("TakeDue by caller %d: %v", c, err)
					return
				}
				if len(ids) == 0 {
					return
				}
				mu.Lock()
				for _, id := range ids {
					if other, ok := got[id]; ok {
						t.Errorf("%s taken by callers %d and %d within one lease", id, other, c)
					}
					got[id] = c
				}
				mu.Unlock()
			}
		})
	}
	within(t, "concurrent TakeDue", wg.Wait)
	if len(got) != n {
		t.Errorf("%d learners taken, want %d", len(got), n)
	}
}
