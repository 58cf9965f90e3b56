package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// Defaults of Digest.
const (
	DefaultDigestHour = 9
	defaultDigestPoll = time.Minute
)

// Digest tells each coach who gave a WhatsApp number how many
// conversations with new questions wait in their inbox: once a day, in
// the configured hour of the coach's local time (the zone of their
// number's country), and only when there is at least one. It queues a
// coach_digest job of the outbox, which holds it through quiet hours and
// sends free text inside WhatsApp's window, the coach_digest template
// outside it. The job's id comes from the coach and their local date, so
// that every replica running a Digest queues it once a day.
type Digest struct {
	Coaching *Coaching
	Outbox   schedule.Outbox
	// Hour is the local hour (0 to 23) in which digests are queued.
	Hour int
	// Inbox is the inbox's address for the message ("" leaves it out),
	// such as https://darsi.example.org/coach/inbox.
	Inbox string
	// Poll is how often Run looks; default one minute.
	Poll time.Duration
	Now  func() time.Time
	Log  *slog.Logger
}

// DigestID is the id of a coach's digest of a day (their local date,
// 2006-01-02): no number in it.
func DigestID(login, day string) string {
	return string(schedule.CoachDigest) + "-" + shortHash(login, 16) + "-" + day
}

// DigestText is the digest's text for n conversations with new questions.
func DigestText(n int, inbox string) string {
	s := fmt.Sprintf("Darsi : %d conversation avec une nouvelle question t'attend dans ta boîte.", n)
	if n != 1 {
		s = fmt.Sprintf("Darsi : %d conversations avec de nouvelles questions t'attendent dans ta boîte.", n)
	}
	if inbox != "" {
		s += " " + inbox
	}
	return s
}

func (d *Digest) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// RunOnce queues the digests due at this moment and returns how many it
// queued (a digest queued before, by this replica or another, is not
// counted). Errors are the stores'; a coach whose count fails is logged
// and the others go on.
func (d *Digest) RunOnce(ctx context.Context) (int, error) {
	queued := 0
	after := ""
	for {
		coaches, next, err := d.Coaching.Cohorts.Coaches(ctx, after, cohort.MaxCoachesPage)
		if err != nil {
			return queued, err
		}
		for _, co := range coaches {
			ok, err := d.coach(ctx, co)
			if err != nil {
				return queued, err
			}
			if ok {
				queued++
			}
		}
		if next == "" {
			return queued, nil
		}
		after = next
	}
}

// coach queues co's digest if it is due now.
func (d *Digest) coach(ctx context.Context, co cohort.Coach) (bool, error) {
	if co.WhatsApp == "" || co.Disabled {
		return false, nil
	}
	now := d.now()
	zone := schedule.ZoneOf(bot.Learner{ID: co.WhatsApp})
	if zone == nil {
		zone, _ = schedule.LoadZone(schedule.DefaultZone)
	}
	local := now.In(zone)
	if local.Hour() != d.Hour {
		return false, nil
	}
	n, err := d.Coaching.Unread(ctx, co)
	if err != nil {
		if d.Log != nil {
			d.Log.Warn("digest: counting a coach's new questions", "coach", co.Login, "err", err)
		}
		return false, nil
	}
	if n == 0 {
		return false, nil
	}
	j := schedule.Job{
		ID: DigestID(co.Login, local.Format(time.DateOnly)), Kind: schedule.CoachDigest, Learner: co.WhatsApp,
		Text: DigestText(n, d.Inbox), DueAt: now, CreatedAt: now, CreatedBy: co.Name,
		Status: schedule.Queued, UpdatedAt: now,
	}
	added, err := d.Outbox.Enqueue(ctx, j)
	if err != nil {
		return false, err
	}
	if added > 0 && d.Log != nil {
		d.Log.Info("digest queued", "coach", co.Login, "questions", n, "job", j.ID)
	}
	return added > 0, nil
}

// Run queues digests every Poll until ctx ends.
func (d *Digest) Run(ctx context.Context) {
	poll := d.Poll
	if poll <= 0 {
		poll = defaultDigestPoll
	}
	for {
		if _, err := d.RunOnce(ctx); err != nil && ctx.Err() == nil && d.Log != nil {
			d.Log.Warn("digest", "err", err)
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
