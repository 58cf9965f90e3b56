package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
)

// The end-to-end tests run the real darsi binary against the real Redis at
// REDIS_URL, on their own database, which they empty before and after.
const (
	e2eToken = "e2etoken0123456789abcdef01234567"
	e2eDB    = 13
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// darsiBinary builds the command once for all end-to-end tests.
func darsiBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "darsi-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "darsi")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	// Coaches' passwords hashed at bcrypt's least cost: at the real one a
	// hash takes seconds under the race detector, and these tests make
	// dozens. The cost itself is tested in bot/app and bot/coachweb.
	app.BcryptCost = bcrypt.MinCost
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// e2eRedis returns the store URL for the end-to-end database and empties it
// now and at the end of the test. It fails, never skips, without Redis.
func e2eRedis(t testing.TB) string { return redisDB(t, e2eDB) }

// redisDB returns the store URL of Redis database db at REDIS_URL, emptied
// now and at the end of the test. It fails, never skips, without Redis.
func redisDB(t testing.TB, db int) string {
	t.Helper()
	base := os.Getenv("REDIS_URL")
	if base == "" {
		base = "redis://127.0.0.1:6379"
	}
	opts, err := redis.ParseURL(base)
	if err != nil {
		t.Fatalf("REDIS_URL %q: %v", base, err)
	}
	opts.DB = db
	rdb := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("Redis not reachable at %s (%v): start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no", base, err)
	}
	t.Cleanup(func() {
		rdb.FlushDB(context.Background())
		rdb.Close()
	})
	u, _ := url.Parse(base)
	u.Path = fmt.Sprintf("/%d", db)
	return u.String()
}

// replica is one running "darsi serve".
type replica struct {
	t     *testing.T
	cmd   *exec.Cmd
	base  string
	admin string // the base URL of its admin listener: /metrics
	logs  *lockedBuffer
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startReplica starts "darsi serve" on store with the fake Twilio's
// account; env, such as "TWILIO_AUTH_TOKEN=", overrides the settings.
func startReplica(t *testing.T, store string, env ...string) *replica {
	t.Helper()
	addr, admin := freeAddr(t), freeAddr(t)
	r := &replica{t: t, base: "http://" + addr, admin: "http://" + admin, logs: &lockedBuffer{}}
	r.cmd = exec.Command(darsiBinary(t), "serve")
	r.cmd.Env = append(os.Environ(),
		"DARSI_ADDR="+addr, "DARSI_ADMIN_ADDR="+admin, "DARSI_STORE="+store, "DARSI_PUBLIC_URL="+r.base,
		"TWILIO_AUTH_TOKEN="+e2eToken, "TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000",
	)
	r.cmd.Env = append(r.cmd.Env, env...)
	r.cmd.Stdout, r.cmd.Stderr = io.Discard, r.logs
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	for i := 0; i < 200; i++ {
		if resp, err := http.Get(r.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return r
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("darsi serve did not get ready:\n%s", r.logs)
	return nil
}

// stop ends the replica as an orchestrator would: SIGTERM, then wait.
func (r *replica) stop() {
	if r.cmd.ProcessState != nil {
		return
	}
	r.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			r.t.Errorf("darsi serve exited with %v:\n%s", err, r.logs)
		}
	case <-time.After(15 * time.Second):
		r.cmd.Process.Kill()
		<-done
		r.t.Errorf("darsi serve did not stop on SIGTERM")
	}
	// Whatever the test did, the log names no learner.
	noNumbers(r.t, "darsi serve's log", r.logs.String())
}

// send posts one signed WhatsApp webhook and returns the replies' bodies.
func (r *replica) send(from, label, body string) []string {
	r.t.Helper()
	var out []string
	for _, m := range r.sendTwiML(from, label, body) {
		out = append(out, strings.TrimSpace(m.Body+m.Text))
	}
	return out
}

// exportLearners runs "darsi export learners --with-numbers" on the store.
func exportLearners(t *testing.T, store string) map[string]app.ExportedLearner {
	t.Helper()
	cmd := exec.Command(darsiBinary(t), "export", "learners", "--with-numbers")
	cmd.Env = append(os.Environ(), "DARSI_STORE="+store)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	learners := map[string]app.ExportedLearner{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l app.ExportedLearner
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		learners[l.ID] = l
	}
	return learners
}

// sameLearning compares two learners on everything but who and when.
var sameLearning = cmp.Options{
	cmpopts.IgnoreFields(app.ExportedLearner{}, "ID", "Key", "LastInboundAt", "UpdatedAt"),
	cmpopts.IgnoreFields(bot.Completion{}, "At"),
}

func TestReplicasBehaveAsOne(t *testing.T) {
	store := e2eRedis(t)
	a, b := startReplica(t, store), startReplica(t, store)
	const learner, twin = "+212600000701", "+212600000702"
	script := []string{"salam", "3", "1", "1", "2", "1", "3", "tapis", "300"}

	// The learner writes to both replicas in turn; the twin to one only.
	for i, text := range script {
		r := []*replica{a, b}[i%2]
		got := r.send(learner, fmt.Sprintf("SMlearner%02d", i), text)
		want := a.send(twin, fmt.Sprintf("SMtwin%02d", i), text)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("message %d %q: replies differ (-twin +learner):\n%s", i, text, diff)
		}
	}
	// Twilio retries a message, and the retry reaches the other replica:
	// same TwiML, nothing applied twice.
	first := a.send(learner, "SMretry", "20")
	again := b.send(learner, "SMretry", "20")
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("retried MessageSid on the other replica: replies differ:\n%s", diff)
	}
	a.send(twin, "SMtwinretry", "20")

	// 20 messages of one learner at the same moment, spread over both.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			[]*replica{a, b}[i%2].send(learner, fmt.Sprintf("SMburst%02d", i), "aide")
		}()
	}
	wg.Wait()
	for i := range 20 {
		a.send(twin, fmt.Sprintf("SMtwinburst%02d", i), "aide")
	}
	for i, text := range []string{"1", "menu", "1"} {
		b.send(learner, fmt.Sprintf("SMend%02d", i), text)
		a.send(twin, fmt.Sprintf("SMtwinend%02d", i), text)
	}

	all := exportLearners(t, store)
	got, want := all["whatsapp:"+learner], all["whatsapp:"+twin]
	if got.ID == "" || want.ID == "" {
		t.Fatalf("export misses a learner: %v", all)
	}
	if got.Version != want.Version {
		t.Errorf("version: learner %d, twin %d (an update was lost or applied twice)", got.Version, want.Version)
	}
	if diff := cmp.Diff(want, got, sameLearning...); diff != "" {
		t.Errorf("final state differs (-twin +learner):\n%s", diff)
	}
}

func TestRestartKeepsConversation(t *testing.T) {
	store := e2eRedis(t)
	const learner = "+212600000703"
	r := startReplica(t, store)
	for i, text := range []string{"salam", "3", "1", "1"} {
		r.send(learner, fmt.Sprintf("SMa%02d", i), text)
	}
	before := exportLearners(t, store)["whatsapp:"+learner]
	r.stop()

	r = startReplica(t, store)
	replies := r.send(learner, "SMb00", "2")
	after := exportLearners(t, store)["whatsapp:"+learner]
	if before.Phase != "lesson" || after.Lesson != before.Lesson || after.Step == before.Step {
		t.Errorf("after restart: at %s/%s (phase %s), before at %s/%s (phase %s): want the next step of the same lesson",
			after.Lesson, after.Step, after.Phase, before.Lesson, before.Step, before.Phase)
	}
	if len(replies) == 0 || !strings.Contains(strings.Join(replies, "\n"), "Exactement") {
		t.Errorf("after restart, the answer got %q, want the question's feedback", replies)
	}

	// STOP (Twilio's opt-out word) opts out; START opts back in, where
	// the learner was.
	r.send(learner, "SMb01", "STOP")
	if l := exportLearners(t, store)["whatsapp:"+learner]; !l.OptedOut {
		t.Error("after STOP: not opted out")
	}
	back := r.send(learner, "SMb02", "START")
	if l := exportLearners(t, store)["whatsapp:"+learner]; l.OptedOut || l.Step != after.Step {
		t.Errorf("after START: opted out %v, at %q; want opted in at %q", l.OptedOut, l.Step, after.Step)
	}
	if len(back) == 0 {
		t.Error("START got no reply")
	}
}

// TestReadyzFollowsStore checks that /readyz fails when the store does not
// answer, so that a load balancer stops sending to the replica.
func TestReadyzFollowsStore(t *testing.T) {
	cfg := defaultConfig(t)
	cfg.Store = e2eRedis(t)
	a, s, err := openApp(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptestServer(t, routes(cfg, a, s, nil, discardLog()))
	ready := func() int {
		resp, err := http.Get(srv + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := ready(); got != http.StatusOK {
		t.Fatalf("/readyz with Redis up: %d", got)
	}
	s.Close() // the store is gone, as when Redis goes down
	if got := ready(); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the store down: %d, want 503", got)
	}
}
