package redisstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/storetest"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// The tests run against a real Redis, REDIS_URL or a local one. Each test
// has its own key prefix and deletes its keys when it ends, so tests may
// share a Redis with each other and with a development bot.
var redisURL = cmp.Or(os.Getenv("REDIS_URL"), "redis://127.0.0.1:6379")

const startRedis = `redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no`

const amina = "whatsapp:+212600000001"

// admin returns a plain client for looking behind the store's back. A Redis
// that does not answer fails the test: a skipped store test is a store that
// was never tested.
func admin(tb testing.TB) *redis.Client {
	tb.Helper()
	o, err := redis.ParseURL(redisURL)
	if err != nil {
		tb.Fatalf("REDIS_URL: %v", err)
	}
	c := redis.NewClient(o)
	tb.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		tb.Fatalf("Redis not reachable at %s (%v): start it with\n\t%s\nor set REDIS_URL", redisURL, err, startRedis)
	}
	return c
}

// newPrefix returns a key prefix of the test's own and deletes its keys when
// the test ends.
func newPrefix(tb testing.TB) string {
	tb.Helper()
	c := admin(tb)
	prefix := fmt.Sprintf("test:%016x:", rand.Uint64())
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, globEscape(prefix)+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("cleanup: scan: %v", err)
		}
		for len(keys) > 0 {
			n := min(len(keys), 500)
			if err := c.Del(ctx, keys[:n]...).Err(); err != nil {
				tb.Errorf("cleanup: del: %v", err)
			}
			keys = keys[n:]
		}
	})
	return prefix
}

// open opens a store with a prefix of its own, unless o names one.
func open(tb testing.TB, o Options) *Store {
	tb.Helper()
	if o.Prefix == "" {
		o.Prefix = newPrefix(tb)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := Open(ctx, redisURL, o)
	if err != nil {
		tb.Fatalf("Open(%s): %v", redisURL, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestMove(t *testing.T) {
	storetest.RunMove(t, func(t *testing.T, secret []byte) storetest.MoveStore { return open(t, Options{Secret: secret}) })
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) app.Store { return open(t, Options{}) })
}

// TestConformanceSmallScans runs the suite with SCAN pages of a few keys, so
// that Learners crosses many pages with a handful of learners.
func TestConformanceSmallScans(t *testing.T) {
	storetest.Run(t, func(t *testing.T) app.Store {
		s := open(t, Options{})
		s.scanCount = 2
		return s
	})
}

func TestAliases(t *testing.T) {
	storetest.RunAliases(t, func(t *testing.T) storetest.AliasStore { return open(t, Options{}) })
}

func TestDeliveries(t *testing.T) {
	storetest.RunDeliveries(t, func(t *testing.T) app.Deliveries { return open(t, Options{}) })
}

func TestMembers(t *testing.T) {
	storetest.RunMembers(t, func(t *testing.T) storetest.MembersStore { return open(t, Options{}) })
}

func TestDueIndex(t *testing.T) {
	storetest.RunDueIndex(t, func(t *testing.T) storetest.DueStore { return open(t, Options{}) })
}

func TestOutboxRetention(t *testing.T) {
	storetest.RunOutboxRetention(t, func(t *testing.T) (schedule.Outbox, storetest.Expire) {
		s := open(t, Options{})
		return s, func(now time.Time) {
			if err := s.PurgeJobs(context.Background(), now); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestOutbox(t *testing.T) {
	storetest.RunOutbox(t, func(t *testing.T) schedule.Outbox { return open(t, Options{}) })
}

func TestContents(t *testing.T) {
	storetest.RunContents(t, func(t *testing.T) app.Contents { return open(t, Options{}) })
}

func TestCohorts(t *testing.T) {
	storetest.RunCohorts(t, func(t *testing.T) cohort.Store { return open(t, Options{}) })
}

func TestLimiter(t *testing.T) {
	storetest.RunLimiter(t, func(t *testing.T) storetest.Limiter { return open(t, Options{}) })
}

// TestCluster runs the suites on a Redis Cluster: REDIS_CLUSTER_URL, or the
// local one that .ci/services starts on 7000-7002. It checks
// what one node cannot: that a learner's keys stay in one slot for the
// scripts, and that Learners visits every master.
func TestCluster(t *testing.T) {
	url := cmp.Or(os.Getenv("REDIS_CLUSTER_URL"), "redis://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002")
	open := func(t *testing.T, scan int64) *Store {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		prefix := fmt.Sprintf("test:%016x:", rand.Uint64())
		s, err := Open(ctx, url, Options{Prefix: prefix})
		if err != nil {
			t.Fatalf("Open(%s): %v\nstart a local cluster with: bash .ci/services", url, err)
		}
		if _, ok := s.client.(*redis.ClusterClient); !ok {
			t.Fatalf("REDIS_CLUSTER_URL gave a %T, want a *redis.ClusterClient", s.client)
		}
		if scan > 0 {
			s.scanCount = scan
		}
		t.Cleanup(func() { s.Close() })
		t.Cleanup(func() { deleteClusterKeys(t, s.client.(*redis.ClusterClient), prefix) })
		return s
	}
	t.Run("Store", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) app.Store { return open(t, 0) })
	})
	t.Run("SmallScans", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) app.Store { return open(t, 2) })
	})
	t.Run("Deliveries", func(t *testing.T) {
		storetest.RunDeliveries(t, func(t *testing.T) app.Deliveries { return open(t, 0) })
	})
	t.Run("Aliases", func(t *testing.T) {
		storetest.RunAliases(t, func(t *testing.T) storetest.AliasStore { return open(t, 0) })
	})
	t.Run("Members", func(t *testing.T) {
		storetest.RunMembers(t, func(t *testing.T) storetest.MembersStore { return open(t, 0) })
	})
	t.Run("DueIndex", func(t *testing.T) {
		storetest.RunDueIndex(t, func(t *testing.T) storetest.DueStore { return open(t, 0) })
	})
	t.Run("OutboxRetention", func(t *testing.T) {
		storetest.RunOutboxRetention(t, func(t *testing.T) (schedule.Outbox, storetest.Expire) {
			s := open(t, 0)
			return s, func(now time.Time) {
				if err := s.PurgeJobs(context.Background(), now); err != nil {
					t.Fatal(err)
				}
			}
		})
	})
	t.Run("Outbox", func(t *testing.T) {
		storetest.RunOutbox(t, func(t *testing.T) schedule.Outbox { return open(t, 0) })
	})
	t.Run("Contents", func(t *testing.T) {
		storetest.RunContents(t, func(t *testing.T) app.Contents { return open(t, 0) })
	})
	t.Run("Cohorts", func(t *testing.T) {
		storetest.RunCohorts(t, func(t *testing.T) cohort.Store { return open(t, 0) })
	})
	t.Run("Limiter", func(t *testing.T) {
		storetest.RunLimiter(t, func(t *testing.T) storetest.Limiter { return open(t, 0) })
	})
	t.Run("Move", func(t *testing.T) {
		storetest.RunMove(t, func(t *testing.T, secret []byte) storetest.MoveStore {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			prefix := fmt.Sprintf("test:%016x:", rand.Uint64())
			s, err := Open(ctx, url, Options{Prefix: prefix, Secret: secret})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			t.Cleanup(func() { deleteClusterKeys(t, s.client.(*redis.ClusterClient), prefix) })
			return s
		})
	})
	t.Run("OutboxAcrossStores", func(t *testing.T) {
		a := open(t, 0)
		b := New(redis.NewClusterClient(&redis.ClusterOptions{Addrs: a.client.(*redis.ClusterClient).Options().Addrs}), Options{Prefix: a.prefix})
		t.Cleanup(func() { b.Close() })
		claimAcross(t, a, b, 2000, 50)
	})
	t.Run("RoundTrips", func(t *testing.T) {
		s := open(t, 0)
		before := s.RoundTrips()
		for i := range 10 {
			if _, err := s.Update(context.Background(), fmt.Sprint("sms:+1555", i), "SM1", count); err != nil {
				t.Fatal(err)
			}
		}
		if got := s.RoundTrips() - before; got != 20 {
			t.Errorf("10 updates took %d round trips, want 20", got)
		}
	})
}

func deleteClusterKeys(tb testing.TB, c *redis.ClusterClient, prefix string) {
	ctx := context.Background()
	err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		iter := m.Scan(ctx, 0, globEscape(prefix)+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := m.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	})
	if err != nil {
		tb.Errorf("cleanup: %v", err)
	}
}

func count(l *bot.Learner) (app.Change, error) {
	if l.Vars == nil {
		l.Vars = map[string]string{}
	}
	n, _ := strconv.Atoi(l.Vars["n"])
	l.Vars["n"] = strconv.Itoa(n + 1)
	return app.Change{Replies: []bot.Reply{{Text: "ok"}}}, nil
}

func erase(*bot.Learner) (app.Change, error) {
	return app.Change{Replies: []bot.Reply{{Text: "bye"}}, Erase: true}, nil
}

var errStep = errors.New("step failed")

// TestRoundTrips holds Update to its budget: a read and a compare-and-set
// for a learner this store has not seen, the compare-and-set alone for one
// it wrote last, one more when another replica wrote in between.
func TestRoundTrips(t *testing.T) {
	ctx := context.Background()
	s := open(t, Options{})
	trips := func(name, msgID string, fn func(*bot.Learner) (app.Change, error), want uint64) {
		t.Helper()
		before := s.RoundTrips()
		_, err := s.Update(ctx, amina, msgID, fn)
		if err != nil && !errors.Is(err, errStep) {
			t.Fatalf("%s: Update: %v", name, err)
		}
		if got := s.RoundTrips() - before; got != want {
			t.Errorf("%s: %d round trips, want %d", name, got, want)
		}
	}
	fails := func(*bot.Learner) (app.Change, error) { return app.Change{}, errStep }
	// Redis may not hold this build's scripts yet (another build ran
	// before on the same server): a first use loads them, one more round
	// trip that production pays once per script. Use each script once on
	// another learner so that the counts below are the steady ones.
	for i, fn := range []func(*bot.Learner) (app.Change, error){count, count, erase} {
		if _, err := s.Update(ctx, "whatsapp:+212600000999", fmt.Sprint("SMwarm", i), fn); err != nil {
			t.Fatalf("warming the scripts: %v", err)
		}
	}
	trips("new learner: read, write", "SM1", count, 2)
	trips("next message: write only", "SM2", count, 1)
	trips("no message id", "", count, 1)
	trips("duplicate: the write finds it", "SM2", count, 1)
	trips("fn fails: nothing sent", "SM3", fails, 0)

	// Another replica writes the learner: the remembered value is stale,
	// the compare-and-set fails and answers the current value, and the
	// second compare-and-set succeeds.
	other := open(t, Options{Prefix: s.prefix})
	if _, err := other.Update(ctx, amina, "SM4", count); err != nil {
		t.Fatal(err)
	}
	trips("after another replica wrote", "SM5", count, 2)
	if l, err := s.Get(ctx, amina); err != nil || l.Vars["n"] != "5" {
		t.Errorf("after both replicas: n = %q (%v), want 5 (an update was lost)", l.Vars["n"], err)
	}
	// An erase also looks for the learner's jobs, and removes their
	// thread with their coach: two more.
	trips("erase", "SM6", erase, 3)
	trips("after erase", "SM7", count, 1)

	forgetful := open(t, Options{Remember: -1})
	for i, want := range []uint64{2, 2} {
		before := forgetful.RoundTrips()
		if _, err := forgetful.Update(ctx, amina, fmt.Sprint("SMf", i), count); err != nil {
			t.Fatal(err)
		}
		if got := forgetful.RoundTrips() - before; got != want {
			t.Errorf("without memory, update %d: %d round trips, want %d", i, got, want)
		}
	}

	before := s.RoundTrips()
	if _, err := s.Get(ctx, "sms:+1"); bot.KindOf(err) != bot.NotFound {
		t.Fatalf("Get: %v", err)
	}
	if got := s.RoundTrips() - before; got != 1 {
		t.Errorf("Get: %d round trips, want 1", got)
	}
}

// TestUnreachable checks that a Redis that does not answer gives
// Unavailable quickly, from Open and from every method of a store whose
// Redis went away.
func TestUnreachable(t *testing.T) {
	const url = "redis://127.0.0.1:1" // nothing listens on port 1
	ctx := context.Background()
	quickly := func(what string, f func() error) {
		t.Helper()
		start := time.Now()
		err := f()
		if took := time.Since(start); took > time.Second {
			t.Errorf("%s took %v, want under a second", what, took)
		}
		if got := bot.KindOf(err); got != bot.Unavailable {
			t.Errorf("%s: got %v (kind %v), want kind %v", what, err, got, bot.Unavailable)
		}
	}
	quickly("Open", func() error {
		s, err := Open(ctx, url, Options{})
		if err == nil {
			s.Close()
		}
		return err
	})

	client, err := newClient(url)
	if err != nil {
		t.Fatal(err)
	}
	s := New(client, Options{})
	defer s.Close()
	quickly("Update", func() error {
		_, err := s.Update(ctx, amina, "SM1", func(*bot.Learner) (app.Change, error) {
			t.Error("fn called without a learner read")
			return app.Change{}, nil
		})
		return err
	})
	quickly("Get", func() error { _, err := s.Get(ctx, amina); return err })
	quickly("Learners", func() error { return s.Learners(ctx, func(bot.Learner) error { return nil }) })
	quickly("Ping", func() error { return s.Ping(ctx) })
	quickly("AdvanceDelivery", func() error {
		_, err := s.AdvanceDelivery(ctx, bot.Delivery{SID: "SM1", Status: bot.StatusSent})
		return err
	})
	quickly("Delivery", func() error { _, err := s.Delivery(ctx, "SM1"); return err })
}

func TestClosed(t *testing.T) {
	s := open(t, Options{})
	ctx := context.Background()
	s.Close()
	errs := map[string]error{"Ping": s.Ping(ctx)}
	_, errs["Get"] = s.Get(ctx, amina)
	_, errs["Update"] = s.Update(ctx, amina, "SM1", count)
	errs["Learners"] = s.Learners(ctx, func(bot.Learner) error { return nil })
	for name, err := range errs {
		if got := bot.KindOf(err); got != bot.Unavailable {
			t.Errorf("%s on a closed store: got %v (kind %v), want kind %v", name, err, got, bot.Unavailable)
		}
	}
}

func TestOpenInvalid(t *testing.T) {
	for _, url := range []string{
		"",
		"localhost:6379",
		"http://localhost:6379",
		"redis://localhost:6379/db",
		"redis://localhost:6379?no_such_option=1",
		"redis://user:s3cret@localhost:6379/x",
		"redis://user:s3cret@local host",
	} {
		s, err := Open(context.Background(), url, Options{})
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", url)
			continue
		}
		if got := bot.KindOf(err); got != bot.Invalid {
			t.Errorf("Open(%q): got %v (kind %v), want kind %v", url, err, got, bot.Invalid)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q): error %q shows the password", url, err)
		}
	}
}

// TestDuplicateAcrossStores plays two replicas of the bot on one Redis:
// Twilio's retry may reach the other one, or both at once.
func TestDuplicateAcrossStores(t *testing.T) {
	prefix := newPrefix(t)
	a, b := open(t, Options{Prefix: prefix}), open(t, Options{Prefix: prefix})
	ctx := context.Background()
	hello := []bot.Reply{{Text: "Bonjour"}}
	_, err := a.Update(ctx, amina, "SM1", func(l *bot.Learner) (app.Change, error) {
		l.Lang = bot.French
		return app.Change{Replies: hello}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.Update(ctx, amina, "SM1", func(*bot.Learner) (app.Change, error) {
		t.Error("fn called on the other replica for a message already applied")
		return app.Change{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(res, app.Result{Replies: hello, Duplicate: true}); diff != "" {
		t.Errorf("retry on the other replica (-got +want):\n%s", diff)
	}

	// The same message reaches both replicas many times at once.
	const n = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	applied := 0
	for i := range 2 * n {
		s := []*Store{a, b}[i%2]
		wg.Go(func() {
			res, err := s.Update(ctx, amina, "SM2", count)
			if err != nil {
				t.Errorf("Update: %v", err)
				return
			}
			if !res.Duplicate {
				mu.Lock()
				applied++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if applied != 1 {
		t.Errorf("SM2 applied %d times across two replicas, want once", applied)
	}
	l, err := b.Get(ctx, amina)
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != 2 || l.Vars["n"] != "1" {
		t.Errorf("Version %d, n = %q; want 2 and 1", l.Version, l.Vars["n"])
	}
}

// TestMessageIDsExpire checks that applied message ids live Options.Retention
// in Redis and the learner lives on.
func TestMessageIDsExpire(t *testing.T) {
	const retention = 700 * time.Millisecond
	s := open(t, Options{Retention: retention})
	s.trimEvery = 1 // trim on every write, to see it happen
	c := admin(t)
	ctx := context.Background()
	if _, err := s.Update(ctx, amina, "SM1", count); err != nil {
		t.Fatal(err)
	}
	k := s.keysOf(amina, "SM1")
	for _, key := range []string{k.msg, k.index} {
		ttl, err := c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= 0 || ttl > retention {
			t.Errorf("PTTL of %s = %v, want in (0, %v]", key, ttl, retention)
		}
	}
	if ttl, err := c.PTTL(ctx, k.learner).Result(); err != nil || ttl != -1 {
		t.Errorf("PTTL of the learner = %v, %v; want -1 (no expiry)", ttl, err)
	}

	time.Sleep(retention + 100*time.Millisecond)
	res, err := s.Update(ctx, amina, "SM1", count)
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicate {
		t.Error("a message id past its retention is still recognised")
	}
	if _, err := s.Get(ctx, amina); err != nil {
		t.Errorf("learner gone with its message ids: %v", err)
	}
}

// TestIndexDropsExpired checks that the learner's index of message ids does
// not grow beyond the ids still recorded.
func TestIndexDropsExpired(t *testing.T) {
	const retention = 300 * time.Millisecond
	s := open(t, Options{Retention: retention})
	s.trimEvery = 1 // trim on every write, to see it happen
	c := admin(t)
	ctx := context.Background()
	for _, m := range []string{"SM1", "SM2", "SM3"} {
		if _, err := s.Update(ctx, amina, m, count); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(retention / 2)
	if _, err := s.Update(ctx, amina, "SM4", count); err != nil {
		t.Fatal(err)
	}
	time.Sleep(retention/2 + 50*time.Millisecond) // SM1-3 expire, SM4 not
	if _, err := s.Update(ctx, amina, "SM5", count); err != nil {
		t.Fatal(err)
	}
	ids, err := c.ZRange(ctx, s.keysOf(amina, "").index, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{s.keysOf(amina, "SM4").msgHash, s.keysOf(amina, "SM5").msgHash}
	if diff := gocmp.Diff(ids, want); diff != "" {
		t.Errorf("index (-got +want):\n%s", diff)
	}
}

// TestEraseLeavesNoNumber looks at the keys an erase leaves: the index of
// the learner's messages, which holds only keyed hashes against replays,
// and the store's own layout and secret; nothing else of the learner (no
// record, no message records, no place in a cohort, its counters or the
// due index), and no key or value that holds their number.
func TestEraseLeavesNoNumber(t *testing.T) {
	s := open(t, Options{})
	c := admin(t)
	ctx := context.Background()
	for _, m := range []string{"SM1", "SM2", "SM3"} {
		if _, err := s.Update(ctx, amina, m, func(l *bot.Learner) (app.Change, error) {
			l.Cohort, l.Consent = "K7M2QX", true
			l.Indicators = map[string]string{"revenue_stable": "yes"}
			l.Outreach.At = time.Now().Add(time.Hour)
			return count(l)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Update(ctx, amina, "SM4", erase); err != nil {
		t.Fatal(err)
	}
	k := s.keysOf(amina, "SM4")
	keys, err := c.Keys(ctx, globEscape(s.prefix)+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{k.index: true, s.layoutKey(): true, s.secretKey(): true}
	if len(keys) != len(want) {
		t.Errorf("keys after erase: %q, want %q", keys, slices.Collect(maps.Keys(want)))
	}
	for _, key := range keys {
		if !want[key] {
			t.Errorf("key %q left after erase", key)
		}
		if strings.Contains(key, "212600000001") {
			t.Errorf("key %q names the erased learner", key)
		}
	}
	ids, err := c.ZRange(ctx, k.index, 0, -1).Result()
	var hashes []string
	for _, m := range []string{"SM1", "SM2", "SM3", "SM4"} {
		hashes = append(hashes, s.keysOf(amina, m).msgHash)
	}
	slices.Sort(ids)
	slices.Sort(hashes)
	if err != nil || !slices.Equal(ids, hashes) {
		t.Errorf("index after erase = %q, %v; want the hashes of SM1 to SM4 %q", ids, err, hashes)
	}
}

// TestScriptResent runs the update script twice with the same arguments, as
// go-redis does when a connection breaks before the reply: the second run
// must see its own write, not a conflict nor a duplicate.
func TestScriptResent(t *testing.T) {
	s := open(t, Options{})
	ctx := context.Background()
	for i, msgID := range []string{"SM1", ""} {
		k := s.keysOf(amina, msgID)
		keys := []string{k.learner, k.index, k.due}
		if msgID != "" {
			keys = append(keys, k.msg)
		}
		old, _, err := s.read(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		value := encodeLearner(&bot.Learner{Version: int64(i + 1)}, rand.Uint64())
		record := encodeReplies([]bot.Reply{{Text: "ok"}}, rand.Uint64())
		for run := range 2 {
			// A change that joins a cohort: its counters must move once.
			l := &bot.Learner{Cohort: "K7M2QX", Version: int64(i + 1)}
			var before *bot.Learner
			if old != "" {
				before = &bot.Learner{Cohort: "K7M2QX"}
			}
			args := append([]any{old, value, record, 60000, k.msgPrefix, msgID, "0", k.member, k.bucket}, s.indexArgs(before, l, k.key)...)
			res, err := updateScript.Run(ctx, s.client, keys, args...).Slice()
			if err != nil {
				t.Fatal(err)
			}
			if code, _ := res[0].(int64); code != 1 {
				t.Errorf("message id %q, run %d: script answered %v, want [1]", msgID, run+1, res)
			}
		}
	}
	l, err := s.Get(ctx, amina)
	if err != nil || l.Version != 2 {
		t.Errorf("after the runs: Version %d, %v; want 2", l.Version, err)
	}
}

// TestConflict checks that an update that keeps losing gives up with
// Conflict after Options.MaxRetries reads, having written nothing.
func TestConflict(t *testing.T) {
	prefix := newPrefix(t)
	s := open(t, Options{Prefix: prefix, MaxRetries: 2})
	other := open(t, Options{Prefix: prefix})
	ctx := context.Background()
	calls := 0
	_, err := s.Update(ctx, amina, "SM1", func(l *bot.Learner) (app.Change, error) {
		calls++
		// Another replica writes the learner while this fn runs.
		if _, err := other.Update(ctx, amina, fmt.Sprint("other", calls), count); err != nil {
			t.Fatal(err)
		}
		l.Lang = bot.French
		return app.Change{}, nil
	})
	if got := bot.KindOf(err); got != bot.Conflict {
		t.Fatalf("Update that always loses: got %v (kind %v), want kind %v", err, got, bot.Conflict)
	}
	if calls != 3 {
		t.Errorf("fn called %d times, want 3 (once and two retries)", calls)
	}
	l, err := s.Get(ctx, amina)
	if err != nil {
		t.Fatal(err)
	}
	if l.Lang != "" || l.Version != 3 {
		t.Errorf("Lang %q, Version %d; want the other replica's writes only", l.Lang, l.Version)
	}
	res, err := s.Update(ctx, amina, "SM1", count)
	if err != nil || res.Duplicate {
		t.Errorf("SM1 after a conflict: %+v, %v; want it applied now", res, err)
	}
}

// TestCorrupt checks that a value the store cannot read is an Internal error
// that does not name the learner, not a silent reset.
func TestCorrupt(t *testing.T) {
	s := open(t, Options{})
	c := admin(t)
	ctx := context.Background()
	if err := c.Set(ctx, s.keysOf(amina, "").learner, `{"lang":"fr"}`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	_, errGet := s.Get(ctx, amina)
	_, errUpdate := s.Update(ctx, amina, "SM1", func(*bot.Learner) (app.Change, error) {
		t.Error("fn called on a learner that does not decode")
		return app.Change{}, nil
	})
	errLearners := s.Learners(ctx, func(bot.Learner) error { return nil })
	for name, err := range map[string]error{"Get": errGet, "Update": errUpdate, "Learners": errLearners} {
		if got := bot.KindOf(err); got != bot.Internal {
			t.Errorf("%s: got %v (kind %v), want kind %v", name, err, got, bot.Internal)
		}
		if err != nil && strings.Contains(err.Error(), "212600000001") {
			t.Errorf("%s: error %q names the learner", name, err)
		}
	}
}

// TestKeys checks the key layout: every key of a learner has their
// bucket's hash tag, whatever the id contains, the learner's ids spread
// over the buckets, and learner keys parse back.
func TestKeys(t *testing.T) {
	s := New(redis.NewClient(&redis.Options{}), Options{Prefix: "p{x}:", Secret: []byte("a test secret of thirty-two bytes")})
	defer s.Close()
	b := s.bucketOf(amina)
	want := "p%7Bx%7D:{b" + strconv.Itoa(b) + "}:"
	lk := s.Keys().Learner(amina)
	if got := s.keysOf(amina, "SM1"); got.learner != want+"l:whatsapp:+212600000001" || got.msg != want+"m:"+lk+":"+s.Keys().Message(lk, "SM1") || got.due != want+"due" {
		t.Errorf("keysOf = %+v", got)
	}
	hashTag := func(key string) string {
		i := strings.Index(key, "{")
		j := strings.Index(key[i+1:], "}")
		return key[i+1 : i+1+j]
	}
	for _, id := range []string{amina, "sim:{a}b", "sim:}{", "sms:%7B", "a}:m:x"} {
		k := s.keysOf(id, "x}:l")
		tag := hashTag(k.learner)
		for _, key := range []string{k.index, k.msg, k.msgPrefix, k.due, s.cohortMembersKey(s.bucketOf(id), "K7M2QX"), s.cohortCountsKey(s.bucketOf(id), "A}B")} {
			if got := hashTag(key); got != tag {
				t.Errorf("id %q: key %q has hash tag %q, want %q", id, key, got, tag)
			}
		}
		if got, ok := s.learnerOfKey(k.learner); !ok || got != id {
			t.Errorf("learnerOfKey(%q) = %q, %v; want %q", k.learner, got, ok, id)
		}
		for _, key := range []string{k.index, k.msg, "other:" + k.learner} {
			if got, ok := s.learnerOfKey(key); ok {
				t.Errorf("learnerOfKey(%q) = %q, want no learner", key, got)
			}
		}
	}
	per := make([]int, s.buckets)
	for i := range 1600 {
		per[s.bucketOf(fmt.Sprintf("whatsapp:+2126%08d", i))]++
	}
	for b, n := range per {
		if n < 50 || n > 150 {
			t.Errorf("bucket %d holds %d of 1,600 learners, want about 100", b, n)
		}
	}
}

// TestLearnerSize measures what a typical learner costs Redis, key and
// overhead included: docs/architecture.md promises under 512 bytes.
func TestLearnerSize(t *testing.T) {
	got := learnerSize(t)
	t.Logf("typical learner: MEMORY USAGE %d bytes", got)
	if got >= 512 {
		t.Errorf("typical learner takes %d bytes in Redis, want under 512", got)
	}
}

// learnerSize saves a typical learner and returns its MEMORY USAGE. The
// test prefix is longer than the default one, so production takes less.
func learnerSize(tb testing.TB) int64 {
	tb.Helper()
	s := open(tb, Options{})
	ctx := context.Background()
	_, err := s.Update(ctx, amina, "SM1", func(l *bot.Learner) (app.Change, error) {
		*l = typical(time.Now())
		return app.Change{}, nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	n, err := admin(tb).MemoryUsage(ctx, s.keysOf(amina, "").learner).Result()
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// BenchmarkUpdate measures one learner receiving distinct messages, the
// webhook's path: a read, fn, and the compare-and-set of learner and record.
//
//	go test -run '^$' -bench . -benchmem ./bot/store/redisstore/
func BenchmarkUpdate(b *testing.B) {
	s := open(b, Options{})
	ctx := context.Background()
	replies := []bot.Reply{{Text: "Ta matière coûte 15 DH par pièce."}}
	fn := func(l *bot.Learner) (app.Change, error) {
		if l.Vars == nil {
			*l = typical(time.Now())
		}
		l.LastInboundAt = time.Now()
		l.UpdatedAt = l.LastInboundAt
		return app.Change{Replies: replies}, nil
	}
	b.ReportAllocs()
	before := s.RoundTrips()
	i := 0
	for b.Loop() {
		if _, err := s.Update(ctx, amina, fmt.Sprintf("SM%032d", i), fn); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(s.RoundTrips()-before)/float64(i), "roundtrips/op")
	n, err := admin(b).MemoryUsage(ctx, s.keysOf(amina, "").learner).Result()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n), "bytes/learner")
}

// BenchmarkUpdateParallel measures many learners at once, as a busy webhook
// sees them.
func BenchmarkUpdateParallel(b *testing.B) {
	s := open(b, Options{})
	ctx := context.Background()
	var mu sync.Mutex
	next := 0
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		id := fmt.Sprintf("whatsapp:+2126%08d", next)
		next++
		mu.Unlock()
		i := 0
		for pb.Next() {
			if _, err := s.Update(ctx, id, fmt.Sprintf("SM%032d", i), count); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// TestAliasKeys: the alias is one key in the learner's bucket whose name
// holds neither the number nor the BSUID; an erase leaves a tombstone that
// expires with the learner's message index, and holds neither either.
func TestAliasKeys(t *testing.T) {
	const id, bsuid = "whatsapp:+212600000001", "whatsapp:MA.1502576394655843"
	s := open(t, Options{Retention: time.Hour})
	ctx := context.Background()
	aliasKeys := func() map[string]string {
		keys, err := s.client.Keys(ctx, globEscape(s.prefix)+"*:a:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, k := range keys {
			m[k] = s.client.Get(ctx, k).Val()
			for _, secret := range []string{"212600000001", "1502576394655843"} {
				if strings.Contains(k, secret) {
					t.Errorf("alias key %s names %s", k, secret)
				}
			}
		}
		return m
	}
	if _, err := s.Update(ctx, id, "SM1", func(l *bot.Learner) (app.Change, error) { l.BSUID = bsuid; return app.Change{}, nil }); err != nil {
		t.Fatal(err)
	}
	k := s.keysOf(id, "")
	want := k.bucket + "a:" + s.Keys().Learner(bsuid)
	if got := aliasKeys(); len(got) != 1 || got[want] != escapeID(id) {
		t.Fatalf("alias keys %v, want %s holding the learner", got, want)
	}
	if _, err := s.Update(ctx, id, "SM2", func(*bot.Learner) (app.Change, error) { return app.Change{Erase: true}, nil }); err != nil {
		t.Fatal(err)
	}
	got := aliasKeys()
	if len(got) != 1 || got[want] != "~"+k.key {
		t.Fatalf("after the erase: %v, want the tombstone ~%s", got, k.key)
	}
	for _, v := range got {
		if strings.Contains(v, "212600000001") || strings.Contains(v, "1502576394655843") {
			t.Errorf("the tombstone holds %q", v)
		}
	}
	ttl, index := s.client.PTTL(ctx, want).Val(), s.client.PTTL(ctx, k.index).Val()
	if ttl <= 0 || ttl > time.Hour || index-ttl > time.Second {
		t.Errorf("the tombstone expires in %v, the message index in %v: want both within the hour, together", ttl, index)
	}
}
