package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/locale"
)

const cohortUsage = `usage:
  darsi cohort create NAME [--coach LOGIN] [--json] [--poster FILE.svg]
  darsi cohort list [--coach LOGIN] [--json]`

func cohortCmd(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(cohortUsage)
	}
	switch args[0] {
	case "create":
		return cohortCreateCmd(ctx, cfg, args[1:], stdout, stderr)
	case "list":
		return cohortListCmd(ctx, cfg, args[1:], stdout, stderr)
	}
	return errors.New(cohortUsage)
}

// createdCohort is what "darsi cohort create --json" prints: an interface
// scripts rely on.
type createdCohort struct {
	Code string `json:"code"`
	Link string `json:"link"`
}

func cohortCreateCmd(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cohort create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	coach := fs.String("coach", "", "the login of the coach who follows the cohort (darsi coach add)")
	asJSON := fs.Bool("json", false, `print {"code": …, "link": …}`)
	poster := fs.String("poster", "", "write a printable poster (SVG) with the join QR code to this file")
	cfg.storeFlags(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(strings.Join(pos, " "))
	if name == "" {
		return errors.New("usage: darsi cohort create NAME [--coach LOGIN] [--json] [--poster FILE.svg]")
	}
	// Checked before anything is created.
	if cfg.WhatsAppFrom == "" {
		if *poster != "" {
			return errors.New("--poster: the poster's QR code needs the bot's WhatsApp number: set TWILIO_WHATSAPP_FROM")
		}
		fmt.Fprintln(stderr, "darsi: TWILIO_WHATSAPP_FROM is not set: the cohort has no wa.me link")
	}
	co, closeStore, err := openCoaching(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	c, err := co.CreateCohort(ctx, app.Operator, name, *coach)
	if err != nil {
		return err
	}
	link := co.Link(c.Code)
	if *poster != "" {
		if err := writePoster(co.Content().Text, c, link, *poster); err != nil {
			return fmt.Errorf("cohort %s created, but the poster failed: %w", c.Code, err)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(createdCohort{Code: c.Code, Link: link})
	}
	fmt.Fprintf(stdout, "cohort %q created: join code %s", c.Name, c.Code)
	if link != "" {
		fmt.Fprintf(stdout, ", link %s", link)
	}
	fmt.Fprintln(stdout)
	if *poster != "" {
		fmt.Fprintf(stdout, "poster: %s\n", *poster)
	}
	return nil
}

// writePoster writes the cohort's poster, with the join instruction in the
// four languages, to file.
func writePoster(text *locale.Bundle, c cohort.Cohort, link, file string) error {
	p := cohort.Poster{Name: c.Name, Code: c.Code, Link: link}
	for _, lang := range bot.Langs {
		p.Lines = append(p.Lines, cohort.PosterLine{Lang: lang, Text: text.T(lang, "CohortPoster", map[string]any{"Code": c.Code})})
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := p.WriteSVG(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// listedCohort is one cohort of "darsi cohort list --json".
type listedCohort struct {
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	Coach     string    `json:"coach"`
	Members   int       `json:"members"`
	Link      string    `json:"link"`
	CreatedAt time.Time `json:"created_at"`
}

func cohortListCmd(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cohort list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print a JSON array")
	coach := fs.String("coach", "", "only the cohorts of this coach")
	cfg.storeFlags(fs)
	if pos, err := parseInterleaved(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		return errors.New("usage: darsi cohort list [--coach LOGIN] [--json]")
	}
	co, closeStore, err := openCoaching(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	cohorts, err := co.ListCohorts(ctx, app.Operator, *coach)
	if err != nil {
		return err
	}
	list := make([]listedCohort, len(cohorts))
	for i, c := range cohorts {
		list[i] = listedCohort{Code: c.Code, Name: c.Name, Coach: c.Coach, Members: c.Members, Link: c.Link, CreatedAt: c.CreatedAt.UTC()}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(list)
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no cohorts yet: darsi cohort create NAME")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CODE\tNAME\tCOACH\tMEMBERS\tCREATED")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", c.Code, c.Name, c.Coach, c.Members, c.CreatedAt.Format("2006-01-02"))
	}
	return tw.Flush()
}
