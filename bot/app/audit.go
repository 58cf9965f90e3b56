package app

import (
	"context"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
)

// The actions of the audit log: what an entry says was done.
const (
	AuditLogin         = "login"
	AuditLogout        = "logout"
	AuditCoachSaved    = "coach.save"    // an account created, or replaced with a new password
	AuditCoachDisabled = "coach.disable" // an account locked out
	AuditCohortCreated = "cohort.create"
	AuditReminder      = "reminder.queue"
	AuditBroadcast     = "broadcast.queue"
	AuditExport        = "export"       // data handed out, such as a CSV file
	AuditAnswer        = "inbox.answer" // a coach answered a learner's question (target: the thread's key)
	AuditJobCancelled  = "job.cancel"   // a job of the outbox cancelled (target: its cohort; detail: its kind and id)
)

// Origin is where a call to a use case comes from, as the audit log
// records it.
type Origin struct {
	Via  string // "dashboard", "api" or "cli"
	Addr string // the client's address, for the dashboard and the API
}

type originKey struct{}

// WithOrigin returns ctx carrying where the calls made with it come from:
// the adapters set it once a request, and the audit entries of the use
// cases they call say it.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

func originOf(ctx context.Context) Origin {
	o, _ := ctx.Value(originKey{}).(Origin)
	return o
}

// record puts an entry in the audit log and in Log. The change it records
// is made already: a store that fails to keep the entry is logged at error
// level and the change stands. target and detail are made by the use
// cases from codes, logins, counts and ids, never from free text, so that
// no phone number gets in.
func (c *Coaching) record(ctx context.Context, actor cohort.Coach, action, target, detail string) {
	o := originOf(ctx)
	e := cohort.AuditEntry{At: c.now().UTC(), Actor: actor.Login, Action: action, Target: target, Detail: detail,
		Via: o.Via, Addr: o.Addr}
	c.log().Info("audit", "action", action, "actor", e.Actor, "target", target, "detail", detail, "via", o.Via, "addr", o.Addr)
	if c.Audit == nil {
		return
	}
	if err := c.Audit.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		c.log().Error("audit entry not stored", "action", action, "actor", e.Actor, "target", target, "err", err)
	}
}

// RecordExport puts in the audit log that actor took data out: what
// (such as "learners.csv") of the cohort with the join code. The
// adapters that hand data out call it.
func (c *Coaching) RecordExport(ctx context.Context, actor cohort.Coach, code, what string) {
	c.record(ctx, actor, AuditExport, code, what)
}

// AuditPage returns a page of the audit log to an admin, newest first,
// from cursor ("" for the newest), and the cursor of the next page (""
// after the last). limit 0 or less means DefaultPageSize.
//
// Errors: NotFound for an actor who is no admin, as for anything a coach
// may not see; Unavailable when the store keeps no audit log; Invalid for
// a bad cursor, and the store's.
func (c *Coaching) AuditPage(ctx context.Context, actor cohort.Coach, cursor string, limit int) ([]cohort.AuditEntry, string, error) {
	if err := c.mayReadAudit("app.AuditPage", actor); err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		limit = DefaultPageSize
	}
	return c.Audit.Audit(ctx, cursor, limit)
}

// AuditCount returns how many entries the audit log holds, to an admin.
//
// Errors: as AuditPage's.
func (c *Coaching) AuditCount(ctx context.Context, actor cohort.Coach) (int, error) {
	if err := c.mayReadAudit("app.AuditCount", actor); err != nil {
		return 0, err
	}
	return c.Audit.AuditCount(ctx)
}

func (c *Coaching) mayReadAudit(op string, actor cohort.Coach) error {
	if actor.Role != cohort.RoleAdmin {
		return bot.Errorf(op, bot.NotFound, "no such page")
	}
	if c.Audit == nil {
		return bot.Errorf(op, bot.Unavailable, "this store keeps no audit log")
	}
	return nil
}
