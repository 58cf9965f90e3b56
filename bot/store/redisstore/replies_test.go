package redisstore

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// ownRedis starts a Redis server of the test's own on a free port (so that
// the test may flush its scripts, as a restart does, without touching the
// shared one) and stops it when the test ends.
func ownRedis(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	url := "redis://127.0.0.1:" + strconv.Itoa(port)
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
	defer c.Close()
	for deadline := time.Now().Add(5 * time.Second); ; {
		if c.Ping(context.Background()).Err() == nil {
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %d did not answer", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// replyTurn returns the reply jobs of one turn of amina's, due at t0.
func replyTurn(msg string, n int) []schedule.Job {
	jobs := make([]schedule.Job, n)
	for i := range jobs {
		jobs[i] = schedule.Job{ID: schedule.ReplyID("L0123456789abcdef0123", msg, i), Kind: schedule.Reply, Learner: amina,
			Text: "reply " + strconv.Itoa(i), DueAt: t0, CreatedAt: t0, CreatedBy: "darsi"}
		if i > 0 {
			jobs[i].After = jobs[i-1].ID
		}
	}
	return jobs
}

// sentAll returns the settlements of jobs sent, each with its delivery.
func sentAll(jobs []schedule.Job, sid string) []schedule.Settlement {
	items := make([]schedule.Settlement, len(jobs))
	for i, j := range jobs {
		j.Status, j.SID, j.SentAt, j.UpdatedAt, j.LeaseUntil = schedule.Sent, sid+strconv.Itoa(i), t0, t0, time.Time{}
		items[i] = schedule.Settlement{Job: j, Delivery: &bot.Delivery{SID: j.SID, JobID: j.ID, Status: bot.StatusQueued, UpdatedAt: t0}}
	}
	return items
}

// TestReplyLaneRoundTrips holds a REST turn's outbox writes to one round
// trip to queue its replies claimed and one to settle them all with their
// delivery records, however many replies, once Redis has the scripts.
func TestReplyLaneRoundTrips(t *testing.T) {
	ctx := context.Background()
	s := open(t, Options{})
	// Warm up: the first run of each script may cost a NOSCRIPT.
	warm, _, err := s.EnqueueClaimed(ctx, "w", t0, time.Minute, replyTurn("SMwarm", 1)...)
	if err != nil {
		t.Fatal(err)
	}
	if errs := s.SettleAll(ctx, sentAll(warm, "SMw")...); errs[0] != nil {
		t.Fatal(errs[0])
	}
	for _, n := range []int{1, 3, 8} {
		msg := "SM" + strconv.Itoa(n)
		before := s.RoundTrips()
		jobs, claimed, err := s.EnqueueClaimed(ctx, "w", t0, time.Minute, replyTurn(msg, n)...)
		if err != nil || len(claimed) != n || !claimed[n-1] {
			t.Fatalf("EnqueueClaimed of %d: %v, %v", n, claimed, err)
		}
		if got := s.RoundTrips() - before; got != 1 {
			t.Errorf("EnqueueClaimed of %d replies: %d round trips, want 1", n, got)
		}
		before = s.RoundTrips()
		for i, err := range s.SettleAll(ctx, sentAll(jobs, msg)...) {
			if err != nil {
				t.Fatalf("SettleAll, reply %d: %v", i, err)
			}
		}
		if got := s.RoundTrips() - before; got != 1 {
			t.Errorf("SettleAll of %d replies: %d round trips, want 1", n, got)
		}
	}
}

// TestReplyLaneLostScripts: a Redis that restarted has lost its scripts;
// EnqueueClaimed and SettleAll load them and go on, and SettleAll sends
// again only what Redis refused, so that no settle is made twice (which
// would find the job no longer claimed) and none is lost.
func TestReplyLaneLostScripts(t *testing.T) {
	ctx := context.Background()
	url := ownRedis(t)
	s, err := Open(ctx, url, Options{Prefix: newPrefix(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := redis.NewClient(&redis.Options{Addr: url[len("redis://"):]})
	defer c.Close()
	flush := func() {
		t.Helper()
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}
	flush()
	jobs, claimed, err := s.EnqueueClaimed(ctx, "w", t0, time.Minute, replyTurn("SM1", 3)...)
	if err != nil || len(claimed) != 3 || !claimed[0] || !claimed[2] || jobs[2].Status != schedule.Claimed {
		t.Fatalf("EnqueueClaimed after a flush: %v, %v", claimed, err)
	}
	check := func(what string, items []schedule.Settlement, errs []error) {
		t.Helper()
		for i, it := range items {
			if errs[i] != nil {
				t.Errorf("%s, reply %d: %v", what, i, errs[i])
				continue
			}
			if j, err := s.Job(ctx, it.Job.ID); err != nil || j.Status != schedule.Sent || j.SID != it.Job.SID {
				t.Errorf("%s, reply %d: %+v, %v", what, i, j, err)
			}
			if d, err := s.Delivery(ctx, it.Delivery.SID); err != nil || d.JobID != it.Job.ID {
				t.Errorf("%s, the delivery of reply %d: %+v, %v", what, i, d, err)
			}
		}
	}
	// No script at all.
	flush()
	items := sentAll(jobs[:2], "SMa")
	check("SettleAll with no script", items, s.SettleAll(ctx, items...))
	// The delivery's script only: the settles go first, then alone again.
	flush()
	if _, err := s.AdvanceDelivery(ctx, bot.Delivery{SID: "SMx", Status: bot.StatusSent}); err != nil {
		t.Fatal(err)
	}
	items = sentAll(jobs[2:], "SMb")
	check("SettleAll with the delivery's script only", items, s.SettleAll(ctx, items...))
	// The settle's script only: the records go again, alone.
	more, _, err := s.EnqueueClaimed(ctx, "w", t0, time.Minute, replyTurn("SM2", 2)...)
	if err != nil {
		t.Fatal(err)
	}
	flush()
	if err := s.Settle(ctx, schedule.Job{ID: "none", Learner: amina, DueAt: t0, Status: schedule.Queued}); bot.KindOf(err) != bot.NotFound {
		t.Fatalf("Settle of no job: %v", err)
	}
	items = sentAll(more, "SMc")
	check("SettleAll with the settle's script only", items, s.SettleAll(ctx, items...))
	counts, err := s.Counts(ctx, "")
	if err != nil || counts[schedule.Sent] != 5 || len(counts) != 1 {
		t.Errorf("counts %v, %v; want 5 sent", counts, err)
	}
}

// BenchmarkReplyTurn measures the outbox's part in a REST turn of two
// replies, as the reply lane writes it (queued claimed, then settled with
// the delivery records together: "together") and as it did before (queued,
// then per reply a claim, a settle and the delivery record: "one-by-one"),
// in the same run. An op is one turn.
//
//	go test -run '^$' -bench ReplyTurn ./bot/store/redisstore/
func BenchmarkReplyTurn(b *testing.B) {
	s := open(b, Options{})
	ctx := context.Background()
	const replies = 2
	turns := 0
	next := func() []schedule.Job {
		turns++
		return replyTurn("SM"+strconv.Itoa(turns), replies)
	}
	sent := func(j schedule.Job) (schedule.Job, bot.Delivery) {
		j.Status, j.SID, j.SentAt, j.UpdatedAt, j.LeaseUntil = schedule.Sent, "SM"+j.ID, t0, t0, time.Time{}
		return j, bot.Delivery{SID: j.SID, JobID: j.ID, Status: bot.StatusQueued, UpdatedAt: t0}
	}
	run := func(b *testing.B, turn func(jobs []schedule.Job)) {
		turn(next()) // the scripts loaded
		before := s.RoundTrips()
		ops := 0
		b.ReportAllocs()
		for b.Loop() {
			turn(next())
			ops++
		}
		b.ReportMetric(float64(s.RoundTrips()-before)/float64(ops), "roundtrips/op")
	}
	b.Run("one-by-one", func(b *testing.B) {
		run(b, func(jobs []schedule.Job) {
			if _, err := s.Enqueue(ctx, jobs...); err != nil {
				b.Fatal(err)
			}
			for _, j := range jobs {
				got, ok, err := s.ClaimJob(ctx, "w", j.ID, t0, time.Minute)
				if err != nil || !ok {
					b.Fatalf("ClaimJob: %v, %v", ok, err)
				}
				j, d := sent(got)
				if _, err := s.AdvanceDelivery(ctx, d); err != nil {
					b.Fatal(err)
				}
				if err := s.Settle(ctx, j); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("together", func(b *testing.B) {
		run(b, func(jobs []schedule.Job) {
			got, claimed, err := s.EnqueueClaimed(ctx, "w", t0, time.Minute, jobs...)
			if err != nil || !claimed[len(claimed)-1] {
				b.Fatalf("EnqueueClaimed: %v, %v", claimed, err)
			}
			items := make([]schedule.Settlement, len(got))
			for i, j := range got {
				j, d := sent(j)
				items[i] = schedule.Settlement{Job: j, Delivery: &d}
			}
			for _, err := range s.SettleAll(ctx, items...) {
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
