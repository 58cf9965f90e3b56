package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/simulator"
	"github.com/darsi-ma/darsi/bot/twilio"
)

// The Twilio adapter is the outbox's sender. This is the one package that
// knows both, since adapters may not import each other.
var _ schedule.Sender = (*twilio.Sender)(nil)

// outboxRunner builds the runner that delivers due jobs (reminders,
// broadcasts, nudges, reviews) from the store's outbox, or returns nil when
// there is nowhere to send: Twilio is not configured, nor the simulator's
// mailbox (mailbox nil). With a mailbox, the simulator's learners get
// their messages there; without Twilio, jobs for WhatsApp and SMS
// learners fail with the reason.
func outboxRunner(cfg Config, st store, a *app.App, log *slog.Logger, reg prometheus.Registerer, mailbox *simulator.Mailbox) (*schedule.Runner, error) {
	if !cfg.twilioSends() && mailbox == nil {
		log.Info("outbox: not delivering, Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)")
		return nil, nil
	}
	send := routeSender{sim: mailbox}
	var contents func(ctx context.Context, c *bot.Choice) (string, bool, error)
	if cfg.twilioSends() {
		sender, err := twilio.NewSender(twilio.SenderConfig{
			AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken, BaseURL: cfg.TwilioAPIBaseURL,
		})
		if err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		send.twilio = sender
		if cfg.interactiveOn() {
			contents = (&twilio.Contents{Store: st, API: sender}).Content
		}
	} else {
		log.Info("outbox: delivering to the simulator's learners only; Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)")
	}
	content := a.Content
	return schedule.NewRunner(schedule.Config{
		Content:             contents,
		Outbox:              st,
		Learners:            st,
		Sender:              send,
		Text:                content().Text,
		Deliveries:          st,
		Limiter:             st,
		Rate:                cfg.SendRate,
		Policy:              *cfg.policy(),
		WhatsAppFrom:        cfg.WhatsAppFrom,
		SMSFrom:             cfg.SMSFrom,
		MessagingServiceSID: cfg.MessagingServiceSID,
		PublicURL:           cfg.PublicURL,
		Lease:               cfg.OutboxLease,
		LessonTitle: func(lang bot.Lang, id string) string {
			if les := content().Lessons.Lesson(id); les != nil {
				return les.Title.In(lang)
			}
			return id
		},
		// A review asks its lesson's key question again; the learner's
		// next message answers it.
		Compose: func(l bot.Learner, j schedule.Job) (string, bool) {
			if j.Kind != schedule.Review && j.Kind != schedule.Followup {
				return "", false
			}
			c := content()
			lang := l.Lang
			if !lang.Valid() {
				lang = bot.French
			}
			of, frame := dialog.ReviewOf(j.Lesson, j.Step), "OutboxReviewAsk"
			if j.Kind == schedule.Followup {
				of, frame = dialog.FollowupOf(j.Lesson, j.Step), "OutboxFollowupAsk"
			}
			q, ok := dialog.ReviewQuestion(c, lang, of, l.Vars)
			if !ok {
				return "", false
			}
			title := j.Lesson
			if les := c.Lessons.Lesson(j.Lesson); les != nil {
				title = les.Title.In(lang)
				if co := c.Lessons.Course(les.Course); co != nil && j.Kind == schedule.Followup {
					title = co.Title.In(lang)
				}
			}
			return c.Text.T(lang, frame, map[string]any{"Title": title}) + "\n" + q, true
		},
		AfterSend: func(ctx context.Context, j schedule.Job) error {
			switch {
			case j.Step == "":
				return nil
			case j.Kind == schedule.Review:
				return a.ReviewSent(ctx, j.Learner, dialog.ReviewOf(j.Lesson, j.Step))
			case j.Kind == schedule.Followup:
				return a.ReviewSent(ctx, j.Learner, dialog.FollowupOf(j.Lesson, j.Step))
			}
			return nil
		},
		OptedOut:   a.OptOut,
		Now:        a.Now, // nil: the real clock
		Logger:     log,
		Registerer: reg,
	})
}

// outreach is what the bot starts on its own after a learner's message:
// DARSI_NUDGE_AFTER of silence brings a nudge, DARSI_SECOND_NUDGE_AFTER
// more a second one (0 turns them off); finished lessons come back as
// reviews after 1, 3 and 7 days.
func outreach(cfg Config, s store, log *slog.Logger) *app.Outreach {
	return &app.Outreach{Outbox: s, Due: s, NudgeAfter: cfg.NudgeAfter, SecondNudgeAfter: cfg.SecondNudgeAfter,
		Reviews: app.DefaultReviews, Log: log, Sim: cfg.simulatorOn()}
}

// routeSender sends to the simulator's learners through its mailbox, and
// to everyone else through Twilio.
type routeSender struct {
	sim    *simulator.Mailbox // nil: the simulator's learners are not served
	twilio *twilio.Sender     // nil: Twilio is not configured
}

// errNoTwilio is the reason a job for a WhatsApp or SMS learner fails
// when Twilio is not configured.
var errNoTwilio = &bot.SendError{Class: bot.Permanent, Message: "Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN): only the simulator's learners get messages"}

func (r routeSender) Send(ctx context.Context, m bot.Outbound) (bot.Delivery, error) {
	if ch, _ := bot.SplitLearnerID(m.To); ch == bot.Sim && r.sim != nil {
		return r.sim.Send(ctx, m)
	}
	if r.twilio == nil {
		return bot.Delivery{}, errNoTwilio
	}
	return r.twilio.Send(ctx, m)
}

func (r routeSender) Sent(ctx context.Context, to string, since time.Time) ([]bot.Delivery, error) {
	if ch, _ := bot.SplitLearnerID(to); ch == bot.Sim && r.sim != nil {
		return r.sim.Sent(ctx, to, since)
	}
	if r.twilio == nil {
		return nil, nil
	}
	return r.twilio.Sent(ctx, to, since)
}
