package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/schedule"
)

const jobsUsage = `usage:
  darsi jobs list --cohort CODE [--status queued,…] [--limit N] [--cursor C] [--json]
  darsi jobs cancel ID`

func jobsCmd(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(jobsUsage)
	}
	switch args[0] {
	case "list":
		return jobsListCmd(ctx, cfg, args[1:], stdout, stderr)
	case "cancel":
		return jobsCancelCmd(ctx, cfg, args[1:], stdout, stderr)
	}
	return errors.New(jobsUsage)
}

// listedJob is one job of "darsi jobs list --json": the learner masked.
type listedJob struct {
	ID      string          `json:"id"`
	Kind    schedule.Kind   `json:"kind"`
	Learner string          `json:"learner"`
	Status  schedule.Status `json:"status"`
	DueAt   time.Time       `json:"due_at"`
	Reason  string          `json:"reason,omitempty"`
}

func jobsListCmd(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("jobs list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	code := fs.String("cohort", "", "the cohort's join code")
	status := fs.String("status", "", "only jobs in these statuses, comma-separated (queued, claimed, sent, delivered, failed, cancelled)")
	limit := fs.Int("limit", app.DefaultPageSize, "jobs per page (at most 500)")
	cursor := fs.String("cursor", "", "where the page starts: what the page before printed last")
	asJSON := fs.Bool("json", false, "one JSON object a line")
	cfg.storeFlags(fs)
	if pos, err := parseInterleaved(fs, args); err != nil {
		return err
	} else if len(pos) != 0 || *code == "" {
		return errors.New(jobsUsage)
	}
	var statuses []schedule.Status
	for s := range strings.SplitSeq(*status, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		switch st := schedule.Status(s); st {
		case schedule.Queued, schedule.Claimed, schedule.Sent, schedule.Delivered, schedule.Failed, schedule.Cancelled:
			statuses = append(statuses, st)
		default:
			return fmt.Errorf("--status %q: want queued, claimed, sent, delivered, failed or cancelled", s)
		}
	}
	co, closeStore, err := openCoaching(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	jobs, next, err := co.Jobs(ctx, app.Operator, *code, statuses, *cursor, min(max(*limit, 1), 500))
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, j := range jobs {
			if err := enc.Encode(listedJob{ID: j.ID, Kind: j.Kind, Learner: bot.Mask(j.Learner), Status: j.Status, DueAt: j.DueAt.UTC(), Reason: j.Reason}); err != nil {
				return err
			}
		}
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tLEARNER\tSTATUS\tDUE\tREASON")
		for _, j := range jobs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.Kind, bot.Mask(j.Learner), j.Status, j.DueAt.UTC().Format(time.RFC3339), j.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if next != "" {
		fmt.Fprintf(stderr, "more: darsi jobs list --cohort %s --cursor %s\n", *code, next)
	}
	return nil
}

func jobsCancelCmd(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("jobs cancel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.storeFlags(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New(jobsUsage)
	}
	co, closeStore, err := openCoaching(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	j, err := co.CancelJob(ctx, app.Operator, pos[0])
	switch bot.KindOf(err) {
	case bot.NotFound:
		return fmt.Errorf("no job %s (darsi jobs list --cohort CODE lists a cohort's)", pos[0])
	case bot.Conflict:
		return fmt.Errorf("job %s cannot be cancelled any more: %w", pos[0], err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "job %s cancelled: it will not be sent\n", j.ID)
	return nil
}
