package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/twilio"
)

// replyTimeout bounds how long the replica that took a webhook spends
// sending its replies at once; what is left goes with the outbox.
const replyTimeout = 30 * time.Second

// replyLane sends the turns the webhook cannot answer in TwiML (an
// interactive message): each reply becomes an outbox job, queued already
// claimed by this replica before the webhook answers, then sent at once,
// in order, by this replica.
type replyLane struct {
	app    *app.App
	runner *schedule.Runner
	log    *slog.Logger
	wg     sync.WaitGroup
}

var _ twilio.Replier = (*replyLane)(nil)

// SendReplies queues the turn's messages (one write to the outbox: a
// message delivered again queues nothing new, and takes back only the
// replies a claim could take) and sends them in the background. It fails
// only when they could not be queued.
func (l *replyLane) SendReplies(ctx context.Context, in bot.Inbound, replies []bot.Reply) error {
	jobs := l.app.ReplyJobs(in, twilio.RESTMessages(replies), l.app.Now())
	turn, err := l.runner.QueueReplies(ctx, jobs)
	if err != nil {
		return err
	}
	l.wg.Go(func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), replyTimeout)
		defer cancel()
		if n := l.runner.DeliverReplies(dctx, turn); n < turn.Len() {
			l.log.Debug("replies: some left to the outbox", "sid", in.ID, "sent", n, "replies", turn.Len())
		}
	})
	return nil
}

// Wait waits for the replies being sent.
func (l *replyLane) Wait() { l.wg.Wait() }
