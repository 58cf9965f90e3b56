package schedule

import (
	"context"
	"time"
)

// Backlog is what the outbox owes at a moment: the jobs whose time has
// come and that no replica is working on. A backlog that grows, or whose
// oldest job keeps getting older, means the outbox is not keeping up
// (Twilio throttling, the send rate too low for the reminders queued, no
// runner at all).
type Backlog struct {
	// Due counts the jobs a claim would take now: queued jobs whose due
	// time has passed, and claimed jobs whose lease ran out. It counts up
	// to the limit asked for and stops there.
	Due int
	// Oldest is since when the earliest of them has been claimable: its
	// due time, or the end of its lease. Zero when Due is 0.
	Oldest time.Time
}

// BacklogReader is an outbox that tells its backlog. Both stores and the
// in-memory outbox implement it; darsi serves it on /metrics
// (darsi_outbox_due_jobs, darsi_outbox_oldest_due_age_seconds).
type BacklogReader interface {
	// Backlog returns the backlog at now, counting at most limit jobs
	// (limit 0 or less: DefaultBacklogLimit). It changes nothing.
	Backlog(ctx context.Context, now time.Time, limit int) (Backlog, error)
}

// DefaultBacklogLimit is how many due jobs Backlog counts at most when
// no limit is given: past it, the number matters less than that it is
// large.
const DefaultBacklogLimit = 100_000
