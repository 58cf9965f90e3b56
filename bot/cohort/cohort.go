// Package cohort is what coaches work with: cohorts of learners with a
// join code, and the coaches' own accounts.
package cohort

import (
	"context"
	"time"
)

// Cohort is a group of learners a coach follows.
type Cohort struct {
	Code      string    `json:"code"` // what learners send to join, e.g. "K7M2QX"
	Name      string    `json:"name"`
	Coach     string    `json:"coach"` // the coach's login
	CreatedAt time.Time `json:"created_at"`
}

// Role says what a coach may see.
type Role string

// Roles: a coach sees their own cohorts; an admin sees every cohort.
const (
	RoleCoach Role = "coach"
	RoleAdmin Role = "admin"
)

// Coach is a dashboard account.
type Coach struct {
	Login        string    `json:"login"`
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	PasswordHash []byte    `json:"password_hash"`        // bcrypt
	TokenHash    string    `json:"token_hash,omitempty"` // SHA-256 of the API token, hex
	CreatedAt    time.Time `json:"created_at"`
	// SessionEpoch counts the changes that end every session of the
	// account (a new password, a disabling): a session opened under
	// another epoch is over, so that ending them all reads no session.
	SessionEpoch int64 `json:"session_epoch,omitempty"`
	// Disabled accounts are refused everywhere: password, API token and
	// session.
	Disabled bool `json:"disabled,omitempty"`
	// WhatsApp is the coach's own WhatsApp address ("whatsapp:+212…"),
	// where their daily digest of new questions goes; "" for none. It is
	// personal data: shown masked, erased with the account.
	WhatsApp string `json:"whatsapp,omitempty"`
}

// MaxCoachesPage bounds a page of Store.Coaches.
const MaxCoachesPage = 500

// Session is a coach's dashboard session as a store keeps it, under the
// hash of the secret its cookie holds.
type Session struct {
	Login string `json:"login"`
	// Epoch is the coach's SessionEpoch when the session was opened.
	Epoch int64 `json:"epoch"`
	// Seen is when the session last served a request (see app.Coaching
	// for how often it is written).
	Seen time.Time `json:"seen"`
	// End is when the session ends whatever happens: its absolute
	// lifetime.
	End time.Time `json:"end"`
	// Expires is when the store forgets the session: the earlier of End
	// and the end of its idle time.
	Expires time.Time `json:"expires"`
}

// Store keeps cohorts, coaches and dashboard sessions. Both stores
// implement it.
type Store interface {
	// CreateCohort stores a new cohort; an error of kind Conflict when its
	// code is taken.
	CreateCohort(ctx context.Context, c Cohort) error
	// Cohort returns a cohort by code (case-insensitive), or NotFound.
	Cohort(ctx context.Context, code string) (Cohort, error)
	// Cohorts lists the cohorts of a coach ("" for all), oldest first.
	Cohorts(ctx context.Context, coach string) ([]Cohort, error)

	// PutCoach creates or replaces an account.
	PutCoach(ctx context.Context, c Coach) error
	// Coach returns an account by login, or NotFound.
	Coach(ctx context.Context, login string) (Coach, error)
	// CoachByToken returns the account whose API token hashes to
	// tokenHash, or NotFound.
	CoachByToken(ctx context.Context, tokenHash string) (Coach, error)
	// Coaches lists accounts in login order, from the first login after
	// `after` ("" for the first page), at most limit of them (1 to
	// MaxCoachesPage; otherwise MaxCoachesPage), and returns the cursor
	// of the next page ("" after the last one).
	Coaches(ctx context.Context, after string, limit int) ([]Coach, string, error)

	// PutSession stores a dashboard session under id, replacing any,
	// until s.Expires (by the store's clock); one that has already
	// expired is deleted instead. Invalid for an empty id or login.
	PutSession(ctx context.Context, id string, s Session) error
	// Session returns a session the store still keeps, or NotFound: one
	// past its Expires, deleted, or stored by an earlier version of Darsi
	// in another form.
	Session(ctx context.Context, id string) (Session, error)
	// RenewSession replaces a session the store still keeps, and only
	// such a one: NotFound when it has been deleted or has expired, so
	// that a renewal racing a logout never brings the session back.
	RenewSession(ctx context.Context, id string, s Session) error
	// DeleteSession ends a session; deleting one that is gone does
	// nothing.
	DeleteSession(ctx context.Context, id string) error
}
