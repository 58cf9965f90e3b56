package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
)

// dashboard serves the routes of "darsi serve" over the embedded store in
// file while fn runs, then closes the store, so that commands can open it.
func dashboard(t *testing.T, file string, fn func(base string)) {
	t.Helper()
	cfg := defaultConfig(t)
	cfg.Store = file
	a, s, err := openApp(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptestServer(t, routes(cfg, a, s, nil, discardLog()))
	fn(srv)
	s.Close()
}

// TestCoachSessionsEnd: "darsi coach add" for an existing login (a new
// password) and "darsi coach disable" end the coach's sessions, which
// were opened by another process; a disabled account's password and token
// are refused, and it shows in the audit log.
func TestCoachSessionsEnd(t *testing.T) {
	file := filepath.Join(t.TempDir(), "darsi.db")
	for _, login := range []string{"fatima", "amal"} {
		if code, _, errOut := darsi(t, "long enough password\n", "coach", "add", login, "--role", map[string]string{"fatima": "coach", "amal": "admin"}[login], "--store", file); code != 0 {
			t.Fatalf("coach add %s: %s", login, errOut)
		}
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	status := func(base, path string) int {
		t.Helper()
		resp, err := browser.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	login := func(base, password string) int {
		t.Helper()
		resp, err := browser.PostForm(base+"/coach/login", url.Values{"login": {"fatima"}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	dashboard(t, file, func(base string) {
		if got := login(base, "long enough password"); got != http.StatusSeeOther {
			t.Fatalf("login: got %d, want 303", got)
		}
	})

	// A new password, from the command line.
	code, out, errOut := darsi(t, "a brand new password\n", "coach", "add", "fatima", "--store", file)
	if code != 0 {
		t.Fatalf("coach add again: %s", errOut)
	}
	token := strings.TrimSpace(out)
	dashboard(t, file, func(base string) {
		if got := status(base, "/coach/"); got != http.StatusSeeOther {
			t.Errorf("a session opened before the password changed: got %d, want 303 to the login page", got)
		}
		if got := login(base, "a brand new password"); got != http.StatusSeeOther {
			t.Fatalf("login with the new password: got %d, want 303", got)
		}
		if got := status(base, "/coach/"); got != http.StatusOK {
			t.Errorf("the new session: got %d, want 200", got)
		}
	})

	code, _, errOut = darsi(t, "", "coach", "disable", "fatima", "--store", file)
	if code != 0 || !strings.Contains(errOut, "disabled") {
		t.Fatalf("coach disable: exit %d, stderr %q", code, errOut)
	}
	dashboard(t, file, func(base string) {
		if got := status(base, "/coach/"); got != http.StatusSeeOther {
			t.Errorf("a session of a disabled account: got %d, want 303 to the login page", got)
		}
		if got := login(base, "a brand new password"); got != http.StatusUnauthorized {
			t.Errorf("the password of a disabled account: got %d, want 401", got)
		}
		req, _ := http.NewRequest(http.MethodGet, base+"/coach/api/cohorts", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("the token of a disabled account: got %d, want 401", resp.StatusCode)
		}
	})

	if code, _, errOut := darsi(t, "", "coach", "disable", "nobody", "--store", file); code == 0 || !strings.Contains(errOut, "nobody") {
		t.Errorf("coach disable of an unknown login: exit %d, stderr %q", code, errOut)
	}

	// The audit log has it all, from the command line and the dashboard.
	cfg := defaultConfig(t)
	cfg.Store = file
	s, err := cfg.openStore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	co := newCoaching(cfg, s, nil, discardLog())
	entries, _, err := co.AuditPage(context.Background(), app.Operator, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Action+" "+e.Target+" via "+e.Via)
	}
	want := []string{"coach.disable fatima via cli", "login fatima via dashboard", "coach.save fatima via cli",
		"login fatima via dashboard", "coach.save amal via cli", "coach.save fatima via cli"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log, newest first:\ngot  %q\nwant %q", got, want)
	}
	if c, err := s.Coach(context.Background(), "fatima"); err != nil || !c.Disabled || c.Role != cohort.RoleCoach {
		t.Errorf("fatima after coach disable: got %+v, %v; want a disabled coach", c, err)
	}
}
