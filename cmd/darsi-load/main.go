// Command darsi-load measures the webhook under load. It builds and starts
// `darsi serve` on Redis, and in the same run a bare net/http server that
// only parses the same form and writes a fixed TwiML reply; it drives both
// with the same signed WhatsApp webhooks from many simulated learners
// walking through lessons, and prints throughput, p50 and p99 for both, the
// ratio, and the Redis round trips per message.
//
// It sends traffic only to servers it starts on 127.0.0.1, and stops by
// itself after the duration given.
package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// authToken signs the webhooks; it exists only for this run.
const authToken = "loadtesttoken0123456789abcdef000"

// script is what each simulated learner sends, over and over: onboarding,
// a lesson's answers (right and wrong ones, numbers, text), keywords.
var script = []string{
	"salam", "3", "1", "1", "2", "3", "tapis", "300", "20",
	"1", "2", "250", "aide", "12", "3", "8", "1", "1500", "150",
	"menu", "progrès", "1", "répéter", "2",
}

func main() {
	var (
		learners = flag.Int("learners", 64, "simulated learners sending at once")
		duration = flag.Duration("duration", 15*time.Second, "how long each server is driven")
		warmup   = flag.Duration("warmup", 2*time.Second, "load before measuring")
		redisURL = flag.String("redis", "redis://127.0.0.1:6379/14", "Redis for darsi serve (a database this tool may clean)")
		bare     = flag.String("bare", "", "run as the bare server on this address (used by the tool itself)")
	)
	flag.Parse()
	if *bare != "" {
		serveBare(*bare)
		return
	}
	if err := run(*learners, *duration, *warmup, *redisURL); err != nil {
		fmt.Fprintln(os.Stderr, "darsi-load:", err)
		os.Exit(1)
	}
}

func run(learners int, duration, warmup time.Duration, redisURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*(duration+warmup)+2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "darsi-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	bin := filepath.Join(dir, "darsi")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/darsi")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building darsi: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}

	if err := clean(ctx, redisURL); err != nil {
		return fmt.Errorf("redis at %s: %w", redisURL, err)
	}
	defer clean(context.Background(), redisURL)

	bareAddr, err := freeAddr()
	if err != nil {
		return err
	}
	bareSrv, err := start(ctx, exec.Command(self, "-bare", bareAddr), bareAddr)
	if err != nil {
		return fmt.Errorf("bare server: %w", err)
	}
	defer stop(bareSrv)

	darsiAddr, err := freeAddr()
	if err != nil {
		return err
	}
	serve := exec.Command(bin, "serve")
	serve.Env = append(os.Environ(),
		"DARSI_ADDR="+darsiAddr,
		"DARSI_STORE="+redisURL,
		"DARSI_PUBLIC_URL=http://"+darsiAddr,
		"TWILIO_AUTH_TOKEN="+authToken,
		"TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000",
		"DARSI_SIMULATOR=off",
		"DARSI_LOG_LEVEL=warn",
	)
	if debug := os.Getenv("DARSI_DEBUG_ADDR"); debug != "" {
		serve.Env = append(serve.Env, "DARSI_DEBUG_ADDR="+debug)
	}
	darsiSrv, err := start(ctx, serve, darsiAddr)
	if err != nil {
		return fmt.Errorf("darsi serve: %w", err)
	}
	defer stop(darsiSrv)

	fmt.Printf("darsi-load: %d learners, %s per server after %s warm-up, on %d CPUs\n\n", learners, duration, warmup, runtime.NumCPU())
	base := drive(ctx, "bare net/http", "http://"+bareAddr, learners, duration, warmup, "bare")
	tripsBefore, errB := metric(ctx, "http://"+darsiAddr, "darsi_store_round_trips_total")
	full := drive(ctx, "darsi serve + Redis", "http://"+darsiAddr, learners, duration, warmup, "full")
	tripsAfter, errA := metric(ctx, "http://"+darsiAddr, "darsi_store_round_trips_total")

	fmt.Printf("%-22s %9s %9s %10s %10s %7s\n", "server", "messages", "msg/s", "p50", "p99", "errors")
	for _, r := range []result{base, full} {
		fmt.Printf("%-22s %9d %9.0f %10s %10s %7d\n", r.name, r.ok, r.rate(), r.pct(50), r.pct(99), r.failed)
	}
	if base.rate() > 0 {
		fmt.Printf("\nthroughput ratio, darsi / bare: %.2f (target ≥ 0.50)\n", full.rate()/base.rate())
	}
	if errA == nil && errB == nil && full.all > 0 {
		fmt.Printf("Redis round trips per message: %.2f (target ≤ 2)\n", (tripsAfter-tripsBefore)/float64(full.all))
	} else {
		fmt.Printf("Redis round trips per message: unknown (%v)\n", errors.Join(errA, errB))
	}
	if full.failed > 0 || base.failed > 0 {
		return fmt.Errorf("%d requests failed", full.failed+base.failed)
	}
	return nil
}

// result is one server's measurements.
type result struct {
	name       string
	ok, failed int
	all        int // every request sent, warm-up included
	elapsed    time.Duration
	latencies  []time.Duration
}

func (r result) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r result) pct(p int) string {
	if len(r.latencies) == 0 {
		return "-"
	}
	i := (len(r.latencies) - 1) * p / 100
	return r.latencies[i].Round(10 * time.Microsecond).String()
}

// drive sends the learners' scripts to base for warmup+duration and
// measures the requests completed after the warm-up.
func drive(ctx context.Context, name, base string, learners int, duration, warmup time.Duration, run string) result {
	client := &http.Client{
		Timeout:   15 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: learners, MaxConnsPerHost: learners},
	}
	start := time.Now()
	measureFrom := start.Add(warmup)
	end := measureFrom.Add(duration)
	var mu sync.Mutex
	res := result{name: name}
	var wg sync.WaitGroup
	for i := range learners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := fmt.Sprintf("whatsapp:+2126%02d%06d", i%100, i)
			var lat []time.Duration
			ok, failed, all := 0, 0, 0
			for n := 0; time.Now().Before(end) && ctx.Err() == nil; n++ {
				form := webhookForm(from, script[n%len(script)], run)
				t0 := time.Now()
				err := post(ctx, client, base+"/twilio/messages", form)
				d := time.Since(t0)
				all++
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					failed++
					if failed == 1 {
						fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
					}
					continue
				}
				ok++
				lat = append(lat, d)
			}
			mu.Lock()
			res.ok += ok
			res.failed += failed
			res.all += all
			res.latencies = append(res.latencies, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = duration
	sort.Slice(res.latencies, func(i, j int) bool { return res.latencies[i] < res.latencies[j] })
	return res
}

// webhookForm is the form Twilio posts for one WhatsApp message.
func webhookForm(from, body, run string) url.Values {
	sid := make([]byte, 16)
	rand.Read(sid)
	number := strings.TrimPrefix(from, "whatsapp:")
	return url.Values{
		"MessageSid":  {"SM" + hex.EncodeToString(sid)},
		"SmsSid":      {"SM" + hex.EncodeToString(sid)},
		"AccountSid":  {"AC00000000000000000000000000000000"},
		"From":        {from},
		"To":          {"whatsapp:+14155238886"},
		"Body":        {body},
		"NumMedia":    {"0"},
		"NumSegments": {"1"},
		"ProfileName": {"Learner " + run},
		"WaId":        {strings.TrimPrefix(number, "+")},
		"MessageType": {"text"},
		"ApiVersion":  {"2010-04-01"},
	}
}

func post(ctx context.Context, client *http.Client, target string, form url.Values) error {
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sign(target, form))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), "<Response") {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, data)
	}
	return nil
}

// sign computes X-Twilio-Signature: HMAC-SHA1 over the URL and the sorted
// parameters, base64.
func sign(fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		for _, v := range form[k] {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// serveBare is the baseline: parse the same form, write a fixed TwiML.
func serveBare(addr string) {
	const twiml = `<?xml version="1.0" encoding="UTF-8"?><Response><Message>ok</Message></Response>`
	mux := http.NewServeMux()
	mux.HandleFunc("POST /twilio/messages", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil || r.PostForm.Get("From") == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, twiml)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start runs a server and waits until it answers /healthz.
func start(ctx context.Context, cmd *exec.Cmd, addr string) (*exec.Cmd, error) {
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for i := 0; i < 200; i++ {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return cmd, nil
		}
		select {
		case <-ctx.Done():
			stop(cmd)
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	stop(cmd)
	return nil, fmt.Errorf("%s did not start on %s", cmd.Path, addr)
}

func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// metric reads one counter from a Prometheus text endpoint.
func metric(ctx context.Context, base, name string) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	line := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? ([0-9.e+-]+)$`)
	sum, found := 0.0, false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if m := line.FindStringSubmatch(sc.Text()); m != nil {
			v, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				return 0, err
			}
			sum += v
			found = true
		}
	}
	if !found {
		return 0, fmt.Errorf("no metric %s at %s/metrics", name, base)
	}
	return sum, sc.Err()
}

// clean deletes the keys darsi left in the load test's database.
func clean(ctx context.Context, redisURL string) error {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	iter := rdb.Scan(ctx, 0, "darsi:*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			if err := rdb.Del(ctx, keys...).Err(); err != nil {
				return err
			}
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		if err := rdb.Del(ctx, keys...).Err(); err != nil {
			return err
		}
	}
	return iter.Err()
}
