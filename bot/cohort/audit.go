package cohort

import (
	"context"
	"time"
)

// AuditEntry is one thing a coach, an admin or the operator did that
// changed something (or took data out, as an export), as the audit log
// keeps it. It names people by login and cohorts by code, and never holds a
// phone number: learners appear, if at all, masked.
type AuditEntry struct {
	// ID is the store's: entries' ids order them by the time the store
	// wrote them, and page through the log.
	ID string    `json:"id"`
	At time.Time `json:"at"`
	// Actor is the login of who did it; "" for the operator, who runs
	// darsi's commands with the store in hand.
	Actor string `json:"actor"`
	// Action says what was done, such as "cohort.create" (see the
	// constants in package app).
	Action string `json:"action"`
	// Target is what it was done to: a cohort's code, a login.
	Target string `json:"target,omitempty"`
	// Detail is a few words more: how many jobs were queued, a role.
	Detail string `json:"detail,omitempty"`
	// Via is where it came from: "dashboard", "api" or "cli".
	Via string `json:"via,omitempty"`
	// Addr is the client's address, for the dashboard and the API.
	Addr string `json:"addr,omitempty"`
}

// DefaultAuditRetention is how long the stores keep an audit entry unless
// told otherwise: a year, long enough to answer for last season's
// programme, not forever.
const DefaultAuditRetention = 365 * 24 * time.Hour

// AuditLog keeps the audit log. Both stores implement it and pass
// storetest.RunAudit.
type AuditLog interface {
	// AppendAudit stores e under an ID of the store's, which orders it
	// after every entry stored before it. Each entry is removed the
	// store's audit retention (DefaultAuditRetention unless the store is
	// told otherwise) after it was stored, by the store's clock.
	//
	// Errors: Invalid for an entry without an action, Unavailable when
	// the store cannot be reached.
	AppendAudit(ctx context.Context, e AuditEntry) error

	// Audit returns up to limit entries (limit 0 or less means 100),
	// newest first: those older than the entry whose ID is cursor (""
	// from the newest), and the cursor of the next page ("" after the
	// last). An entry past its retention is never returned, purged or
	// not.
	//
	// Errors: Invalid for a cursor that is not an entry ID of the
	// store's, Unavailable when the store cannot be reached.
	Audit(ctx context.Context, cursor string, limit int) ([]AuditEntry, string, error)

	// AuditCount returns how many entries Audit would list from the
	// newest to the last page. Errors: Unavailable when the store cannot
	// be reached.
	AuditCount(ctx context.Context) (int, error)
}
