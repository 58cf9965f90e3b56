package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/lessons"
	"github.com/darsi-ma/darsi/locales"
)

func testContent(tb testing.TB) *dialog.Content {
	tb.Helper()
	text, err := locale.Load(locales.FS)
	if err != nil {
		tb.Fatal(err)
	}
	cat, err := lesson.Load(lessons.FS, "lessons")
	if err != nil {
		tb.Fatal(err)
	}
	return &dialog.Content{Lessons: cat, Text: text}
}

// openCluster opens a store on the local Redis Cluster (or
// REDIS_CLUSTER_URL) with a prefix of its own, deleted at the end.
func openCluster(t *testing.T, o Options) *Store {
	t.Helper()
	url := cmp.Or(os.Getenv("REDIS_CLUSTER_URL"), "redis://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o.Prefix = fmt.Sprintf("test:%016x:", rand.Uint64())
	s, err := Open(ctx, url, o)
	if err != nil {
		t.Fatalf("Open(%s): %v\nstart a local cluster with: bash .ci/services", url, err)
	}
	if _, ok := s.client.(*redis.ClusterClient); !ok {
		t.Fatalf("REDIS_CLUSTER_URL gave a %T, want a *redis.ClusterClient", s.client)
	}
	t.Cleanup(func() { s.Close() })
	t.Cleanup(func() { deleteClusterKeys(t, s.client.(*redis.ClusterClient), o.Prefix) })
	return s
}

// TestOutreachSpreadsOverTheCluster: 3,000 learners each send a message
// through the conversation, with outreach on; the outreach the messages
// leave (each learner's place in the due index) is spread over every
// master of the cluster, none holding more than half.
func TestOutreachSpreadsOverTheCluster(t *testing.T) {
	s := openCluster(t, Options{})
	ctx := context.Background()
	a := app.New(s, testContent(t))
	a.Outreach = &app.Outreach{Outbox: s, Due: s, NudgeAfter: 72 * time.Hour, SecondNudgeAfter: 168 * time.Hour, Reviews: app.DefaultReviews}
	const learners = 3000
	var wg sync.WaitGroup
	errs := make(chan error, learners)
	sem := make(chan struct{}, 32)
	for i := range learners {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			id := fmt.Sprintf("whatsapp:+2126%08d", i)
			// An onboarded learner: language chosen, data terms agreed.
			if _, err := s.Update(ctx, id, "", func(l *bot.Learner) (app.Change, error) {
				l.Channel, l.Lang, l.Consent, l.Phase = bot.WhatsApp, bot.French, true, bot.PhaseMenu
				return app.Change{}, nil
			}); err != nil {
				errs <- err
				return
			}
			if _, err := a.HandleInbound(ctx, bot.Inbound{ID: fmt.Sprintf("SM%032d", i), From: id, Channel: bot.WhatsApp, Text: "menu"}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	perMaster := map[string]int64{}
	var mu sync.Mutex
	err := s.client.(*redis.ClusterClient).ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		iter := m.Scan(ctx, 0, globEscape(s.prefix)+"{b*}:due", 100).Iterator()
		var n int64
		for iter.Next(ctx) {
			c, err := m.ZCard(ctx, iter.Val()).Result()
			if err != nil {
				return err
			}
			n += c
		}
		mu.Lock()
		perMaster[m.Options().Addr] = n
		mu.Unlock()
		return iter.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, n := range perMaster {
		total += n
	}
	t.Logf("due entries per master: %v (of %d)", perMaster, total)
	if total != learners {
		t.Errorf("%d learners in the due index, want %d", total, learners)
	}
	if len(perMaster) < 3 {
		t.Fatalf("%d masters, want the 3 of the local cluster", len(perMaster))
	}
	for addr, n := range perMaster {
		if n == 0 || 2*n > total {
			t.Errorf("master %s holds %d of %d outreach entries: want some, and at most half", addr, n, total)
		}
	}
}

// TestMessageCostsOneRoundTrip: a message of a learner this process wrote
// last is one round trip, outreach on: the learner, the message record and
// the learner's indexes are written by one script. (How many commands it
// runs is measured by cmd/darsi-load, on a quiet Redis.)
func TestMessageCostsOneRoundTrip(t *testing.T) {
	s := open(t, Options{})
	ctx := context.Background()
	a := app.New(s, testContent(t))
	a.Outreach = &app.Outreach{Outbox: s, Due: s, NudgeAfter: 72 * time.Hour, Reviews: app.DefaultReviews}
	for i, text := range []string{"salam", "3", "oui", "1"} {
		if _, err := a.HandleInbound(ctx, bot.Inbound{ID: fmt.Sprintf("SM%d", i), From: amina, Channel: bot.WhatsApp, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	before := s.RoundTrips()
	for i, text := range []string{"2", "aide", "répéter"} {
		if _, err := a.HandleInbound(ctx, bot.Inbound{ID: fmt.Sprintf("SM1%d", i), From: amina, Channel: bot.WhatsApp, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.RoundTrips() - before; got != 3 {
		t.Errorf("3 messages took %d round trips, want 3", got)
	}

}

// TestMigrateFromOwnTags: a store written before buckets, with a key per
// learner's own hash tag and the outbox under {outbox}, is moved to
// buckets by Open, with its indexes; a second Open finds it done.
func TestMigrateFromOwnTags(t *testing.T) {
	prefix := newPrefix(t)
	c := admin(t)
	ctx := context.Background()
	probe := New(redis.NewClient(&redis.Options{}), Options{Prefix: prefix})
	defer probe.Close()
	learners := []bot.Learner{
		{ID: amina, Channel: bot.WhatsApp, Lang: bot.French, Consent: true, Cohort: "K7M2QX", Phase: bot.PhaseMenu,
			Completed: []bot.Completion{{Lesson: "costing-1", Score: 80, At: time.Unix(1_770_000_000, 0).UTC()}}, Version: 7},
		{ID: "sms:+15550000002", Channel: bot.SMS, Lang: bot.Darija, Consent: true, Cohort: "k7m2qx", Version: 2},
		{ID: "sim:{odd}", Channel: bot.Sim, Version: 1},
	}
	for _, l := range learners {
		key := prefix + "{" + escapeID(l.ID) + "}:l"
		if err := c.Set(ctx, key, encodeLearner(&l, 9), 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(ctx, prefix+"{"+escapeID(l.ID)+"}:m:SM1", "x", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.ZAdd(ctx, prefix+"{"+escapeID(l.ID)+"}:ms", redis.Z{Score: 1, Member: "SM1"}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	due := time.Unix(1_780_000_000, 0).UTC()
	old := schedule.Job{ID: "reminder-abc-123", Kind: schedule.Reminder, Learner: amina, Cohort: "K7M2QX", Text: "Atelier", DueAt: due, CreatedAt: due}
	v, _ := json.Marshal(old)
	if err := c.HSet(ctx, prefix+"{outbox}:j:reminder-abc-123", "v", v, "s", "queued", "w", "", "a", "0", "c", "", "l", "", "r", "",
		"u", due.Format(time.RFC3339Nano), "i", "", "k", "K7M2QX").Err(); err != nil {
		t.Fatal(err)
	}
	c.ZAdd(ctx, prefix+"{outbox}:due", redis.Z{Score: float64(due.UnixMicro()), Member: "reminder-abc-123"})

	s := open(t, Options{Prefix: prefix})
	for _, want := range learners {
		got, err := s.Get(ctx, want.ID)
		if err != nil || got.Version != want.Version || got.Cohort != want.Cohort || got.Lang != want.Lang {
			t.Errorf("learner %s after the move: %+v, %v", want.ID, got, err)
		}
	}
	counts, err := s.CohortCounts(ctx, "K7M2QX")
	if err != nil || counts[app.CountMembers] != 2 || counts[app.CountDone+"costing-1"] != 1 {
		t.Errorf("the cohort's counts after the move: %v, %v; want 2 members, 1 done costing-1", counts, err)
	}
	members, _, err := s.Members(ctx, "k7m2qx", "", 10)
	if err != nil || len(members) != 2 {
		t.Errorf("the cohort's members after the move: %d, %v; want 2", len(members), err)
	}
	j, err := s.Job(ctx, "reminder-abc-123")
	if err != nil || j.Text != "Atelier" || j.Status != schedule.Queued || !j.DueAt.Equal(due) {
		t.Errorf("the job after the move: %+v, %v", j, err)
	}
	claimed, err := s.Claim(ctx, "w", due.Add(time.Second), time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Errorf("claiming the moved job: %d, %v", len(claimed), err)
	}
	keys, err := c.Keys(ctx, globEscape(prefix)+"{whatsapp*").Result()
	if err != nil || len(keys) != 0 {
		t.Errorf("keys of the old layout left: %v, %v", keys, err)
	}
	if keys, _ := c.Keys(ctx, globEscape(prefix)+"{outbox}*").Result(); len(keys) != 0 {
		t.Errorf("keys of the old outbox left: %v", keys)
	}
	// Another replica opens the same store: nothing to move, and a
	// replica set for another number of buckets is refused.
	open(t, Options{Prefix: prefix})
	if _, err := Open(ctx, redisURL, Options{Prefix: prefix, Buckets: 8}); bot.KindOf(err) != bot.Invalid {
		t.Errorf("Open with 8 buckets on a 16-bucket store: %v, want Invalid", err)
	}
}

// TestJobSize measures what a typical job costs Redis: the job's hash, key
// and overhead included, without its place in the sets.
func TestJobSize(t *testing.T) {
	s := open(t, Options{})
	ctx := context.Background()
	now := time.Now()
	j := schedule.Job{ID: app.JobID("reminder-0123456789abcdef", s.Keys().Learner(amina)), Kind: schedule.Reminder, Learner: amina, Cohort: "K7M2QX",
		Text: "Demain, atelier à 10 h : apportez vos carnets de caisse.", DueAt: now, CreatedAt: now, CreatedBy: "amina"}
	if _, err := s.Enqueue(ctx, j); err != nil {
		t.Fatal(err)
	}
	n, err := admin(t).MemoryUsage(ctx, s.jobTag(j.ID)+"j:"+j.ID).Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("typical reminder job: MEMORY USAGE %d bytes", n)
	if n >= 512 {
		t.Errorf("a job takes %d bytes in Redis, want under 512", n)
	}
}
