package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// Reminder is a coach's message to every member of a cohort.
type Reminder struct {
	// Kind is schedule.Reminder (the default) or schedule.Broadcast.
	Kind   schedule.Kind
	Cohort string // the join code, in any case
	// Text is the coach's words, for members whose language has none of
	// its own in Texts; "" when Texts has at least one (the first, in the
	// order of bot.Langs, then stands for it).
	Text string
	// Texts are the coach's words in each language (ary, ar, fr, zgh): a
	// member gets the text of the language they write in (French before
	// they chose one), else Text.
	Texts map[bot.Lang]string
	// Template is the template kind used outside WhatsApp's window; ""
	// for the job's kind.
	Template string
	// At is when to send it; zero means now. A time in the past is now.
	At time.Time
	// By is who sends it, as the outbox shows; "" for the actor (or, for
	// the Operator, the cohort's coach, else "darsi").
	By string
	// Key names the reminder explicitly: reminders with the same key
	// queue nothing twice. "" derives it from the cohort, kind, text,
	// template and At, or the day in the programme's zone when At is zero.
	Key string
}

// Reminded is what Remind did.
type Reminded struct {
	// Reminder is the reminder's id: its jobs' ids are the reminder's id,
	// "-" and a hash of the learner (never a phone number).
	Reminder string `json:"reminder"`
	Cohort   string `json:"cohort"`
	Queued   int    `json:"queued"`
	Already  int    `json:"already"`   // queued by an earlier call with the same reminder, left as they were
	OptedOut int    `json:"opted_out"` // members who opted out: not queued
	// Unreachable members talk to the bot from the terminal or the
	// simulator: nothing can reach them.
	Unreachable int       `json:"unreachable"`
	DueAt       time.Time `json:"due_at"`
}

// maxDueAhead bounds how far ahead a reminder may be set.
const maxDueAhead = 366 * 24 * time.Hour

// enqueueBatch bounds the jobs of one Enqueue call.
const enqueueBatch = 500

// Check reports what Remind refuses in a reminder: errors of kind Invalid.
func (r Reminder) Check() error {
	const op = "app.Reminder"
	switch {
	case r.Kind != schedule.Reminder && r.Kind != schedule.Broadcast && r.Kind != "":
		return bot.Errorf(op, bot.Invalid, "kind %q: want reminder or broadcast", r.Kind)
	case r.Cohort == "":
		return bot.Errorf(op, bot.Invalid, "no cohort")
	case r.first() == "":
		return bot.Errorf(op, bot.Invalid, "the text is empty")
	case r.Template != "" && !schedule.ValidTemplateKind(r.Template):
		return bot.Errorf(op, bot.Invalid, "template %q: want a template kind such as reminder (lower-case letters, digits, _ and -)", r.Template)
	}
	if err := checkText(op, "the text", r.Text); err != nil {
		return err
	}
	for lang, text := range r.Texts {
		if !lang.Valid() {
			return bot.Errorf(op, bot.Invalid, "a text in %q: want ary, ar, fr or zgh", lang)
		}
		if err := checkText(op, "the text in "+string(lang), text); err != nil {
			return err
		}
	}
	return nil
}

// checkText reports what Check refuses in one of a reminder's texts.
func checkText(op, what, text string) error {
	switch t := strings.TrimSpace(text); {
	case !utf8.ValidString(text) || strings.ContainsRune(text, 0):
		return bot.Errorf(op, bot.Invalid, "%s is not valid UTF-8", what)
	case bot.BodyLen(t) > bot.MaxBody:
		return bot.Errorf(op, bot.Invalid, "%s has %d characters; a message holds at most %d", what, bot.BodyLen(t), bot.MaxBody)
	}
	return nil
}

// first is the reminder's first text: Text, else the first of Texts in
// the order of bot.Langs; "" when there is none.
func (r Reminder) first() string {
	if t := strings.TrimSpace(r.Text); t != "" {
		return t
	}
	for _, lang := range bot.Langs {
		if t := strings.TrimSpace(r.Texts[lang]); t != "" {
			return t
		}
	}
	return ""
}

// TextFor is the text a member writing in lang gets: the language's own,
// else the first.
func (r Reminder) TextFor(lang bot.Lang) string {
	if t := strings.TrimSpace(r.Texts[lang]); t != "" {
		return t
	}
	return r.first()
}

// kind is the reminder's kind, Reminder by default.
func (r Reminder) kind() schedule.Kind {
	if r.Kind == "" {
		return schedule.Reminder
	}
	return r.Kind
}

// ID is the reminder's id: its kind and a hash of what identifies it (its
// Key, or the cohort, kind, text, template and time or day), so that the
// same reminder queued again, from the command line, the dashboard or the
// API, finds its jobs already there. day is the day a reminder without a
// time belongs to, in the programme's zone.
func (r Reminder) ID(day string) string {
	key := r.Key
	if key == "" {
		when := "day " + day
		if !r.At.IsZero() {
			when = "at " + r.At.UTC().Truncate(time.Second).Format(time.RFC3339)
		}
		parts := []string{string(r.kind()), strings.ToUpper(r.Cohort), strings.TrimSpace(r.Text), r.Template, when}
		// Texts of their own, in a fixed order: one text alone gives the
		// id it gave before texts per language existed.
		for _, lang := range bot.Langs {
			if t := strings.TrimSpace(r.Texts[lang]); t != "" && t != strings.TrimSpace(r.Text) {
				parts = append(parts, string(lang)+"="+t)
			}
		}
		key = strings.Join(parts, "\x00")
	}
	return string(r.kind()) + "-" + shortHash(key, 16)
}

// JobID is the id of a reminder's job for one learner, given by their key
// (Keys.Learner): the reminder's id and the key, so that no phone number
// is in an id.
func JobID(reminder, learnerKey string) string { return reminder + "-" + learnerKey }

// shortHash is the first n hex digits of s's SHA-256.
func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// due is when the reminder is due at now: At, or now when At is zero or
// past.
func (r Reminder) due(now time.Time) time.Time {
	if r.At.IsZero() || r.At.Before(now) {
		return now
	}
	return r.At
}

// Remind queues one job per member of the cohort who can receive it:
// members who opted out get none, nor those who talk to the bot from the
// terminal or the simulator. Job ids come from the reminder (Reminder.ID)
// and the learner, and a job already stored is left as it is, so calling
// Remind again with the same reminder queues nothing twice.
//
// Errors: Invalid for a bad reminder or one more than a year ahead,
// NotFound for a cohort the actor may not see, Unavailable when the store
// keeps no outbox, and the stores'. Jobs queued before a store error stay
// queued; the result counts them.
func (c *Coaching) Remind(ctx context.Context, actor cohort.Coach, r Reminder) (Reminded, error) {
	const op = "app.Remind"
	if c.Outbox == nil {
		return Reminded{}, bot.Errorf(op, bot.Unavailable, "this store keeps no outbox: reminders cannot be queued")
	}
	if err := r.Check(); err != nil {
		return Reminded{}, err
	}
	now := c.now()
	if !r.At.IsZero() && r.At.After(now.Add(maxDueAhead)) {
		return Reminded{}, bot.Errorf(op, bot.Invalid, "%s is more than a year away", r.At.Format(time.RFC3339))
	}
	co, err := c.Cohort(ctx, actor, r.Cohort)
	if err != nil {
		return Reminded{}, err
	}
	r.Cohort, r.Kind = co.Code, r.kind()
	by := r.By
	for _, who := range []string{actor.Login, co.Coach, "darsi"} {
		if by == "" {
			by = who
		}
	}
	id := r.ID(now.In(c.location()).Format(time.DateOnly))
	res := Reminded{Reminder: id, Cohort: co.Code, DueAt: r.due(now).UTC()}

	members, err := c.AllMembers(ctx, co.Code)
	if err != nil {
		return Reminded{}, err
	}
	var jobs []schedule.Job
	for _, l := range members {
		switch {
		case l.OptedOut:
			res.OptedOut++
			continue
		case !c.reachable(l):
			res.Unreachable++
			continue
		}
		jobs = append(jobs, schedule.Job{
			ID: JobID(id, c.keys().Learner(l.ID)), Kind: r.Kind, Learner: l.ID, Cohort: co.Code,
			Text: r.TextFor(schedule.LangOf(l)), Template: r.Template, DueAt: r.due(now), CreatedAt: now, CreatedBy: by,
			Status: schedule.Queued, UpdatedAt: now,
		})
	}
	// A job already stored (queued, sent or ended) is this reminder,
	// queued by an earlier call: Enqueue leaves it alone.
	for i := 0; i < len(jobs); i += enqueueBatch {
		batch := jobs[i:min(i+enqueueBatch, len(jobs))]
		n, err := c.Outbox.Enqueue(ctx, batch...)
		res.Queued += n
		res.Already += len(batch) - n
		if err != nil {
			c.recordReminder(ctx, actor, r.Kind, res)
			return res, bot.E(op, bot.KindOf(err), err)
		}
	}
	c.recordReminder(ctx, actor, r.Kind, res)
	return res, nil
}

// recordReminder puts a reminder that queued jobs in the audit log: its
// id, never its text (a coach may type a phone number in it).
func (c *Coaching) recordReminder(ctx context.Context, actor cohort.Coach, kind schedule.Kind, res Reminded) {
	if res.Queued == 0 {
		return // nothing changed
	}
	action := AuditReminder
	if kind == schedule.Broadcast {
		action = AuditBroadcast
	}
	c.record(ctx, actor, action, res.Cohort, fmt.Sprintf("%s: %d queued, %d already, due %s",
		res.Reminder, res.Queued, res.Already, res.DueAt.Format(time.RFC3339)))
}

// Reachable reports whether a message the bot starts can reach the
// learner: by WhatsApp or SMS.
func Reachable(l bot.Learner) bool {
	ch := schedule.ChannelOf(l)
	return ch == bot.WhatsApp || ch == bot.SMS
}

// reachable is Reachable under the coaching's Policy: the simulator's
// learners too when it delivers to them (schedule.Policy.Sim).
func (c *Coaching) reachable(l bot.Learner) bool {
	return c.Policy.Reachable(schedule.ChannelOf(l))
}

// LangPreview is a reminder as a learner writing in one language gets it,
// inside the window (or by SMS), with its SMS cost.
type LangPreview struct {
	Lang bot.Lang `json:"lang"`
	// Own is the coach's words for the language; Text the message as the
	// learner gets it inside the window (the frame around Own).
	Own      string `json:"own"`
	Text     string `json:"text"`
	Encoding string `json:"encoding"`
	Units    int    `json:"units"`
	Segments int    `json:"segments"`
	Members  int    `json:"members"` // members who write in the language and can receive it
}

// MemberPlan is what happens to a reminder for one member.
type MemberPlan struct {
	Learner string `json:"learner"` // masked
	schedule.Decision
}

// Plan is what a reminder would do, before it is queued.
type Plan struct {
	DueAt    time.Time     `json:"due_at"`
	Langs    []LangPreview `json:"langs"`
	Members  []MemberPlan  `json:"members"`
	Free     int           `json:"free"`
	Template int           `json:"template"`
	Skipped  int           `json:"skipped"`
}

// Preview says what the reminder would do, member by member, as the outbox
// will decide it (Policy: quiet hours, WhatsApp's window, templates), and
// renders it in each language as the outbox will send it.
//
// Errors: as Remind's, but for the outbox.
func (c *Coaching) Preview(ctx context.Context, actor cohort.Coach, r Reminder) (Plan, error) {
	if err := r.Check(); err != nil {
		return Plan{}, err
	}
	co, err := c.Cohort(ctx, actor, r.Cohort)
	if err != nil {
		return Plan{}, err
	}
	members, err := c.AllMembers(ctx, co.Code)
	if err != nil {
		return Plan{}, err
	}
	now := c.now()
	r.Cohort, r.Kind = co.Code, r.kind()
	due := r.due(now)
	job := schedule.Job{Kind: r.Kind, Cohort: co.Code, Text: r.first(), Template: r.Template, DueAt: due}
	policy := c.Policy
	if policy == nil {
		policy = &schedule.Policy{}
	}
	plan := Plan{DueAt: due.UTC()}
	count := map[bot.Lang]int{}
	for _, l := range members {
		d := policy.Decide(l, job, due)
		switch d.Route {
		case schedule.RouteFree:
			plan.Free++
		case schedule.RouteTemplate:
			plan.Template++
		default:
			plan.Skipped++
		}
		if d.Route != schedule.RouteSkip {
			count[d.Lang]++
		}
		plan.Members = append(plan.Members, MemberPlan{Learner: bot.Mask(l.ID), Decision: d})
	}
	if plan.Langs, err = c.renderLangs(r, job, count); err != nil {
		return Plan{}, err
	}
	return plan, nil
}

// renderLangs renders the reminder in each language as the outbox sends
// it, with its SMS cost and the members (count) who get it.
func (c *Coaching) renderLangs(r Reminder, job schedule.Job, count map[bot.Lang]int) ([]LangPreview, error) {
	words := c.Content().Text
	var out []LangPreview
	for _, lang := range bot.Langs {
		job.Text = r.TextFor(lang)
		text, err := schedule.Render(words, lang, job)
		if err != nil {
			return nil, err
		}
		sms := locale.Segments(text)
		out = append(out, LangPreview{Lang: lang, Own: job.Text, Text: text, Encoding: string(sms.Encoding),
			Units: sms.Units, Segments: sms.Segments, Members: count[lang]})
	}
	return out, nil
}
