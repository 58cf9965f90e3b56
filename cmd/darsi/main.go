// Command darsi runs Darsi: the WhatsApp and SMS lesson bot, its web chat
// simulator, and the tools around it (chat in the terminal, lesson lint,
// learner export).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/signal"
	"path"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	berrors "go.etcd.io/bbolt/errors"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/lint"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
	"github.com/darsi-ma/darsi/bot/store/redisstore"
	"github.com/darsi-ma/darsi/lessons"
	"github.com/darsi-ma/darsi/locales"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

const usage = `darsi: 5-minute lessons by WhatsApp and SMS

usage:
  darsi serve [--addr :8080]           run the bot: webhook, simulator at /, /privacy, health
  darsi chat [--from +212…] [--jsonl]  talk to the bot in the terminal
  darsi lint [--format json] [PATH…]   check lesson folders (default: lessons); summary table
  darsi stamp [--lang L,…] PATH…       record that translations match their source text
  darsi preview COURSE/LESSON [--lang L] [--answers 2,150,…]  play a lesson as a learner sees it
  darsi export learners                one JSON line per learner (numbers masked;
                                       --with-numbers gives them, logged)
  darsi export learner ID              one learner's whole record as JSON (ID: whatsapp:+212…); logged
  darsi coach add LOGIN [--name N] [--role coach|admin] [--whatsapp +212…]   dashboard account; password on stdin; prints its API token
  darsi coach disable LOGIN            lock an account out: password, token and every session
  darsi cohort create NAME [--coach LOGIN] [--json] [--poster FILE.svg]   a cohort: join code and wa.me link
  darsi cohort list [--json]           cohorts, their coaches and members
  darsi remind --cohort CODE --text TEXT [--text-LANG T] [--at RFC3339] [--template KIND]   queue a reminder for every member, in their language
  darsi jobs list --cohort CODE [--status queued,…] [--json]   a cohort's outbox, newest due first
  darsi jobs cancel ID                 cancel a job of the outbox that has not begun to go out
  darsi whatsapp sync [--dry-run]      make the WhatsApp buttons and lists of every question (Content API); count them
  darsi backup --out FILE [--admin ADDR]   a consistent copy of the embedded store, also while darsi serve runs
  darsi restore --from FILE --to PATH [--force]   put a checked backup in place (darsi serve stopped)
  darsi migrate --from SRC --to DST    copy a stopped store into an empty one (embedded file or redis://), resumable
  darsi config [--check]               the effective configuration, secrets hidden; --check: exit 1 on any problem
  darsi version                        print the version
  darsi probe URL                      exit 0 if URL answers 2xx (container health checks)

Every command that opens the store takes --store and --lessons
(environment: DARSI_STORE, DARSI_LESSONS). See README.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cfg, cfgErr := loadConfig(env)
	switch args[0] {
	case "config":
		return configCmd(cfg, cfgErr, args[1:], stdout, stderr)
	case "serve", "chat", "preview", "export", "coach", "cohort", "remind", "jobs", "whatsapp", "backup", "migrate":
		// Every command that uses the configuration refuses a bad value
		// before doing anything, whatever it would have used.
		if cfgErr != nil {
			printConfigErrors(stderr, cfgErr)
			fmt.Fprintln(stderr, "darsi: fix the settings above (darsi config --check lists them)")
			return 1
		}
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, cfg, args[1:], stderr)
	case "chat":
		err = chat(ctx, cfg, args[1:], stdin, stdout)
	case "lint":
		return lintCmd(args[1:], stdout, stderr)
	case "stamp":
		return stamp(args[1:], stdout, stderr)
	case "preview":
		err = previewCmd(cfg, args[1:], stdout, stderr)
	case "export":
		err = export(ctx, cfg, args[1:], stdout, stderr)
	case "coach":
		err = coachCmd(app.WithOrigin(ctx, cliOrigin), cfg, args[1:], stdin, stdout, stderr)
	case "cohort":
		err = cohortCmd(app.WithOrigin(ctx, cliOrigin), cfg, args[1:], stdout, stderr)
	case "remind":
		err = remindCmd(app.WithOrigin(ctx, cliOrigin), cfg, args[1:], stdout, stderr)
	case "jobs":
		err = jobsCmd(app.WithOrigin(ctx, cliOrigin), cfg, args[1:], stdout, stderr)
	case "whatsapp":
		err = whatsappCmd(ctx, cfg, args[1:], stdout, stderr)
	case "backup":
		err = backupCmd(ctx, cfg, args[1:], stdout, stderr)
	case "restore":
		err = restoreCmd(args[1:], stdout, stderr)
	case "migrate":
		err = migrateCmd(ctx, cfg, args[1:], stdout, stderr)
	case "probe":
		err = probe(ctx, args[1:])
	case "version":
		fmt.Fprintln(stdout, "darsi", buildVersion())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "darsi: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "darsi:", err)
		return 1
	}
	return 0
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// lessonSource returns the lessons to use and the prefix their problems are
// reported under.
func lessonSource(dir string) (fs.FS, string) {
	if dir == "" {
		return lessons.FS, "lessons"
	}
	return os.DirFS(dir), strings.TrimSuffix(dir, "/")
}

// loadContent loads the bot's texts and the lessons.
func loadContent(dir string) (*dialog.Content, error) {
	text, err := locale.Load(locales.FS)
	if err != nil {
		return nil, fmt.Errorf("locales: %w", err)
	}
	cat, err := loadLessons(dir)
	if err != nil {
		return nil, fmt.Errorf("lessons:\n%w", err)
	}
	return &dialog.Content{Lessons: cat, Text: text}, nil
}

// lintErrors are the errors lint found in a lesson folder, one
// "file:line:col: message" a line.
type lintErrors []lint.Finding

func (e lintErrors) Error() string {
	lines := make([]string, len(e))
	for i, f := range e {
		lines[i] = f.String()
	}
	return strings.Join(lines, "\n")
}

// loadLessons loads the lessons of dir (the built-in ones when dir is "")
// and lints them with their media: lessons lint finds an error in are
// refused, at startup as on a hot reload, so that what learners meet has
// passed darsi lint. The error is then of type lintErrors.
func loadLessons(dir string) (*lesson.Catalog, error) {
	fsys, prefix := lessonSource(dir)
	var media fs.FS
	if dir == "" {
		media, _ = fs.Sub(lessons.Media, mediaFolder)
	} else {
		media = folderMediaFS(dir)
	}
	cat, rep, err := lint.Load(fsys, prefix, lint.Options{Media: media, MediaPrefix: path.Join(prefix, mediaFolder)})
	if err != nil {
		return nil, err
	}
	if rep.Errors > 0 {
		var errs lintErrors
		for _, f := range rep.Findings {
			if f.Severity == lint.Error {
				errs = append(errs, f)
			}
		}
		return nil, errs
	}
	return cat, nil
}

// store is what both stores keep: everything (app.Backend).
type store = app.Backend

var (
	_ store = (*boltstore.Store)(nil)
	_ store = (*redisstore.Store)(nil)
	_ store = (*tempStore)(nil)
)

// openStore opens the store the configuration names: redis:// or
// rediss:// for Redis, "memory" for a throwaway embedded store, else the
// embedded store's file; with the configuration's retentions (and, on
// Redis, buckets).
func (c *Config) openStore(ctx context.Context) (store, error) {
	spec := c.Store
	switch {
	case strings.HasPrefix(spec, "redis://"), strings.HasPrefix(spec, "rediss://"), strings.HasPrefix(spec, redisstore.SentinelScheme+"://"):
		s, err := redisstore.Open(ctx, spec, redisstore.Options{Buckets: c.RedisBuckets, Secret: []byte(c.Secret),
			Retention: c.MessageRetention, DeliveryRetention: c.DeliveryRetention, JobRetention: c.JobRetention})
		if err != nil {
			return nil, fmt.Errorf("DARSI_STORE=%s: %w", redactURL(spec), err)
		}
		return s, nil
	case spec == "memory":
		dir, err := os.MkdirTemp("", "darsi-")
		if err != nil {
			return nil, err
		}
		s, err := boltstore.Open(dir+"/darsi.db", c.boltOptions())
		if err != nil {
			return nil, err
		}
		return &tempStore{Store: s, dir: dir}, nil
	}
	s, err := boltstore.Open(spec, c.boltOptions())
	if bot.KindOf(err) == bot.Unavailable && errors.Is(err, berrors.ErrTimeout) {
		return nil, &storeInUse{path: spec, err: err}
	}
	return s, err
}

// storeInUse is the error of a command that found the embedded store held
// by another process: bbolt lets one process at a time open the file, and
// the one holding it is most likely darsi serve.
type storeInUse struct {
	path string
	err  error
}

func (e *storeInUse) Error() string {
	return "the store " + e.path + " is in use by a running darsi serve: stop it (Ctrl-C where it runs), run this command, then start it again; " +
		"while it runs, cohorts and reminders are made in the dashboard (/coach/) or its API, and a Redis store (DARSI_STORE=redis://…) lets every command run beside it"
}

func (e *storeInUse) Unwrap() error { return e.err }

func (c *Config) boltOptions() boltstore.Options {
	return boltstore.Options{Secret: []byte(c.Secret), Retention: c.MessageRetention, DeliveryRetention: c.DeliveryRetention, JobRetention: c.JobRetention}
}

// tempStore is an embedded store that disappears when closed.
type tempStore struct {
	*boltstore.Store
	dir string
}

func (s *tempStore) Close() error {
	err := s.Store.Close()
	os.RemoveAll(s.dir)
	return err
}

// openApp loads content and the store: what serve, chat and export share.
func openApp(ctx context.Context, cfg Config) (*app.App, store, error) {
	content, err := loadContent(cfg.Lessons)
	if err != nil {
		return nil, nil, err
	}
	content.Controller = cfg.Controller
	s, err := cfg.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	return app.New(s, content), s, nil
}

func export(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	const usage = "usage: darsi export learners [--with-numbers] [--store …], or darsi export learner ID [--store …]"
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.storeFlags(fs)
	withNumbers := fs.Bool("with-numbers", false, "give each learner's full address, not a masked one (logged)")
	// Flags may come before, between and after the words.
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 && pos[0] == "learner" && !*withNumbers {
		return exportLearner(ctx, cfg, pos[1:], stdout, stderr)
	}
	if len(pos) != 1 || pos[0] != "learners" {
		return errors.New(usage)
	}
	a, s, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if *withNumbers {
		// Who asked is the account that ran the command; the audit trail of
		// the machine (shell history, sudo log) says who that was.
		cfg.logger(stderr).Warn("export of learners with their full numbers",
			"store", storeKind(cfg.Store), "user", os.Getenv("USER"))
	}
	return a.ExportLearners(ctx, stdout, *withNumbers)
}

// probe checks a health endpoint, for container images that have no curl.
func probe(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: darsi probe URL")
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", args[0], resp.Status)
	}
	return nil
}
