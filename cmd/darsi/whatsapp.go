package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/twilio"
)

// questionCounts is how the questions of one language go out on WhatsApp.
type questionCounts struct{ quick, list, numbered int }

// countQuestions counts, per language ("" for the language menu), how the
// questions with options go out on WhatsApp: as quick replies, list
// pickers, or numbered lines.
func countQuestions(qs []dialog.Question) map[bot.Lang]*questionCounts {
	out := map[bot.Lang]*questionCounts{}
	for _, q := range qs {
		c := out[q.Lang]
		if c == nil {
			c = &questionCounts{}
			out[q.Lang] = c
		}
		switch twilio.ContentType(q.Choice) {
		case twilio.QuickReply:
			c.quick++
		case twilio.ListPicker:
			c.list++
		default:
			c.numbered++
		}
	}
	return out
}

// printQuestionCounts writes the table of countQuestions.
func printQuestionCounts(w io.Writer, counts map[bot.Lang]*questionCounts) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "lang\tquick replies\tlist pickers\tnumbered lines")
	var total questionCounts
	for _, l := range append([]bot.Lang{""}, bot.Langs...) {
		c := counts[l]
		if c == nil {
			continue
		}
		name := string(l)
		if l == "" {
			name = "menu of languages"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", name, c.quick, c.list, c.numbered)
		total.quick, total.list, total.numbered = total.quick+c.quick, total.list+c.list, total.numbered+c.numbered
	}
	fmt.Fprintf(tw, "all\t%d\t%d\t%d\n", total.quick, total.list, total.numbered)
	tw.Flush()
}

// whatsappCmd is "darsi whatsapp sync [--dry-run]": the interactive
// contents of every question that goes out as buttons or a list, made
// through Twilio's Content API and recorded in the store, so that no
// learner waits for one to be made at first use.
func whatsappCmd(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	const usage = "usage: darsi whatsapp sync [--dry-run]"
	if len(args) == 0 || args[0] != "sync" {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("whatsapp sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dry := fs.Bool("dry-run", false, "count the questions and the contents to make; make none")
	cfg.storeFlags(fs)
	if pos, err := parseInterleaved(fs, args[1:]); err != nil {
		return err
	} else if len(pos) != 0 {
		return errors.New(usage)
	}
	content, err := loadContent(cfg.Lessons)
	if err != nil {
		return err
	}
	qs := dialog.Questions(content)
	fmt.Fprintln(stdout, "How questions with options go out on WhatsApp:")
	printQuestionCounts(stdout, countQuestions(qs))
	if cfg.Interactive == "off" {
		fmt.Fprintln(stdout, "DARSI_INTERACTIVE=off: every question goes as numbered lines; no content made")
		return nil
	}
	if !cfg.twilioSends() {
		if *dry {
			fmt.Fprintln(stdout, "Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN): contents not checked")
			return nil
		}
		return errors.New("whatsapp sync needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
	}
	sender, err := twilio.NewSender(twilio.SenderConfig{AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken, BaseURL: cfg.TwilioAPIBaseURL})
	if err != nil {
		return err
	}
	s, err := cfg.openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	choices := make([]*bot.Choice, 0, len(qs))
	for _, q := range qs {
		choices = append(choices, q.Choice)
	}
	res, err := (&twilio.Contents{Store: s, API: sender}).Sync(ctx, choices, *dry)
	if err != nil {
		return err
	}
	verb := "created"
	if *dry {
		verb = "to create"
	}
	fmt.Fprintf(stdout, "%d contents: %d %s, %d found at Twilio and recorded, %d already recorded\n",
		res.Eligible, res.Created, verb, res.Adopted, res.Existing)
	return nil
}
