package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
)

// renewCounter counts the sessions its store renews.
type renewCounter struct {
	cohort.Store
	renewed int
}

func (r *renewCounter) RenewSession(ctx context.Context, id string, s cohort.Session) error {
	r.renewed++
	return r.Store.RenewSession(ctx, id, s)
}

// putCoach stores an account with a cheap hash of password, as AddCoach
// would store it but for the cost.
func putCoach(tb testing.TB, s cohort.Store, login, password string, role cohort.Role) {
	tb.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.PutCoach(context.Background(), cohort.Coach{Login: login, Role: role, PasswordHash: hash,
		TokenHash: cohort.TokenHash("token-" + login)}); err != nil {
		tb.Fatal(err)
	}
}

func wantKindOf(tb testing.TB, what string, err error, kind bot.Kind) {
	tb.Helper()
	if bot.KindOf(err) != kind {
		tb.Errorf("%s: got %v, want an error of kind %v", what, err, kind)
	}
}

// realClock sets the use cases' clock to the real time, frozen (the store
// forgets a session at its expiry by its own clock, the real one), and
// returns what moves it on.
func realClock(co *app.Coaching) (advance func(time.Duration)) {
	clock := time.Now()
	co.Now = func() time.Time { return clock }
	return func(d time.Duration) { clock = clock.Add(d) }
}

func TestLogIn(t *testing.T) {
	co, _, s := coaching(t)
	realClock(co)
	ctx := context.Background()
	putCoach(t, s, "amina", "long enough password", cohort.RoleCoach)

	for _, tt := range []struct{ login, password string }{
		{"amina", "wrong password"}, {"nobody", "long enough password"},
	} {
		_, err := co.LogIn(ctx, tt.login, tt.password)
		wantKindOf(t, "LogIn("+tt.login+", "+tt.password+")", err, bot.Forbidden)
	}
	in, err := co.LogIn(ctx, " Amina ", "long enough password")
	if err != nil {
		t.Fatalf("LogIn with the right password: %v", err)
	}
	if in.Coach.Login != "amina" || len(in.Token) < 43 || !in.End.Equal(co.Now().Add(app.DefaultSessionTTL)) {
		t.Errorf("LogIn: got %+v, want amina's session of 12 hours with a 32-byte token", in)
	}
	if _, err := s.Session(ctx, in.Token); bot.KindOf(err) != bot.NotFound {
		t.Errorf("the store keeps the session under its raw token (%v): want a hash of it", err)
	}
	got, err := co.SessionCoach(ctx, in.Token)
	if err != nil || got.Login != "amina" {
		t.Errorf("SessionCoach: got %q, %v; want amina", got.Login, err)
	}
	_, err = co.SessionCoach(ctx, in.Token+"x")
	wantKindOf(t, "SessionCoach of another token", err, bot.NotFound)

	if err := co.LogOut(ctx, in.Token); err != nil {
		t.Fatal(err)
	}
	_, err = co.SessionCoach(ctx, in.Token)
	wantKindOf(t, "SessionCoach after LogOut", err, bot.NotFound)
	if err := co.LogOut(ctx, in.Token); err != nil {
		t.Errorf("LogOut of an ended session: got %v, want nil", err)
	}
}

// TestSessionEnds: a session ends when its coach's password changes,
// when the account is disabled, after SessionIdle without a request, and
// after SessionTTL whatever happens.
func TestSessionEnds(t *testing.T) {
	co, _, s := coaching(t)
	ctx := context.Background()
	advance := realClock(co)
	co.SessionIdle = 30 * time.Minute
	counter := &renewCounter{Store: s}
	co.Cohorts = counter
	putCoach(t, s, "amina", "long enough password", cohort.RoleCoach)
	putCoach(t, s, "youssef", "long enough password", cohort.RoleCoach)
	login := func(who string) string {
		t.Helper()
		in, err := co.LogIn(ctx, who, "long enough password")
		if err != nil {
			t.Fatal(err)
		}
		return in.Token
	}

	// Idle: 29 minutes between requests keep it; 30 end it.
	tok := login("amina")
	for range 6 {
		advance(29 * time.Minute)
		if _, err := co.SessionCoach(ctx, tok); err != nil {
			t.Fatalf("a request after 29 idle minutes: %v", err)
		}
	}
	advance(30 * time.Minute)
	_, err := co.SessionCoach(ctx, tok)
	wantKindOf(t, "a request after 30 idle minutes", err, bot.NotFound)

	// A session in use is written back at most once a minute.
	tok = login("amina")
	counter.renewed = 0
	for range 30 {
		advance(10 * time.Second)
		if _, err := co.SessionCoach(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if counter.renewed != 5 {
		t.Errorf("30 requests over 5 minutes renewed the session %d times, want 5", counter.renewed)
	}

	// The absolute lifetime.
	co.SessionIdle = 0 // the default, 2 hours
	tok = login("amina")
	for range 11 {
		advance(time.Hour)
		if _, err := co.SessionCoach(ctx, tok); err != nil {
			t.Fatalf("an hourly request inside 12 hours: %v", err)
		}
	}
	advance(time.Hour)
	_, err = co.SessionCoach(ctx, tok)
	wantKindOf(t, "a request 12 hours after the login", err, bot.NotFound)

	// A new password ends every session of the coach, and no other.
	amina1, amina2, youssef := login("amina"), login("amina"), login("youssef")
	if _, _, err := co.AddCoach(ctx, app.NewCoach{Login: "amina", Role: cohort.RoleCoach, Password: []byte("another long password")}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{amina1, amina2} {
		_, err := co.SessionCoach(ctx, tok)
		wantKindOf(t, "a session opened before the password changed", err, bot.NotFound)
	}
	if _, err := co.SessionCoach(ctx, youssef); err != nil {
		t.Errorf("another coach's session after amina's password changed: %v", err)
	}
	in, err := co.LogIn(ctx, "amina", "another long password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := co.SessionCoach(ctx, in.Token); err != nil {
		t.Errorf("a session opened after the password changed: %v", err)
	}

	// Disabling ends the sessions, the token and the password.
	if _, err := co.DisableCoach(ctx, app.Operator, "youssef"); err != nil {
		t.Fatal(err)
	}
	_, err = co.SessionCoach(ctx, youssef)
	wantKindOf(t, "a session of a disabled account", err, bot.NotFound)
	_, err = co.CoachByToken(ctx, "token-youssef")
	wantKindOf(t, "the token of a disabled account", err, bot.NotFound)
	_, err = co.LogIn(ctx, "youssef", "long enough password")
	wantKindOf(t, "the password of a disabled account", err, bot.Forbidden)
	if _, err := co.SessionCoach(ctx, in.Token); err != nil {
		t.Errorf("another coach's session after youssef was disabled: %v", err)
	}
}

func TestDisableCoach(t *testing.T) {
	co, _, s := coaching(t)
	ctx := context.Background()
	putCoach(t, s, "amina", "long enough password", cohort.RoleCoach)
	_, err := co.DisableCoach(ctx, cohort.Coach{Login: "amina", Role: cohort.RoleCoach}, "amina")
	wantKindOf(t, "DisableCoach by a coach", err, bot.Forbidden)
	_, err = co.DisableCoach(ctx, app.Operator, "nobody")
	wantKindOf(t, "DisableCoach of an unknown login", err, bot.NotFound)
	c, err := co.DisableCoach(ctx, cohort.Coach{Login: "amal", Role: cohort.RoleAdmin}, "Amina")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Coach(ctx, "amina")
	if err != nil || !stored.Disabled || stored.TokenHash != "" || stored.SessionEpoch != 1 || c.Login != "amina" {
		t.Errorf("the disabled account: got %+v, %v; want Disabled, no token, the next session epoch", stored, err)
	}
	// Adding the account again enables it.
	if _, _, err := co.AddCoach(ctx, app.NewCoach{Login: "amina", Role: cohort.RoleCoach, Password: []byte("a new long password")}); err != nil {
		t.Fatal(err)
	}
	if stored, _ = s.Coach(ctx, "amina"); stored.Disabled || stored.SessionEpoch != 2 {
		t.Errorf("the account added again: got %+v, want enabled at session epoch 2", stored)
	}
}

// brokenAudit fails every write.
type brokenAudit struct{ cohort.AuditLog }

func (brokenAudit) AppendAudit(context.Context, cohort.AuditEntry) error {
	return bot.E("broken.AppendAudit", bot.Unavailable, errors.New("down"))
}

// TestAuditEntries: the use cases that change something put an entry in
// the audit log, with where the call came from; a log that fails does not
// undo the change.
func TestAuditEntries(t *testing.T) {
	co, _, s := coaching(t)
	co.Audit = s
	ctx := app.WithOrigin(context.Background(), app.Origin{Via: "api", Addr: "203.0.113.4"})
	putCoach(t, s, "amina", "long enough password", cohort.RoleCoach)
	amina := cohort.Coach{Login: "amina", Role: cohort.RoleCoach}
	c, err := co.CreateCohort(ctx, amina, "Couture Safi", "")
	if err != nil {
		t.Fatal(err)
	}
	co.RecordExport(ctx, amina, c.Code, "learners.csv")
	entries, next, err := co.AuditPage(ctx, cohort.Coach{Login: "amal", Role: cohort.RoleAdmin}, "", 10)
	if err != nil || next != "" || len(entries) != 2 {
		t.Fatalf("AuditPage: got %v, %q, %v; want 2 entries", entries, next, err)
	}
	for i, want := range []cohort.AuditEntry{
		{Actor: "amina", Action: app.AuditExport, Target: c.Code, Detail: "learners.csv", Via: "api", Addr: "203.0.113.4"},
		{Actor: "amina", Action: app.AuditCohortCreated, Target: c.Code, Detail: "coach amina", Via: "api", Addr: "203.0.113.4"},
	} {
		got := entries[i]
		got.ID, got.At = "", time.Time{}
		if got != want {
			t.Errorf("entry %d: got %+v, want %+v", i, got, want)
		}
	}
	if n, err := co.AuditCount(ctx, app.Operator); err != nil || n != 2 {
		t.Errorf("AuditCount: got %d, %v; want 2", n, err)
	}
	_, _, err = co.AuditPage(ctx, amina, "", 10)
	wantKindOf(t, "AuditPage to a coach", err, bot.NotFound)
	_, err = co.AuditCount(ctx, amina)
	wantKindOf(t, "AuditCount to a coach", err, bot.NotFound)

	co.Audit = brokenAudit{}
	if _, err := co.CreateCohort(ctx, amina, "Tissage", ""); err != nil {
		t.Errorf("CreateCohort with a broken audit log: got %v, want the cohort created", err)
	}
	co.Audit = nil
	_, _, err = co.AuditPage(ctx, app.Operator, "", 10)
	wantKindOf(t, "AuditPage without an audit log", err, bot.Unavailable)
}
