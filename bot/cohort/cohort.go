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

	// PutSession stores a dashboard session until expires.
	PutSession(ctx context.Context, id, login string, expires time.Time) error
	// Session returns the login of a live session, or NotFound.
	Session(ctx context.Context, id string) (string, error)
	// DeleteSession ends a session.
	DeleteSession(ctx context.Context, id string) error
}
