package redisstore

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
)

// startServer runs a redis-server of the test's own on a free port,
// killed when the test ends (or by kill), and returns its address.
func startServer(t *testing.T, args ...string) (addr string, kill func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("redis-server", append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", t.TempDir(), "--daemonize", "no"}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server: %v (is Redis installed?)", err)
	}
	kill = func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	t.Cleanup(kill)
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	for i := 0; ; i++ {
		if c.Ping(context.Background()).Err() == nil {
			return addr, kill
		}
		if i > 100 {
			t.Fatalf("redis-server on %s did not answer", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMinReplicas: with min_replicas=1 and a replica following the
// master, a write is on the replica when Update returns; once the replica
// is gone, a write fails as Unavailable after min_replicas_timeout.
func TestMinReplicas(t *testing.T) {
	ctx := context.Background()
	master, _ := startServer(t)
	host, port, _ := net.SplitHostPort(master)
	replica, killReplica := startServer(t, "--replicaof", host, port)
	rc := redis.NewClient(&redis.Options{Addr: replica})
	defer rc.Close()
	for i := 0; ; i++ {
		info, _ := rc.Info(ctx, "replication").Result()
		if strings.Contains(info, "master_link_status:up") {
			break
		}
		if i > 200 {
			t.Fatalf("the replica did not sync: %s", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s, err := Open(ctx, "redis://"+master+"/0?min_replicas=1&min_replicas_timeout=500ms", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	set := func(lang bot.Lang) func(l *bot.Learner) (app.Change, error) {
		return func(l *bot.Learner) (app.Change, error) { l.Lang = lang; return app.Change{}, nil }
	}
	// Read on the replica itself (New writes nothing, unlike Open).
	onReplica := New(redis.NewClient(&redis.Options{Addr: replica}), Options{})
	defer onReplica.Close()
	for i, lang := range []bot.Lang{bot.Arabic, bot.Darija, bot.Tamazight} {
		if _, err := s.Update(ctx, amina, "SMwith"+string(lang), set(lang)); err != nil {
			t.Fatalf("write %d with a replica: %v", i, err)
		}
		l, err := onReplica.Get(ctx, amina)
		if err != nil || l.Lang != lang {
			t.Fatalf("on the replica right after write %d: %q, %v; want %q", i, l.Lang, err, lang)
		}
	}

	killReplica()
	start := time.Now()
	_, err = s.Update(ctx, amina, "SMreplicagone", set(bot.French))
	if bot.KindOf(err) != bot.Unavailable || !errors.Is(err, errNoReplicas) {
		t.Fatalf("a write after the replica died: %v, want Unavailable (no replicas)", err)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("the write failed after %s, before min_replicas_timeout", d)
	}
}

// TestReplicaOptions: min_replicas and its timeout are read, checked and
// taken out of the URL; other options stay.
func TestReplicaOptions(t *testing.T) {
	rest, n, timeout, err := replicaOptions("redis://h:6379/0?min_replicas=2&dial_timeout=1s&min_replicas_timeout=250ms")
	if err != nil || n != 2 || timeout != 250*time.Millisecond || rest != "redis://h:6379/0?dial_timeout=1s" {
		t.Errorf("got %q %d %s %v", rest, n, timeout, err)
	}
	if rest, n, timeout, err := replicaOptions("redis://h/0?min_replicas=1"); err != nil || n != 1 || timeout != DefaultReplicaTimeout || rest != "redis://h/0" {
		t.Errorf("got %q %d %s %v", rest, n, timeout, err)
	}
	for in, want := range map[string]string{
		"redis://h/0?min_replicas=x":                         "min_replicas",
		"redis://h/0?min_replicas=-1":                        "min_replicas",
		"redis://h/0?min_replicas=1&min_replicas_timeout=0s": "min_replicas_timeout",
		"redis://h:7000?addr=h:7001&min_replicas=1":          "not a Cluster",
	} {
		if err := CheckURL(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckURL(%s) = %v, want an error about %s", in, err, want)
		}
	}
	if err := CheckURL("redis-sentinel://s1,s2/m/0?min_replicas=1"); err != nil {
		t.Errorf("a Sentinel URL with min_replicas: %v", err)
	}
}
