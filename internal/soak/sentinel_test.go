package soak

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func init() { startSentinels = startSentinelSet }

// sentinelMaster is the name the Sentinels know the master by.
const sentinelMaster = "darsi"

// sentinelSet is a Redis master with two replicas and three Sentinels,
// local processes on free ports, each with its append-only file fsynced
// at every write; darsi reaches them by redis-sentinel://.
type sentinelSet struct {
	nodes     []*Redis // the master first, at the start
	sentinels []*Redis
	query     string
}

func startSentinelSet(dir, query string) (backend, error) {
	s := &sentinelSet{query: query}
	fail := func(err error) (backend, error) { s.Close(); return nil, err }
	durable := []string{"--appendonly", "yes", "--appendfsync", "always"}
	master, err := StartRedis(filepath.Join(dir, "node-0"), durable...)
	if err != nil {
		return fail(err)
	}
	s.nodes = append(s.nodes, master)
	host, port, _ := net.SplitHostPort(master.Addr)
	for i := 1; i <= 2; i++ {
		r, err := StartRedis(filepath.Join(dir, fmt.Sprintf("node-%d", i)), append(durable, "--replicaof", host, port)...)
		if err != nil {
			return fail(err)
		}
		s.nodes = append(s.nodes, r)
	}
	for i := 1; i <= 3; i++ {
		sdir := filepath.Join(dir, fmt.Sprintf("sentinel-%d", i))
		if err := os.MkdirAll(sdir, 0o755); err != nil {
			return fail(err)
		}
		conf := filepath.Join(sdir, "sentinel.conf")
		text := fmt.Sprintf("sentinel monitor %[1]s %[2]s %[3]s 2\n"+
			"sentinel down-after-milliseconds %[1]s 1000\n"+
			"sentinel failover-timeout %[1]s 4000\n"+
			"sentinel parallel-syncs %[1]s 2\n", sentinelMaster, host, port)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			return fail(err)
		}
		r, err := startSentinel(sdir, conf)
		if err != nil {
			return fail(err)
		}
		s.sentinels = append(s.sentinels, r)
	}
	// The replicas have synced with the master.
	for _, r := range s.nodes[1:] {
		c := redis.NewClient(&redis.Options{Addr: r.Addr})
		for i := 0; ; i++ {
			info, _ := c.Info(context.Background(), "replication").Result()
			if strings.Contains(info, "master_link_status:up") {
				break
			}
			if i > 200 {
				c.Close()
				return fail(fmt.Errorf("replica %s did not sync: %s", r.Addr, info))
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.Close()
	}
	// The Sentinels know the master and its replicas.
	deadline := time.Now().Add(20 * time.Second)
	for {
		addr, replicas, err := s.master(context.Background())
		if err == nil && addr == master.Addr && replicas == 2 {
			break
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("the Sentinels did not see the master and 2 replicas: %s, %d, %v", addr, replicas, err))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return s, nil
}

// startSentinel runs redis-server --sentinel with its own config file,
// which Sentinel rewrites as it learns.
func startSentinel(dir, conf string) (*Redis, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	r := &Redis{Addr: addr, dir: dir, args: []string{conf, "--sentinel", "--port", port, "--bind", "127.0.0.1",
		"--dir", dir, "--daemonize", "no", "--protected-mode", "no"}}
	return r, r.Start()
}

// master asks the first Sentinel that answers where the master is and
// how many replicas it has.
func (s *sentinelSet) master(ctx context.Context) (string, int, error) {
	var last error
	for _, sn := range s.sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr, MaxRetries: -1, DialTimeout: time.Second})
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		addr, err := c.GetMasterAddrByName(cctx, sentinelMaster).Result()
		var replicas []map[string]string
		if err == nil {
			replicas, err = c.Replicas(cctx, sentinelMaster).Result()
		}
		cancel()
		c.Close()
		if err != nil {
			last = err
			continue
		}
		up := 0
		for _, r := range replicas {
			if !strings.Contains(r["flags"], "down") && !strings.Contains(r["flags"], "disconnected") {
				up++
			}
		}
		return net.JoinHostPort(addr[0], addr[1]), up, nil
	}
	return "", 0, last
}

func (s *sentinelSet) URL() string {
	hosts := make([]string, len(s.sentinels))
	for i, sn := range s.sentinels {
		hosts[i] = sn.Addr
	}
	return withQuery("redis-sentinel://"+strings.Join(hosts, ",")+"/"+sentinelMaster+"/0", s.query)
}

func (s *sentinelSet) Direct() string { return s.URL() }

func (s *sentinelSet) Close() {
	for _, r := range append(s.sentinels, s.nodes...) {
		if r != nil {
			r.Stop()
		}
	}
}

// Faults: the master is killed (SIGKILL) under traffic; the Sentinels
// promote a replica; the old master comes back 5 s after the failover and
// is made a replica of the new one.
func (s *sentinelSet) Faults(ctx context.Context, h *harness, at func(frac float64) <-chan time.Time) {
	select {
	case <-ctx.Done():
		return
	case <-at(0.55):
	}
	addr, _, err := s.master(ctx)
	if err != nil {
		h.problem("before the failover: %v", err)
		return
	}
	var old *Redis
	for _, n := range s.nodes {
		if n.Addr == addr {
			old = n
		}
	}
	if old == nil {
		h.problem("the master %s is none of the nodes", addr)
		return
	}
	h.logf("SIGKILL the Redis master %s", addr)
	killed := time.Now()
	old.Kill()
	h.faults.add("master-kill", 1)
	for {
		now, _, err := s.master(ctx)
		if err == nil && now != addr {
			h.logf("failover: %s is the master, %.1f s after the kill", now, time.Since(killed).Seconds())
			h.failoverAfter = time.Since(killed)
			break
		}
		if ctx.Err() != nil || time.Since(killed) > 60*time.Second {
			h.problem("no failover 60 s after the master was killed")
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(5 * time.Second)
	if err := old.Start(); err != nil {
		h.problem("restarting the old master: %v", err)
		return
	}
	h.logf("the old master is back, to be a replica")
}

// TestSentinelFailover runs darsi's two replicas on redis-sentinel:// to a
// master, two replicas and three Sentinels (local processes), with
// learners, reminders and nudges as in the soak, kills the master under
// traffic, and wants darsi to go on after the failover with the soak's
// invariants: every learner as their twin, every reply, due reminder and
// nudge sent once, nothing in quiet hours. Writes wait for a replica
// (min_replicas=1), so that a write acknowledged to Twilio survives the
// failover.
func TestSentinelFailover(t *testing.T) {
	opts := Options{Duration: 40 * time.Second, Learners: 100, Sentinel: true, StoreQuery: "min_replicas=1",
		Progress: testWriter{t}}
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.Print(&b)
	t.Log("\n" + b.String())
	if !rep.OK() {
		t.Fatalf("invariants failed across the failover: lost %d, duplicated %d, wrong %d, %d problems", rep.Lost, rep.Duplicated, rep.Wrong, len(rep.Problems))
	}
	if rep.Faults["master-kill"] != 1 || rep.Faults["replica-kill"] != 1 {
		t.Errorf("faults %v, want the master and a darsi replica killed", rep.Faults)
	}
	if rep.Messages == 0 || rep.REST == 0 || rep.Reminders == 0 {
		t.Errorf("a part of the run did not happen: %+v", rep)
	}
}
