package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// Segment selects learners for an admin's broadcast. Every condition set
// must hold (an empty Segment is every learner).
type Segment struct {
	// Langs keeps the learners who write in one of them (French before
	// they chose one); empty: any.
	Langs []bot.Lang `json:"langs,omitempty"`
	// Cohorts keeps the members of these cohorts (join codes); empty: any
	// learner, in a cohort or not.
	Cohorts []string `json:"cohorts,omitempty"`
	// Course and Progress keep the learners who "started" the course
	// (inside it, or a lesson of it done) or "completed" it (every lesson
	// done).
	Course   string `json:"course,omitempty"`
	Progress string `json:"progress,omitempty"`
	// InactiveDays, above 0, keeps the learners whose last message is at
	// least that many days old.
	InactiveDays int `json:"inactive_days,omitempty"`
}

// Progress values of a Segment.
const (
	ProgressStarted   = "started"
	ProgressCompleted = "completed"
)

// maxSegmentCohorts bounds a segment's cohorts.
const maxSegmentCohorts = 100

// check reports what a broadcast refuses in the segment, against the
// courses the bot has (NotFound is not used: an unknown course is Invalid).
func (c *Coaching) checkSegment(op string, sg Segment) error {
	for _, l := range sg.Langs {
		if !l.Valid() {
			return bot.Errorf(op, bot.Invalid, "language %q: want ary, ar, fr or zgh", l)
		}
	}
	if len(sg.Cohorts) > maxSegmentCohorts {
		return bot.Errorf(op, bot.Invalid, "%d cohorts: at most %d", len(sg.Cohorts), maxSegmentCohorts)
	}
	switch {
	case sg.Course == "" && sg.Progress != "":
		return bot.Errorf(op, bot.Invalid, "progress %q without a course", sg.Progress)
	case sg.Course != "" && sg.Progress != ProgressStarted && sg.Progress != ProgressCompleted:
		return bot.Errorf(op, bot.Invalid, "progress %q: want started or completed", sg.Progress)
	case sg.Course != "" && c.Content().Lessons.Course(sg.Course) == nil:
		return bot.Errorf(op, bot.Invalid, "no course %q", sg.Course)
	case sg.InactiveDays < 0 || sg.InactiveDays > 3650:
		return bot.Errorf(op, bot.Invalid, "inactive for %d days: want 0 to 3650", sg.InactiveDays)
	}
	return nil
}

// key is the segment in words, the same for the same segment whatever the
// order of its lists: the broadcast's id and the audit log use it.
func (sg Segment) key() string {
	langs := make([]string, 0, len(sg.Langs))
	for _, l := range sg.Langs {
		langs = append(langs, string(l))
	}
	slices.Sort(langs)
	cohorts := make([]string, 0, len(sg.Cohorts))
	for _, co := range sg.Cohorts {
		cohorts = append(cohorts, strings.ToUpper(strings.TrimSpace(co)))
	}
	slices.Sort(cohorts)
	var parts []string
	if len(langs) > 0 {
		parts = append(parts, "langs="+strings.Join(slices.Compact(langs), ","))
	}
	if len(cohorts) > 0 {
		parts = append(parts, "cohorts="+strings.Join(slices.Compact(cohorts), ","))
	}
	if sg.Course != "" {
		parts = append(parts, "course="+sg.Course+":"+sg.Progress)
	}
	if sg.InactiveDays > 0 {
		parts = append(parts, fmt.Sprintf("inactive=%dd", sg.InactiveDays))
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, " ")
}

// matches reports whether learner l is in the segment at now.
func (c *Coaching) matches(sg Segment, l bot.Learner, now time.Time) bool {
	if len(sg.Langs) > 0 && !slices.Contains(sg.Langs, schedule.LangOf(l)) {
		return false
	}
	if len(sg.Cohorts) > 0 && !slices.ContainsFunc(sg.Cohorts, func(co string) bool { return l.Cohort != "" && strings.EqualFold(co, l.Cohort) }) {
		return false
	}
	if sg.InactiveDays > 0 && !l.LastInboundAt.IsZero() && now.Sub(l.LastInboundAt) < time.Duration(sg.InactiveDays)*24*time.Hour {
		return false
	}
	if sg.Course != "" {
		course := c.Content().Lessons.Course(sg.Course)
		if course == nil {
			return false
		}
		done := 0
		for _, les := range course.Lessons {
			if l.Done(les.ID) {
				done++
			}
		}
		switch sg.Progress {
		case ProgressCompleted:
			return len(course.Lessons) > 0 && done == len(course.Lessons)
		default:
			return done > 0 || l.Course == sg.Course
		}
	}
	return true
}

// Broadcast is an admin's message to a segment of the learners.
type Broadcast struct {
	Segment Segment
	// Text, Texts, Template, At and Key are as a Reminder's.
	Text     string
	Texts    map[bot.Lang]string
	Template string
	At       time.Time
	Key      string
}

// reminder is the broadcast as the reminder its jobs are made like: its
// "cohort" is the segment.
func (b Broadcast) reminder() Reminder {
	return Reminder{Kind: schedule.Broadcast, Cohort: "segment " + b.Segment.key(), Text: b.Text, Texts: b.Texts,
		Template: b.Template, At: b.At, Key: b.Key}
}

// Broadcasted is what a broadcast did, or would do (Preview).
type Broadcasted struct {
	ID      string `json:"id"`
	Segment string `json:"segment"`
	// Matched counts the learners of the segment; OptedOut and
	// Unreachable those of them no message can reach.
	Matched     int       `json:"matched"`
	Queued      int       `json:"queued"`
	Already     int       `json:"already"`
	OptedOut    int       `json:"opted_out"`
	Unreachable int       `json:"unreachable"`
	DueAt       time.Time `json:"due_at"`
}

// maxPlanMembers bounds the members a broadcast's preview lists one by
// one: it counts them all.
const maxPlanMembers = 100

// mayBroadcast is NotFound for anyone but an admin: a coach does not even
// learn that broadcasts exist.
func mayBroadcast(op string, actor cohort.Coach) error {
	if actor.Role != cohort.RoleAdmin {
		return bot.Errorf(op, bot.NotFound, "no such page")
	}
	return nil
}

// Broadcast queues one job of kind broadcast per learner of the segment
// whom a message can reach, in the learner's language (Reminder.TextFor),
// reading the learners a page at a time (Store.Learners) and queueing
// them 500 at a time, so that a programme of any size is never held in
// memory. Jobs carry the learner's cohort, so that their coach sees them
// in the cohort's outbox. Ids come from the broadcast and the learner:
// the same broadcast again queues nothing twice. Admins only; audit-logged.
//
// Errors: NotFound for an actor who is no admin; Invalid for a bad
// segment or text; Unavailable without an outbox or a learner store; the
// stores'. Jobs queued before a store error stay queued and are counted.
func (c *Coaching) Broadcast(ctx context.Context, actor cohort.Coach, b Broadcast) (Broadcasted, error) {
	const op = "app.Broadcast"
	if err := mayBroadcast(op, actor); err != nil {
		return Broadcasted{}, err
	}
	r, res, err := c.startBroadcast(op, b)
	if err != nil {
		return Broadcasted{}, err
	}
	now := c.now()
	var batch []schedule.Job
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := c.Outbox.Enqueue(ctx, batch...)
		res.Queued += n
		res.Already += len(batch) - n
		batch = batch[:0]
		return err
	}
	err = c.Everyone.Learners(ctx, func(l bot.Learner) error {
		if !c.matches(b.Segment, l, now) {
			return nil
		}
		res.Matched++
		switch {
		case l.OptedOut:
			res.OptedOut++
			return nil
		case !c.reachable(l):
			res.Unreachable++
			return nil
		}
		batch = append(batch, schedule.Job{
			ID: JobID(res.ID, c.keys().Learner(l.ID)), Kind: schedule.Broadcast, Learner: l.ID, Cohort: l.Cohort,
			Text: r.TextFor(schedule.LangOf(l)), Template: r.Template, DueAt: r.due(now), CreatedAt: now,
			CreatedBy: cmpOr(actor.Login, "darsi"), Status: schedule.Queued, UpdatedAt: now,
		})
		if len(batch) >= enqueueBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if res.Queued > 0 {
		c.record(ctx, actor, AuditBroadcast, "segment", fmt.Sprintf("%s (%s): %d matched, %d queued, %d already, due %s",
			res.ID, res.Segment, res.Matched, res.Queued, res.Already, res.DueAt.Format(time.RFC3339)))
	}
	if err != nil {
		return res, bot.E(op, bot.KindOf(err), err)
	}
	return res, nil
}

// startBroadcast checks a broadcast and returns it as a reminder, with
// what a result starts with.
func (c *Coaching) startBroadcast(op string, b Broadcast) (Reminder, Broadcasted, error) {
	if c.Outbox == nil || c.Everyone == nil {
		return Reminder{}, Broadcasted{}, bot.Errorf(op, bot.Unavailable, "this store keeps no outbox: broadcasts cannot be queued")
	}
	if err := c.checkSegment(op, b.Segment); err != nil {
		return Reminder{}, Broadcasted{}, err
	}
	r := b.reminder()
	if err := r.Check(); err != nil {
		return Reminder{}, Broadcasted{}, err
	}
	now := c.now()
	if !r.At.IsZero() && r.At.After(now.Add(maxDueAhead)) {
		return Reminder{}, Broadcasted{}, bot.Errorf(op, bot.Invalid, "%s is more than a year away", r.At.Format(time.RFC3339))
	}
	return r, Broadcasted{ID: r.ID(now.In(c.location()).Format(time.DateOnly)), Segment: b.Segment.key(), DueAt: r.due(now).UTC()}, nil
}

// BroadcastPlan is what a broadcast would do: its counts, the message in
// each language, and the first members' decisions.
type BroadcastPlan struct {
	Broadcasted
	Plan `json:"-"` // the adapters lay it out
}

// PreviewBroadcast says what the broadcast would do, as Preview does for a
// reminder, reading the learners a page at a time: every learner of the
// segment is counted, the first 100 listed. Errors: as Broadcast's.
func (c *Coaching) PreviewBroadcast(ctx context.Context, actor cohort.Coach, b Broadcast) (BroadcastPlan, error) {
	const op = "app.PreviewBroadcast"
	if err := mayBroadcast(op, actor); err != nil {
		return BroadcastPlan{}, err
	}
	r, res, err := c.startBroadcast(op, b)
	if err != nil {
		return BroadcastPlan{}, err
	}
	now := c.now()
	due := r.due(now)
	job := schedule.Job{Kind: schedule.Broadcast, Text: r.first(), Template: r.Template, DueAt: due}
	policy := c.policy()
	plan := BroadcastPlan{Broadcasted: res, Plan: Plan{DueAt: due.UTC()}}
	count := map[bot.Lang]int{}
	err = c.Everyone.Learners(ctx, func(l bot.Learner) error {
		if !c.matches(b.Segment, l, now) {
			return nil
		}
		plan.Matched++
		d := policy.Decide(l, job, due)
		switch d.Route {
		case schedule.RouteFree:
			plan.Free++
		case schedule.RouteTemplate:
			plan.Template++
		default:
			plan.Skipped++
			if d.Skip == schedule.SkipOptedOut {
				plan.OptedOut++
			} else {
				plan.Unreachable++
			}
		}
		if d.Route != schedule.RouteSkip {
			count[d.Lang]++
		}
		if len(plan.Members) < maxPlanMembers {
			plan.Members = append(plan.Members, MemberPlan{Learner: bot.Mask(l.ID), Decision: d})
		}
		return nil
	})
	if err != nil {
		return BroadcastPlan{}, err
	}
	langs, err := c.renderLangs(r, job, count)
	if err != nil {
		return BroadcastPlan{}, err
	}
	plan.Langs = langs
	return plan, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
