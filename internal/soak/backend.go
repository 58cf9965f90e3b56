package soak

import (
	"context"
	"path/filepath"
	"time"
)

// single is one Redis with an append-only file fsynced at every write
// (appendfsync always: a write darsi was told is done is on disk, so a
// learner's turn acknowledged to Twilio survives a crash of Redis), with
// the fault proxy between it and darsi.
type single struct {
	redis *Redis
	proxy *Proxy
	query string
}

func startSingle(dir, query string) (*single, error) {
	r, err := StartRedis(filepath.Join(dir, "redis"), "--appendonly", "yes", "--appendfsync", "always")
	if err != nil {
		return nil, err
	}
	p, err := NewProxy(r.Addr)
	if err != nil {
		r.Stop()
		return nil, err
	}
	return &single{redis: r, proxy: p, query: query}, nil
}

func (s *single) URL() string    { return withQuery("redis://"+s.proxy.Addr()+"/0", s.query) }
func (s *single) Direct() string { return "redis://" + s.redis.Addr + "/0" }

func (s *single) Close() {
	s.proxy.Close()
	s.redis.Stop()
}

func withQuery(u, q string) string {
	if q == "" {
		return u
	}
	return u + "?" + q
}

// Faults: latency, dropped connections, Redis killed and restarted, then
// both network faults at once.
func (s *single) Faults(ctx context.Context, h *harness, at func(frac float64) <-chan time.Time) {
	wait := func(frac float64) bool {
		select {
		case <-ctx.Done():
			return false
		case <-at(frac):
			return true
		}
	}
	sleep := func(d time.Duration) {
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
	D := h.opts.Duration
	if !wait(0.12) {
		return
	}
	h.logf("proxy: 150 ms of latency each way for %s", D/12)
	s.proxy.SetLatency(150 * time.Millisecond)
	h.faults.add("latency", 1)
	sleep(D / 12)
	s.proxy.SetLatency(0)

	if !wait(0.25) {
		return
	}
	n := s.proxy.Drop()
	s.proxy.SetRefuse(true)
	h.logf("proxy: dropped %d connections, refusing new ones for 2 s", n)
	h.faults.add("drop", 1)
	sleep(2 * time.Second)
	s.proxy.SetRefuse(false)

	if !wait(0.52) {
		return
	}
	h.logf("SIGKILL redis")
	s.redis.Kill()
	h.faults.add("redis-kill", 1)
	sleep(2 * time.Second)
	if err := s.redis.Start(); err != nil {
		h.problem("restarting Redis: %v", err)
		return
	}
	h.logf("redis restarted from its append-only file")

	if !wait(0.66) {
		return
	}
	h.logf("proxy: dropped %d connections, 60 ms of latency for %s", s.proxy.Drop(), D/15)
	h.faults.add("drop", 1)
	h.faults.add("latency", 1)
	s.proxy.SetLatency(60 * time.Millisecond)
	sleep(D / 15)
	s.proxy.SetLatency(0)
}

// startSentinels is set by the Sentinel test's file.
var startSentinels = func(dir, query string) (backend, error) {
	return nil, errNoSentinel
}
