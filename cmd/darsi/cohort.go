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
	"github.com/darsi-ma/darsi/bot/cohort"
)

const cohortUsage = `usage:
  darsi cohort create NAME [--coach LOGIN] [--json] [--poster FILE.svg]
  darsi cohort list [--json]`

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
	t, closeStore, err := openCoachTools(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	c, link, err := t.createCohort(ctx, name, *coach, *poster, stderr)
	if err != nil {
		return err
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

// createCohort creates the cohort and, when posterFile is set, its poster.
// Without a WhatsApp sender the link is empty (a warning says so) and a
// poster cannot be made: that is checked before anything is created.
func (t *coachTools) createCohort(ctx context.Context, name, coach, posterFile string, stderr io.Writer) (cohort.Cohort, string, error) {
	if t.from == "" {
		if posterFile != "" {
			return cohort.Cohort{}, "", errors.New("--poster: the poster's QR code needs the bot's WhatsApp number: set TWILIO_WHATSAPP_FROM")
		}
		fmt.Fprintln(stderr, "darsi: TWILIO_WHATSAPP_FROM is not set: the cohort has no wa.me link")
	} else if _, err := cohort.WhatsAppLink(t.from, "K7M2QX"); err != nil {
		return cohort.Cohort{}, "", fmt.Errorf("TWILIO_WHATSAPP_FROM: %w", err)
	}
	if coach != "" {
		if _, err := t.cohorts.Coach(ctx, coach); bot.KindOf(err) == bot.NotFound {
			return cohort.Cohort{}, "", fmt.Errorf("no coach %q: create the account first with darsi coach add %s", coach, coach)
		} else if err != nil {
			return cohort.Cohort{}, "", err
		}
	}
	c, err := cohort.Create(ctx, t.cohorts, t.text, name, coach, t.now())
	if err != nil {
		return cohort.Cohort{}, "", err
	}
	link := t.link(c.Code)
	if posterFile != "" {
		if err := t.writePoster(c, link, posterFile); err != nil {
			return c, link, fmt.Errorf("cohort %s created, but the poster failed: %w", c.Code, err)
		}
	}
	return c, link, nil
}

// link is the cohort's wa.me link, or "" without a WhatsApp sender.
func (t *coachTools) link(code string) string {
	link, err := cohort.WhatsAppLink(t.from, code)
	if err != nil {
		return ""
	}
	return link
}

// writePoster writes the cohort's poster, with the join instruction in the
// four languages, to file.
func (t *coachTools) writePoster(c cohort.Cohort, link, file string) error {
	p := cohort.Poster{Name: c.Name, Code: c.Code, Link: link}
	for _, lang := range bot.Langs {
		p.Lines = append(p.Lines, cohort.PosterLine{Lang: lang, Text: t.text.T(lang, "CohortPoster", map[string]any{"Code": c.Code})})
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
	t, closeStore, err := openCoachTools(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	list, err := t.listCohorts(ctx, *coach)
	if err != nil {
		return err
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

// listCohorts lists the cohorts of coach ("" for all), oldest first, with
// their member counts (one pass over the learners).
func (t *coachTools) listCohorts(ctx context.Context, coach string) ([]listedCohort, error) {
	cohorts, err := t.cohorts.Cohorts(ctx, coach)
	if err != nil {
		return nil, err
	}
	members := map[string]int{}
	if len(cohorts) > 0 {
		err = t.learners.Learners(ctx, func(l bot.Learner) error {
			if l.Cohort != "" {
				members[strings.ToUpper(l.Cohort)]++
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	list := make([]listedCohort, len(cohorts))
	for i, c := range cohorts {
		list[i] = listedCohort{
			Code: c.Code, Name: c.Name, Coach: c.Coach, Members: members[strings.ToUpper(c.Code)],
			Link: t.link(c.Code), CreatedAt: c.CreatedAt.UTC(),
		}
	}
	return list, nil
}
