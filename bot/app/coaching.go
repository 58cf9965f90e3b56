package app

import (
	"cmp"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// Coaching holds what coaches and programme staff do: accounts, cohorts,
// their members and indicators, and reminders. Each use case is written
// once here; the command line, the dashboard's pages and its JSON API call
// it, so that they follow the same rules. Cohorts, Members and Content
// are required; the others have defaults. Each use case costs the size of
// the cohorts it is about, never a walk over every learner.
type Coaching struct {
	Cohorts cohort.Store
	// Members lists each cohort's members and counts, from the store's
	// indexes.
	Members Members
	// Outbox is where reminders and answers are queued; nil: they cannot
	// be.
	Outbox schedule.Outbox
	// Threads is the inbox: learners' questions and coaches' answers;
	// nil: there is none.
	Threads Inbox
	// Everyone reads every learner, a page at a time, for admins'
	// broadcasts to segments (Store.Learners); nil: no broadcasts.
	Everyone interface {
		Learners(ctx context.Context, fn func(bot.Learner) error) error
	}
	// Learners reads a learner, for the answer to a question; nil: answers
	// cannot be sent.
	Learners interface {
		Get(ctx context.Context, id string) (bot.Learner, error)
	}
	// Content returns the lessons and texts in use (they may be reloaded).
	Content func() *dialog.Content
	// Policy is how the outbox routes a message (quiet hours, WhatsApp's
	// window, templates): previews ask it what will happen.
	Policy *schedule.Policy
	// WhatsAppFrom is the number learners write to ("whatsapp:+…"): join
	// links point to it. Empty: cohorts have no link.
	WhatsAppFrom string
	// Location is the programme's time zone: the days and times coaches
	// type and read (default Africa/Casablanca).
	Location *time.Location
	// StuckAfter flags a learner inside a lesson who has not written for
	// that long (default 3 days).
	StuckAfter time.Duration
	// Audit keeps the audit log: every change a coach, an admin or the
	// operator makes, and every export. Nil: entries go to Log only.
	Audit cohort.AuditLog
	// SessionTTL is how long a dashboard session lasts at most (default
	// DefaultSessionTTL); SessionIdle how long it lasts without a request
	// (default DefaultSessionIdle).
	SessionTTL, SessionIdle time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log records what coaches did, the audit log's entries among it
	// (default: nowhere).
	Log *slog.Logger
	// Keys stand for learners in job ids; default: the Members store's
	// (KeyHolder).
	Keys Keys
}

// keys is Keys, or the store's.
func (c *Coaching) keys() Keys {
	if c.Keys.Set() {
		return c.Keys
	}
	if h, ok := c.Members.(KeyHolder); ok {
		return h.Keys()
	}
	return c.Keys
}

// DefaultStuckAfter is Coaching.StuckAfter's default.
const DefaultStuckAfter = 3 * 24 * time.Hour

// Operator is who runs darsi's commands: the person with the store in
// hand, who may do what an admin does, and is no coach of their own.
var Operator = cohort.Coach{Role: cohort.RoleAdmin}

func (c *Coaching) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Coaching) location() *time.Location {
	if c.Location != nil {
		return c.Location
	}
	loc, _ := schedule.LoadZone(schedule.DefaultZone)
	return loc
}

// StuckAfterOrDefault is how long a learner inside a lesson stays silent
// before they count as stuck.
func (c *Coaching) StuckAfterOrDefault() time.Duration {
	if c.StuckAfter > 0 {
		return c.StuckAfter
	}
	return DefaultStuckAfter
}

func (c *Coaching) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Coach accounts.

// DefaultBcryptCost is the work factor of coaches' password hashes: about
// a quarter of a second per login on a small server.
const DefaultBcryptCost = 12

// BcryptCost is the work factor new password hashes get, DefaultBcryptCost
// unless a test suite lowers it before anything else runs (under the race
// detector one hash at cost 12 takes seconds). A login is always checked at
// the cost its hash was made with.
var BcryptCost = DefaultBcryptCost

// Password lengths: bcrypt reads no more than 72 bytes.
const (
	MinPassword = 10 // characters
	MaxPassword = 72 // bytes
)

var loginPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{1,63}$`)

// NewCoach is an account to create or replace.
type NewCoach struct {
	Login    string
	Name     string // "" keeps a replaced account's name, or uses the login
	Role     cohort.Role
	Password []byte
	// WhatsApp is the coach's own number for the daily digest of new
	// questions (+E.164, with or without "whatsapp:"); nil keeps a
	// replaced account's, a pointer to "" erases it.
	WhatsApp *string
}

// AddCoach creates or replaces the account, with a bcrypt hash of its
// password and a new API token, which it returns once (only the token's
// SHA-256 is stored). A replaced account keeps its creation time; its old
// token stops working, every session opened before ends (its
// SessionEpoch moves on), and a disabled account is enabled again. The
// operator does it: the audit log says so.
//
// Errors: Invalid for a bad login, role or password, and the store's.
func (c *Coaching) AddCoach(ctx context.Context, n NewCoach) (cohort.Coach, string, error) {
	const op = "app.AddCoach"
	login := strings.ToLower(strings.TrimSpace(n.Login))
	switch {
	case !loginPattern.MatchString(login):
		return cohort.Coach{}, "", bot.Errorf(op, bot.Invalid, "login %q: use 2 to 64 lower-case letters, digits and . _ @ -", n.Login)
	case n.Role != cohort.RoleCoach && n.Role != cohort.RoleAdmin:
		return cohort.Coach{}, "", bot.Errorf(op, bot.Invalid, "role %q: want coach or admin", n.Role)
	case utf8.RuneCount(n.Password) < MinPassword:
		return cohort.Coach{}, "", bot.Errorf(op, bot.Invalid, "the password must have at least %d characters", MinPassword)
	case len(n.Password) > MaxPassword:
		return cohort.Coach{}, "", bot.Errorf(op, bot.Invalid, "the password must have at most %d bytes (bcrypt reads no more)", MaxPassword)
	}
	var whatsapp string
	if n.WhatsApp != nil && strings.TrimSpace(*n.WhatsApp) != "" {
		number := strings.TrimPrefix(strings.TrimSpace(*n.WhatsApp), "whatsapp:")
		whatsapp = bot.LearnerID(bot.WhatsApp, number)
		if !strings.HasPrefix(number, "+") || bot.CheckAddress(whatsapp) != nil {
			return cohort.Coach{}, "", bot.Errorf(op, bot.Invalid, "the WhatsApp number: want an international number such as +212612345678")
		}
	}
	hash, err := bcrypt.GenerateFromPassword(n.Password, BcryptCost)
	if err != nil {
		return cohort.Coach{}, "", bot.E(op, bot.Internal, err)
	}
	token := cohort.NewToken()
	co := cohort.Coach{
		Login: login, Name: strings.TrimSpace(n.Name), Role: n.Role, PasswordHash: hash,
		TokenHash: cohort.TokenHash(token), CreatedAt: c.now().UTC(), WhatsApp: whatsapp,
	}
	detail := "new account, role " + string(co.Role)
	old, err := c.Cohorts.Coach(ctx, login)
	switch {
	case err == nil:
		co.CreatedAt = old.CreatedAt
		co.SessionEpoch = old.SessionEpoch + 1
		if co.Name == "" {
			co.Name = old.Name
		}
		if n.WhatsApp == nil {
			co.WhatsApp = old.WhatsApp
		}
		detail = "new password and token, every session ended, role " + string(co.Role)
	case bot.KindOf(err) != bot.NotFound:
		return cohort.Coach{}, "", err
	}
	if co.Name == "" {
		co.Name = login
	}
	if co.WhatsApp != "" {
		detail += ", a WhatsApp number for the daily digest"
	}
	if err := c.Cohorts.PutCoach(ctx, co); err != nil {
		return cohort.Coach{}, "", err
	}
	c.record(ctx, Operator, AuditCoachSaved, login, detail)
	return co, token, nil
}

// Cohorts.

// MaxCohortName bounds a cohort's name.
const MaxCohortName = 100

// MaySee is the one rule of roles: an admin sees every cohort, a coach
// only their own.
func MaySee(actor cohort.Coach, co cohort.Cohort) bool {
	return actor.Role == cohort.RoleAdmin || (actor.Login != "" && co.Coach == actor.Login)
}

// CreateCohort creates a cohort with a fresh join code, followed by owner:
// a coach's login, or "" for the actor themselves (the Operator has no
// login: the cohort then has no coach). Only an admin names another coach.
//
// Errors: Invalid for a bad name or an unknown owner, Forbidden when a
// coach names another coach, Conflict when no free code was found, and the
// store's.
func (c *Coaching) CreateCohort(ctx context.Context, actor cohort.Coach, name, owner string) (cohort.Cohort, error) {
	const op = "app.CreateCohort"
	name = strings.TrimSpace(name)
	owner = strings.TrimSpace(owner)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxCohortName || strings.ContainsAny(name, "\x00\r\n") {
		return cohort.Cohort{}, bot.Errorf(op, bot.Invalid, "a cohort needs a name of 1 to %d characters on one line", MaxCohortName)
	}
	switch {
	case owner == "":
		owner = actor.Login
	case owner != actor.Login && actor.Role != cohort.RoleAdmin:
		return cohort.Cohort{}, bot.Errorf(op, bot.Forbidden, "only an admin creates a cohort for another coach")
	}
	if owner != "" {
		if _, err := c.Cohorts.Coach(ctx, owner); bot.KindOf(err) == bot.NotFound {
			return cohort.Cohort{}, bot.Errorf(op, bot.Invalid, "no coach %q: create the account first (darsi coach add %s)", owner, owner)
		} else if err != nil {
			return cohort.Cohort{}, err
		}
	}
	co, err := cohort.Create(ctx, c.Cohorts, c.Content().Text, name, owner, c.now())
	if err != nil {
		return cohort.Cohort{}, err
	}
	c.record(ctx, actor, AuditCohortCreated, co.Code, "coach "+cmp.Or(owner, "none"))
	return co, nil
}

// Link is the cohort's wa.me join link, or "" when no WhatsApp number is
// configured.
func (c *Coaching) Link(code string) string {
	link, err := cohort.WhatsAppLink(c.WhatsAppFrom, code)
	if err != nil {
		return ""
	}
	return link
}

// Cohort returns the cohort with the join code if actor may see it.
// Another coach's cohort is NotFound, as one that does not exist: its code
// is not even confirmed.
//
// Errors: NotFound, and the store's.
func (c *Coaching) Cohort(ctx context.Context, actor cohort.Coach, code string) (cohort.Cohort, error) {
	const op = "app.Cohort"
	if code == "" || len(code) > 64 {
		return cohort.Cohort{}, bot.Errorf(op, bot.NotFound, "no cohort %q", code)
	}
	co, err := c.Cohorts.Cohort(ctx, code)
	if err != nil {
		return cohort.Cohort{}, err
	}
	if !MaySee(actor, co) {
		return cohort.Cohort{}, bot.Errorf(op, bot.NotFound, "no cohort %q", code)
	}
	return co, nil
}

// CohortSummary is a cohort with its join link and member count.
type CohortSummary struct {
	cohort.Cohort
	Link    string
	Members int
}

// ListCohorts lists, oldest first, the cohorts actor may see, or only
// those of coach when it is not "" (an admin's filter), with their member
// counts (the store's counters: one read per cohort).
//
// Errors: the stores'.
func (c *Coaching) ListCohorts(ctx context.Context, actor cohort.Coach, coach string) ([]CohortSummary, error) {
	if actor.Role != cohort.RoleAdmin {
		coach = actor.Login
	}
	cs, err := c.Cohorts.Cohorts(ctx, coach)
	if err != nil || len(cs) == 0 {
		return nil, err
	}
	out := make([]CohortSummary, len(cs))
	for i, co := range cs {
		counts, err := c.Members.CohortCounts(ctx, co.Code)
		if err != nil {
			return nil, err
		}
		out[i] = CohortSummary{Cohort: co, Link: c.Link(co.Code), Members: int(counts[CountMembers])}
	}
	return out, nil
}

// DefaultPageSize is how many members or jobs a page shows by default.
const DefaultPageSize = 100

// MembersPage returns a page of a cohort's members, ordered by learner ID,
// from cursor ("" for the first page), and the cursor of the next page
// ("" after the last one).
//
// Errors: the store's.
func (c *Coaching) MembersPage(ctx context.Context, code, cursor string, limit int) ([]bot.Learner, string, error) {
	if limit <= 0 {
		limit = DefaultPageSize
	}
	return c.Members.Members(ctx, code, cursor, limit)
}

// membersBatch is the page size of AllMembers: large, since a store may
// read the cohort's whole index for each page.
const membersBatch = 5000

// AllMembers returns every learner of a cohort, ordered by ID: the work is
// the cohort's size.
//
// Errors: the store's.
func (c *Coaching) AllMembers(ctx context.Context, code string) ([]bot.Learner, error) {
	var out []bot.Learner
	cursor := ""
	for {
		page, next, err := c.Members.Members(ctx, code, cursor, membersBatch)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}
