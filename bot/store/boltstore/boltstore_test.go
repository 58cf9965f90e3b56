package boltstore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/storetest"
	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
)

func open(tb testing.TB, path string, o Options) *Store {
	tb.Helper()
	s, err := Open(path, o)
	if err != nil {
		tb.Fatalf("Open(%q): %v", path, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) app.Store {
		return open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{})
	})
}

// TestConformanceSmallPages runs the suite with pages of two learners, so
// that Learners crosses page boundaries with a handful of learners.
func TestConformanceSmallPages(t *testing.T) {
	storetest.Run(t, func(t *testing.T) app.Store {
		s := open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{})
		s.pagesize = 2
		return s
	})
}

func TestMembers(t *testing.T) {
	storetest.RunMembers(t, func(t *testing.T) storetest.MembersStore {
		return open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{})
	})
}

func TestDueIndex(t *testing.T) {
	storetest.RunDueIndex(t, func(t *testing.T) storetest.DueStore {
		return open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{})
	})
}

func TestDeliveries(t *testing.T) {
	storetest.RunDeliveries(t, func(t *testing.T) app.Deliveries {
		return open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{})
	})
}

func TestContents(t *testing.T) {
	storetest.RunContents(t, func(t *testing.T) app.Contents {
		return open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{})
	})
}

func TestOutbox(t *testing.T) {
	storetest.RunOutbox(t, func(t *testing.T) schedule.Outbox {
		return open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{})
	})
}

// TestOutboxRetention runs, as of the suite's time, the purge that updates
// run in the background.
func TestOutboxRetention(t *testing.T) {
	storetest.RunOutboxRetention(t, func(t *testing.T) (schedule.Outbox, storetest.Expire) {
		s := open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{})
		return s, func(now time.Time) {
			if _, err := s.purgeJobs(now); err != nil {
				t.Fatalf("purgeJobs at %v: %v", now, err)
			}
		}
	})
}

func TestCohorts(t *testing.T) {
	storetest.RunCohorts(t, func(t *testing.T) cohort.Store {
		return open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{})
	})
}

func TestLimiter(t *testing.T) {
	storetest.RunLimiter(t, func(t *testing.T) storetest.Limiter {
		return open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{})
	})
}

func TestOpenCreatesDirectories(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "pilot", "darsi.db")
	open(t, path, Options{})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("file mode = %v, want %v", got, want)
	}
}

func TestOpenNoPath(t *testing.T) {
	_, err := Open("", Options{})
	if got := bot.KindOf(err); got != bot.Invalid {
		t.Errorf("Open(\"\"): got %v (kind %v), want kind %v", err, got, bot.Invalid)
	}
}

// TestOpenInUse checks that a second darsi on the same file gets a clear
// error quickly instead of hanging. flock locks belong to the open file, so
// a second Open in the same process stands in for a second process.
func TestOpenInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "darsi.db")
	open(t, path, Options{})

	start := time.Now()
	s, err := Open(path, Options{})
	elapsed := time.Since(start)
	if err == nil {
		s.Close()
		t.Fatal("second Open succeeded, want an error")
	}
	if got := bot.KindOf(err); got != bot.Unavailable {
		t.Errorf("second Open: kind of %v is %v, want %v", err, got, bot.Unavailable)
	}
	if !strings.Contains(err.Error(), "in use by another darsi process") {
		t.Errorf("second Open: got %q, want it to say the file is in use by another darsi process", err)
	}
	// bbolt gives up one retry interval (50 ms) before the timeout.
	if elapsed < DefaultLockTimeout/2 || elapsed > 5*DefaultLockTimeout {
		t.Errorf("second Open gave up after %v, want about %v", elapsed, DefaultLockTimeout)
	}
}

func TestPersistsAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "darsi.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := bot.Learner{
		ID:            "whatsapp:+212600000001",
		Lang:          bot.French,
		Vars:          map[string]string{"units": "8"},
		LastInboundAt: time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC),
		Outreach: bot.Outreach{
			At:      time.Date(2025, 3, 15, 8, 26, 53, 589793238, time.UTC),
			Nudges:  1,
			Reviews: []bot.PendingReview{{Lesson: "costing-1", Step: "what-counts", At: time.Date(2025, 3, 15, 8, 26, 53, 589793238, time.UTC)}},
		},
		Version: 1,
	}
	hello := []bot.Reply{{Text: "Bonjour"}}
	_, err = s.Update(ctx, want.ID, "SM1", func(l *bot.Learner) (app.Change, error) {
		l.Lang, l.Vars, l.LastInboundAt, l.Outreach = want.Lang, want.Vars, want.LastInboundAt, want.Outreach
		return app.Change{Replies: hello}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t, path, Options{})
	got, err := s.Get(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("after reopen (-got +want):\n%s", diff)
	}
	res, err := s.Update(ctx, want.ID, "SM1", func(*bot.Learner) (app.Change, error) {
		t.Error("fn called for a message applied before the reopen")
		return app.Change{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(res, app.Result{Replies: hello, Duplicate: true}); diff != "" {
		t.Errorf("retry after reopen (-got +want):\n%s", diff)
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "darsi.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	errs := map[string]error{"Ping": s.Ping(ctx)}
	_, errs["Get"] = s.Get(ctx, "sms:+1")
	_, errs["Update"] = s.Update(ctx, "sms:+1", "SM1", func(*bot.Learner) (app.Change, error) {
		return app.Change{}, nil
	})
	errs["Learners"] = s.Learners(ctx, func(bot.Learner) error { return nil })
	for name, err := range errs {
		if got := bot.KindOf(err); got != bot.Unavailable {
			t.Errorf("%s on a closed store: got %v (kind %v), want kind %v", name, err, got, bot.Unavailable)
		}
	}
}

func TestUpdateEmptyID(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{})
	_, err := s.Update(context.Background(), "", "SM1", func(*bot.Learner) (app.Change, error) {
		t.Error("fn called for an empty id")
		return app.Change{}, nil
	})
	if got := bot.KindOf(err); got != bot.Invalid {
		t.Errorf("Update with an empty id: got %v (kind %v), want kind %v", err, got, bot.Invalid)
	}
}

// clock is a Now that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func nop(*bot.Learner) (app.Change, error) { return app.Change{}, nil }

// applies reports whether msgID is applied anew, as opposed to recognised
// as a duplicate.
func applies(tb testing.TB, s *Store, id, msgID string) bool {
	tb.Helper()
	res, err := s.Update(context.Background(), id, msgID, nop)
	if err != nil {
		tb.Fatalf("Update(%q, %q): %v", id, msgID, err)
	}
	return !res.Duplicate
}

// records counts the applied records and the entries of their time index,
// which must always match.
func records(tb testing.TB, s *Store) int {
	tb.Helper()
	var n, m int
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(appliedBucket).Stats().KeyN
		m = tx.Bucket(appliedByTimeBucket).Stats().KeyN
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if n != m {
		tb.Fatalf("%d applied records but %d index entries", n, m)
	}
	return n
}

func TestPurgeDuringUpdate(t *testing.T) {
	const id = "whatsapp:+212600000001"
	c := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{Now: c.Now})

	applies(t, s, id, "old")
	c.Advance(6 * 24 * time.Hour)
	if applies(t, s, id, "old") {
		t.Fatal("a 6-day-old message id was forgotten, want it kept for 7 days")
	}
	// A purge runs here (the last was at Open, days ago); nothing has
	// expired yet.
	c.Advance(24*time.Hour - 30*time.Minute)
	applies(t, s, id, "recent")

	// "old" expires, but the last purge was 45 minutes ago: no purge yet.
	c.Advance(45 * time.Minute)
	applies(t, s, id, "trigger-1")
	if got := records(t, s); got != 3 {
		t.Errorf("%d records 45 minutes after the last purge, want 3 (no purge yet)", got)
	}

	// An hour later the next update purges "old" and only it.
	c.Advance(time.Hour)
	applies(t, s, id, "trigger-2")
	if got := records(t, s); got != 3 {
		t.Errorf("%d records after the purge, want 3 (recent and both triggers)", got)
	}
	if !applies(t, s, id, "old") {
		t.Error("an expired message id is still recognised, want it forgotten")
	}
	if applies(t, s, id, "recent") {
		t.Error("a recent message id was forgotten")
	}
}

func TestPurgeOnOpen(t *testing.T) {
	const id = "whatsapp:+212600000001"
	path := filepath.Join(t.TempDir(), "darsi.db")
	c := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	s, err := Open(path, Options{Now: c.Now, Retention: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	applies(t, s, id, "SM1")
	c.Advance(24 * time.Hour)
	applies(t, s, id, "SM2")
	s.Close()

	c.Advance(36 * time.Hour) // SM1 is 60 hours old, SM2 36
	s = open(t, path, Options{Now: c.Now, Retention: 48 * time.Hour})
	if got := records(t, s); got != 1 {
		t.Errorf("%d records after reopening, want 1", got)
	}
	if applies(t, s, id, "SM2") {
		t.Error("SM2, within the retention, was forgotten")
	}
}

// TestPurgeBatches fills more expired records than one purge transaction
// takes and checks that a purge still removes them all, and nothing else.
func TestPurgeBatches(t *testing.T) {
	c := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{Now: c.Now})
	const expired, kept = 2*purgeBatch + 17, 5
	err := s.db.Update(func(tx *bolt.Tx) error {
		for i := range expired + kept {
			at := c.Now().Add(time.Duration(i) * time.Millisecond)
			if i >= expired {
				at = c.Now().Add(8 * 24 * time.Hour)
			}
			key := msgKey(fmt.Sprintf("sms:+1555%04d", i%7), fmt.Sprintf("SM%d", i))
			if err := putApplied(tx, key, applied{At: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(8*24*time.Hour - time.Minute)
	n, err := s.purge()
	if err != nil {
		t.Fatalf("purge: %v", err)
	}
	if n != expired {
		t.Errorf("purge removed %d records, want %d", n, expired)
	}
	if got := records(t, s); got != kept {
		t.Errorf("%d records left, want %d", got, kept)
	}
}

// TestEraseKeepsIndex checks that an erase empties the learner's records
// and keeps them, named by keyed hashes, in the time index until they
// expire (against replays), so that records and index stay in step.
func TestEraseKeepsIndex(t *testing.T) {
	c := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{Now: c.Now})
	const id = "whatsapp:+212600000001"
	for _, m := range []string{"SM1", "SM2", "SM3"} {
		applies(t, s, id, m)
	}
	applies(t, s, id+"2", "SM1") // an id that starts with id
	applies(t, s, "sms:+1", "SM1")
	erase := func(*bot.Learner) (app.Change, error) { return app.Change{Erase: true}, nil }
	if _, err := s.Update(context.Background(), id, "SM4", erase); err != nil {
		t.Fatal(err)
	}
	if got, want := records(t, s), 6; got != want {
		t.Errorf("%d records after the erase, want %d (the erased learner's 4, emptied, and the others' 2)", got, want)
	}
	// Once they expire, a purge removes what is left, index and all.
	c.Advance(8 * 24 * time.Hour)
	if n, err := s.purge(); err != nil || n != 6 {
		t.Errorf("purge = %d, %v; want 6, nil", n, err)
	}
	if got := records(t, s); got != 0 {
		t.Errorf("%d records after the purge, want 0", got)
	}
}

func TestMsgKeyDistinct(t *testing.T) {
	pairs := [][2]string{{"a", "bc"}, {"ab", "c"}, {"abc", ""}, {"", "abc"}}
	seen := map[string][2]string{}
	for _, p := range pairs {
		k := string(msgKey(p[0], p[1]))
		if q, ok := seen[k]; ok {
			t.Errorf("msgKey%q = msgKey%q", p, q)
		}
		seen[k] = p
	}
}

// BenchmarkUpdate measures one learner receiving distinct messages, the
// webhook's path: a read, fn, and a synced write of learner and record.
func BenchmarkUpdate(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "darsi.db"), Options{})
	ctx := context.Background()
	const id = "whatsapp:+212600000001"
	replies := []bot.Reply{{Text: "Ta matière coûte 15 DH par pièce."}}
	fn := func(l *bot.Learner) (app.Change, error) {
		if l.Vars == nil {
			l.Vars = map[string]string{"materials": "120", "units": "8"}
		}
		l.Step = "result"
		l.Lang = bot.French
		l.LastInboundAt = time.Now()
		l.UpdatedAt = l.LastInboundAt
		return app.Change{Replies: replies}, nil
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Update(ctx, id, fmt.Sprintf("SM%032d", i), fn); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestPurgeDeliveries checks that a delivery status, which holds a phone
// number, goes after the delivery retention and not before.
func TestPurgeDeliveries(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "darsi.db")
	c := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	opts := Options{Now: c.Now, DeliveryRetention: 48 * time.Hour}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []bot.Delivery{
		{SID: "SMold", To: "whatsapp:+212600000001", Status: bot.StatusDelivered, UpdatedAt: c.Now()},
		{SID: "SMnew", To: "whatsapp:+212600000002", Status: bot.StatusSent, UpdatedAt: c.Now().Add(36 * time.Hour)},
	} {
		if _, err := s.AdvanceDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	c.Advance(60 * time.Hour) // SMold is 60 hours old, SMnew 24
	s = open(t, path, opts)
	if _, err := s.Delivery(ctx, "SMold"); bot.KindOf(err) != bot.NotFound {
		t.Errorf("SMold after the retention: %v, want NotFound", err)
	}
	if _, err := s.Delivery(ctx, "SMnew"); err != nil {
		t.Errorf("SMnew within the retention: %v", err)
	}
}

// nodesWritten returns how many bbolt nodes the write transactions of fn
// touched: every put or delete touches the node of its key, so an update
// that writes more keys touches more nodes.
func nodesWritten(tb testing.TB, s *Store, fn func()) int64 {
	tb.Helper()
	before := s.db.Stats().TxStats
	fn()
	after := s.db.Stats().TxStats
	return after.GetNodeCount() - before.GetNodeCount()
}

// TestMessageWritesNoIndex checks that a message that moves none of the
// learner's indexes (cohort, counters, Outreach.At) writes no index key:
// it touches as many nodes as the message of a learner in no index.
func TestMessageWritesNoIndex(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{})
	ctx := context.Background()
	const plain, indexed = "whatsapp:+212600000001", "whatsapp:+212600000002"
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for id, fn := range map[string]func(l *bot.Learner){
		plain: func(l *bot.Learner) {},
		indexed: func(l *bot.Learner) {
			l.Cohort, l.Consent = "TIZ25A", true
			l.Completed = []bot.Completion{{Lesson: "costing-1", At: at}}
			l.Indicators = map[string]string{"revenue_stable": "yes"}
			l.Outreach.At = at.Add(72 * time.Hour)
		},
	} {
		_, err := s.Update(ctx, id, "SM0", func(l *bot.Learner) (app.Change, error) { fn(l); return app.Change{}, nil })
		if err != nil {
			t.Fatal(err)
		}
	}
	message := func(id, msgID string) func() {
		return func() {
			_, err := s.Update(ctx, id, msgID, func(l *bot.Learner) (app.Change, error) {
				l.Step, l.LastInboundAt = "units", at
				return app.Change{Replies: []bot.Reply{{Text: "25"}}}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	want := nodesWritten(t, s, message(plain, "SM1"))
	if got := nodesWritten(t, s, message(indexed, "SM1")); got != want {
		t.Errorf("a message of an indexed learner touched %d nodes, want %d as for a learner in no index", got, want)
	}
	// The measure sees an index write: moving Outreach.At touches more.
	moved := nodesWritten(t, s, func() {
		if _, err := s.Update(ctx, indexed, "SM2", func(l *bot.Learner) (app.Change, error) {
			l.Outreach.At = at.Add(96 * time.Hour)
			return app.Change{}, nil
		}); err != nil {
			t.Fatal(err)
		}
	})
	if moved <= want {
		t.Errorf("a message that moves Outreach.At touched %d nodes, want more than %d", moved, want)
	}
}

// TestIndexesBuiltOnOpen opens a file as an older darsi left it, with
// learners and jobs but none of the indexes, and wants them built: the
// cohorts' members and counts, the due index, the outbox's counts and the
// retention of jobs that had ended.
func TestIndexesBuiltOnOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "darsi.db")
	c := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	s, err := Open(path, Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	due := c.Now().Add(time.Hour)
	for i, id := range []string{"whatsapp:+212600000001", "whatsapp:+212600000002", "sms:+212600000003"} {
		_, err := s.Update(ctx, id, "SM1", func(l *bot.Learner) (app.Change, error) {
			l.Cohort, l.Consent, l.OptedOut = "tiz25a", true, i == 2
			if i == 0 {
				l.Outreach.At = due
			}
			return app.Change{}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	jobs := []schedule.Job{
		{ID: "r1", Kind: schedule.Reminder, Learner: "whatsapp:+212600000001", Cohort: "TIZ25A", DueAt: c.Now(), CreatedAt: c.Now()},
		{ID: "r2", Kind: schedule.Reminder, Learner: "whatsapp:+212600000002", Cohort: "TIZ25A", DueAt: c.Now(), CreatedAt: c.Now()},
	}
	if _, err := s.Enqueue(ctx, jobs...); err != nil {
		t.Fatal(err)
	}
	if err := s.Cancel(ctx, "r2"); err != nil {
		t.Fatal(err)
	}
	// What an older darsi wrote: no indexes, no counts, no end of a job.
	err = s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{membersBucket, cohortCountsBucket, dueBucket, dueAtBucket, metaBucket, jobsEndedBucket, jobCountsBucket} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		b := tx.Bucket(jobsBucket)
		var r jobRecord
		if err := json.Unmarshal(b.Get([]byte("r2")), &r); err != nil {
			return err
		}
		r.EndedAt = time.Time{}
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return b.Put([]byte("r2"), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, path, Options{Now: c.Now})
	members, next, err := s.Members(ctx, "TIZ25A", "", 10)
	if err != nil || len(members) != 3 || next != "" {
		t.Errorf("Members after reopening = %d learners, %q, %v; want 3", len(members), next, err)
	}
	counts, err := s.CohortCounts(ctx, "TIZ25A")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(counts, app.Counts{app.CountMembers: 3, app.CountConsented: 3, app.CountOptedOut: 1}); diff != "" {
		t.Errorf("CohortCounts after reopening (-got +want):\n%s", diff)
	}
	taken, err := s.TakeDue(ctx, due, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(taken, []string{"whatsapp:+212600000001"}); diff != "" {
		t.Errorf("TakeDue after reopening (-got +want):\n%s", diff)
	}
	jc, err := s.Counts(ctx, "TIZ25A")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(jc, map[schedule.Status]int{schedule.Queued: 1, schedule.Cancelled: 1}); diff != "" {
		t.Errorf("Counts after reopening (-got +want):\n%s", diff)
	}
	// The cancelled job ended at its last change, as far as the file
	// tells: the retention runs from there.
	c.Advance(schedule.DefaultJobRetention + time.Second)
	if _, err := s.purgeJobs(c.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Job(ctx, "r2"); bot.KindOf(err) != bot.NotFound {
		t.Errorf("Job(r2) after its retention: %v, want NotFound", err)
	}
	if _, err := s.Job(ctx, "r1"); err != nil {
		t.Errorf("Job(r1), still queued: %v", err)
	}
}

// TestJobRetentionInBackground checks that updates purge ended jobs on
// their own, as they purge message ids, with Options.JobRetention.
func TestJobRetentionInBackground(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	s := open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{Now: c.Now, JobRetention: 48 * time.Hour})
	j := schedule.Job{ID: "n1", Kind: schedule.Nudge, Learner: "whatsapp:+212600000001", DueAt: c.Now(), CreatedAt: c.Now()}
	if _, err := s.Enqueue(ctx, j); err != nil {
		t.Fatal(err)
	}
	if err := s.Cancel(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	c.Advance(47 * time.Hour)
	applies(t, s, "whatsapp:+212600000001", "SM1") // purges: nothing has expired
	if _, err := s.Job(ctx, "n1"); err != nil {
		t.Fatalf("Job(n1) within the retention: %v", err)
	}
	c.Advance(2 * time.Hour)
	applies(t, s, "whatsapp:+212600000001", "SM2") // the next purge
	if _, err := s.Job(ctx, "n1"); bot.KindOf(err) != bot.NotFound {
		t.Errorf("Job(n1) after the retention: %v, want NotFound", err)
	}
	if counts, err := s.Counts(ctx, ""); err != nil || len(counts) != 0 {
		t.Errorf("Counts after the retention = %v, %v; want none", counts, err)
	}
}

func TestJobsBadCursor(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{})
	for _, cursor := range []string{"not base64!", "AAAA"} {
		_, _, err := s.Jobs(context.Background(), schedule.Filter{Cursor: cursor})
		if got := bot.KindOf(err); got != bot.Invalid {
			t.Errorf("Jobs with cursor %q: got %v (kind %v), want kind %v", cursor, err, got, bot.Invalid)
		}
	}
}

func TestTakeDueNoLease(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{})
	_, err := s.TakeDue(context.Background(), time.Now(), 0, 10)
	if got := bot.KindOf(err); got != bot.Invalid {
		t.Errorf("TakeDue with no lease: got %v (kind %v), want kind %v", err, got, bot.Invalid)
	}
}

// TestTakeDueDropsGoneLearners: an entry of the due index whose learner
// the store no longer has (Update never leaves one; a file edited by hand
// or an older darsi may) is dropped by TakeDue, and does not count
// against max.
func TestTakeDueDropsGoneLearners(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{})
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	const here = "whatsapp:+212600000002"
	if _, err := s.Update(ctx, here, "", func(l *bot.Learner) (app.Change, error) {
		l.Outreach.At = at
		return app.Change{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return refile(tx, "whatsapp:+212600000001", at.Add(-time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.TakeDue(ctx, at, time.Minute, 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []string{here}); diff != "" {
		t.Errorf("TakeDue (-got +want):\n%s", diff)
	}
	var entries, learners int
	err = s.db.View(func(tx *bolt.Tx) error {
		entries = tx.Bucket(dueBucket).Stats().KeyN
		learners = tx.Bucket(dueAtBucket).Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if entries != 1 || learners != 1 {
		t.Errorf("%d entries in the due index for %d learners, want 1 for 1 (the gone learner's dropped)", entries, learners)
	}
}

func TestAliases(t *testing.T) {
	storetest.RunAliases(t, func(t *testing.T) storetest.AliasStore {
		return open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{})
	})
}

// TestAliasTombstonePurged: an erased learner's alias stays as a tombstone
// while their message records do, then goes with the last of them.
func TestAliasTombstonePurged(t *testing.T) {
	const id, bsuid = "whatsapp:+212600000001", "whatsapp:MA.1502576394655843"
	c := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{Now: c.Now, Retention: 48 * time.Hour})
	ctx := context.Background()
	if _, err := s.Update(ctx, id, "SM1", func(l *bot.Learner) (app.Change, error) { l.BSUID = bsuid; return app.Change{}, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, id, "SM2", func(*bot.Learner) (app.Change, error) { return app.Change{Erase: true}, nil }); err != nil {
		t.Fatal(err)
	}
	aliases := func() int {
		n := 0
		s.view(func(tx *bolt.Tx) error { n = tx.Bucket(aliasesBucket).Stats().KeyN; return nil })
		return n
	}
	if _, replay, _ := s.Alias(ctx, bsuid, "SM1"); !replay || aliases() != 1 {
		t.Fatalf("after the erase: replay %v, %d aliases; want a replay and the tombstone", replay, aliases())
	}
	c.Advance(24 * time.Hour)
	if _, err := s.purge(); err != nil || aliases() != 1 {
		t.Fatalf("a day later: %d aliases, %v; want the tombstone kept", aliases(), err)
	}
	c.Advance(25 * time.Hour)
	if _, err := s.purge(); err != nil || aliases() != 0 {
		t.Fatalf("after the retention: %d aliases, %v; want none", aliases(), err)
	}
	if _, replay, err := s.Alias(ctx, bsuid, "SM1"); replay || bot.KindOf(err) != bot.NotFound {
		t.Errorf("after the retention: replay %v, %v; want NotFound", replay, err)
	}
}
