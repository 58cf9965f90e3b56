package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// maxReminderText is Twilio's limit on a message body.
const maxReminderText = 1600

// enqueueBatch bounds the jobs of one Enqueue call.
const enqueueBatch = 500

var templatePattern = regexp.MustCompile(`^[a-z0-9_-]{1,40}$`)

// reminder is what "darsi remind" asks for.
type reminder struct {
	Cohort   string
	Text     string
	At       time.Time // zero: now
	Template string
	By       string // the coach; "" for the cohort's coach, or "darsi"
	Key      string // identifies the reminder across runs; "" to derive it
}

// reminded is what "darsi remind" did.
type reminded struct {
	Reminder    string    `json:"reminder"` // the reminder's id, the common part of its jobs' ids
	Cohort      string    `json:"cohort"`
	Queued      int       `json:"queued"`
	Already     int       `json:"already"`   // queued by an earlier run with the same reminder, left as they were
	OptedOut    int       `json:"opted_out"` // members who opted out: not queued
	Unreachable int       `json:"unreachable"`
	DueAt       time.Time `json:"due_at"`
}

func remindCmd(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	const usage = "usage: darsi remind --cohort CODE --text TEXT [--at RFC3339] [--template KIND]"
	fs := flag.NewFlagSet("remind", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var r reminder
	var at string
	fs.StringVar(&r.Cohort, "cohort", "", "the cohort's join code")
	fs.StringVar(&r.Text, "text", "", "the reminder, in the coach's words")
	fs.StringVar(&at, "at", "", "when to send it (RFC 3339, e.g. 2026-03-02T09:00:00+01:00); default now. Quiet hours still hold it")
	fs.StringVar(&r.Template, "template", "", "the template kind for learners outside WhatsApp's 24-hour window (default: reminder)")
	fs.StringVar(&r.By, "by", "", "who sends it, as the outbox shows (default: the cohort's coach)")
	fs.StringVar(&r.Key, "id", "", "an id for this reminder: runs with the same id queue nothing twice (default: from the cohort, text, template and --at, or today's date)")
	asJSON := fs.Bool("json", false, "print what was queued as JSON")
	cfg.storeFlags(fs)
	if pos, err := parseInterleaved(fs, args); err != nil {
		return err
	} else if len(pos) != 0 || r.Cohort == "" || r.Text == "" {
		return errors.New(usage)
	}
	if at != "" {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return fmt.Errorf("--at %q: want RFC 3339, such as 2026-03-02T09:00:00+01:00", at)
		}
		r.At = t
	}
	t, closeStore, err := openCoachTools(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	res, err := t.remind(ctx, r)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	when := "now"
	if !r.At.IsZero() {
		when = res.DueAt.Format(time.RFC3339)
	}
	fmt.Fprintf(stdout, "%d reminders queued for cohort %s, due %s (reminder %s)\n", res.Queued, res.Cohort, when, res.Reminder)
	if res.Already > 0 {
		fmt.Fprintf(stdout, "%d members already had this reminder from an earlier run: not queued again\n", res.Already)
	}
	if res.OptedOut > 0 {
		fmt.Fprintf(stdout, "%d members opted out: skipped\n", res.OptedOut)
	}
	if res.Unreachable > 0 {
		fmt.Fprintf(stdout, "%d members talk to the bot from the terminal or simulator, not WhatsApp or SMS: skipped\n", res.Unreachable)
	}
	return nil
}

// remind queues one reminder job per member of the cohort (the learners
// whose Cohort is its code) who has not opted out. Job ids are derived from
// the reminder and the learner, so running the same reminder again queues
// nothing twice.
func (t *coachTools) remind(ctx context.Context, r reminder) (reminded, error) {
	if t.outbox == nil {
		return reminded{}, errors.New("this store keeps no outbox: reminders cannot be queued")
	}
	r.Text = strings.TrimSpace(r.Text)
	switch {
	case r.Text == "":
		return reminded{}, errors.New("--text is empty")
	case !utf8.ValidString(r.Text):
		return reminded{}, errors.New("--text is not valid UTF-8")
	case utf8.RuneCountInString(r.Text) > maxReminderText:
		return reminded{}, fmt.Errorf("--text has %d characters; a message holds at most %d", utf8.RuneCountInString(r.Text), maxReminderText)
	case r.Template != "" && !templatePattern.MatchString(r.Template):
		return reminded{}, fmt.Errorf("--template %q: want a template kind such as reminder (lower-case letters, digits, _ and -)", r.Template)
	}
	c, err := t.cohorts.Cohort(ctx, r.Cohort)
	if bot.KindOf(err) == bot.NotFound {
		return reminded{}, fmt.Errorf("no cohort %q (darsi cohort list shows them)", r.Cohort)
	} else if err != nil {
		return reminded{}, err
	}
	now := t.now()
	due := r.At
	if due.IsZero() {
		due = now
	}
	by := r.By
	if by == "" {
		by = c.Coach
	}
	if by == "" {
		by = "darsi"
	}
	key := r.Key
	if key == "" {
		// Without --at, the day stands for the due time: running the
		// command twice the same day queues once, a week later again.
		when := "day " + now.UTC().Format(time.DateOnly)
		if !r.At.IsZero() {
			when = "at " + r.At.UTC().Format(time.RFC3339)
		}
		key = strings.Join([]string{strings.ToUpper(c.Code), r.Text, r.Template, when}, "\x00")
	}
	res := reminded{Reminder: "rem-" + shortHash(key, 12), Cohort: c.Code, DueAt: due.UTC()}

	var jobs []schedule.Job
	err = t.learners.Learners(ctx, func(l bot.Learner) error {
		if !strings.EqualFold(l.Cohort, c.Code) {
			return nil
		}
		switch {
		case l.OptedOut:
			res.OptedOut++
			return nil
		case l.Channel != bot.WhatsApp && l.Channel != bot.SMS:
			res.Unreachable++
			return nil
		}
		jobs = append(jobs, schedule.Job{
			ID: res.Reminder + "-" + shortHash(l.ID, 12), Kind: schedule.Reminder, Learner: l.ID, Cohort: c.Code,
			Text: r.Text, Template: r.Template, DueAt: due, CreatedAt: now, CreatedBy: by,
			Status: schedule.Queued, UpdatedAt: now,
		})
		return nil
	})
	if err != nil {
		return reminded{}, err
	}
	// A job already stored (queued, sent or final) is left alone: it is
	// this reminder, queued by an earlier run.
	fresh := jobs[:0]
	for _, j := range jobs {
		_, err := t.outbox.Job(ctx, j.ID)
		switch {
		case err == nil:
			res.Already++
			continue
		case bot.KindOf(err) != bot.NotFound:
			return reminded{}, err
		}
		fresh = append(fresh, j)
	}
	for i := 0; i < len(fresh); i += enqueueBatch {
		batch := fresh[i:min(i+enqueueBatch, len(fresh))]
		if err := t.outbox.Enqueue(ctx, batch...); err != nil {
			return res, fmt.Errorf("%d of %d reminders queued before: %w", res.Queued, len(fresh), err)
		}
		res.Queued += len(batch)
	}
	return res, nil
}

// shortHash is the first n hex digits of s's SHA-256.
func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}
