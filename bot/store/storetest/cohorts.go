package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/google/go-cmp/cmp"
)

// RunCohorts runs the suite of cohort.Store. open must return a new, empty
// store each time it is called, as for Run.
func RunCohorts(t *testing.T, open func(t *testing.T) cohort.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cohort.Store)
	}{
		{"Cohorts", testCohorts},
		{"CohortCodeTaken", testCohortCodeTaken},
		{"CohortInvalid", testCohortInvalid},
		{"Coaches", testCoaches},
		{"CoachTokenChanges", testCoachTokenChanges},
		{"CoachDisabled", testCoachDisabled},
		{"CoachesList", testCoachesList},
		{"Sessions", testSessions},
		{"SessionRenew", testSessionRenew},
		{"SessionExpires", testSessionExpires},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

func testCohorts(t *testing.T, s cohort.Store) {
	ctx := context.Background()
	_, err := s.Cohort(ctx, "K7M2QX")
	wantKind(t, "Cohort of an unknown code", err, bot.NotFound)

	tiznit := cohort.Cohort{Code: "K7M2QX", Name: "Tiznit — couturières", Coach: "fatima", CreatedAt: t0.Add(2 * time.Hour)}
	agadir := cohort.Cohort{Code: "A9B8C7", Name: "أكادير", Coach: "fatima", CreatedAt: t0}
	fes := cohort.Cohort{Code: "F3S4Z2", Name: "Fès", Coach: "youssef", CreatedAt: t0.Add(time.Hour)}
	for _, c := range []cohort.Cohort{tiznit, agadir, fes} {
		if err := s.CreateCohort(ctx, c); err != nil {
			t.Fatalf("CreateCohort(%s): %v", c.Code, err)
		}
	}
	for _, code := range []string{"K7M2QX", "k7m2qx", "K7m2Qx"} {
		got, err := s.Cohort(ctx, code)
		if err != nil {
			t.Fatalf("Cohort(%q): %v", code, err)
		}
		if diff := cmp.Diff(got, tiznit, opts); diff != "" {
			t.Errorf("Cohort(%q) mismatch (-got +want):\n%s", code, diff)
		}
	}
	for _, tt := range []struct {
		coach string
		want  []cohort.Cohort
	}{
		{"fatima", []cohort.Cohort{agadir, tiznit}},
		{"youssef", []cohort.Cohort{fes}},
		{"nobody", nil},
		{"", []cohort.Cohort{agadir, fes, tiznit}},
	} {
		got, err := s.Cohorts(ctx, tt.coach)
		if err != nil {
			t.Fatalf("Cohorts(%q): %v", tt.coach, err)
		}
		if diff := cmp.Diff(got, tt.want, opts); diff != "" {
			t.Errorf("Cohorts(%q) mismatch (-got +want):\n%s", tt.coach, diff)
		}
	}
}

func testCohortCodeTaken(t *testing.T, s cohort.Store) {
	ctx := context.Background()
	first := cohort.Cohort{Code: "K7M2QX", Name: "first", Coach: "fatima", CreatedAt: t0}
	if err := s.CreateCohort(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := cohort.Cohort{Code: "k7m2qx", Name: "second", Coach: "youssef", CreatedAt: t0}
	wantKind(t, "CreateCohort with a taken code", s.CreateCohort(ctx, second), bot.Conflict)
	got, err := s.Cohort(ctx, "K7M2QX")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, first, opts); diff != "" {
		t.Errorf("Cohort after a refused create mismatch (-got +want):\n%s", diff)
	}
}

func testCohortInvalid(t *testing.T, s cohort.Store) {
	ctx := context.Background()
	wantKind(t, "CreateCohort without a code", s.CreateCohort(ctx, cohort.Cohort{Name: "x", Coach: "fatima"}), bot.Invalid)
	wantKind(t, "PutCoach without a login", s.PutCoach(ctx, cohort.Coach{Name: "x"}), bot.Invalid)
	wantKind(t, "PutSession without an id", s.PutSession(ctx, "", session("fatima", time.Now().Add(time.Hour))), bot.Invalid)
	wantKind(t, "PutSession without a login", s.PutSession(ctx, "s1", session("", time.Now().Add(time.Hour))), bot.Invalid)
}

func coach(login, token string) cohort.Coach {
	return cohort.Coach{
		Login:        login,
		Name:         "Fatima Zahra",
		Role:         cohort.RoleCoach,
		PasswordHash: []byte("$2a$10$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQ"),
		TokenHash:    token,
		CreatedAt:    t0,
	}
}

func wantCoach(tb testing.TB, got cohort.Coach, err error, want cohort.Coach) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("looking up coach %s: %v", want.Login, err)
	}
	if diff := cmp.Diff(got, want, opts); diff != "" {
		tb.Errorf("coach %s mismatch (-got +want):\n%s", want.Login, diff)
	}
}

func testCoaches(t *testing.T, s cohort.Store) {
	ctx := context.Background()
	_, err := s.Coach(ctx, "fatima")
	wantKind(t, "Coach of an unknown login", err, bot.NotFound)
	_, err = s.CoachByToken(ctx, "abc")
	wantKind(t, "CoachByToken of an unknown hash", err, bot.NotFound)

	fatima := coach("fatima", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	admin := coach("admin", "")
	admin.Role = cohort.RoleAdmin
	for _, c := range []cohort.Coach{fatima, admin} {
		if err := s.PutCoach(ctx, c); err != nil {
			t.Fatalf("PutCoach(%s): %v", c.Login, err)
		}
	}
	got, err := s.Coach(ctx, "fatima")
	wantCoach(t, got, err, fatima)
	got, err = s.Coach(ctx, "admin")
	wantCoach(t, got, err, admin)
	got, err = s.CoachByToken(ctx, fatima.TokenHash)
	wantCoach(t, got, err, fatima)
	// A coach without a token is never found by the empty one.
	_, err = s.CoachByToken(ctx, "")
	wantKind(t, "CoachByToken of the empty hash", err, bot.NotFound)

	fatima.Name = "Fatima Zahra Amrani"
	if err := s.PutCoach(ctx, fatima); err != nil {
		t.Fatal(err)
	}
	got, err = s.Coach(ctx, "fatima")
	wantCoach(t, got, err, fatima)
}

func testCoachTokenChanges(t *testing.T, s cohort.Store) {
	ctx := context.Background()
	c := coach("fatima", "old")
	if err := s.PutCoach(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.TokenHash = "new"
	if err := s.PutCoach(ctx, c); err != nil {
		t.Fatal(err)
	}
	_, err := s.CoachByToken(ctx, "old")
	wantKind(t, "CoachByToken of a replaced token", err, bot.NotFound)
	got, err := s.CoachByToken(ctx, "new")
	wantCoach(t, got, err, c)

	c.TokenHash = ""
	if err := s.PutCoach(ctx, c); err != nil {
		t.Fatal(err)
	}
	_, err = s.CoachByToken(ctx, "new")
	wantKind(t, "CoachByToken of a revoked token", err, bot.NotFound)
}

// testCoachDisabled: the fields that end sessions and lock an account
// out are kept.
func testCoachDisabled(t *testing.T, s cohort.Store) {
	ctx := context.Background()
	c := coach("fatima", "abc")
	c.SessionEpoch = 3
	if err := s.PutCoach(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Coach(ctx, "fatima")
	wantCoach(t, got, err, c)
	c.SessionEpoch, c.Disabled, c.TokenHash = 4, true, ""
	if err := s.PutCoach(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err = s.Coach(ctx, "fatima")
	wantCoach(t, got, err, c)
	_, err = s.CoachByToken(ctx, "abc")
	wantKind(t, "CoachByToken of a disabled coach's former token", err, bot.NotFound)
}

// session returns a session of login opened a minute ago, which the store
// forgets at expires and which ends an hour after that.
func session(login string, expires time.Time) cohort.Session {
	return cohort.Session{Login: login, Epoch: 2, Seen: expires.Add(-time.Minute).Truncate(time.Millisecond),
		End: expires.Add(time.Hour).Truncate(time.Millisecond), Expires: expires.Truncate(time.Millisecond)}
}

// wantSession fails tb unless the store keeps session id as want; a zero
// want means it must not be found.
func wantSession(tb testing.TB, s cohort.Store, id string, want cohort.Session) {
	tb.Helper()
	got, err := s.Session(context.Background(), id)
	if want.Login == "" {
		wantKind(tb, "Session("+id+")", err, bot.NotFound)
		return
	}
	if err != nil {
		tb.Fatalf("Session(%s): got %v, want the session of %s", id, err, want.Login)
	}
	if diff := cmp.Diff(got, want, opts); diff != "" {
		tb.Errorf("Session(%s) mismatch (-got +want):\n%s", id, diff)
	}
}

func testSessions(t *testing.T, s cohort.Store) {
	ctx := context.Background()
	wantSession(t, s, "s1", cohort.Session{})
	now := time.Now()
	sessions := map[string]cohort.Session{"s1": session("fatima", now.Add(time.Hour)), "s2": session("youssef", now.Add(time.Hour))}
	for id, ses := range sessions {
		if err := s.PutSession(ctx, id, ses); err != nil {
			t.Fatalf("PutSession(%s): %v", id, err)
		}
	}
	if err := s.PutSession(ctx, "old", session("fatima", now.Add(-time.Second))); err != nil {
		t.Fatalf("PutSession of an expired session: %v", err)
	}
	wantSession(t, s, "s1", sessions["s1"])
	wantSession(t, s, "s2", sessions["s2"])
	wantSession(t, s, "old", cohort.Session{})
	if err := s.DeleteSession(ctx, "s1"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	wantSession(t, s, "s1", cohort.Session{})
	wantSession(t, s, "s2", sessions["s2"])
	if err := s.DeleteSession(ctx, "s1"); err != nil {
		t.Errorf("DeleteSession of a deleted session: got %v, want nil", err)
	}
	// Put again, a session is replaced.
	again := session("youssef", now.Add(2*time.Hour))
	again.Epoch = 3
	if err := s.PutSession(ctx, "s2", again); err != nil {
		t.Fatal(err)
	}
	wantSession(t, s, "s2", again)
}

// testSessionRenew: a renewal replaces a live session and never brings
// back one that was deleted.
func testSessionRenew(t *testing.T, s cohort.Store) {
	ctx := context.Background()
	now := time.Now()
	ses := session("fatima", now.Add(time.Hour))
	if err := s.PutSession(ctx, "s1", ses); err != nil {
		t.Fatal(err)
	}
	ses.Seen, ses.Expires = now.Truncate(time.Millisecond), now.Add(2*time.Hour).Truncate(time.Millisecond)
	if err := s.RenewSession(ctx, "s1", ses); err != nil {
		t.Fatalf("RenewSession of a live session: %v", err)
	}
	wantSession(t, s, "s1", ses)

	if err := s.DeleteSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "RenewSession of a deleted session", s.RenewSession(ctx, "s1", ses), bot.NotFound)
	wantSession(t, s, "s1", cohort.Session{})
	wantKind(t, "RenewSession of a session never stored", s.RenewSession(ctx, "s9", ses), bot.NotFound)
	wantSession(t, s, "s9", cohort.Session{})
	wantKind(t, "RenewSession without a login", s.RenewSession(ctx, "s9", session("", now.Add(time.Hour))), bot.Invalid)
}

// testSessionExpires waits for a session to expire on the store's own
// clock: the real one.
func testSessionExpires(t *testing.T, s cohort.Store) {
	ctx := context.Background()
	ses := session("fatima", time.Now().Add(time.Second))
	if err := s.PutSession(ctx, "s1", ses); err != nil {
		t.Fatal(err)
	}
	wantSession(t, s, "s1", ses)
	time.Sleep(1200 * time.Millisecond)
	wantSession(t, s, "s1", cohort.Session{})
	wantKind(t, "RenewSession of an expired session", s.RenewSession(ctx, "s1", session("fatima", time.Now().Add(time.Hour))), bot.NotFound)
	wantSession(t, s, "s1", cohort.Session{})
	// A session put again after it expired lives again.
	ses = session("fatima", time.Now().Add(time.Hour))
	if err := s.PutSession(ctx, "s1", ses); err != nil {
		t.Fatal(err)
	}
	wantSession(t, s, "s1", ses)
}

// testCoachesList pages through the accounts in login order.
func testCoachesList(t *testing.T, s cohort.Store) {
	ctx := context.Background()
	got, next, err := s.Coaches(ctx, "", 10)
	if err != nil || len(got) != 0 || next != "" {
		t.Fatalf("Coaches of an empty store: %v, %q, %v", got, next, err)
	}
	logins := []string{"youssef", "amina", "fatima", "brahim", "zineb"}
	for _, l := range logins {
		c := coach(l, "")
		if l == "fatima" {
			c.WhatsApp = "whatsapp:+212600000777"
		}
		if err := s.PutCoach(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatalf("Coaches never ends: %v", seen)
		}
		page, next, err := s.Coaches(ctx, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 2 {
			t.Fatalf("a page of %d coaches, want at most 2", len(page))
		}
		for _, c := range page {
			seen = append(seen, c.Login)
			if c.Login == "fatima" && c.WhatsApp != "whatsapp:+212600000777" {
				t.Errorf("fatima's WhatsApp number reads %q", c.WhatsApp)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if diff := cmp.Diff(seen, []string{"amina", "brahim", "fatima", "youssef", "zineb"}); diff != "" {
		t.Errorf("Coaches in login order (-got +want):\n%s", diff)
	}
	all, next, err := s.Coaches(ctx, "", 0)
	if err != nil || len(all) != len(logins) || next != "" {
		t.Errorf("Coaches with the default limit: %d coaches, next %q, %v", len(all), next, err)
	}
}
