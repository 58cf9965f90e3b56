package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
)

// Defaults of Coaching's sessions.
const (
	DefaultSessionTTL  = 12 * time.Hour
	DefaultSessionIdle = 2 * time.Hour
)

// maxRenewEvery bounds how often a session in use is written back: its
// idle time is measured to about a minute, and a page's requests cost no
// write each.
const maxRenewEvery = time.Minute

// maxSessionToken bounds what is read as a session token: ours are 43
// characters.
const maxSessionToken = 100

// dummyHash is a bcrypt hash, at BcryptCost, of a random password nobody
// knows, made at the first login. A login that finds no account, or a
// disabled one, compares the password against it, so that it takes as long
// to refuse as a wrong password: the time of an answer does not tell which
// logins exist.
var dummyHash = sync.OnceValue(func() []byte {
	hash, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), BcryptCost)
	if err != nil {
		panic("app: bcrypt: " + err.Error()) // only for a cost out of range or a password over 72 bytes
	}
	return hash
})

func (c *Coaching) sessionTTL() time.Duration {
	if c.SessionTTL > 0 {
		return c.SessionTTL
	}
	return DefaultSessionTTL
}

func (c *Coaching) sessionIdle() time.Duration {
	if c.SessionIdle > 0 {
		return c.SessionIdle
	}
	return DefaultSessionIdle
}

// sessionKey is what the store keeps a session under: a hash of its
// token, so that a leaked store gives no usable cookie.
func sessionKey(token string) string {
	sum := sha256.Sum256([]byte("darsi-session:" + token))
	return hex.EncodeToString(sum[:])
}

// LoggedIn is a new dashboard session.
type LoggedIn struct {
	Coach cohort.Coach
	// Token is the session's secret, for the cookie: the store keeps only
	// a hash of it.
	Token string
	// End is when the session ends at the latest; it ends sooner after
	// SessionIdle without a request.
	End time.Time
}

// LogIn checks a coach's password and opens a dashboard session. It does
// the same work whether or not the login exists (a bcrypt comparison at
// BcryptCost, one read of the account), so that its time tells nothing.
//
// Errors: Forbidden for an unknown login, a wrong password or a disabled
// account alike, so that the answer tells nothing either; Unavailable and
// the store's.
func (c *Coaching) LogIn(ctx context.Context, login, password string) (LoggedIn, error) {
	const op = "app.LogIn"
	login = strings.ToLower(strings.TrimSpace(login))
	co, err := c.Cohorts.Coach(ctx, login)
	found := err == nil
	if err != nil && bot.KindOf(err) != bot.NotFound {
		return LoggedIn{}, err
	}
	hash := dummyHash()
	if found && len(co.PasswordHash) > 0 {
		hash = co.PasswordHash
	}
	match := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	if !found || !match || co.Disabled {
		return LoggedIn{}, bot.Errorf(op, bot.Forbidden, "wrong login or password")
	}
	token := newSessionToken()
	now := c.now()
	end := now.Add(c.sessionTTL())
	ses := cohort.Session{Login: co.Login, Epoch: co.SessionEpoch, Seen: now, End: end, Expires: minTime(end, now.Add(c.sessionIdle()))}
	if err := c.Cohorts.PutSession(ctx, sessionKey(token), ses); err != nil {
		return LoggedIn{}, err
	}
	c.record(ctx, co, AuditLogin, co.Login, "")
	return LoggedIn{Coach: co, Token: token, End: end}, nil
}

// newSessionToken returns 32 random bytes, base64url.
func newSessionToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// SessionCoach returns the coach of a live session and notes that it
// served a request: a session idle for SessionIdle ends, as does one past
// its SessionTTL, one opened before its coach's password changed or
// before the account was disabled (the account's SessionEpoch moved on),
// and one whose account is gone. No session is read but this one.
//
// Errors: NotFound for a session that does not exist or has ended;
// Unavailable and the store's.
func (c *Coaching) SessionCoach(ctx context.Context, token string) (cohort.Coach, error) {
	const op = "app.SessionCoach"
	if token == "" || len(token) > maxSessionToken {
		return cohort.Coach{}, bot.Errorf(op, bot.NotFound, "no session")
	}
	key := sessionKey(token)
	ses, err := c.Cohorts.Session(ctx, key)
	if err != nil {
		return cohort.Coach{}, err
	}
	now := c.now()
	if !now.Before(ses.Expires) || !now.Before(ses.End) {
		return cohort.Coach{}, bot.Errorf(op, bot.NotFound, "the session has expired")
	}
	co, err := c.Cohorts.Coach(ctx, ses.Login)
	if err != nil {
		return cohort.Coach{}, err
	}
	if co.Disabled || co.SessionEpoch != ses.Epoch {
		// Ended for good: forget it now rather than at its expiry.
		if err := c.Cohorts.DeleteSession(ctx, key); err != nil {
			c.log().Warn("deleting an ended session", "login", co.Login, "err", err)
		}
		return cohort.Coach{}, bot.Errorf(op, bot.NotFound, "the session has ended")
	}
	if now.Sub(ses.Seen) >= min(maxRenewEvery, c.sessionIdle()/10) {
		ses.Seen, ses.Expires = now, minTime(ses.End, now.Add(c.sessionIdle()))
		if err := c.Cohorts.RenewSession(ctx, key, ses); err != nil {
			return cohort.Coach{}, err // NotFound: logged out meanwhile
		}
	}
	return co, nil
}

// LogOut ends a session; ending one that has ended already does nothing.
//
// Errors: Unavailable and the store's.
func (c *Coaching) LogOut(ctx context.Context, token string) error {
	if token == "" || len(token) > maxSessionToken {
		return nil
	}
	key := sessionKey(token)
	ses, err := c.Cohorts.Session(ctx, key)
	switch {
	case bot.KindOf(err) == bot.NotFound:
		return nil
	case err != nil:
		return err
	}
	if err := c.Cohorts.DeleteSession(ctx, key); err != nil {
		return err
	}
	c.record(ctx, cohort.Coach{Login: ses.Login}, AuditLogout, ses.Login, "")
	return nil
}

// CoachByToken returns the account of an API token.
//
// Errors: NotFound for a token no account has, or a disabled account's;
// Unavailable and the store's.
func (c *Coaching) CoachByToken(ctx context.Context, token string) (cohort.Coach, error) {
	const op = "app.CoachByToken"
	if token == "" {
		return cohort.Coach{}, bot.Errorf(op, bot.NotFound, "no token")
	}
	co, err := c.Cohorts.CoachByToken(ctx, cohort.TokenHash(token))
	if err != nil {
		return cohort.Coach{}, err
	}
	if co.Disabled {
		return cohort.Coach{}, bot.Errorf(op, bot.NotFound, "the account is disabled")
	}
	return co, nil
}

// DisableCoach locks an account out: its password, its API token (which
// is forgotten) and every session it has open stop working at once,
// without reading any session (its SessionEpoch moves on). Its cohorts
// stay as they are. "darsi coach add" with the login enables it again,
// with a new password. Only an admin (or the operator) does it.
//
// Errors: Forbidden for an actor who is no admin, NotFound for an unknown
// login, and the store's.
func (c *Coaching) DisableCoach(ctx context.Context, actor cohort.Coach, login string) (cohort.Coach, error) {
	const op = "app.DisableCoach"
	if actor.Role != cohort.RoleAdmin {
		return cohort.Coach{}, bot.Errorf(op, bot.Forbidden, "only an admin disables an account")
	}
	login = strings.ToLower(strings.TrimSpace(login))
	co, err := c.Cohorts.Coach(ctx, login)
	if err != nil {
		return cohort.Coach{}, err
	}
	co.Disabled, co.TokenHash, co.WhatsApp = true, "", "" // nor a digest: the number goes with the account
	co.SessionEpoch++
	if err := c.Cohorts.PutCoach(ctx, co); err != nil {
		return cohort.Coach{}, err
	}
	c.record(ctx, actor, AuditCoachDisabled, login, "password, token and sessions refused")
	return co, nil
}
