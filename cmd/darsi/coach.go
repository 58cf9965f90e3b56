package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/locales"
)

// bcryptCost is the work factor of coaches' password hashes: about a
// quarter of a second per login on a small server.
const bcryptCost = 12

// minPassword is the shortest password "darsi coach add" takes.
const minPassword = 10

var loginPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{1,63}$`)

// coachTools is what the coach commands (coach, cohort, remind) work on.
type coachTools struct {
	cohorts  cohort.Store
	learners app.Store
	outbox   schedule.Outbox // nil when the store keeps no outbox
	text     *locale.Bundle
	now      func() time.Time
	from     string // the bot's WhatsApp sender (TWILIO_WHATSAPP_FROM), for join links
}

// openCoachTools opens the store for a coach command. On the embedded
// store, which one process at a time may open, it says what to do when
// darsi serve holds the file.
func openCoachTools(ctx context.Context, cfg Config) (*coachTools, func() error, error) {
	text, err := locale.Load(locales.FS)
	if err != nil {
		return nil, nil, fmt.Errorf("locales: %w", err)
	}
	s, err := openStore(ctx, cfg.Store)
	if err != nil {
		if storeKind(cfg.Store) == "embedded" && bot.KindOf(err) == bot.Unavailable {
			return nil, nil, fmt.Errorf("the embedded store %s is in use by another process, most likely darsi serve: stop darsi serve or use the dashboard/API (/coach/) (%w)", cfg.Store, err)
		}
		return nil, nil, err
	}
	cs, ok := s.(cohort.Store)
	if !ok {
		s.Close()
		return nil, nil, fmt.Errorf("the %s store of this build keeps no cohorts", storeKind(cfg.Store))
	}
	t := &coachTools{cohorts: cs, learners: s, text: text, now: time.Now, from: env("TWILIO_WHATSAPP_FROM")}
	if o, ok := s.(schedule.Outbox); ok {
		t.outbox = o
	}
	return t, s.Close, nil
}

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

const coachUsage = "usage: darsi coach add LOGIN [--name NAME] [--role coach|admin] < password"

func coachCmd(ctx context.Context, cfg Config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New(coachUsage)
	}
	fs := flag.NewFlagSet("coach add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "the coach's full name, as the dashboard shows it")
	role := fs.String("role", string(cohort.RoleCoach), "coach (sees their own cohorts) or admin (sees every cohort)")
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
	t, closeStore, err := openCoachTools(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	c, token, err := t.addCoach(ctx, pos[0], *name, cohort.Role(*role), password)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "coach %s (%s) saved. Their API token follows; it is shown once and stored only as a hash:\n", c.Login, c.Role)
	fmt.Fprintln(stdout, token)
	return nil
}

// readPassword reads the first line of stdin.
func readPassword(stdin io.Reader) ([]byte, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case len([]rune(line)) < minPassword:
		return nil, fmt.Errorf("the password (first line of stdin) must have at least %d characters", minPassword)
	case len(line) > 72:
		return nil, errors.New("the password must have at most 72 bytes (bcrypt reads no more)")
	}
	return []byte(line), nil
}

// addCoach creates or replaces the account login, with a bcrypt hash of
// password and a new API token, which it returns (only its SHA-256 is
// stored). A replaced account keeps its creation time; its old token stops
// working.
func (t *coachTools) addCoach(ctx context.Context, login, name string, role cohort.Role, password []byte) (cohort.Coach, string, error) {
	login = strings.ToLower(strings.TrimSpace(login))
	if !loginPattern.MatchString(login) {
		return cohort.Coach{}, "", fmt.Errorf("login %q: use 2 to 64 lower-case letters, digits and . _ @ -", login)
	}
	if role != cohort.RoleCoach && role != cohort.RoleAdmin {
		return cohort.Coach{}, "", fmt.Errorf("role %q: want coach or admin", role)
	}
	hash, err := bcrypt.GenerateFromPassword(password, bcryptCost)
	if err != nil {
		return cohort.Coach{}, "", err
	}
	token := cohort.NewToken()
	c := cohort.Coach{
		Login: login, Name: strings.TrimSpace(name), Role: role, PasswordHash: hash,
		TokenHash: cohort.TokenHash(token), CreatedAt: t.now().UTC(),
	}
	old, err := t.cohorts.Coach(ctx, login)
	switch {
	case err == nil:
		c.CreatedAt = old.CreatedAt
		if c.Name == "" {
			c.Name = old.Name
		}
	case bot.KindOf(err) != bot.NotFound:
		return cohort.Coach{}, "", err
	}
	if c.Name == "" {
		c.Name = login
	}
	if err := t.cohorts.PutCoach(ctx, c); err != nil {
		return cohort.Coach{}, "", err
	}
	return c, token, nil
}
