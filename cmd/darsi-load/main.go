// Command darsi-load measures the webhook under load, with darsi configured
// as in production. It builds `darsi serve` and runs it on Redis with Twilio
// fully configured against a local fake of Twilio's REST API (package
// twiliotest) and a WhatsApp templates file, so that the outbox runner,
// outreach (nudges and spaced reviews), template sends and status callbacks
// are on and the web chat simulator is off. Beside it runs a bare net/http
// server that only parses the same form and writes a fixed TwiML reply.
//
// It drives the two in alternating rounds (bare, darsi, bare, darsi, …) with
// the same signed WhatsApp webhooks from many simulated learners walking
// through lessons. For each round it prints throughput, p50 and p99 of both
// servers, the throughput ratio darsi/bare, and darsi's Redis round trips
// per message (its darsi_store_round_trips_total metric) and Redis commands
// per message (the calls in Redis's INFO commandstats, read just before and
// just after darsi's run). Redis counts commands for the whole server, so
// other programs using it at the time count too: the tool also prints the
// rate of commands Redis ran during the bare runs, when darsi was idle. The
// last six lines are the medians over the rounds, with their targets.
//
// Each server's first round starts with the full warm-up; later rounds
// warm up for a quarter of it, as the processes, their Redis connections
// and the tool's keep-alive connections are warm by then. So three rounds of
// 4s after a 2s warm-up take 30s, and fit, with the build, in under 45s.
//
// It sends traffic only to servers it starts on 127.0.0.1, and stops by
// itself after the rounds.
//
// With -scale 10000,100000,1000000 it measures instead how darsi behaves
// as the store grows to each number of learners: Redis memory per
// learner, the webhook, a cohort's pages and API, the cohort list, the
// export and a reminder to a large cohort, in one table (see scale.go).
package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// The Twilio account darsi and the fake share; it exists only for this run.
const (
	accountSID   = "AC0123456789abcdef0123456789abcdef"
	authToken    = "loadtesttoken0123456789abcdef000"
	whatsAppFrom = "whatsapp:+14155238886"
)

// The databases the two modes use by default. Each is the tool's own: it
// empties it (the tests use 12 and 13, the default Redis database 0).
const (
	loadRedis  = "redis://127.0.0.1:6379/14"
	scaleRedis = "redis://127.0.0.1:6379/11"
)

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
		duration = flag.Duration("duration", 15*time.Second, "how long each round drives each server (with -scale: the webhook at each size, 5s unless given)")
		warmup   = flag.Duration("warmup", 2*time.Second, "load before measuring in each server's first round (a quarter of it in later rounds; with -scale 1s unless given)")
		rounds   = flag.Int("rounds", 3, "alternating rounds: bare, then darsi, in each")
		redisURL = flag.String("redis", "", "Redis for darsi serve, a database this tool may empty (default "+loadRedis+", or "+scaleRedis+" with -scale)")
		bare     = flag.String("bare", "", "run as the bare server on this address (used by the tool itself)")
		buttons  = flag.String("interactive", "auto", "DARSI_INTERACTIVE for darsi serve: auto (buttons and lists, their turns answered over REST) or off (every turn in TwiML)")
		scale    = flag.String("scale", "", "measure darsi as the store grows to these numbers of learners, such as 10000,100000,1000000 (see scale.go)")
	)
	flag.Parse()
	if *buttons != "auto" && *buttons != "off" {
		fmt.Fprintf(os.Stderr, "darsi-load: -interactive=%s: want auto or off\n", *buttons)
		os.Exit(2)
	}
	interactive = *buttons
	if *bare != "" {
		serveBare(*bare)
		return
	}
	if *scale != "" {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if err := runScale(*scale, *learners, *duration, *warmup, set, cmp.Or(*redisURL, scaleRedis)); err != nil {
			fmt.Fprintln(os.Stderr, "darsi-load:", err)
			os.Exit(1)
		}
		return
	}
	if *rounds < 1 || *learners < 1 || *duration <= 0 || *warmup < 0 {
		fmt.Fprintln(os.Stderr, "darsi-load: -rounds, -learners and -duration must be above 0, -warmup not below")
		os.Exit(2)
	}
	if err := run(*learners, *rounds, *duration, *warmup, cmp.Or(*redisURL, loadRedis)); err != nil {
		fmt.Fprintln(os.Stderr, "darsi-load:", err)
		os.Exit(1)
	}
}

// round is what one round measured. The per-message figures and the
// background are NaN when they could not be read.
type round struct {
	bare, darsi result
	// tripsPerMessage and commandsPerMessage are darsi's: its round trips
	// to Redis, and the commands Redis ran, over every request of the run.
	tripsPerMessage, commandsPerMessage float64
	// background is the commands a second Redis ran during the bare run,
	// when darsi was idle: its outbox runner and other programs' commands.
	background float64
}

func (r round) ratio() float64 {
	if r.bare.rate() == 0 {
		return math.NaN()
	}
	return r.darsi.rate() / r.bare.rate()
}

func run(learners, rounds int, duration, warmup time.Duration, redisURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(2*rounds)*(duration+warmup)+2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "darsi-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	bin, templates, err := prepare(ctx, dir)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}

	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("redis at %s: %w", redisURL, err)
	}
	if err := clean(ctx, opts); err != nil {
		return fmt.Errorf("redis at %s: %w", redisURL, err)
	}
	defer clean(context.Background(), opts)
	// One connection, set up now, so that the windows between two readings
	// of INFO hold none of the tool's commands but the first INFO.
	infoOpts := *opts
	infoOpts.PoolSize = 1
	info := redis.NewClient(&infoOpts)
	defer info.Close()
	if _, err := redisCommands(ctx, info); err != nil {
		return fmt.Errorf("redis at %s: INFO commandstats: %w", redisURL, err)
	}

	fake := twiliotest.Start(accountSID, authToken)
	defer fake.Close()

	bareAddr, err := freeAddr()
	if err != nil {
		return err
	}
	bareSrv, err := start(ctx, exec.Command(self, "-bare", bareAddr), bareAddr)
	if err != nil {
		return fmt.Errorf("bare server: %w", err)
	}
	defer bareSrv.stop()

	darsiSrv, darsiAddr, err := startDarsi(ctx, bin, redisURL, templates, fake.URL)
	if err != nil {
		return err
	}
	defer darsiSrv.stop()

	fmt.Printf("darsi-load: %d learners, %s of %s per server after a %s warm-up (%s in later rounds), on %d CPUs\n",
		learners, count(rounds, "round"), duration, warmup, warmup/4, runtime.NumCPU())
	fmt.Printf("darsi serve: Redis %s, Twilio fake at %s, templates, outbox runner and outreach on, simulator off\n",
		redisURL, fake.URL)
	fmt.Printf("darsi's metrics and profiles (go tool pprof %s/debug/pprof/profile) at %s\n\n", darsiSrv.admin, darsiSrv.admin)
	fmt.Printf("%-5s %-20s %9s %8s %9s %9s %6s\n", "round", "server", "messages", "msg/s", "p50", "p99", "errors")

	bareTarget := newTarget("bare net/http", "http://"+bareAddr, "bare", simulatedLearners(learners))
	darsiTarget := newTarget("darsi serve + Redis", "http://"+darsiAddr, "full", simulatedLearners(learners))
	var all []round
	for i := range rounds {
		w := warmup
		if i > 0 {
			w = warmup / 4
		}
		var r round

		before, errB := redisCommands(ctx, info)
		began := time.Now()
		r.bare = bareTarget.drive(ctx, w, duration)
		after, errA := redisCommands(ctx, info)
		r.background = math.NaN()
		if errB == nil && errA == nil {
			r.background = (after - before - ownCommands) / time.Since(began).Seconds()
		}
		fmt.Printf("%-5d %s   Redis meanwhile: %.0f commands/s, server-wide\n", i+1, r.bare.row(), r.background)

		tripsBefore, errTB := metric(ctx, darsiSrv.admin, "darsi_store_round_trips_total")
		before, errB = redisCommands(ctx, info)
		r.darsi = darsiTarget.drive(ctx, w, duration)
		after, errA = redisCommands(ctx, info)
		tripsAfter, errTA := metric(ctx, darsiSrv.admin, "darsi_store_round_trips_total")
		r.tripsPerMessage, r.commandsPerMessage = math.NaN(), math.NaN()
		if err := errors.Join(errTB, errTA); err != nil {
			fmt.Fprintln(os.Stderr, "darsi-load: round trips:", err)
		} else if r.darsi.all > 0 {
			r.tripsPerMessage = (tripsAfter - tripsBefore) / float64(r.darsi.all)
		}
		if err := errors.Join(errB, errA); err != nil {
			fmt.Fprintln(os.Stderr, "darsi-load: Redis commands:", err)
		} else if r.darsi.all > 0 {
			r.commandsPerMessage = (after - before - ownCommands) / float64(r.darsi.all)
		}
		fmt.Printf("%-5d %s   ratio %.2f; per message: %.2f round trips, %.1f Redis commands\n",
			i+1, r.darsi.row(), r.ratio(), r.tripsPerMessage, r.commandsPerMessage)
		all = append(all, r)
	}

	// Stopped before the summary, so that nothing they log on the way out
	// comes after it.
	darsiSrv.stop()
	bareSrv.stop()

	pick := func(f func(round) float64) float64 {
		xs := make([]float64, len(all))
		for i, r := range all {
			xs[i] = f(r)
		}
		return median(xs)
	}
	fmt.Printf("\nmedian of %s:\n", count(rounds, "round"))
	fmt.Printf("throughput ratio, darsi / bare: %.2f (target ≥ 0.50)\n", pick(round.ratio))
	fmt.Printf("Redis round trips per message: %.2f (target ≤ 1)\n", pick(func(r round) float64 { return r.tripsPerMessage }))
	fmt.Printf("Redis commands per message: %.1f (target ≤ 8, server-wide)\n", pick(func(r round) float64 { return r.commandsPerMessage }))
	fmt.Printf("p50 / p99, darsi: %s / %s; bare: %s / %s\n",
		latency(pick(func(r round) float64 { return r.darsi.pct(50) })),
		latency(pick(func(r round) float64 { return r.darsi.pct(99) })),
		latency(pick(func(r round) float64 { return r.bare.pct(50) })),
		latency(pick(func(r round) float64 { return r.bare.pct(99) })))
	fmt.Printf("server-wide: while darsi was idle Redis ran %.0f commands/s (its outbox runner, other clients)\n",
		pick(func(r round) float64 { return r.background }))

	failed := 0
	for _, r := range all {
		failed += r.bare.failed + r.darsi.failed
	}
	if failed > 0 {
		return fmt.Errorf("%d requests failed", failed)
	}
	return nil
}

// prepare builds darsi into dir and writes a templates file there; it
// returns their paths.
func prepare(ctx context.Context, dir string) (bin, templates string, err error) {
	bin = filepath.Join(dir, "darsi")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/darsi")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", "", fmt.Errorf("building darsi: %w", err)
	}
	templates = filepath.Join(dir, "templates.yaml")
	if err := os.WriteFile(templates, []byte(templatesFile()), 0o600); err != nil {
		return "", "", err
	}
	return bin, templates, nil
}

// startDarsi runs `darsi serve` on a free loopback address, configured as
// in production against the Twilio fake at twilioURL, and returns it with
// its address once it answers.
func startDarsi(ctx context.Context, bin, redisURL, templates, twilioURL string) (*server, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	admin, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	serve := exec.Command(bin, "serve")
	serve.Env = append(callerEnv(),
		"DARSI_ADDR="+addr,
		"DARSI_ADMIN_ADDR="+admin,
		"DARSI_STORE="+redisURL,
		"DARSI_PUBLIC_URL=http://"+addr,
		"DARSI_SIMULATOR=off",
		"DARSI_LOG_LEVEL=warn",
		"DARSI_TEMPLATES="+templates,
		"TWILIO_API_BASE_URL="+twilioURL,
		"TWILIO_ACCOUNT_SID="+accountSID,
		"TWILIO_AUTH_TOKEN="+authToken,
		"TWILIO_WHATSAPP_FROM="+whatsAppFrom,
		"DARSI_INTERACTIVE="+interactive,
	)
	srv, err := start(ctx, serve, addr)
	if err != nil {
		return nil, "", fmt.Errorf("darsi serve: %w", err)
	}
	srv.admin = "http://" + admin
	return srv, addr, nil
}

// count is n things, such as "1 round" or "3 rounds".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

// interactive is DARSI_INTERACTIVE for the darsi serve the tool starts.
var interactive = "auto"

// callerEnv is the tool's environment without darsi's and Twilio's
// settings, so that darsi runs with the configuration this tool gives it,
// whatever the caller's shell holds.
func callerEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "DARSI_") || strings.HasPrefix(kv, "TWILIO_")
	})
}

// templatesFile is a WhatsApp templates file with every kind of message
// the outbox sends in every language, as a deployment has them approved.
// The Content SIDs are made up: the fake accepts any.
func templatesFile() string {
	kinds := []struct{ kind, vars string }{
		{"reminder", `{"1": text}`},
		{"broadcast", `{"1": text}`},
		{"nudge", `{"1": name, "2": text}`},
		{"review", `{"1": lesson, "2": text}`},
	}
	var b strings.Builder
	n := 0
	for _, k := range kinds {
		fmt.Fprintf(&b, "%s:\n", k.kind)
		for _, lang := range []string{"ary", "ar", "fr", "zgh"} {
			n++
			fmt.Fprintf(&b, "  %s: {sid: HX%032x, vars: %s}\n", lang, n, k.vars)
		}
	}
	return b.String()
}

// result is one server's measurements in one round.
type result struct {
	name       string
	ok, failed int
	all        int // every request sent, warm-up included
	elapsed    time.Duration
	latencies  []time.Duration // sorted
}

func (r result) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// pct is the p-th percentile of the latencies in seconds, NaN without any.
func (r result) pct(p int) float64 {
	if len(r.latencies) == 0 {
		return math.NaN()
	}
	return r.latencies[(len(r.latencies)-1)*p/100].Seconds()
}

// row is the result's part of a round's line.
func (r result) row() string {
	return fmt.Sprintf("%-20s %9d %8.0f %9s %9s %6d", r.name, r.ok, r.rate(), latency(r.pct(50)), latency(r.pct(99)), r.failed)
}

// latency formats seconds as a duration, "-" for NaN.
func latency(seconds float64) string {
	if math.IsNaN(seconds) {
		return "-"
	}
	return time.Duration(seconds * float64(time.Second)).Round(10 * time.Microsecond).String()
}

// median is the middle of the values that are not NaN (the mean of the two
// middle ones for an even count), NaN when all are.
func median(xs []float64) float64 {
	known := slices.DeleteFunc(slices.Clone(xs), math.IsNaN)
	if len(known) == 0 {
		return math.NaN()
	}
	slices.Sort(known)
	n := len(known)
	if n%2 == 1 {
		return known[n/2]
	}
	return (known[n/2-1] + known[n/2]) / 2
}

// target is a server the learners write to. Its client and the learners'
// places in the script last across rounds, so that a later round starts
// with open connections and learners in the middle of their lessons, as
// the round before left them.
type target struct {
	name, base, run string
	client          *http.Client
	from            []string // each learner's id, such as "whatsapp:+212600000001"
	next            []int    // each learner's next line of the script
}

// newTarget returns a target that the learners of from write to, each
// from their own connection.
func newTarget(name, base, run string, from []string) *target {
	return &target{
		name: name, base: base, run: run,
		client: &http.Client{
			Timeout:   15 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: len(from), MaxConnsPerHost: len(from)},
		},
		from: from,
		next: make([]int, len(from)),
	}
}

// simulatedLearners are the ids of n learners the store does not know
// before they write.
func simulatedLearners(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("whatsapp:+2126%02d%06d", i%100, i)
	}
	return ids
}

// drive sends the learners' scripts to the target for warmup+duration and
// measures the requests started after the warm-up.
func (t *target) drive(ctx context.Context, warmup, duration time.Duration) result {
	start := time.Now()
	measureFrom := start.Add(warmup)
	end := measureFrom.Add(duration)
	var mu sync.Mutex
	res := result{name: t.name}
	var wg sync.WaitGroup
	for i := range t.next {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := t.from[i]
			var lat []time.Duration
			ok, failed, all := 0, 0, 0
			for ; time.Now().Before(end) && ctx.Err() == nil; t.next[i]++ {
				form := webhookForm(from, script[t.next[i]%len(script)], t.run)
				t0 := time.Now()
				err := post(ctx, t.client, t.base+"/twilio/messages", form)
				d := time.Since(t0)
				all++
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					failed++
					if failed == 1 {
						fmt.Fprintf(os.Stderr, "%s: %v\n", t.name, err)
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
	slices.Sort(res.latencies)
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
		"AccountSid":  {accountSID},
		"From":        {from},
		"To":          {whatsAppFrom},
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
	req.Header.Set("X-Twilio-Signature", twiliotest.Signature(authToken, target, form))
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

// server is a process the tool started.
type server struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has exited
	// admin is the base URL of darsi's admin listener (/metrics and
	// Go's profiles); "" for the bare server.
	admin string
}

// start runs a server and waits until it answers /healthz, or exits.
func start(ctx context.Context, cmd *exec.Cmd, addr string) (*server, error) {
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(s.exited) }()
	for range 200 {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("%s: %s", filepath.Base(cmd.Path), cmd.ProcessState)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.stop()
	return nil, fmt.Errorf("%s did not start on %s", cmd.Path, addr)
}

// stop interrupts the server and waits for it to exit, killing it after
// 10s. Stopping a server again does nothing.
func (s *server) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
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

// ownCommands is how many of the tool's commands fall between two readings
// of redisCommands: Redis counts a command once it has run, so the INFO of
// the first reading counts in the second, and the second's does not.
const ownCommands = 1

// redisCommands is how many commands the Redis server has run since it
// started or its statistics were reset, from every client on every
// database: the sum of calls= over INFO commandstats, in which a
// transaction's and a script's commands count one by one.
func redisCommands(ctx context.Context, rdb *redis.Client) (float64, error) {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return 0, err
	}
	total, found := 0.0, false
	for line := range strings.Lines(info) {
		stats, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_")
		if !ok {
			continue
		}
		_, stats, _ = strings.Cut(stats, ":")
		for field := range strings.SplitSeq(stats, ",") {
			if calls, ok := strings.CutPrefix(field, "calls="); ok {
				n, err := strconv.ParseFloat(calls, 64)
				if err != nil {
					return 0, fmt.Errorf("INFO commandstats: %q: %w", line, err)
				}
				total += n
				found = true
			}
		}
	}
	if !found {
		return 0, errors.New("INFO commandstats lists no command")
	}
	return total, nil
}

// clean deletes the keys darsi left in the load test's database.
func clean(ctx context.Context, opts *redis.Options) error {
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
