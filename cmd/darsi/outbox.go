package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/twilio"
)

// The Twilio adapter is the outbox's sender. This is the one package that
// knows both, since adapters may not import each other.
var _ schedule.Sender = (*twilio.Sender)(nil)

// Outbox settings, from the environment.
const (
	defaultQuietHours = "21:00-08:00,Fri 12:30-14:30"
	defaultSendRate   = 20
)

// outboxRunner builds the runner that delivers due jobs (reminders,
// broadcasts, nudges, reviews) from the store's outbox, or returns nil when
// Twilio is not configured: there is nowhere to send.
func outboxRunner(cfg Config, st store, a *app.App, log *slog.Logger, reg prometheus.Registerer) (*schedule.Runner, error) {
	if cfg.TwilioAccountSID == "" || cfg.TwilioAuthToken == "" {
		log.Info("outbox: not delivering, Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)")
		return nil, nil
	}
	outbox, ok := st.(schedule.Outbox)
	if !ok {
		return nil, errors.New("outbox: this store keeps no outbox")
	}
	sender, err := twilio.NewSender(twilio.SenderConfig{
		AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken, BaseURL: cfg.TwilioAPIBaseURL,
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	quietSpec := env("DARSI_QUIET_HOURS")
	if quietSpec == "" {
		quietSpec = defaultQuietHours
	}
	quiet, err := schedule.ParseQuiet(quietSpec)
	if err != nil {
		return nil, fmt.Errorf("DARSI_QUIET_HOURS: %w", err)
	}
	rate := defaultSendRate
	if v := env("DARSI_SEND_RATE"); v != "" {
		if rate, err = strconv.Atoi(v); err != nil || rate <= 0 {
			return nil, fmt.Errorf("DARSI_SEND_RATE=%q: want messages per second, a whole number above 0", v)
		}
	}
	templates, err := templatesFromEnv()
	if err != nil {
		return nil, err
	}
	lease := schedule.DefaultLease
	if v := env("DARSI_OUTBOX_LEASE"); v != "" {
		if lease, err = time.ParseDuration(v); err != nil || lease < time.Second {
			return nil, fmt.Errorf("DARSI_OUTBOX_LEASE=%q: want a duration of at least 1s", v)
		}
	}
	limiter, _ := st.(schedule.Limiter)
	content := a.Content
	return schedule.NewRunner(schedule.Config{
		Outbox:              outbox,
		Learners:            st,
		Sender:              sender,
		Text:                content().Text,
		Deliveries:          st,
		Limiter:             limiter,
		Rate:                rate,
		Templates:           templates,
		Quiet:               quiet,
		ZoneOf:              schedule.ZoneOf,
		WhatsAppFrom:        env("TWILIO_WHATSAPP_FROM"),
		SMSFrom:             env("TWILIO_SMS_FROM"),
		MessagingServiceSID: env("TWILIO_MESSAGING_SERVICE_SID"),
		PublicURL:           strings.TrimRight(cfg.PublicURL, "/"),
		Lease:               lease,
		LessonTitle: func(lang bot.Lang, id string) string {
			if les := content().Lessons.Lesson(id); les != nil {
				return les.Title.In(lang)
			}
			return id
		},
		// A review asks its lesson's key question again; the learner's
		// next message answers it.
		Compose: func(l bot.Learner, j schedule.Job) (string, bool) {
			if j.Kind != schedule.Review {
				return "", false
			}
			c := content()
			lang := l.Lang
			if !lang.Valid() {
				lang = bot.French
			}
			q, ok := dialog.ReviewQuestion(c, lang, dialog.ReviewOf(j.Lesson, j.Step), l.Vars)
			if !ok {
				return "", false
			}
			title := j.Lesson
			if les := c.Lessons.Lesson(j.Lesson); les != nil {
				title = les.Title.In(lang)
			}
			return c.Text.T(lang, "OutboxReviewAsk", map[string]any{"Title": title}) + "\n" + q, true
		},
		AfterSend: func(ctx context.Context, j schedule.Job) error {
			if j.Kind != schedule.Review || j.Step == "" {
				return nil
			}
			return a.ReviewSent(ctx, j.Learner, dialog.ReviewOf(j.Lesson, j.Step))
		},
		OptedOut:   a.OptOut,
		Logger:     log,
		Registerer: reg,
	})
}

// templatesFromEnv loads the WhatsApp templates file DARSI_TEMPLATES
// names; none when it is not set.
func templatesFromEnv() (*schedule.Templates, error) {
	path := env("DARSI_TEMPLATES")
	if path == "" {
		return nil, nil
	}
	t, err := schedule.LoadTemplates(path)
	if err != nil {
		return nil, fmt.Errorf("DARSI_TEMPLATES: %w", err)
	}
	return t, nil
}

// withJobs makes status callbacks also move the outbox job that sent the
// message, when the store keeps an outbox.
func withJobs(d app.Deliveries) app.Deliveries {
	if ob, ok := d.(schedule.Outbox); ok {
		return jobDeliveries{Deliveries: d, outbox: ob}
	}
	return d
}

// jobDeliveries records status callbacks as the stores do, and moves the
// outbox job that sent the message (the callback's ?job=) along with them,
// so that coaches see "delivered" on the outbox page.
type jobDeliveries struct {
	app.Deliveries
	outbox schedule.Outbox
}

func (j jobDeliveries) AdvanceDelivery(ctx context.Context, d bot.Delivery) (bool, error) {
	applied, err := j.Deliveries.AdvanceDelivery(ctx, d)
	if err != nil || !applied || d.JobID == "" {
		return applied, err
	}
	if err := j.outbox.Delivered(ctx, d.JobID, d.Status, d.ErrorCode); err != nil && bot.KindOf(err) != bot.NotFound {
		return applied, err
	}
	return applied, nil
}

// outreach reads when the bot writes first: DARSI_NUDGE_AFTER (default
// 72h) of silence brings a nudge, DARSI_SECOND_NUDGE_AFTER (default 168h)
// more a second one, "0" turns them off; finished lessons come back as
// reviews after 1, 3 and 7 days.
func outreach(outbox schedule.Outbox, log *slog.Logger) (*app.Outreach, error) {
	o := &app.Outreach{Outbox: outbox, NudgeAfter: 72 * time.Hour, SecondNudgeAfter: 168 * time.Hour,
		Reviews: app.DefaultReviews, Log: log}
	for _, s := range []struct {
		key string
		dst *time.Duration
	}{{"DARSI_NUDGE_AFTER", &o.NudgeAfter}, {"DARSI_SECOND_NUDGE_AFTER", &o.SecondNudgeAfter}} {
		v := env(s.key)
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if v == "0" {
			d, err = 0, nil
		}
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%s=%q: want a duration such as 72h, or 0 for none", s.key, v)
		}
		*s.dst = d
	}
	return o, nil
}
