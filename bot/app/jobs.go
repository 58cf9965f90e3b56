package app

import (
	"context"
	"strings"
	"unicode"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// maxJobID bounds a job id a caller gives: ids the bot makes are well
// under it.
const maxJobID = 256

// mayTouchJob returns the job id if actor may see it: an admin (and the
// Operator) any job, a coach the jobs of their own cohorts. Any other is
// NotFound, as a job that does not exist: its id is not even confirmed.
func (c *Coaching) mayTouchJob(ctx context.Context, op string, actor cohort.Coach, id string) (schedule.Job, error) {
	if c.Outbox == nil {
		return schedule.Job{}, bot.Errorf(op, bot.Unavailable, "this store keeps no outbox")
	}
	if id == "" || len(id) > maxJobID || strings.ContainsFunc(id, unicode.IsControl) {
		return schedule.Job{}, bot.Errorf(op, bot.NotFound, "no job %q", id)
	}
	j, err := c.Outbox.Job(ctx, id)
	if err != nil {
		return schedule.Job{}, err
	}
	if actor.Role == cohort.RoleAdmin {
		return j, nil
	}
	if j.Cohort == "" {
		return schedule.Job{}, bot.Errorf(op, bot.NotFound, "no job %q", id)
	}
	if _, err := c.Cohort(ctx, actor, j.Cohort); err != nil {
		if bot.KindOf(err) == bot.NotFound {
			return schedule.Job{}, bot.Errorf(op, bot.NotFound, "no job %q", id)
		}
		return schedule.Job{}, err
	}
	return j, nil
}

// CancelJob cancels a job of the outbox as long as no send of it may have
// reached Twilio (schedule.Outbox.Cancel): a queued job, or one a replica
// has claimed but not begun to send, which that replica then leaves
// unsent. A coach cancels the jobs of their own cohorts; an admin (and
// the Operator) any job. The cancel is audit-logged (target: the job's
// cohort; detail: its id, which names no one). It returns the job as it
// stands after the cancel.
//
// Errors: NotFound for a job the actor may not see or that does not
// exist; Conflict when it is too late (a send may have gone out, or the
// job ended otherwise); Unavailable when the store keeps no outbox; the
// store's.
func (c *Coaching) CancelJob(ctx context.Context, actor cohort.Coach, id string) (schedule.Job, error) {
	const op = "app.CancelJob"
	j, err := c.mayTouchJob(ctx, op, actor, id)
	if err != nil {
		return schedule.Job{}, err
	}
	if j.Status == schedule.Cancelled {
		return j, nil // nothing changes: nothing to record
	}
	if err := c.Outbox.Cancel(ctx, id); err != nil {
		return schedule.Job{}, bot.E(op, bot.KindOf(err), err)
	}
	c.record(ctx, actor, AuditJobCancelled, j.Cohort, string(j.Kind)+" "+id)
	after, err := c.Outbox.Job(ctx, id)
	if err != nil {
		return schedule.Job{}, err
	}
	return after, nil
}

// Jobs returns a page of the outbox's jobs of the cohort with the join
// code (its jobs only), newest due first, from cursor, and the cursor of
// the next page; statuses, when given, keep those. An admin may give ""
// for every job.
//
// Errors: NotFound for a cohort the actor may not see (or "" for a
// coach), Unavailable when the store keeps no outbox, the store's.
func (c *Coaching) Jobs(ctx context.Context, actor cohort.Coach, code string, statuses []schedule.Status, cursor string, limit int) ([]schedule.Job, string, error) {
	const op = "app.Jobs"
	if c.Outbox == nil {
		return nil, "", bot.Errorf(op, bot.Unavailable, "this store keeps no outbox")
	}
	if code != "" || actor.Role != cohort.RoleAdmin {
		co, err := c.Cohort(ctx, actor, code)
		if err != nil {
			return nil, "", err
		}
		code = co.Code
	}
	if limit <= 0 {
		limit = DefaultPageSize
	}
	jobs, next, err := c.Outbox.Jobs(ctx, schedule.Filter{Cohort: code, Status: statuses, Limit: limit, Cursor: cursor})
	if err != nil {
		return nil, "", err
	}
	out := jobs[:0]
	for _, j := range jobs {
		if code == "" || strings.EqualFold(j.Cohort, code) {
			out = append(out, j)
		}
	}
	return out, next, nil
}
