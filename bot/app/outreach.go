package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// Outreach is what the bot starts on its own after a learner's message:
// nudges when the learner goes quiet, and spaced reviews of the lessons
// they finish. The zero Outreach starts nothing.
type Outreach struct {
	Outbox schedule.Outbox
	// NudgeAfter: a learner silent this long gets a nudge; after
	// SecondNudgeAfter more, a second one; then none until they write
	// again. A message from the learner pushes both back. Zero: no nudges.
	NudgeAfter, SecondNudgeAfter time.Duration
	// Reviews are the delays after a finished lesson at which its key
	// question comes back (1, 3 and 7 days by default in darsi serve).
	Reviews []time.Duration
	// Log records outreach that could not be queued (the conversation
	// itself is saved by then).
	Log *slog.Logger
}

// DefaultReviews are the spaced reviews' delays: 1, 3 and 7 days, each an
// hour early, so that the first one comes while WhatsApp's 24-hour window
// of the lesson's last message is still open (free text, no template), and
// a learner who comes back at the same time of day has it open for the
// others.
var DefaultReviews = []time.Duration{23 * time.Hour, 71 * time.Hour, 167 * time.Hour}

// plan returns the jobs to queue after the engine handled a learner's
// message at now with outcome out: a pair of nudges, because the learner
// wrote, and the spaced reviews of each lesson the message completed (a
// LessonCompleted event) for the first time. A learner who erased their
// data or is opted out (by this message or before) gets nothing, nor does
// one who has not consented or talks to the bot where it cannot write
// first (the terminal chat, the simulator).
func (o *Outreach) plan(out dialog.Outcome, now time.Time, c *dialog.Content) []schedule.Job {
	after := out.Learner
	if o == nil || o.Outbox == nil || out.Erased() || after.ID == "" || after.OptedOut || !after.Consent ||
		after.Channel == bot.Chat || after.Channel == bot.Sim {
		return nil
	}
	var jobs []schedule.Job
	job := func(id string, kind schedule.Kind, due time.Time) schedule.Job {
		return schedule.Job{ID: id, Kind: kind, Learner: after.ID, Cohort: after.Cohort,
			DueAt: due, CreatedAt: now, CreatedBy: "darsi"}
	}
	if o.NudgeAfter > 0 {
		// One pair of nudges per learner and day: a later message the
		// same day pushes them back (Enqueue replaces queued jobs), and the
		// runner drops a nudge whose learner wrote after it was queued.
		day := now.UTC().Format("20060102")
		jobs = append(jobs, job("nudge1:"+after.ID+":"+day, schedule.Nudge, now.Add(o.NudgeAfter)))
		if o.SecondNudgeAfter > 0 {
			jobs = append(jobs, job("nudge2:"+after.ID+":"+day, schedule.Nudge, now.Add(o.NudgeAfter+o.SecondNudgeAfter)))
		}
	}
	for _, e := range out.Events {
		// A lesson taken again keeps the reviews queued when it was first
		// completed: queueing them anew would push back those not sent yet.
		if e.Kind != dialog.LessonCompleted || e.Retake {
			continue
		}
		les := c.Lessons.Lesson(e.Lesson)
		if les == nil {
			continue
		}
		keys := les.KeyQuestions()
		if len(keys) == 0 {
			continue
		}
		// The key questions take turns.
		for i, d := range o.Reviews {
			j := job(fmt.Sprintf("review:%s:%s:%d", after.ID, e.Lesson, i+1), schedule.Review, now.Add(d))
			j.Lesson, j.Step = e.Lesson, keys[i%len(keys)].ID
			jobs = append(jobs, j)
		}
	}
	return jobs
}

// queue queues the planned jobs. The learner's message is already saved:
// a failure here costs a nudge or a review, never the conversation, so it
// is returned for the caller to log.
func (o *Outreach) queue(ctx context.Context, jobs []schedule.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	return o.Outbox.Enqueue(ctx, jobs...)
}

// ReviewSent records that the outbox sent a spaced review's question
// (review as dialog.ReviewOf names it) to a learner, so that their next
// message answers it. A learner who is gone, opted out or back inside a
// lesson is left as they are.
func (a *App) ReviewSent(ctx context.Context, learnerID, review string) error {
	return a.change(ctx, learnerID, func(l *bot.Learner) bool {
		if l.OptedOut || l.Phase == bot.PhaseLesson {
			return false
		}
		l.Review = review
		return true
	})
}

// OptOut records that a learner opted out outside the conversation (Twilio
// refused a message with 21610: they sent STOP to the sender), as the
// conversation's own "stop" does. An unknown learner is left unknown.
func (a *App) OptOut(ctx context.Context, learnerID string) error {
	return a.change(ctx, learnerID, func(l *bot.Learner) bool {
		if l.OptedOut {
			return false
		}
		l.OptedOut = true
		return true
	})
}

// change applies fn to a learner the store knows, outside any message: fn
// returns false to leave the learner as they are (nothing is written).
// An unknown learner stays unknown.
func (a *App) change(ctx context.Context, learnerID string, fn func(l *bot.Learner) bool) error {
	_, err := a.store.Update(ctx, learnerID, "", func(l *bot.Learner) (Change, error) {
		if l.Version == 0 || !fn(l) {
			return Change{}, errNoChange
		}
		return Change{}, nil
	})
	if err == errNoChange {
		return nil
	}
	return err
}

// errNoChange tells the store to write nothing.
var errNoChange = bot.Errorf("app.change", bot.NotFound, "nothing to change")
