// Package storetest is the conformance suites that every store passes, one
// for each part of app.Backend: Run (app.Store), RunMembers (app.Members
// and the cohorts' index Update keeps), RunDueIndex (app.DueIndex and the
// due index Update keeps), RunDeliveries (app.Deliveries), RunCohorts
// (cohort.Store), RunAudit (cohort.AuditLog), RunOutbox and
// RunOutboxRetention (schedule.Outbox) and RunLimiter (schedule.Limiter). A store's own tests call each with a
// function that opens a fresh, empty store; the suites then check the
// promises written on the interfaces, so that the embedded store and the
// Redis store cannot drift apart.
//
// RunOutboxRetention needs one hook besides the store: an Expire that sets
// the store's clock and runs its purge (see Expire).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// hangAfter is how long an operation may take before the suite calls it hung.
// It is generous because the race detector and a busy CI machine are slow.
const hangAfter = 10 * time.Second

// Run runs the suite. open must return a new, empty store each time it is
// called; it arranges the store's cleanup itself (with t.Cleanup). The suite
// closes nothing, so open may close the store in its cleanup.
func Run(t *testing.T, open func(t *testing.T) app.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s app.Store)
	}{
		{"GetUnknown", testGetUnknown},
		{"UpdateNew", testUpdateNew},
		{"VersionSetByStore", testVersionSetByStore},
		{"Replies", testReplies},
		{"Duplicate", testDuplicate},
		{"DuplicatePerLearner", testDuplicatePerLearner},
		{"KeysDoNotCollide", testKeysDoNotCollide},
		{"EmptyMsgIDNeverDuplicate", testEmptyMsgID},
		{"FnError", testFnError},
		{"FnErrorNewLearner", testFnErrorNewLearner},
		{"FnGetsCopy", testFnGetsCopy},
		{"GetReturnsCopy", testGetReturnsCopy},
		{"Erase", testErase},
		{"EraseUnknown", testEraseUnknown},
		{"EraseForgetsMessages", testEraseForgetsMessages},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentDuplicates", testConcurrentDuplicates},
		{"Learners", testLearners},
		{"LearnersEmpty", testLearnersEmpty},
		{"LearnersStopsOnError", testLearnersStopsOnError},
		{"LearnersThenUpdate", testLearnersThenUpdate},
		{"Ping", testPing},
		{"CancelledContext", testCancelledContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// opts compares learners field by field. Times compare as instants (a store
// may hand back another location for the same instant), and a nil map or
// slice equals an empty one (JSON's omitempty cannot tell them apart).
var opts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmpopts.EquateEmpty(),
}

// Learner IDs as the webhook builds them.
const (
	amina   = "whatsapp:+212600000001"
	youssef = "whatsapp:+212600000002"
)

// sample returns a learner with every field set, so that a store that drops
// or rounds a field fails the round trip. The times carry nanoseconds and a
// zone other than UTC on purpose.
func sample(id string) bot.Learner {
	casa := time.FixedZone("+01", 3600)
	return bot.Learner{
		ID:       id,
		Channel:  bot.WhatsApp,
		Lang:     bot.Darija,
		Consent:  true,
		OptedOut: false,
		Cohort:   "tiznit-2025",
		Phase:    bot.PhaseLesson,
		Resume:   bot.PhaseMenu,
		Position: bot.Position{Course: "costing", Lesson: "costing-1", Step: "units"},
		Tries:    1,
		Asked:    3,
		Right:    2,
		Misses:   1,
		Vars:     map[string]string{"materials": "120", "units": "8", "name": "فاطمة"},
		Indicators: map[string]string{
			"revenue_stable": "yes",
		},
		Outreach: bot.Outreach{
			At:     time.Date(2025, 3, 15, 9, 26, 53, 589793238, casa),
			Nudges: 1,
			Reviews: []bot.PendingReview{
				{Lesson: "cash-1", Step: "what-counts", At: time.Date(2025, 3, 16, 9, 26, 53, 7, time.UTC)},
			},
		},
		Completed: []bot.Completion{
			{Lesson: "welcome-1", Score: 100, At: time.Date(2025, 3, 1, 8, 0, 0, 123456789, casa)},
			{Lesson: "cash-1", Score: 67, At: time.Date(2025, 3, 2, 21, 15, 30, 987654321, time.UTC)},
		},
		LastInboundAt: time.Date(2025, 3, 14, 9, 26, 53, 589793238, casa),
		UpdatedAt:     time.Date(2025, 3, 14, 9, 26, 54, 1, casa),
	}
}

// set returns an update function that replaces the learner with want
// (keeping the version the store gave it) and answers with replies.
func set(want bot.Learner, replies ...bot.Reply) func(*bot.Learner) (app.Change, error) {
	return func(l *bot.Learner) (app.Change, error) {
		v := l.Version
		*l = want
		l.Version = v
		return app.Change{Replies: replies}, nil
	}
}

// count returns an update function that adds one to Vars["n"] and answers
// with the new value.
func count(l *bot.Learner) (app.Change, error) {
	n, _ := strconv.Atoi(l.Vars["n"])
	if l.Vars == nil {
		l.Vars = map[string]string{}
	}
	l.Vars["n"] = strconv.Itoa(n + 1)
	return app.Change{Replies: []bot.Reply{{Text: l.Vars["n"]}}}, nil
}

func update(tb testing.TB, s app.Store, id, msgID string, fn func(*bot.Learner) (app.Change, error)) app.Result {
	tb.Helper()
	res, err := s.Update(context.Background(), id, msgID, fn)
	if err != nil {
		tb.Fatalf("Update(%q, %q): %v", id, msgID, err)
	}
	return res
}

func get(tb testing.TB, s app.Store, id string) bot.Learner {
	tb.Helper()
	l, err := s.Get(context.Background(), id)
	if err != nil {
		tb.Fatalf("Get(%q): %v", id, err)
	}
	return l
}

func wantNotFound(tb testing.TB, s app.Store, id string) {
	tb.Helper()
	l, err := s.Get(context.Background(), id)
	if err == nil {
		tb.Fatalf("Get(%q) = %+v, want an error of kind %v", id, l, bot.NotFound)
	}
	if got := bot.KindOf(err); got != bot.NotFound {
		tb.Fatalf("Get(%q): kind of %v is %v, want %v", id, err, got, bot.NotFound)
	}
}

func wantLearner(tb testing.TB, s app.Store, want bot.Learner) {
	tb.Helper()
	got := get(tb, s, want.ID)
	if diff := cmp.Diff(got, want, opts); diff != "" {
		tb.Errorf("Get(%q) mismatch (-got +want):\n%s", want.ID, diff)
	}
}

func wantResult(tb testing.TB, got, want app.Result) {
	tb.Helper()
	if diff := cmp.Diff(got, want, opts); diff != "" {
		tb.Errorf("Update result mismatch (-got +want):\n%s", diff)
	}
}

// within fails tb when f does not return within hangAfter. A hung f leaks
// its goroutine, which no longer matters once the test has failed.
func within(tb testing.TB, what string, f func()) {
	tb.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(hangAfter):
		tb.Fatalf("%s did not return within %v", what, hangAfter)
	}
}

func testGetUnknown(t *testing.T, s app.Store) {
	wantNotFound(t, s, amina)
}

func testUpdateNew(t *testing.T, s app.Store) {
	want := sample(amina)
	res := update(t, s, amina, "SM1", func(l *bot.Learner) (app.Change, error) {
		if diff := cmp.Diff(*l, bot.Learner{ID: amina}, opts); diff != "" {
			t.Errorf("fn got a learner that is not new (-got +want):\n%s", diff)
		}
		return set(want)(l)
	})
	wantResult(t, res, app.Result{})
	want.Version = 1
	wantLearner(t, s, want)

	// The next update sees what the first saved.
	want.Step = "result"
	update(t, s, amina, "SM2", func(l *bot.Learner) (app.Change, error) {
		prev := want
		prev.Step = "units"
		if diff := cmp.Diff(*l, prev, opts); diff != "" {
			t.Errorf("fn got (-got +want):\n%s", diff)
		}
		l.Step = "result"
		return app.Change{}, nil
	})
	want.Version = 2
	wantLearner(t, s, want)
}

func testVersionSetByStore(t *testing.T, s app.Store) {
	for i := range 3 {
		update(t, s, amina, "", func(l *bot.Learner) (app.Change, error) {
			l.Version = 99 // the store must not trust this
			return app.Change{}, nil
		})
		if got, want := get(t, s, amina).Version, int64(i+1); got != want {
			t.Fatalf("after update %d: Version = %d, want %d", i+1, got, want)
		}
	}
}

func testReplies(t *testing.T, s app.Store) {
	replies := []bot.Reply{
		{Text: "مرحبا! اختار اللغة:\n1 الدارجة / Darija\n2 العربية\n3 Français\n4 ⵜⴰⵎⴰⵣⵉⵖⵜ / Tamaziɣt"},
		{Text: "Regarde :", Media: "https://example.org/m/cout.jpg"},
	}
	res := update(t, s, amina, "SM1", set(sample(amina), replies...))
	wantResult(t, res, app.Result{Replies: replies})

	// No replies is a valid answer too.
	res = update(t, s, amina, "SM2", set(sample(amina)))
	wantResult(t, res, app.Result{})
}

func testDuplicate(t *testing.T, s app.Store) {
	first := []bot.Reply{{Text: "1"}}
	wantResult(t, update(t, s, amina, "SM1", count), app.Result{Replies: first})
	want := get(t, s, amina)

	for range 2 {
		// A store may call fn before it learns that the message was
		// applied; what fn returns must then change nothing.
		res := update(t, s, amina, "SM1", count)
		wantResult(t, res, app.Result{Replies: first, Duplicate: true})
		wantLearner(t, s, want)
	}

	// Another message is applied.
	wantResult(t, update(t, s, amina, "SM2", count), app.Result{Replies: []bot.Reply{{Text: "2"}}})
}

func testDuplicatePerLearner(t *testing.T, s app.Store) {
	update(t, s, amina, "SM1", count)
	res := update(t, s, youssef, "SM1", count)
	wantResult(t, res, app.Result{Replies: []bot.Reply{{Text: "1"}}})
	if got := get(t, s, youssef).Version; got != 1 {
		t.Errorf("Version of %s = %d, want 1", youssef, got)
	}
}

// testKeysDoNotCollide catches a store that joins learner ID and message ID
// into one key without a separator both cannot contain.
func testKeysDoNotCollide(t *testing.T, s app.Store) {
	update(t, s, "sms:+1", "23", count)
	res := update(t, s, "sms:+12", "3", count)
	wantResult(t, res, app.Result{Replies: []bot.Reply{{Text: "1"}}})
}

func testEmptyMsgID(t *testing.T, s app.Store) {
	for i := 1; i <= 3; i++ {
		res := update(t, s, amina, "", count)
		wantResult(t, res, app.Result{Replies: []bot.Reply{{Text: strconv.Itoa(i)}}})
	}
	if got := get(t, s, amina).Version; got != 3 {
		t.Errorf("Version = %d, want 3", got)
	}
}

var errStep = errors.New("step failed")

func testFnError(t *testing.T, s app.Store) {
	update(t, s, amina, "SM1", set(sample(amina)))
	// Built afresh, not read back: a store that shares maps would share
	// them with want too.
	want := sample(amina)
	want.Version = 1

	_, err := s.Update(context.Background(), amina, "SM2", func(l *bot.Learner) (app.Change, error) {
		l.Step = "somewhere else"
		l.Vars["materials"] = "0"
		return app.Change{Replies: []bot.Reply{{Text: "lost"}}}, errStep
	})
	if !errors.Is(err, errStep) {
		t.Fatalf("Update with a failing fn: got error %v, want %v", err, errStep)
	}
	wantLearner(t, s, want)

	// The failed message was not consumed: a retry applies.
	res := update(t, s, amina, "SM2", count)
	wantResult(t, res, app.Result{Replies: []bot.Reply{{Text: "1"}}})
	if got := get(t, s, amina).Version; got != want.Version+1 {
		t.Errorf("Version after retry = %d, want %d", got, want.Version+1)
	}
}

func testFnErrorNewLearner(t *testing.T, s app.Store) {
	_, err := s.Update(context.Background(), amina, "SM1", func(l *bot.Learner) (app.Change, error) {
		*l = sample(amina)
		return app.Change{}, errStep
	})
	if !errors.Is(err, errStep) {
		t.Fatalf("Update with a failing fn: got error %v, want %v", err, errStep)
	}
	wantNotFound(t, s, amina)
}

// testFnGetsCopy catches a store that hands fn its own maps and slices: a
// failed step must leave no trace, even one made through a map.
func testFnGetsCopy(t *testing.T, s app.Store) {
	update(t, s, amina, "SM1", set(sample(amina)))
	// Built afresh, not read back: a store that shares maps would share
	// them with want too.
	want := sample(amina)
	want.Version = 1

	_, err := s.Update(context.Background(), amina, "SM2", func(l *bot.Learner) (app.Change, error) {
		l.Vars["materials"] = "0"
		l.Vars["extra"] = "x"
		delete(l.Indicators, "revenue_stable")
		l.Completed[0].Score = 0
		l.Completed = append(l.Completed[:1], bot.Completion{Lesson: "x"})
		return app.Change{}, errStep
	})
	if !errors.Is(err, errStep) {
		t.Fatalf("Update with a failing fn: got error %v, want %v", err, errStep)
	}
	wantLearner(t, s, want)
}

func testGetReturnsCopy(t *testing.T, s app.Store) {
	update(t, s, amina, "SM1", set(sample(amina)))
	// Built afresh, not read back: a store that shares maps would share
	// them with want too.
	want := sample(amina)
	want.Version = 1

	l := get(t, s, amina)
	l.Vars["materials"] = "0"
	l.Indicators["new"] = "x"
	l.Completed[0].Score = 0
	wantLearner(t, s, want)
}

func testErase(t *testing.T, s app.Store) {
	update(t, s, amina, "SM1", set(sample(amina)))
	update(t, s, youssef, "SM1", set(sample(youssef)))
	bye := []bot.Reply{{Text: "Tes données sont effacées. Au revoir !"}}
	erase := func(l *bot.Learner) (app.Change, error) {
		return app.Change{Replies: bye, Erase: true}, nil
	}

	wantResult(t, update(t, s, amina, "SM2", erase), app.Result{Replies: bye})
	wantNotFound(t, s, amina)

	// A retry of the erase message is recognised, answers nothing (the
	// goodbye was said; nothing of it is kept), and does not bring the
	// learner back.
	res := update(t, s, amina, "SM2", count)
	wantResult(t, res, app.Result{Duplicate: true})
	wantNotFound(t, s, amina)

	// The other learner is untouched.
	want := sample(youssef)
	want.Version = 1
	wantLearner(t, s, want)

	// Writing again starts from nothing.
	update(t, s, amina, "SM3", func(l *bot.Learner) (app.Change, error) {
		if diff := cmp.Diff(*l, bot.Learner{ID: amina}, opts); diff != "" {
			t.Errorf("fn after erase got (-got +want):\n%s", diff)
		}
		return count(l)
	})
	wantLearner(t, s, bot.Learner{ID: amina, Vars: map[string]string{"n": "1"}, Version: 1})
}

func testEraseUnknown(t *testing.T, s app.Store) {
	res := update(t, s, amina, "SM1", func(l *bot.Learner) (app.Change, error) {
		return app.Change{Replies: []bot.Reply{{Text: "bye"}}, Erase: true}, nil
	})
	wantResult(t, res, app.Result{Replies: []bot.Reply{{Text: "bye"}}})
	wantNotFound(t, s, amina)
}

// testEraseForgetsMessages checks that an erase also deletes the records of
// the learner's messages, whose replies may repeat what the learner typed,
// and keeps only what recognises them (keyed hashes) for the message
// retention, so that a replay brings no one back. Other learners keep
// theirs, even one whose id starts with the erased one's.
func testEraseForgetsMessages(t *testing.T, s app.Store) {
	private := []bot.Reply{{Text: "Ta matière coûte 15 DH par pièce."}}
	bye := []bot.Reply{{Text: "Tes données sont effacées. Au revoir !"}}
	erase := func(*bot.Learner) (app.Change, error) {
		return app.Change{Replies: bye, Erase: true}, nil
	}
	update(t, s, amina, "SM1", set(sample(amina), private...))
	update(t, s, amina, "SM2", count)
	update(t, s, youssef, "SM1", set(sample(youssef), private...))
	update(t, s, "sms:+1", "SM1", count)
	update(t, s, "sms:+12", "SM1", count)

	update(t, s, amina, "SM3", erase)
	update(t, s, "sms:+1", "SM2", erase)

	// What was said is forgotten, but not what was sent: every message of
	// the erased learners, the erase included, replayed (Twilio retries, a
	// captured request sent again), is recognised, answers nothing and
	// brings no one back.
	for _, m := range []struct{ id, msgID string }{{amina, "SM3"}, {"sms:+1", "SM2"}, {amina, "SM1"}, {amina, "SM2"}, {"sms:+1", "SM1"}} {
		res := update(t, s, m.id, m.msgID, count)
		wantResult(t, res, app.Result{Duplicate: true})
		wantNotFound(t, s, m.id)
	}
	// A new message of the same number is a new learner.
	if res := update(t, s, amina, "SM9", count); res.Duplicate {
		t.Errorf("a new message after the erase: Duplicate, want it applied to a new learner")
	}

	// The others keep theirs.
	res := update(t, s, youssef, "SM1", count)
	wantResult(t, res, app.Result{Replies: private, Duplicate: true})
	res = update(t, s, "sms:+12", "SM1", count)
	wantResult(t, res, app.Result{Replies: []bot.Reply{{Text: "1"}}, Duplicate: true})
}

// testConcurrentUpdates checks that no update is lost when many messages of
// one learner arrive at once.
func testConcurrentUpdates(t *testing.T, s app.Store) {
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := s.Update(context.Background(), amina, fmt.Sprintf("SM%d", i), count)
			errs <- err
		})
	}
	within(t, "50 concurrent updates", wg.Wait)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Update: %v", err)
		}
	}
	l := get(t, s, amina)
	if got, want := l.Vars["n"], strconv.Itoa(n); got != want {
		t.Errorf("counter = %s, want %s", got, want)
	}
	if got, want := l.Version, int64(n); got != want {
		t.Errorf("Version = %d, want %d", got, want)
	}
}

// testConcurrentDuplicates checks that a message delivered many times at once
// is applied exactly once, and that every delivery gets the same replies.
func testConcurrentDuplicates(t *testing.T, s app.Store) {
	const n = 50
	var wg sync.WaitGroup
	results := make(chan app.Result, n)
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			res, err := s.Update(context.Background(), amina, "SM1", count)
			if err != nil {
				errs <- err
				return
			}
			results <- res
		})
	}
	within(t, "50 concurrent deliveries of one message", wg.Wait)
	close(errs)
	close(results)
	for err := range errs {
		t.Errorf("concurrent Update: %v", err)
	}
	applied := 0
	for res := range results {
		if !res.Duplicate {
			applied++
		}
		if diff := cmp.Diff(res.Replies, []bot.Reply{{Text: "1"}}, opts); diff != "" {
			t.Errorf("replies mismatch (-got +want):\n%s", diff)
		}
	}
	if applied != 1 {
		t.Errorf("%d results not marked Duplicate, want 1", applied)
	}
	l := get(t, s, amina)
	if l.Vars["n"] != "1" || l.Version != 1 {
		t.Errorf("counter = %s, Version = %d; want 1, 1", l.Vars["n"], l.Version)
	}
}

func testLearners(t *testing.T, s app.Store) {
	want := map[string]bot.Learner{}
	for i := range 25 {
		l := sample(bot.LearnerID(bot.SMS, fmt.Sprintf("+1555%07d", i)))
		l.Vars["i"] = strconv.Itoa(i)
		update(t, s, l.ID, "SM1", set(l))
		l.Version = 1
		want[l.ID] = l
	}
	// An erased learner is not listed.
	update(t, s, amina, "", count)
	update(t, s, amina, "", func(*bot.Learner) (app.Change, error) { return app.Change{Erase: true}, nil })

	got := map[string]bot.Learner{}
	err := s.Learners(context.Background(), func(l bot.Learner) error {
		if _, ok := got[l.ID]; ok {
			t.Errorf("Learners listed %s twice", l.ID)
		}
		got[l.ID] = l
		return nil
	})
	if err != nil {
		t.Fatalf("Learners: %v", err)
	}
	if diff := cmp.Diff(got, want, opts); diff != "" {
		t.Errorf("Learners mismatch (-got +want):\n%s", diff)
	}
}

func testLearnersEmpty(t *testing.T, s app.Store) {
	err := s.Learners(context.Background(), func(l bot.Learner) error {
		t.Errorf("Learners on an empty store listed %s", l.ID)
		return nil
	})
	if err != nil {
		t.Fatalf("Learners: %v", err)
	}
}

func testLearnersStopsOnError(t *testing.T, s app.Store) {
	for i := range 5 {
		update(t, s, fmt.Sprintf("sms:+1555000%d", i), "", count)
	}
	calls := 0
	err := s.Learners(context.Background(), func(bot.Learner) error {
		calls++
		return errStep
	})
	if !errors.Is(err, errStep) {
		t.Errorf("Learners: got error %v, want %v", err, errStep)
	}
	if calls != 1 {
		t.Errorf("fn called %d times after it failed, want 1", calls)
	}
}

// testLearnersThenUpdate checks that the walk can update the learners it
// visits, as a job that reminds every learner does: the store must not
// hold a lock across fn that Update needs.
func testLearnersThenUpdate(t *testing.T, s app.Store) {
	const n = 10
	for i := range n {
		update(t, s, fmt.Sprintf("sms:+1555000%d", i), "", count)
	}
	seen := 0
	within(t, "Learners with Update inside", func() {
		err := s.Learners(context.Background(), func(l bot.Learner) error {
			seen++
			_, err := s.Update(context.Background(), l.ID, "reminder", count)
			return err
		})
		if err != nil {
			t.Errorf("Learners: %v", err)
		}
	})
	if seen != n {
		t.Errorf("Learners visited %d learners, want %d", seen, n)
	}
	for i := range n {
		id := fmt.Sprintf("sms:+1555000%d", i)
		if got := get(t, s, id).Vars["n"]; got != "2" {
			t.Errorf("%s: counter = %s, want 2", id, got)
		}
	}
}

func testPing(t *testing.T, s app.Store) {
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// testCancelledContext allows a store to ignore a cancelled context (an
// embedded store may finish faster than it could check), but not to hang,
// and not to half-apply: an error must say the context was cancelled and
// leave the learner and the message id as they were.
func testCancelledContext(t *testing.T, s app.Store) {
	update(t, s, amina, "SM1", count)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	var err error
	within(t, "Update with a cancelled context", func() {
		_, err = s.Update(ctx, amina, "SM2", count)
	})
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Update with a cancelled context: got error %v, want one wrapping %v", err, context.Canceled)
		}
		if got := get(t, s, amina).Vars["n"]; got != "1" {
			t.Errorf("Update failed but counter = %s, want 1", got)
		}
		res := update(t, s, amina, "SM2", count)
		if res.Duplicate {
			t.Errorf("Update failed but consumed its message id")
		}
	}

	within(t, "Get with a cancelled context", func() {
		_, err = s.Get(ctx, amina)
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context: got error %v, want one wrapping %v", err, context.Canceled)
	}

	within(t, "Learners with a cancelled context", func() {
		err = s.Learners(ctx, func(bot.Learner) error { return nil })
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Learners with a cancelled context: got error %v, want one wrapping %v", err, context.Canceled)
	}
}
