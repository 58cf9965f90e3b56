package main

// The scale mode (-scale 10000,100000,1000000) measures how darsi behaves as
// the store grows. For each size, in increasing order, it seeds the
// learners the store lacks (the store grows from one size to the next, it
// is not seeded afresh), then measures: Redis memory per learner, the
// webhook under load, a 30-member cohort's page and API, the coach's
// cohort list, `darsi export learners`, and a reminder queued for a
// 10,000-member cohort. It prints one table with a column per size.
//
// Learners are written through the store's own code (redisstore.Import,
// the writes Update makes for a new learner, indexes included), cohorts and
// the coach's account through cohort.Store, so that the data is what darsi
// would have written. The population is realistic rather than uniform:
// mixed languages, a few opted out or not yet consented, some inside a
// lesson, completed lessons with scores, survey answers, and for most of
// them a time in the due index (a nudge after silence, a spaced review),
// in the future when seeded: those that come due while the tool runs are
// the trickle of outreach a real programme has, which darsi serve handles
// beside the measured load.
//
// Everything runs on 127.0.0.1, in a Redis database the tool empties
// before and after (db 11 by default: the tests use 12 and 13, the
// default mode 14).

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/store/redisstore"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
	"github.com/darsi-ma/darsi/lessons"
)

// The shape of the seeded programme. Learners are numbered from 0; the
// first smallCohort are the 30-member cohort, the next bigCohort the
// 10,000-member one, and the others are spread over cohorts of about
// cohortSize, but for one in 20 who joined no cohort.
const (
	smallCohort = 30
	bigCohort   = 10_000
	cohortSize  = 200
	// cohortSlots is how many learner numbers one ordinary cohort spans:
	// one in 20 of them has no cohort, so about cohortSize are members.
	cohortSlots = cohortSize * 21 / 20
	// coachCohorts is how many cohorts the measured coach follows, the
	// two measured ones first; every other coach follows as many.
	coachCohorts = 50
)

// The measured coach's account. The password and token are known to this
// tool only and live as long as its database.
const (
	coachLogin    = "scale-coach"
	coachPassword = "scale-bench-password"
	coachToken    = "scale-bench-token-0123456789abcdef"
)

// The scale mode's defaults for the webhook's load, shorter than the
// default mode's rounds: one run per size.
const (
	scaleDuration = 5 * time.Second
	scaleWarmup   = time.Second
)

// Tuning of the measurements.
const (
	// pageRequests is how many requests measure each page, after
	// pageWarmups that are not measured.
	pageRequests = 20
	pageWarmups  = 2
	// seedWorkers write learners at once, each its own Import pipelines:
	// Redis runs the scripts one at a time, but the workers' encoding and
	// round trips overlap with it.
	seedWorkers = 4
	seedChunk   = 1000
	// memorySample is how many learners (and jobs) MEMORY USAGE is read for.
	memorySample = 1000
	// maxScale bounds a size: phone numbers have 8 free digits, and a
	// bigger store would not fit the tool's time bound anyway.
	maxScale = 10_000_000
)

// runScale is the scale mode: sizes is the -scale flag's value, set names
// the flags the caller gave (the others take the scale mode's defaults).
func runScale(sizes string, learners int, duration, warmup time.Duration, set map[string]bool, redisURL string) error {
	ns, err := parseSizes(sizes)
	if err != nil {
		return err
	}
	if !set["duration"] {
		duration = scaleDuration
	}
	if !set["warmup"] {
		warmup = scaleWarmup
	}
	if learners < 1 || duration <= 0 || warmup < 0 {
		return errors.New("-learners and -duration must be above 0, -warmup not below")
	}
	// A generous bound: on two cores seeding takes about 30µs a learner
	// and the export 15µs, so a millisecond a learner leaves room for a
	// busy machine.
	bound := 10*time.Minute + time.Duration(ns[len(ns)-1])*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	// An interrupted run still empties its database (the deferred calls
	// run once ctx ends).
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, err := os.MkdirTemp("", "darsi-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, templates, err := prepare(ctx, dir)
	if err != nil {
		return err
	}

	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("redis at %s: %w", redisURL, err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	if err := claimDatabase(ctx, rdb); err != nil {
		return fmt.Errorf("redis at %s: %w", redisURL, err)
	}
	defer func() {
		if err := rdb.FlushDB(context.Background()).Err(); err != nil {
			fmt.Fprintln(os.Stderr, "darsi-load: emptying the database:", err)
			return
		}
		if used, err := usedMemory(context.Background(), rdb); err == nil {
			fmt.Printf("\ndatabase %d emptied; Redis used_memory is back to %s\n", opts.DB, bytesIEC(used))
		}
	}()

	cat, err := lesson.Load(lessons.FS, "lessons/")
	if err != nil {
		return fmt.Errorf("lessons: %w", err)
	}
	store, err := redisstore.Open(ctx, redisURL, redisstore.Options{})
	if err != nil {
		return err
	}
	defer store.Close()

	fake := twiliotest.Start(accountSID, authToken)
	defer fake.Close()

	p := &population{store: store, cat: cat, now: time.Now()}
	if err := p.putCoaches(ctx, -1); err != nil {
		return err
	}

	fmt.Printf("darsi-load -scale: %s learners in Redis %s (emptied before and after), on %d CPUs\n",
		joinInts(ns, " → "), redisURL, runtime.NumCPU())
	fmt.Printf("each size: seed what is missing; webhook from %d seeded learners for %s after a %s warm-up; pages %d requests after %d unmeasured\n\n",
		learners, duration, warmup, pageRequests, pageWarmups)

	var cols []scaleColumn
	failed := 0
	for _, n := range ns {
		col, err := measureSize(ctx, p, rdb, n, scaleRun{
			bin: bin, templates: templates, twilioURL: fake.URL, redisURL: redisURL,
			learners: learners, duration: duration, warmup: warmup,
		})
		if err != nil {
			return fmt.Errorf("%s learners: %w", thousands(n), err)
		}
		failed += col.failed
		cols = append(cols, col)
	}
	printScaleTable(os.Stdout, cols)
	if failed > 0 {
		return fmt.Errorf("%d requests failed", failed)
	}
	return nil
}

// parseSizes reads the -scale flag: numbers of learners, separated by
// commas, put in increasing order.
func parseSizes(s string) ([]int, error) {
	var ns []int
	for field := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(field), "_", ""))
		if err != nil || n < smallCohort || n > maxScale {
			return nil, fmt.Errorf("-scale %q: want numbers of learners from %d to %d, separated by commas", s, smallCohort, maxScale)
		}
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return slices.Compact(ns), nil
}

// claimDatabase empties the tool's database, after checking that it holds
// nothing but darsi's keys: a database someone else uses is refused, not
// emptied.
func claimDatabase(ctx context.Context, rdb *redis.Client) error {
	n, err := rdb.DBSize(ctx).Result()
	if err != nil {
		return err
	}
	if n > 0 {
		for range 20 {
			key, err := rdb.RandomKey(ctx).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			if key != "" && !strings.HasPrefix(key, redisstore.DefaultPrefix) {
				return fmt.Errorf("database %d holds keys that are not darsi's (such as %q): choose another with -redis", rdb.Options().DB, key)
			}
		}
	}
	return rdb.FlushDB(ctx).Err()
}

// scaleRun is what every size's measurements share.
type scaleRun struct {
	bin, templates, twilioURL, redisURL string
	learners                            int
	duration, warmup                    time.Duration
}

// scaleColumn is what one size measured.
type scaleColumn struct {
	learners, added, cohorts int
	seed                     time.Duration
	usedMemory               int64
	// memoryPerLearner is the growth of Redis's used_memory while the
	// learners were added, per learner; learnerKey the mean MEMORY USAGE
	// of a sample of learner keys.
	memoryPerLearner, learnerKey float64
	// dueEntry and memberEntry are what a learner takes in the due index
	// and in their cohort's member sets: MEMORY USAGE of those keys in
	// every bucket, per entry.
	dueEntry, memberEntry float64
	keys                  int64
	webhook               result
	cohortPage, cohortAPI []time.Duration // sorted
	listPage, listAPI     []time.Duration // sorted
	listed                int             // cohorts the list shows
	readCohorts           []time.Duration // sorted; cohort.Store's Cohorts
	export                time.Duration
	exported              int
	remind                time.Duration
	queued                int
	memoryPerJob, jobKey  float64
	failed                int
}

// measureSize grows the store to n learners and measures it.
func measureSize(ctx context.Context, p *population, rdb *redis.Client, n int, run scaleRun) (scaleColumn, error) {
	col := scaleColumn{learners: n, added: n - p.seeded}
	before, err := usedMemory(ctx, rdb)
	if err != nil {
		return col, err
	}
	began := time.Now()
	if err := p.seed(ctx, n); err != nil {
		return col, err
	}
	col.seed = time.Since(began)
	after, err := usedMemory(ctx, rdb)
	if err != nil {
		return col, err
	}
	col.usedMemory = after
	col.memoryPerLearner = float64(after-before) / float64(col.added)
	col.cohorts = len(p.codes)
	if col.learnerKey, err = meanMemoryUsage(ctx, rdb, "l:", sampleIDs(memorySample, n, learnerID)); err != nil {
		return col, err
	}
	if col.dueEntry, err = memoryPerEntry(ctx, rdb, "due", "zset"); err != nil {
		return col, err
	}
	if col.memberEntry, err = memoryPerEntry(ctx, rdb, "cm:"+p.codes[min(1, len(p.codes)-1)], "set"); err != nil {
		return col, err
	}
	if col.keys, err = rdb.DBSize(ctx).Result(); err != nil {
		return col, err
	}
	fmt.Printf("%s learners: seeded %s in %s (%s a second); %s cohorts; Redis used_memory %s, %+.0f bytes per learner added\n",
		thousands(n), thousands(col.added), seconds(col.seed), thousands(int(float64(col.added)/col.seed.Seconds())),
		thousands(col.cohorts), bytesIEC(after), col.memoryPerLearner)

	srv, addr, err := startDarsi(ctx, run.bin, run.redisURL, run.templates, run.twilioURL)
	if err != nil {
		return col, err
	}
	defer srv.stop()
	base := "http://" + addr

	from := make([]string, run.learners)
	for k := range from {
		// Spread over the store, outside the 30-member cohort, whose
		// page is measured.
		from[k] = learnerID(smallCohort + k*(n-smallCohort)/run.learners)
	}
	col.webhook = newTarget("webhook", base, "scale", from).drive(ctx, run.warmup, run.duration)
	col.failed += col.webhook.failed
	fmt.Printf("  webhook: %s messages a second, p50 %s, p99 %s, %d failed\n",
		thousands(int(col.webhook.rate())), latency(col.webhook.pct(50)), latency(col.webhook.pct(99)), col.webhook.failed)

	// A second for the server and Redis to finish what the webhook's
	// load left them (collecting garbage, expiring keys), which is no
	// part of what a coach's page costs.
	if err := sleepCtx(ctx, time.Second); err != nil {
		return col, err
	}
	coach, err := newCoachClient(ctx, base)
	if err != nil {
		return col, err
	}
	small, big := p.codes[0], p.codes[min(1, len(p.codes)-1)]
	col.listed = min(len(p.codes), coachCohorts)
	ds, err := timeRequests(
		func() error { return coach.page(ctx, "/coach/cohorts/"+small) },
		func() error { return coach.learners(ctx, small, min(n, smallCohort)) },
		func() error { return coach.page(ctx, "/coach/") },
		func() error { return coach.cohorts(ctx, col.listed) },
		// What the list reads first, every cohort of the programme, to
		// keep the coach's: timed from here, through the store.
		func() error {
			cs, err := p.store.Cohorts(ctx, coachLogin)
			if err == nil && len(cs) != col.listed {
				err = fmt.Errorf("the store lists %d cohorts of the coach, want %d", len(cs), col.listed)
			}
			return err
		},
	)
	if err != nil {
		return col, fmt.Errorf("the coach's pages: %w", err)
	}
	col.cohortPage, col.cohortAPI, col.listPage, col.listAPI, col.readCohorts = ds[0], ds[1], ds[2], ds[3], ds[4]
	fmt.Printf("  coach: 30-member cohort page %s, its API %s, cohort list page %s, its API %s (medians)\n",
		millis(medianDuration(col.cohortPage)), millis(medianDuration(col.cohortAPI)),
		millis(medianDuration(col.listPage)), millis(medianDuration(col.listAPI)))

	if err := remindBig(ctx, p, rdb, coach, big, n, &col); err != nil {
		return col, fmt.Errorf("the reminder: %w", err)
	}
	fmt.Printf("  reminder for the %s-member cohort: %s queued in %s, %+.0f bytes of used_memory a job\n",
		thousands(min(bigCohort, n-smallCohort)), thousands(col.queued), seconds(col.remind), col.memoryPerJob)

	// The server is stopped first, so that the export has the machine
	// to itself, as the other figures had.
	srv.stop()
	began = time.Now()
	col.exported, err = exportLearners(ctx, run.bin, run.redisURL)
	col.export = time.Since(began)
	if err != nil {
		return col, fmt.Errorf("darsi export learners: %w", err)
	}
	if col.exported != n {
		return col, fmt.Errorf("darsi export learners printed %d lines, want %d", col.exported, n)
	}
	fmt.Printf("  export: %s lines in %s\n\n", thousands(col.exported), seconds(col.export))
	return col, nil
}

// remindBig queues a reminder for the big cohort through the API, due in a
// month so that the server's outbox runner leaves it alone, measures it and
// the memory its jobs take, then cancels and removes the jobs, so that the
// next size queues as many afresh.
func remindBig(ctx context.Context, p *population, rdb *redis.Client, coach *coachClient, code string, n int, col *scaleColumn) error {
	before, err := usedMemory(ctx, rdb)
	if err != nil {
		return err
	}
	at := p.now.Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	// A text of its own at each size, so that no size finds the jobs of
	// another (they are removed anyway).
	text := fmt.Sprintf("Rappel : la séance de demain commence à 10 h. À demain ! (%s)", thousands(n))
	began := time.Now()
	res, err := coach.remind(ctx, code, text, at)
	col.remind = time.Since(began)
	if err != nil {
		return err
	}
	col.queued = res.Queued
	after, err := usedMemory(ctx, rdb)
	if err != nil {
		return err
	}
	if res.Queued > 0 {
		col.memoryPerJob = float64(after-before) / float64(res.Queued)
	}

	members := p.members(1, n)
	jobIDs := make([]string, len(members))
	for i, id := range members {
		jobIDs[i] = app.JobID(res.ID, p.store.Keys().Learner(id))
	}
	if col.jobKey, err = meanMemoryUsage(ctx, rdb, "j:", sampleIDs(memorySample, len(jobIDs), func(i int) string { return jobIDs[i] })); err != nil {
		return err
	}
	return p.removeJobs(ctx, code, jobIDs)
}

// removeJobs cancels the jobs, some of which may not exist (members who
// opted out got none), then removes them as retention would a month later.
func (p *population) removeJobs(ctx context.Context, code string, ids []string) error {
	err := parallel(ctx, len(ids), seedWorkers, func(i int) error {
		if err := p.store.Cancel(ctx, ids[i]); err != nil && bot.KindOf(err) != bot.NotFound {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Each call removes up to 200 ended jobs a bucket.
	for range 1000 {
		counts, err := p.store.Counts(ctx, code)
		if err != nil {
			return err
		}
		left := 0
		for _, n := range counts {
			left += n
		}
		if left == 0 {
			return nil
		}
		if err := p.store.PurgeJobs(ctx, time.Now().Add(redisstore.DefaultJobRetention+time.Minute)); err != nil {
			return err
		}
	}
	return errors.New("the cancelled jobs were not removed")
}

// exportLearners runs `darsi export learners` on the store and counts the
// lines it prints.
func exportLearners(ctx context.Context, bin, redisURL string) (int, error) {
	cmd := exec.CommandContext(ctx, bin, "export", "learners")
	cmd.Env = append(callerEnv(), "DARSI_STORE="+redisURL, "DARSI_LOG_LEVEL=warn")
	var lines lineCounter
	cmd.Stdout, cmd.Stderr = &lines, os.Stderr
	err := cmd.Run()
	return int(lines), err
}

// lineCounter counts the lines written to it, and keeps nothing.
type lineCounter int

func (c *lineCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			*c++
		}
	}
	return len(p), nil
}

// usedMemory is Redis's used_memory: what its allocator holds, for every
// database and client of the server.
func usedMemory(ctx context.Context, rdb *redis.Client) (int64, error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("INFO memory has no used_memory")
}

// meanMemoryUsage is the mean MEMORY USAGE of the keys of ids of one kind
// (kind is "l:" for learners, "j:" for jobs: see the store's layout.go).
// An id's bucket is the store's business: the key is looked for in every
// bucket, in one pipeline, and ids without one are left out.
func meanMemoryUsage(ctx context.Context, rdb *redis.Client, kind string, ids []string) (float64, error) {
	var cmds []*redis.IntCmd
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			for b := range redisstore.DefaultBuckets {
				cmds = append(cmds, p.MemoryUsage(ctx, redisstore.DefaultPrefix+"{b"+strconv.Itoa(b)+"}:"+kind+id))
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, err
	}
	total, found := int64(0), 0
	for _, c := range cmds {
		if v, err := c.Result(); err == nil {
			total += v
			found++
		}
	}
	if found == 0 {
		return math.NaN(), nil
	}
	return float64(total) / float64(found), nil
}

// sleepCtx waits for d, or less if ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// memoryPerEntry is the MEMORY USAGE of one key of every bucket (name is
// the key within the bucket, as the store's layout.go lists them), every
// element counted, divided by their elements; kind is "zset" or "set".
func memoryPerEntry(ctx context.Context, rdb *redis.Client, name, kind string) (float64, error) {
	var usage, cards []*redis.IntCmd
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for b := range redisstore.DefaultBuckets {
			key := redisstore.DefaultPrefix + "{b" + strconv.Itoa(b) + "}:" + name
			usage = append(usage, p.MemoryUsage(ctx, key, 0))
			if kind == "zset" {
				cards = append(cards, p.ZCard(ctx, key))
			} else {
				cards = append(cards, p.SCard(ctx, key))
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, err
	}
	total, entries := int64(0), int64(0)
	for i := range usage {
		if u, err := usage[i].Result(); err == nil {
			total += u
			entries += cards[i].Val()
		}
	}
	if entries == 0 {
		return math.NaN(), nil
	}
	return float64(total) / float64(entries), nil
}

// sampleIDs returns up to k ids spread evenly over the n that id names.
func sampleIDs(k, n int, id func(int) string) []string {
	k = min(k, n)
	ids := make([]string, k)
	for j := range ids {
		ids[j] = id(j * n / k)
	}
	return ids
}
