package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/coachweb"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/privacy"
	"github.com/darsi-ma/darsi/bot/simulator"
	"github.com/darsi-ma/darsi/bot/store/redisstore"
	"github.com/darsi-ma/darsi/bot/twilio"
)

// shutdownGrace is how long in-flight requests get to finish on SIGTERM.
const shutdownGrace = 10 * time.Second

func serve(ctx context.Context, cfg Config, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.flagFor(fs, "addr", "DARSI_ADDR", "listen address")
	cfg.storeFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("darsi serve takes no arguments, only flags (got %q)", fs.Args())
	}
	log := cfg.logger(stderr)
	cfg.logNotes(log)
	if os.Getenv("GOGC") == "" {
		// The heap is small (lessons, texts, buffers in flight): trading a
		// few megabytes for a quarter of the collector's work per message
		// is worth it on small machines.
		debug.SetGCPercent(400)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var watcher *lessonWatcher
	var err error
	if cfg.Lessons != "" {
		// Watch before the first load, so that no edit falls between the two.
		if watcher, err = newLessonWatcher(cfg.Lessons, log, reg); err != nil {
			return fmt.Errorf("lesson folder %s: watching for changes: %w", cfg.Lessons, err)
		}
		defer watcher.Close()
	}
	content, err := loadContent(cfg.Lessons)
	if err != nil {
		return err
	}
	content.Controller = cfg.Controller
	s, err := cfg.openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	// On Redis, darsi migrate sees this replica, and it refuses to start
	// while a move holds the store.
	withdraw, err := announceReplica(ctx, s, log)
	if err != nil {
		return err
	}
	defer withdraw()

	reg.MustRegister(newStoreCollector(s, log))
	a := app.New(measureStore(s, reg), content)
	a.Keys = s.Keys() // the measuring wrapper hides the store's
	a.Cohorts = s     // learners join cohorts by code
	a.Aliases = s     // a BSUID reaches the learner it was paired with
	a.Inbox = s       // learners ask their coach
	a.Observe = app.NewEventCounter(reg)
	// The simulator's learners get what the outbox sends them in their
	// chat: this process's mailbox stands for Twilio.
	var mailbox *simulator.Mailbox
	if cfg.simulatorOn() {
		mailbox = simulator.NewMailbox()
		reports := app.DeliveryReports{Deliveries: s, Outbox: s}
		mailbox.OnDelivered = func(ctx context.Context, d bot.Delivery) {
			if _, err := reports.AdvanceDelivery(ctx, d); err != nil {
				log.Warn("simulator: recording a delivery", "job", d.JobID, "err", err)
			}
		}
		defer mailbox.Close()
	}
	// Any replica delivers the outbox's due jobs.
	runner, err := outboxRunner(cfg, s, a, log, reg, mailbox)
	if err != nil {
		return err
	}
	if runner != nil {
		rctx, stopRunner := context.WithCancel(ctx)
		running := make(chan struct{})
		go func() {
			defer close(running)
			if err := runner.Run(rctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("outbox stopped", "err", err)
			}
		}()
		defer func() { stopRunner(); <-running }()
		log.Info("outbox: delivering due jobs", "worker", runner.Worker())
		// Any replica sweeps the due index: nudges and reviews become jobs
		// when they are due.
		a.Outreach = outreach(cfg, s, log)
		sweeping := make(chan struct{})
		go func() {
			defer close(sweeping)
			a.RunOutreach(rctx)
		}()
		defer func() { stopRunner(); <-sweeping }()
		// Any replica queues the coaches' daily digests: each once a day.
		if cfg.DigestHour >= 0 {
			digest := &app.Digest{Coaching: newCoaching(cfg, s, a.Content, log), Outbox: s, Hour: cfg.DigestHour,
				Inbox: inboxURL(cfg.PublicURL), Log: log}
			digesting := make(chan struct{})
			go func() {
				defer close(digesting)
				digest.Run(rctx)
			}()
			defer func() { stopRunner(); <-digesting }()
		}
	}
	if watcher != nil {
		wctx, stopWatching := context.WithCancel(ctx)
		watching := make(chan struct{})
		go func() {
			defer close(watching)
			watcher.Run(wctx, func(cat *lesson.Catalog) {
				c := *a.Content() // the watcher is the only writer
				c.Lessons = cat
				a.SetContent(&c)
			})
		}()
		defer func() { stopWatching(); <-watching }()
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	var opts []routeOpt
	if runner != nil && cfg.interactiveOn() {
		lane := &replyLane{app: a, runner: runner, log: log}
		defer lane.Wait()
		opts = append(opts, withReplies(lane))
		log.Info("interactive messages on: buttons and lists for WhatsApp learners")
	}
	if mailbox != nil {
		opts = append(opts, withMailbox(mailbox))
	}
	srv := &http.Server{
		Handler:           routes(cfg, a, s, reg, log, opts...),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if mailbox != nil {
		srv.RegisterOnShutdown(mailbox.Close) // the simulator's event streams end
	}
	log.Info("darsi serving", "addr", ln.Addr().String(), "version", buildVersion(),
		"store", storeKind(cfg.Store), "twilio", cfg.TwilioAuthToken != "",
		"simulator", cfg.simulatorOn(), "lessons", content.Lessons.Count(), "hot_reload", watcher != nil)
	if cfg.simulatorOn() {
		log.Info("web chat simulator", "url", "http://"+displayAddr(ln.Addr())+"/")
	}
	firstCoach(ctx, cfg, s, log, "http://"+displayAddr(ln.Addr())+"/coach/")

	if cfg.AdminAddr != "off" {
		// Metrics and profiles on a listener of their own, which operators
		// keep private: never on the public one.
		aln, err := net.Listen("tcp", cfg.AdminAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("DARSI_ADMIN_ADDR=%s: %w (set another address, or off)", cfg.AdminAddr, err)
		}
		admin := &http.Server{Handler: adminRoutes(reg, s, log), ReadHeaderTimeout: 5 * time.Second}
		go admin.Serve(aln)
		defer admin.Close()
		log.Info("metrics and profiles", "addr", aln.Addr().String())
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// adminRoutes is what the admin listener serves: /metrics, Go's
// profiles, and the embedded store's backup.
func adminRoutes(reg *prometheus.Registry, s store, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /backup", backupHandler(s, log))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// routeOpts are what routes wires besides the store and the app.
type routeOpts struct {
	// replies sends the turns with interactive messages over REST
	// (DARSI_INTERACTIVE).
	replies twilio.Replier
	// mailbox holds what the outbox sends to the simulator's learners,
	// for their page's event stream.
	mailbox *simulator.Mailbox
}

// routeOpt sets one of routeOpts.
type routeOpt func(*routeOpts)

func withReplies(r twilio.Replier) routeOpt      { return func(o *routeOpts) { o.replies = r } }
func withMailbox(mb *simulator.Mailbox) routeOpt { return func(o *routeOpts) { o.mailbox = mb } }

// routes wires the public HTTP interface. reg may be nil: it registers
// the webhook's metrics, served on the admin listener.
func routes(cfg Config, a *app.App, s store, reg *prometheus.Registry, log *slog.Logger, opt ...routeOpt) http.Handler {
	var o routeOpts
	for _, f := range opt {
		f(&o)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.Ready(ctx); err != nil {
			log.Warn("not ready", "err", err)
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})

	wcfg := twilio.WebhookConfig{
		AuthToken:  cfg.TwilioAuthToken,
		AccountSID: cfg.TwilioAccountSID,
		PublicURL:  cfg.PublicURL,
		Log:        log,
		Registerer: registerer(reg),
	}
	if o.replies != nil {
		wcfg.Replies = o.replies
	}
	webhook := twilio.NewWebhook(a, app.DeliveryReports{Deliveries: s, Outbox: s}, wcfg)
	mux.Handle("POST /twilio/messages", webhook.Messages())
	mux.Handle("POST /twilio/status", webhook.Status())
	// What Darsi keeps about learners and their rights, for anyone.
	if page, err := privacy.New(cfg.Controller); err != nil {
		log.Error("privacy page off", "err", err)
	} else {
		mux.Handle("GET "+privacy.Path, page)
	}
	// Twilio fetches the media of replies here (dialog.MediaPrefix).
	mux.Handle("GET "+dialog.MediaPrefix+"{path...}", mediaHandler(cfg.Lessons))

	if cfg.simulatorOn() {
		sim := simulator.New(a, log, o.mailbox)
		mux.Handle("GET /{$}", sim)
		mux.Handle("POST /sim/messages", sim)
		mux.Handle("GET /sim/events", sim)
	}
	coach, err := coachweb.New(coachweb.Config{Coaching: newCoaching(cfg, s, a.Content, log), Deliveries: s,
		PublicURL: cfg.PublicURL, Log: log})
	if err != nil {
		log.Error("coach dashboard off", "err", err)
	} else {
		mux.Handle(coachweb.Prefix+"/", coach)
	}
	return mux
}

// registerer avoids a typed nil inside the interface.
func registerer(reg *prometheus.Registry) prometheus.Registerer {
	if reg == nil {
		return nil
	}
	return reg
}

// storeKind names the store for logs, without its address or password.
func storeKind(spec string) string {
	switch {
	case spec == "memory":
		return "memory"
	case strings.HasPrefix(spec, "redis://"), strings.HasPrefix(spec, "rediss://"), strings.HasPrefix(spec, redisstore.SentinelScheme+"://"):
		return "redis"
	}
	return "embedded"
}

// displayAddr turns a listen address into one a browser can open.
func displayAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	if tcp.IP.IsUnspecified() {
		return net.JoinHostPort("localhost", strconv.Itoa(tcp.Port))
	}
	return tcp.String()
}

// firstCoach says, when the store has no coach account yet, the exact
// command that makes the first one: the dashboard needs one. On the
// embedded store, which one process opens at a time, the server must be
// stopped for it.
func firstCoach(ctx context.Context, cfg Config, s store, log *slog.Logger, dashboard string) {
	coaches, _, err := s.Coaches(ctx, "", 1)
	if err != nil || len(coaches) > 0 {
		return
	}
	cmd := "darsi coach add admin --role admin"
	switch storeKind(cfg.Store) {
	case "memory":
		log.Info("no coach account: the memory store forgets everything at exit; use a file (--store ./data/darsi.db) to keep one")
		return
	case "embedded":
		cmd += " --store " + cfg.Store + " < password.txt"
		log.Warn("no coach account yet: to make the first one, stop darsi serve (Ctrl-C), run the command below with the password on the first line of password.txt (10 to 72 characters), keep the API token it prints, then start darsi serve again and log in",
			"command", cmd, "dashboard", dashboard)
	default:
		cmd += " < password.txt"
		log.Warn("no coach account yet: to make the first one, run the command below beside the server, with the same DARSI_STORE and the password on the first line of password.txt (10 to 72 characters); keep the API token it prints, then log in",
			"command", cmd, "dashboard", dashboard)
	}
}

// inboxURL is the coaches' inbox at the public URL, "" without one.
func inboxURL(public string) string {
	if public == "" {
		return ""
	}
	return strings.TrimRight(public, "/") + coachweb.Prefix + "/inbox"
}
