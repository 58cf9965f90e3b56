package app

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// Outreach is what the bot starts on its own: a nudge when a learner goes
// quiet (and a second one later), and spaced reviews of the lessons they
// finish. A learner's message only updates their record's Outreach (no
// write to a key other learners share; none at all in the common case);
// the store's due index brings the learner back when something may be due,
// and what is due is decided then, against the learner's state at that
// time (Sweep). Due nudges and reviews become jobs in the outbox, which
// the runner delivers. The zero Outreach starts nothing.
type Outreach struct {
	Outbox schedule.Outbox
	// Due is the store's index of learners by Outreach.At.
	Due DueIndex
	// NudgeAfter: a learner silent this long gets a nudge; after
	// SecondNudgeAfter more, a second one; then none until they write
	// again. Zero: no nudges (no second one).
	NudgeAfter, SecondNudgeAfter time.Duration
	// Reviews are the delays after a finished lesson at which its key
	// questions come back (DefaultReviews in darsi serve).
	Reviews []time.Duration
	// Lease is how long a learner taken from the due index is hidden from
	// other replicas while this one decides (default DefaultOutreachLease).
	Lease time.Duration
	// Batch is how many due learners one sweep takes (default 100); Poll
	// how long the sweeper waits when none is due (default 5 s).
	Batch int
	Poll  time.Duration
	// Log records what could not be done; the conversation is never
	// held up by it.
	Log *slog.Logger
	// Sim: the simulator's learners get nudges, reviews and follow-ups
	// too, in their chat (schedule.Policy.Sim).
	Sim bool
}

// DefaultReviews are the spaced reviews' delays: 1, 3 and 7 days, each an
// hour early, so that the first one comes while WhatsApp's 24-hour window
// of the lesson's last message is still open (free text, no template), and
// a learner who comes back at the same time of day has it open for the
// others.
var DefaultReviews = []time.Duration{23 * time.Hour, 71 * time.Hour, 167 * time.Hour}

// Defaults of Outreach.
const (
	DefaultOutreachLease = time.Minute
	defaultSweepBatch    = 100
	defaultSweepPoll     = 5 * time.Second
	// reviewHold is how long due reviews wait for a learner inside a
	// lesson, or for the one just asked before them.
	reviewHold = time.Hour
	// maxPendingReviews bounds a learner's pending reviews (three lessons'
	// worth): the record stays small whatever the learner does.
	maxPendingReviews = 9
)

// eligible reports whether the bot may write first to the learner: they
// agreed to the data terms, did not opt out, and are on a channel the bot
// can reach (not the terminal chat, nor the simulator unless Sim).
func (o *Outreach) eligible(l *bot.Learner) bool {
	return l.ID != "" && l.Consent && !l.OptedOut && l.Channel != bot.Chat && (l.Channel != bot.Sim || o.Sim)
}

// afterMessage updates the learner's Outreach after the engine handled
// their message at now with the given events: the nudges start again
// from this message, and each lesson completed for the first time brings
// its reviews. Outreach.At moves only when something is due earlier than
// it, so a learner's message writes no index in the common case. It does
// no I/O: it runs inside the store's update.
func (o *Outreach) afterMessage(l *bot.Learner, events []dialog.Event, now time.Time, c *dialog.Content) {
	if o == nil {
		return
	}
	if !o.eligible(l) {
		l.Outreach = bot.Outreach{}
		return
	}
	l.Outreach.Nudges = 0
	for _, e := range events {
		// A lesson taken again keeps the reviews of its first completion.
		if e.Kind != dialog.LessonCompleted || e.Retake {
			continue
		}
		les := c.Lessons.Lesson(e.Lesson)
		if les == nil {
			continue
		}
		// The key questions take turns.
		if keys := les.KeyQuestions(); len(keys) > 0 {
			for i, d := range o.Reviews {
				l.Outreach.Reviews = append(l.Outreach.Reviews, bot.PendingReview{Lesson: e.Lesson, Step: keys[i%len(keys)].ID, At: now.Add(d)})
			}
		}
		// The last lesson of a course: its follow-up surveys, weeks
		// later.
		if co := c.Lessons.Course(les.Course); co != nil && courseDone(l, co.Lessons) {
			for _, f := range co.Followups {
				l.Outreach.Reviews = append(l.Outreach.Reviews, bot.PendingReview{Lesson: f.Lesson,
					Step: bot.FollowupPrefix + f.Step, At: now.Add(f.After)})
			}
		}
	}
	l.Outreach.Reviews = trimReviews(l.Outreach.Reviews)
	next := o.next(l, now)
	if next.IsZero() || l.Outreach.At.IsZero() || next.Before(l.Outreach.At) {
		l.Outreach.At = next
	}
}

// next is when the learner may next be due: their next nudge, or their
// earliest review; zero when nothing is pending. It is never before now
// plus a moment, so that a learner held back (inside a lesson) is not
// taken again at once.
func (o *Outreach) next(l *bot.Learner, now time.Time) time.Time {
	var next time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if o.NudgeAfter > 0 && !l.LastInboundAt.IsZero() {
		switch {
		case l.Outreach.Nudges == 0:
			earlier(l.LastInboundAt.Add(o.NudgeAfter))
		case l.Outreach.Nudges == 1 && o.SecondNudgeAfter > 0:
			earlier(l.LastInboundAt.Add(o.NudgeAfter + o.SecondNudgeAfter))
		}
	}
	for _, r := range l.Outreach.Reviews {
		earlier(r.At)
	}
	if !next.IsZero() && !next.After(now) {
		next = now.Add(reviewHold)
	}
	return next
}

// due decides what is due for the learner at now, updates their Outreach
// as if it were sent, and returns the jobs that send it: at most one
// review (the earliest due, unless the learner is inside a lesson), and
// the first or second nudge when the learner has been silent long enough.
// Job IDs say what a job is for (the learner's hash, the lesson, the time
// it answers), never a phone number, so that deciding twice queues once.
func (o *Outreach) due(l *bot.Learner, now time.Time, keys Keys) []schedule.Job {
	if !o.eligible(l) {
		l.Outreach = bot.Outreach{}
		return nil
	}
	who := keys.Learner(l.ID)
	job := func(id string, kind schedule.Kind) schedule.Job {
		return schedule.Job{ID: id, Kind: kind, Learner: l.ID, Cohort: l.Cohort,
			DueAt: now, CreatedAt: now, CreatedBy: "darsi"}
	}
	var jobs []schedule.Job
	if l.Phase != bot.PhaseLesson {
		first := -1
		for i, r := range l.Outreach.Reviews {
			if !r.At.After(now) && (first < 0 || r.At.Before(l.Outreach.Reviews[first].At)) {
				first = i
			}
		}
		if first >= 0 {
			r := l.Outreach.Reviews[first]
			j := job("review-"+who+"-"+r.Lesson+"-"+strconv.FormatInt(r.At.Unix(), 10), schedule.Review)
			j.Lesson, j.Step = r.Lesson, r.Step
			if step, ok := strings.CutPrefix(r.Step, bot.FollowupPrefix); ok {
				j = job("followup-"+who+"-"+r.Lesson+"-"+strconv.FormatInt(r.At.Unix(), 10), schedule.Followup)
				j.Lesson, j.Step = r.Lesson, step
			}
			jobs = append(jobs, j)
			l.Outreach.Reviews = append(l.Outreach.Reviews[:first:first], l.Outreach.Reviews[first+1:]...)
			// The other due reviews wait: one question at a time.
			for i := range l.Outreach.Reviews {
				if !l.Outreach.Reviews[i].At.After(now) {
					l.Outreach.Reviews[i].At = now.Add(reviewHold)
				}
			}
		}
	}
	if o.NudgeAfter > 0 && !l.LastInboundAt.IsZero() {
		silence := strconv.FormatInt(l.LastInboundAt.Unix(), 10)
		switch {
		case l.Outreach.Nudges == 0 && !now.Before(l.LastInboundAt.Add(o.NudgeAfter)):
			jobs = append(jobs, job("nudge1-"+who+"-"+silence, schedule.Nudge))
			l.Outreach.Nudges = 1
		case l.Outreach.Nudges == 1 && o.SecondNudgeAfter > 0 && !now.Before(l.LastInboundAt.Add(o.NudgeAfter+o.SecondNudgeAfter)):
			jobs = append(jobs, job("nudge2-"+who+"-"+silence, schedule.Nudge))
			l.Outreach.Nudges = 2
		}
	}
	l.Outreach.At = o.next(l, now)
	return jobs
}

// Sweep takes the learners whose outreach is due at now from the store's
// due index, decides for each what is due, queues it and moves the
// learner in the index; it returns how many learners it took. A learner
// it could not finish comes back when the lease runs out.
//
// Errors: the due index's (Unavailable); a learner's own failure is
// logged, not returned.
func (a *App) Sweep(ctx context.Context, now time.Time) (int, error) {
	o := a.Outreach
	if o == nil || o.Due == nil || o.Outbox == nil {
		return 0, nil
	}
	lease := o.Lease
	if lease <= 0 {
		lease = DefaultOutreachLease
	}
	batch := o.Batch
	if batch <= 0 {
		batch = defaultSweepBatch
	}
	ids, err := o.Due.TakeDue(ctx, now, lease, batch)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			// Stopping: the learners not handled come back after the
			// lease.
			return len(ids), nil
		}
		if err := a.fire(ctx, id, now); err != nil && ctx.Err() == nil && o.Log != nil {
			o.Log.Error("outreach: a due learner was not handled", "learner", bot.Mask(id), "err", err)
		}
	}
	return len(ids), nil
}

// RunOutreach sweeps the due index until ctx ends: at once again after a
// full batch, after Poll otherwise.
func (a *App) RunOutreach(ctx context.Context) error {
	poll := defaultSweepPoll
	batch := defaultSweepBatch
	if o := a.Outreach; o != nil {
		if o.Poll > 0 {
			poll = o.Poll
		}
		if o.Batch > 0 {
			batch = o.Batch
		}
	}
	for {
		n, err := a.Sweep(ctx, a.Now())
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && a.Outreach.Log != nil {
			a.Outreach.Log.Error("outreach: sweep", "err", err)
		}
		if err == nil && n >= batch {
			continue
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// errChanged says the learner changed between the read and the write of
// fire.
var errChanged = errors.New("the learner changed")

// fire handles one due learner: it decides on the learner as read, queues
// the jobs (Enqueue keeps one job per ID), then writes the learner's new
// Outreach if the learner has not changed since, and otherwise decides
// again. Queuing first means a crash loses nothing: the learner stays due
// and the same jobs are found queued.
func (a *App) fire(ctx context.Context, id string, now time.Time) error {
	o := a.Outreach
	for attempt := 0; attempt < 3; attempt++ {
		l, err := a.store.Get(ctx, id)
		if bot.KindOf(err) == bot.NotFound {
			return nil // gone: the index drops it
		}
		if err != nil {
			return err
		}
		read := l.Version
		jobs := o.due(&l, now, a.Keys)
		if len(jobs) > 0 {
			if _, err := o.Outbox.Enqueue(ctx, jobs...); err != nil {
				return err
			}
		}
		_, err = a.store.Update(ctx, id, "", func(cur *bot.Learner) (Change, error) {
			if cur.Version != read {
				return Change{}, errChanged
			}
			cur.Outreach = l.Outreach
			return Change{}, nil
		})
		if !errors.Is(err, errChanged) {
			return err
		}
	}
	return bot.Errorf("app.fire", bot.Conflict, "the learner kept changing")
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

// courseDone reports whether l completed every lesson of a course.
func courseDone(l *bot.Learner, lessons []*lesson.Lesson) bool {
	for _, les := range lessons {
		if !l.Done(les.ID) {
			return false
		}
	}
	return len(lessons) > 0
}

// isFollowup reports whether a pending review is a follow-up survey.
func isFollowup(r bot.PendingReview) bool { return strings.HasPrefix(r.Step, bot.FollowupPrefix) }

// maxPendingFollowups bounds the follow-up surveys a learner waits for.
const maxPendingFollowups = 12

// trimReviews keeps the last maxPendingReviews reviews and the last
// maxPendingFollowups follow-ups: reviews of later lessons never push a
// follow-up weeks away out.
func trimReviews(rs []bot.PendingReview) []bot.PendingReview {
	reviews, followups := 0, 0
	for _, r := range rs {
		if isFollowup(r) {
			followups++
		} else {
			reviews++
		}
	}
	if reviews <= maxPendingReviews && followups <= maxPendingFollowups {
		return rs
	}
	var out []bot.PendingReview
	for _, r := range rs {
		if isFollowup(r) {
			if followups > maxPendingFollowups {
				followups--
				continue
			}
		} else if reviews > maxPendingReviews {
			reviews--
			continue
		}
		out = append(out, r)
	}
	return out
}
