package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/dialog"
)

// openCoaching opens the store for a coach command (coach, cohort,
// remind) and returns the coaching use cases over it. On the embedded
// store, which one process at a time may open, openStore says what to do
// when darsi serve holds the file.
func openCoaching(ctx context.Context, cfg Config) (*app.Coaching, func() error, error) {
	content, err := loadContent(cfg.Lessons)
	if err != nil {
		return nil, nil, err
	}
	s, err := cfg.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	return newCoaching(cfg, s, func() *dialog.Content { return content }, nil), s.Close, nil
}

// newCoaching returns the coaching use cases over a store, as the
// configuration sets them up: the commands and the dashboard share them.
func newCoaching(cfg Config, s store, content func() *dialog.Content, log *slog.Logger) *app.Coaching {
	return &app.Coaching{
		Cohorts: s, Members: s, Outbox: s, Audit: s, Threads: s, Learners: s, Everyone: s, Content: content, Keys: s.Keys(),
		Policy: cfg.policy(), WhatsAppFrom: cfg.WhatsAppFrom, SessionIdle: cfg.SessionIdle, Log: log,
	}
}

// cliOrigin is where the audit log says the commands' changes come from.
var cliOrigin = app.Origin{Via: "cli"}

// parseInterleaved parses flags that may come before, between and after
// the positional arguments, which it returns.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

const coachUsage = "usage: darsi coach add LOGIN [--name NAME] [--role coach|admin] [--whatsapp +212…] < password\n       darsi coach disable LOGIN"

func coachCmd(ctx context.Context, cfg Config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "disable" {
		return coachDisableCmd(ctx, cfg, args[1:], stderr)
	}
	if len(args) == 0 || args[0] != "add" {
		return errors.New(coachUsage)
	}
	fs := flag.NewFlagSet("coach add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "the coach's full name, as the dashboard shows it")
	role := fs.String("role", string(cohort.RoleCoach), "coach (sees their own cohorts) or admin (sees every cohort)")
	var whatsapp *string
	fs.Func("whatsapp", "the coach's own WhatsApp number (+212…) for the daily digest of new questions; \"\" erases it; left out, a replaced account keeps its own", func(v string) error {
		whatsapp = &v
		return nil
	})
	cfg.storeFlags(fs)
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New(coachUsage)
	}
	password, err := readPassword(stdin)
	if err != nil {
		return err
	}
	co, closeStore, err := openCoaching(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	c, token, err := co.AddCoach(ctx, app.NewCoach{Login: pos[0], Name: *name, Role: cohort.Role(*role), Password: password, WhatsApp: whatsapp})
	if err != nil {
		return err
	}
	digest := "no WhatsApp number: no daily digest"
	if c.WhatsApp != "" {
		digest = "daily digest of new questions to " + bot.Mask(c.WhatsApp)
	}
	fmt.Fprintf(stderr, "coach %s (%s) saved, %s. Their API token follows; it is shown once and stored only as a hash:\n", c.Login, c.Role, digest)
	fmt.Fprintln(stdout, token)
	return nil
}

// coachDisableCmd locks an account out through app.Coaching.DisableCoach.
func coachDisableCmd(ctx context.Context, cfg Config, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("coach disable", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.storeFlags(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New(coachUsage)
	}
	co, closeStore, err := openCoaching(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	c, err := co.DisableCoach(ctx, app.Operator, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "coach %s disabled: their password, API token and sessions no longer work; darsi coach add %s enables the account again with a new password\n", c.Login, c.Login)
	return nil
}

// readPassword reads the first line of stdin, without its line end;
// app.Coaching.AddCoach checks its length.
func readPassword(stdin io.Reader) ([]byte, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return []byte(strings.TrimRight(line, "\r\n")), nil
}
