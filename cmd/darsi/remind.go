package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
)

func remindCmd(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	const usage = "usage: darsi remind --cohort CODE --text TEXT [--text-ary T] [--text-ar T] [--text-fr T] [--text-zgh T] [--at RFC3339] [--template KIND]"
	fs := flag.NewFlagSet("remind", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var r app.Reminder
	var at string
	fs.StringVar(&r.Cohort, "cohort", "", "the cohort's join code")
	fs.StringVar(&r.Text, "text", "", "the reminder, in the coach's words: for members whose language has no --text-LANG")
	texts := map[bot.Lang]*string{}
	for _, lang := range bot.Langs {
		texts[lang] = fs.String("text-"+string(lang), "", "the reminder for members who write in "+string(lang))
	}
	fs.StringVar(&at, "at", "", "when to send it (RFC 3339, e.g. 2026-03-02T09:00:00+01:00); default now. Quiet hours still hold it")
	fs.StringVar(&r.Template, "template", "", "the template kind for learners outside WhatsApp's 24-hour window (default: reminder)")
	fs.StringVar(&r.By, "by", "", "who sends it, as the outbox shows (default: the cohort's coach)")
	fs.StringVar(&r.Key, "id", "", "an id for this reminder: runs with the same id queue nothing twice (default: from the cohort, text, template and --at, or today's date)")
	asJSON := fs.Bool("json", false, "print what was queued as JSON")
	cfg.storeFlags(fs)
	if pos, err := parseInterleaved(fs, args); err != nil {
		return err
	} else if len(pos) != 0 || r.Cohort == "" {
		return errors.New(usage)
	}
	r.Texts = map[bot.Lang]string{}
	for lang, t := range texts {
		if *t != "" {
			r.Texts[lang] = *t
		}
	}
	if r.Text == "" && len(r.Texts) == 0 {
		return errors.New(usage)
	}
	if at != "" {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return fmt.Errorf("--at %q: want RFC 3339, such as 2026-03-02T09:00:00+01:00", at)
		}
		r.At = t
	}
	co, closeStore, err := openCoaching(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	res, err := co.Remind(ctx, app.Operator, r)
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
	if res.Queued == 0 && res.Already == 0 {
		return fmt.Errorf("nobody in cohort %s can receive this reminder: nothing queued", res.Cohort)
	}
	return nil
}
