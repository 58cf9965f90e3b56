// Package soak runs darsi under faults and checks that it loses nothing
// and sends nothing twice: simulated WhatsApp learners take lessons
// through signed webhooks at two darsi replicas (real processes) on their
// own Redis, coaches' reminders and nudges go out to a fake Twilio that
// posts status callbacks, while Redis is killed and restarted, a replica
// is killed and restarted, and a TCP proxy between the replicas and Redis
// drops connections and adds latency. At the end every learner's state is
// compared with a twin that got the same messages without faults, and
// every message the fake received is accounted for (docs/soak.md).
package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/redisstore"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// Options shape a run.
type Options struct {
	// Duration is how long learners write and faults happen; the run
	// then waits for what is due to arrive (at most Duration/3, 30 s to
	// 90 s). Default 5 minutes.
	Duration time.Duration
	// Learners is how many learners take lessons. Default 2,000.
	Learners int
	// Dir holds Redis's files, the binary and the logs; "" for a
	// temporary folder, removed after a run that passed.
	Dir string
	// Progress, when set, gets a line at each phase and fault.
	Progress io.Writer
	// Sentinel runs Redis as a master, two replicas and three Sentinels,
	// darsi on redis-sentinel://, and kills the master instead of
	// restarting a single Redis.
	Sentinel bool
	// StoreQuery is added to the store URL's query, such as
	// "min_replicas=1" (see redisstore).
	StoreQuery string
}

const (
	account      = "AC50a40000000000000000000000000000"
	authToken    = "soaktoken0123456789abcdef0123456"
	whatsAppFrom = "whatsapp:+212500000099"
	controller   = "Association Soak"
	secret       = "soak-secret-0123456789abcdef0123456789"
)

// harness is one run's shared state.
type harness struct {
	opts    Options
	runID   string
	code    string
	account string
	token   string
	// whatsAppFrom is the bot's number learners write to.
	whatsAppFrom string
	content      *dialog.Content
	twin         *Twin
	fake         *twiliotest.Fake
	tap          *Tap
	lb           *Balancer
	client       *http.Client
	think        time.Duration
	giveUp       time.Duration
	replyWait    time.Duration
	start        time.Time
	// stopAt is when learners stop writing: a machine too slow for the
	// whole script ends it early rather than overrun.
	stopAt time.Time
	quiet  schedule.Quiet
	// window is the quiet range inside the run, in Casablanca's time;
	// zero when the run is too short for one.
	windowFrom, windowTo time.Time
	nudgeAfter           time.Duration
	// failoverAfter is how long the Sentinels took to promote a replica.
	failoverAfter time.Duration

	attempts, messages atomic.Int64
	lateReplies        atomic.Int64
	retries            counter
	faults             counter

	mu       sync.Mutex
	problems []string       // the first examples of each kind
	kinds    map[string]int // problems by kind (their format)
	wrong    int
	// took are the times of the acknowledged webhooks.
	took []time.Duration
}

func (h *harness) problem(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.kinds == nil {
		h.kinds = map[string]int{}
	}
	h.kinds[format]++
	switch n := h.kinds[format]; {
	case n <= 3:
		h.problems = append(h.problems, fmt.Sprintf(format, args...))
	case n == 4:
		h.problems = append(h.problems, fmt.Sprintf("(more of the kind: %q; counted at the end)", format))
	}
}

func (h *harness) retried(why string) { h.retries.add(why, 1) }

func (h *harness) wrongAnswer(l *learner, text string, got, want []byte) {
	h.mu.Lock()
	h.wrong++
	h.mu.Unlock()
	h.problem("%s answered %q with %.300q, want %.300q", bot.Mask(l.addr()), text, got, want)
}

func (h *harness) logf(format string, args ...any) {
	if h.opts.Progress != nil {
		fmt.Fprintf(h.opts.Progress, "soak %6.1fs  %s\n", time.Since(h.start).Seconds(), fmt.Sprintf(format, args...))
	}
}

// Report is what a run counted and found.
type Report struct {
	Duration   time.Duration
	Learners   int
	Messages   int64          // webhooks acknowledged
	Attempts   int64          // webhooks posted, retries included
	Retries    map[string]int // retried webhooks, by why: an HTTP status, timeout, connection
	Faults     map[string]int // faults injected, by kind
	REST       int            // replies sent over REST
	Reminders  int            // reminders delivered
	Nudges     int            // nudges delivered
	Callbacks  int64          // status callbacks darsi acknowledged
	CBRetries  int64          // status callbacks posted again
	Held       int            // outreach held by quiet hours until the end of the run
	Lost       int
	Duplicated int
	Wrong      int // webhooks answered otherwise than the twin
	// P50 and P99 are the acknowledged webhooks' times.
	P50, P99 time.Duration
	// Failover is how long the Sentinels took to promote a replica.
	Failover time.Duration
	Problems []string
}

// OK reports whether every invariant held.
func (r *Report) OK() bool {
	return r.Lost == 0 && r.Duplicated == 0 && r.Wrong == 0 && len(r.Problems) == 0
}

// Print writes the counts, then the problems.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "soak: %s, %d learners\n", r.Duration.Round(time.Second), r.Learners)
	fmt.Fprintf(w, "  messages     %d acknowledged, %d posted, %d retries %s\n", r.Messages, r.Attempts, sum(r.Retries), kv(r.Retries))
	fmt.Fprintf(w, "  faults       %d %s\n", sum(r.Faults), kv(r.Faults))
	fmt.Fprintf(w, "  webhook      p50 %s, p99 %s\n", r.P50.Round(100*time.Microsecond), r.P99.Round(100*time.Microsecond))
	if r.Failover > 0 {
		fmt.Fprintf(w, "  failover     a replica promoted %.1f s after the master was killed\n", r.Failover.Seconds())
	}
	fmt.Fprintf(w, "  over REST    %d replies\n", r.REST)
	fmt.Fprintf(w, "  outreach     %d reminders, %d nudges delivered; %d held by quiet hours\n", r.Reminders, r.Nudges, r.Held)
	fmt.Fprintf(w, "  callbacks    %d acknowledged, %d retried\n", r.Callbacks, r.CBRetries)
	fmt.Fprintf(w, "  wrong answers %d\n", r.Wrong)
	fmt.Fprintf(w, "  lost %d, duplicated %d\n", r.Lost, r.Duplicated)
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  PROBLEM: %s\n", p)
	}
	if r.OK() {
		fmt.Fprintln(w, "soak: ok")
	} else {
		fmt.Fprintln(w, "soak: FAILED")
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func kv(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i == 0 {
			b.WriteString("(")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, m[k])
	}
	if len(keys) > 0 {
		b.WriteString(")")
	}
	return b.String()
}

// backend is the Redis darsi runs on and the faults it can suffer.
type backend interface {
	// URL is the store URL the replicas use; Direct one without faults,
	// for the final reading.
	URL() string
	Direct() string
	// Faults injects the backend's faults at their times in the run.
	Faults(ctx context.Context, h *harness, at func(frac float64) <-chan time.Time)
	Close()
}

// Run runs the soak and returns its report; the error is for a harness
// that could not run at all.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Duration <= 0 {
		opts.Duration = 5 * time.Minute
	}
	if opts.Learners <= 0 {
		opts.Learners = 2000
	}
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "darsi-soak-")
		if err != nil {
			return nil, err
		}
		dir = d
	}
	h := &harness{opts: opts, account: account, token: authToken, whatsAppFrom: whatsAppFrom,
		runID: strconv.FormatInt(time.Now().UnixNano(), 36), start: time.Now(),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}},
		think:  400 * time.Millisecond, giveUp: 2 * time.Minute, replyWait: 40 * time.Second}
	rep, err := h.run(ctx, dir)
	if err == nil && rep.OK() && opts.Dir == "" {
		os.RemoveAll(dir)
	} else if opts.Progress != nil {
		fmt.Fprintf(opts.Progress, "soak: files and logs kept in %s\n", dir)
	}
	return rep, err
}

func (h *harness) run(ctx context.Context, dir string) (*Report, error) {
	D := h.opts.Duration
	h.logf("building darsi")
	bin, err := BuildDarsi(dir)
	if err != nil {
		return nil, err
	}
	if h.content, err = LoadContent(); err != nil {
		return nil, err
	}
	h.content.Controller = controller

	// Redis.
	var be backend
	if h.opts.Sentinel {
		be, err = startSentinels(dir, h.opts.StoreQuery)
	} else {
		be, err = startSingle(dir, h.opts.StoreQuery)
	}
	if err != nil {
		return nil, err
	}
	defer be.Close()

	// Quiet hours: around Toronto's time all run (its learners get no
	// outreach at all), and, when the run is long enough, one range in
	// Casablanca's time inside the run, which outreach due in it waits out.
	h.start = time.Now()
	toronto, _ := time.LoadLocation("America/Toronto")
	casablanca, _ := time.LoadLocation(schedule.DefaultZone)
	tn := h.start.In(toronto)
	ranges := []string{tn.Add(-30*time.Minute).Format("15:04") + "-" + tn.Add(90*time.Minute).Format("15:04")}
	from := h.start.Add(D * 45 / 100).In(casablanca).Truncate(time.Minute).Add(time.Minute)
	to := from.Add(max(time.Minute, (D / 5).Truncate(time.Minute)))
	if !to.After(h.start.Add(D * 85 / 100)) {
		h.windowFrom, h.windowTo = from, to
		ranges = append(ranges, from.Format("15:04")+"-"+to.Format("15:04"))
	}
	if h.quiet, err = schedule.ParseQuiet(strings.Join(ranges, ",")); err != nil {
		return nil, err
	}
	if !h.quiet.Next(h.start, casablanca).Equal(h.start) {
		return nil, fmt.Errorf("quiet hours %s hold Casablanca's time now", h.quiet)
	}
	h.nudgeAfter = max(10*time.Second, D/6)

	// The fake Twilio and its tap, the balancer.
	h.fake = twiliotest.Start(account, authToken)
	defer h.fake.Close()
	if h.tap, err = NewTap(h.fake); err != nil {
		return nil, err
	}
	defer h.tap.Close()
	cbctx, stopCallbacks := context.WithCancel(context.Background())
	defer stopCallbacks()
	h.tap.StartCallbacks(cbctx, 8)

	// A coach and a cohort, with the command line, on Redis without faults.
	cli := func(store string, stdin string, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "DARSI_STORE="+store, "DARSI_SECRET="+secret,
			"TWILIO_WHATSAPP_FROM="+whatsAppFrom, "DARSI_LOG_LEVEL=warn")
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil && args[0] != "remind" {
			// Setting up: once more after a moment (a Redis just started).
			time.Sleep(2 * time.Second)
			cmd = exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), "DARSI_STORE="+store, "DARSI_SECRET="+secret,
				"TWILIO_WHATSAPP_FROM="+whatsAppFrom, "DARSI_LOG_LEVEL=warn")
			cmd.Stdin = strings.NewReader(stdin)
			out, err = cmd.Output()
		}
		if ee, ok := err.(*exec.ExitError); ok {
			err = fmt.Errorf("darsi %s: %v: %s", args[0], err, ee.Stderr)
		}
		return string(out), err
	}
	if _, err := cli(be.Direct(), "soak-password-0123\n", "coach", "add", "soakcoach", "--name", "Soak", "--role", "coach"); err != nil {
		return nil, err
	}
	out, err := cli(be.Direct(), "", "cohort", "create", "Soak", "--coach", "soakcoach", "--json")
	if err != nil {
		return nil, err
	}
	var created struct{ Code string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Code == "" {
		return nil, fmt.Errorf("cohort create printed %q", out)
	}
	h.code = created.Code

	// Two replicas behind the balancer.
	replicas := make([]*Replica, 2)
	h.lb, err = NewBalancer(nil)
	if err != nil {
		return nil, err
	}
	defer h.lb.Close()
	env := []string{
		"DARSI_STORE=" + be.URL(), "DARSI_ADMIN_ADDR=off", "DARSI_PUBLIC_URL=" + h.lb.URL,
		"DARSI_SIMULATOR=off", "DARSI_SECRET=" + secret, "DARSI_LOG_LEVEL=warn",
		"TWILIO_ACCOUNT_SID=" + account, "TWILIO_AUTH_TOKEN=" + authToken, "TWILIO_API_BASE_URL=" + h.tap.URL,
		"TWILIO_WHATSAPP_FROM=" + whatsAppFrom, "DARSI_INTERACTIVE=auto",
		"DARSI_QUIET_HOURS=" + h.quiet.String(), "DARSI_SEND_RATE=500",
		"DARSI_NUDGE_AFTER=" + h.nudgeAfter.String(), "DARSI_SECOND_NUDGE_AFTER=0",
		"DARSI_OUTBOX_LEASE=10s", "DARSI_CONTROLLER=" + controller,
	}
	for i := range replicas {
		name := fmt.Sprintf("replica-%d", i+1)
		if replicas[i], err = NewReplica(name, bin, filepath.Join(dir, name+".log"), env); err != nil {
			return nil, err
		}
		if err := replicas[i].Start(60 * time.Second); err != nil {
			return nil, err
		}
		defer replicas[i].Kill()
	}
	h.lb.backends = replicas

	twin, err := NewTwin(dir, h.content, cohort.Cohort{Code: h.code, Name: "Soak", Coach: "soakcoach", CreatedAt: time.Now()}, h.lb.URL)
	if err != nil {
		return nil, err
	}
	defer twin.Close()
	h.twin = twin

	// The run's clock starts now.
	h.start = time.Now()
	h.stopAt = h.start.Add(D * 85 / 100)
	h.logf("%d learners for %s; quiet hours %s; nudges after %s", h.opts.Learners, D, h.quiet, h.nudgeAfter)
	at := func(frac float64) <-chan time.Time {
		return time.After(time.Until(h.start.Add(time.Duration(float64(D) * frac))))
	}
	runCtx, stopRun := context.WithTimeout(ctx, D+h.giveUp)
	defer stopRun()

	// Learners start over the first 60% of the run.
	learners := make([]*learner, h.opts.Learners)
	var wg sync.WaitGroup
	for i := range learners {
		l := &learner{h: h, lang: 1 + i%4, rng: rand.New(rand.NewPCG(uint64(i), 7)), toronto: i%10 == 9}
		if l.toronto {
			l.number = fmt.Sprintf("+1514%07d", i)
		} else {
			l.number = fmt.Sprintf("+2126%08d", i)
		}
		l.turns = 8 + l.rng.IntN(9)
		learners[i] = l
		delay := time.Duration(float64(D) * 0.6 * float64(i) / float64(len(learners)))
		wg.Go(func() {
			select {
			case <-runCtx.Done():
				return
			case <-time.After(time.Until(h.start.Add(delay))):
			}
			l.run(runCtx)
		})
	}

	// Faults.
	var faults sync.WaitGroup
	faults.Go(func() { be.Faults(runCtx, h, at) })
	faults.Go(func() {
		select {
		case <-runCtx.Done():
			return
		case <-at(0.38):
		}
		r := replicas[1]
		h.logf("SIGKILL %s", r.Name)
		r.Kill()
		h.faults.add("replica-kill", 1)
		time.Sleep(3 * time.Second)
		// As an orchestrator does: start it again until it is ready (it
		// exits at startup while the store cannot be reached).
		for try := 1; ; try++ {
			err := r.Start(60 * time.Second)
			if err == nil {
				break
			}
			if try == 10 || runCtx.Err() != nil {
				h.problem("restarting %s: %v", r.Name, err)
				return
			}
			h.logf("%s did not start (%d): again in 2 s", r.Name, try)
			time.Sleep(2 * time.Second)
		}
		h.logf("%s restarted", r.Name)
	})

	// Reminders, queued with the command line through the faults.
	var reminders []*reminder
	var remindMu sync.Mutex
	remind := func(n int, frac float64, dueAt time.Time) {
		select {
		case <-runCtx.Done():
			return
		case <-at(frac):
		}
		r := &reminder{text: fmt.Sprintf("Rappel %d de la coach [soak %s]", n, h.runID), before: time.Now(), due: time.Now()}
		args := []string{"remind", "--cohort", h.code, "--text", r.text, "--id", fmt.Sprintf("soak-%s-%d", h.runID, n), "--json"}
		if !dueAt.IsZero() {
			args = append(args, "--at", dueAt.Format(time.RFC3339))
			r.due = dueAt
		}
		for try := 0; ; try++ {
			out, err := cli(be.URL(), "", args...)
			if err == nil {
				var res app.Reminded
				if err := json.Unmarshal([]byte(out), &res); err != nil {
					h.problem("remind printed %q", out)
					return
				}
				r.id, r.done = res.Reminder, time.Now()
				h.logf("reminder %d queued for %d learners (%d tries)", n, res.Queued+res.Already, try+1)
				break
			}
			if runCtx.Err() != nil || try > 30 {
				h.problem("remind %d: %v", n, err)
				return
			}
			h.retries.add("remind", 1)
			time.Sleep(time.Second)
		}
		remindMu.Lock()
		reminders = append(reminders, r)
		remindMu.Unlock()
	}
	var reminding sync.WaitGroup
	reminding.Go(func() { remind(1, 0.2, time.Time{}) })
	reminding.Go(func() {
		var due time.Time
		if !h.windowFrom.IsZero() {
			due = h.windowFrom.Add(5 * time.Second)
		}
		remind(2, 0.4, due)
	})
	reminding.Go(func() { remind(3, 0.6, time.Time{}) })

	wg.Wait()
	reminding.Wait()
	faults.Wait()
	h.logf("learners done")
	// What is due arrives: replies, reminders, nudges.
	select {
	case <-runCtx.Done():
	case <-at(1):
	}
	drain := min(max(D/3, 30*time.Second), 90*time.Second)
	deadline := time.Now().Add(drain)
	for ctx.Err() == nil {
		w := h.waiting(learners)
		if w == "" {
			break
		}
		if time.Now().After(deadline) {
			h.logf("still waiting for %s", w)
			break
		}
		time.Sleep(time.Second)
	}
	for h.tap.Pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	checkAt := time.Now()
	h.logf("checking")
	for _, r := range replicas {
		if err := r.Stop(); err != nil {
			h.problem("%v", err)
		}
	}
	stopCallbacks()

	rep := &Report{Duration: time.Since(h.start), Learners: len(learners),
		Messages: h.messages.Load(), Attempts: h.attempts.Load(),
		Retries: h.retries.snapshot(), Faults: h.faults.snapshot(),
		Callbacks: h.tap.Callbacks.Load(), CBRetries: h.tap.CallbackRetries.Load()}
	if n := h.tap.CallbacksFailed.Load(); n > 0 {
		h.problem("%d status callbacks never acknowledged", n)
	}
	if err := h.check(ctx, rep, be, learners, reminders, checkAt); err != nil {
		return nil, err
	}
	rep.Wrong = h.wrong
	rep.Problems = h.problems
	for format, n := range h.kinds {
		if n > 3 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%d in all of %q", n, format))
		}
	}
	rep.Failover = h.failoverAfter
	if n := len(h.took); n > 0 {
		slices.Sort(h.took)
		rep.P50, rep.P99 = h.took[n/2], h.took[n*99/100]
	}
	return rep, nil
}

// waiting says what is due and has not arrived yet: replies and nudges;
// "" when nothing.
func (h *harness) waiting(learners []*learner) string {
	replies, nudges := 0, 0
	for _, l := range learners {
		if l.failed != "" {
			continue
		}
		n := 0
		for _, s := range h.tap.To(l.addr()) {
			if strings.HasPrefix(s.Job, schedule.ReplyIDPrefix) {
				n++
			}
		}
		replies += max(0, len(l.rest)-n)
		if !l.toronto && !l.lastAck.IsZero() && time.Since(h.nudgeDue(l)) > 15*time.Second && h.nudgesAfter(l) == 0 {
			nudges++
			if nudges <= 3 && os.Getenv("SOAK_DEBUG") != "" {
				var at []string
				for _, s := range h.tap.To(l.addr()) {
					at = append(at, fmt.Sprintf("%s@%.1f", s.Job[:min(8, len(s.Job))], s.At.Sub(h.start).Seconds()))
				}
				h.logf("no nudge: %s phase %s last %.1f: %v", bot.Mask(l.addr()), l.shadow.Phase, l.lastAck.Sub(h.start).Seconds(), at)
			}
		}
	}
	if replies+nudges == 0 {
		return ""
	}
	return fmt.Sprintf("%d replies, %d nudges", replies, nudges)
}

// nudgeDue is when the learner's nudge is due: after their last message,
// at the end of the quiet range it falls in.
func (h *harness) nudgeDue(l *learner) time.Time {
	due := l.lastAck.Add(h.nudgeAfter)
	if !h.windowFrom.IsZero() && !due.Before(h.windowFrom) && due.Before(h.windowTo) {
		due = h.windowTo
	}
	return due
}

// nudgesAfter counts the nudges the learner got after their last message.
func (h *harness) nudgesAfter(l *learner) int {
	n := 0
	for _, s := range h.tap.To(l.addr()) {
		if strings.HasPrefix(s.Job, "nudge") && s.At.After(l.lastAck) {
			n++
		}
	}
	return n
}

// sameLearning compares two learners on everything but when.
var sameLearning = cmp.Options{
	cmpopts.IgnoreFields(app.ExportedLearner{}, "Key", "Version", "LastInboundAt", "UpdatedAt"),
	cmpopts.IgnoreFields(bot.Completion{}, "At"),
	cmpopts.EquateEmpty(),
}

// reminder is one coach's reminder queued during the run.
type reminder struct {
	id, text     string
	before, done time.Time // queued from before to done
	due          time.Time
}

// check reads the store and the fake and counts what was lost,
// duplicated or wrong.
func (h *harness) check(ctx context.Context, rep *Report, be backend, learners []*learner, reminders []*reminder, checkAt time.Time) error {
	s, err := redisstore.Open(ctx, be.Direct(), redisstore.Options{Secret: []byte(secret)})
	if err != nil {
		return fmt.Errorf("reading the store: %w", err)
	}
	defer s.Close()

	// Every learner as their twin.
	diffs := 0
	for _, l := range learners {
		if l.failed != "" {
			rep.Lost++
			h.problem("%s: %s", bot.Mask(l.addr()), l.failed)
			continue
		}
		if l.sent == 0 {
			continue
		}
		want, err := h.twin.Learner(ctx, l.addr())
		if err != nil {
			return err
		}
		stored, err := s.Get(ctx, l.addr())
		if err != nil {
			rep.Lost++
			h.problem("%s: %v", bot.Mask(l.addr()), err)
			continue
		}
		if diff := cmp.Diff(want, app.Export(stored), sameLearning); diff != "" {
			rep.Lost++
			if diffs++; diffs <= 5 {
				h.problem("%s differs from its twin (-twin +darsi):\n%s", bot.Mask(l.addr()), diff)
			}
		}
	}
	if diffs > 5 {
		h.problem("%d learners differ from their twins in all", diffs)
	}

	// Every message the fake took, by job.
	msgs := h.fake.Messages()
	byTo := map[string][]twiliotest.FakeMessage{}
	jobs := map[string]int{}
	for _, m := range msgs {
		job := jobOf(m)
		if job == "" {
			h.problem("a message to %s without a job in its status callback", bot.Mask(m.To))
			continue
		}
		if jobs[job]++; jobs[job] == 2 {
			rep.Duplicated++
			h.problem("job %s sent twice", job)
		}
		byTo[m.To] = append(byTo[m.To], m)
	}
	casablanca, _ := time.LoadLocation(schedule.DefaultZone)
	inQuiet := func(to string, at time.Time) bool {
		zone := schedule.ZoneOf(bot.Learner{ID: to})
		if zone == nil {
			zone = casablanca
		}
		quiet := func(t time.Time) bool { return !h.quiet.Next(t, zone).Equal(t) }
		// A send decided just before a range starts may land a moment in.
		return quiet(at) && quiet(at.Add(-2*time.Second))
	}
	for _, l := range learners {
		got := byTo[l.addr()]
		// Replies over REST: each once, the twin's, in order in a turn.
		type key struct {
			sid string
			i   int
		}
		replies := map[key]twiliotest.FakeMessage{}
		var nudges []twiliotest.FakeMessage
		for _, m := range got {
			job := jobOf(m)
			switch {
			case strings.HasPrefix(job, schedule.ReplyIDPrefix):
				rep.REST++
				rest := strings.TrimPrefix(job, schedule.ReplyIDPrefix)
				parts := strings.Split(rest, "-")
				if len(parts) < 3 {
					h.problem("reply job %s: unknown form", job)
					continue
				}
				i, _ := strconv.Atoi(parts[len(parts)-1])
				k := key{parts[len(parts)-2], i}
				if prev, ok := replies[k]; ok && prev.At.After(m.At) {
					continue
				}
				replies[k] = m
			case strings.HasPrefix(job, "nudge"):
				rep.Nudges++
				nudges = append(nudges, m)
				if inQuiet(m.To, m.At) {
					h.problem("a nudge to %s at %s, inside the quiet hours", bot.Mask(m.To), m.At.Format(time.TimeOnly))
				}
			case strings.HasPrefix(job, "reminder-"):
				rep.Reminders++
				if inQuiet(m.To, m.At) {
					h.problem("a reminder to %s at %s, inside the quiet hours", bot.Mask(m.To), m.At.Format(time.TimeOnly))
				}
			default:
				h.problem("a message to %s for job %s, which the soak did not expect", bot.Mask(m.To), job)
			}
		}
		for _, t := range l.turnsREST {
			prev := time.Time{}
			for i, want := range t.replies {
				m, ok := replies[key{t.sid, i}]
				if !ok {
					rep.Lost++
					h.problem("%s: reply %d of %s never sent", bot.Mask(l.addr()), i, t.sid)
					continue
				}
				delete(replies, key{t.sid, i})
				if !sameReply(m, want) {
					rep.Wrong++
					h.problem("%s: reply %d of %s is %.200q, want %.200q", bot.Mask(l.addr()), i, t.sid, m.Body, want.Text)
				}
				if m.At.Before(prev) {
					h.problem("%s: reply %d of %s sent before the one before it", bot.Mask(l.addr()), i, t.sid)
				}
				prev = m.At
			}
		}
		for k := range replies {
			rep.Duplicated++
			h.problem("%s: reply %d of %s, which the turn did not have", bot.Mask(l.addr()), k.i, k.sid)
		}

		// Reminders: once to each member who had joined when it was
		// queued, none to one who joined after; none inside the quiet
		// hours (Toronto's learners are in them all run).
		for _, r := range reminders {
			var mine []twiliotest.FakeMessage
			for _, m := range got {
				if strings.HasPrefix(jobOf(m), r.id+"-") {
					mine = append(mine, m)
				}
			}
			member := !l.joinedAt.IsZero() && l.joinedAt.Before(r.before)
			maybe := !l.joinSent.IsZero() && l.joinSent.Before(r.done)
			switch {
			case len(mine) > 1:
				// The same job twice is counted with the jobs above.
				if distinct := distinctJobs(mine); distinct > 1 {
					rep.Duplicated += distinct - 1
				}
				h.problem("%s got reminder %s %d times", bot.Mask(l.addr()), r.id, len(mine))
			case l.toronto && len(mine) > 0:
				h.problem("%s got reminder %s inside their quiet hours", bot.Mask(l.addr()), r.id)
			case l.toronto && member:
				rep.Held++
			case member && len(mine) == 0:
				rep.Lost++
				h.problem("%s never got reminder %s", bot.Mask(l.addr()), r.id)
			case !maybe && len(mine) > 0:
				h.problem("%s got reminder %s, queued before they joined", bot.Mask(l.addr()), r.id)
			}
			for _, m := range mine {
				if m.At.Before(r.due.Add(-time.Second)) {
					h.problem("%s got reminder %s at %s, before it was due (%s)", bot.Mask(l.addr()), r.id, m.At.Format(time.TimeOnly), r.due.Format(time.TimeOnly))
				}
			}
		}

		// Nudges: one after the learner went quiet, when it was due
		// long enough before the check; never two.
		if l.lastAck.IsZero() {
			continue
		}
		after := 0
		for _, m := range nudges {
			if m.At.After(l.lastAck) {
				after++
			}
		}
		due := h.nudgeDue(l)
		switch {
		case after > 1:
			var late []twiliotest.FakeMessage
			for _, m := range nudges {
				if m.At.After(l.lastAck) {
					late = append(late, m)
				}
			}
			if distinct := distinctJobs(late); distinct > 1 {
				rep.Duplicated += distinct - 1
			}
			h.problem("%s got %d nudges after their last message", bot.Mask(l.addr()), after)
		case l.toronto && after > 0:
			h.problem("%s got a nudge inside their quiet hours", bot.Mask(l.addr()))
		case l.toronto:
			if due.Before(checkAt) {
				rep.Held++
			}
		case after == 0 && due.Add(75*time.Second).Before(checkAt):
			rep.Lost++
			h.problem("%s never got the nudge due at %s", bot.Mask(l.addr()), due.Format(time.TimeOnly))
		}
	}
	if n := h.lateReplies.Load(); n > 0 {
		h.logf("%d turns' replies came after the learner stopped waiting for them", n)
	}
	return nil
}

// sameReply reports whether m is the reply want: a content's body or its
// numbered lines (when the content could not be made), or the text and
// the media.
func sameReply(m twiliotest.FakeMessage, want bot.Reply) bool {
	if want.Choice != nil && m.ContentSID != "" {
		return m.Body == want.Choice.Body
	}
	return m.Body == want.Text && (want.Media != "") == (len(m.MediaURL) > 0)
}

// distinctJobs counts the jobs the messages were sent for.
func distinctJobs(ms []twiliotest.FakeMessage) int {
	seen := map[string]bool{}
	for _, m := range ms {
		seen[jobOf(m)] = true
	}
	return len(seen)
}

// jobOf is the outbox job a message was sent for, from its status
// callback's URL.
func jobOf(m twiliotest.FakeMessage) string {
	_, q, ok := strings.Cut(m.StatusCallback, "?")
	if !ok {
		return ""
	}
	v, _ := url.ParseQuery(q)
	return v.Get("job")
}
