package coachweb_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/coachweb"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/dialog"
)

// loginFrom posts the login form straight to the dashboard's handler, as
// if from the address remote, with the headers hdr.
func (x *harness) loginFrom(remote, login, password string, hdr map[string]string) response {
	x.t.Helper()
	form := url.Values{"login": {login}, "password": {password}, "next": {"/coach/"}}
	req := httptest.NewRequest(http.MethodPost, "http://darsi.test/coach/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = remote
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	x.h.ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.String()}
}

// wantRetryAfter fails tb unless r is a 429 whose Retry-After is secs.
func wantRetryAfter(tb testing.TB, what string, r response, secs int) {
	tb.Helper()
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != strconv.Itoa(secs) {
		tb.Errorf("%s: got %d with Retry-After %q, want 429 with Retry-After %d", what, r.status, r.header.Get("Retry-After"), secs)
	}
}

func wantStatus(tb testing.TB, what string, r response, status int) {
	tb.Helper()
	if r.status != status {
		tb.Errorf("%s: got status %d, want %d\n%s", what, r.status, status, clip(r.body))
	}
}

// TestLoginBackoff: wrong passwords from one address slow that address
// down, twice as long each time up to a minute, without locking the coach
// out: another address logs in, and so does the right password after the
// wait.
func TestLoginBackoff(t *testing.T) {
	x := newHarness(t)
	const a, b = "203.0.113.5:40000", "198.51.100.7:40000"
	for i := range 5 {
		wantStatus(t, fmt.Sprintf("wrong password %d from A", i+1), x.loginFrom(a, "fatima", "guess", nil), http.StatusUnauthorized)
	}
	r := x.loginFrom(a, "fatima", "pw-fatima", nil)
	wantRetryAfter(t, "the right password from A at once", r, 1)
	if !strings.Contains(r.body, "Trop d") {
		t.Errorf("the 429 page does not say why:\n%s", clip(r.body))
	}
	wantRetryAfter(t, "another login from A at once", x.loginFrom(a, "youssef", "pw-youssef", nil), 1)
	wantStatus(t, "fatima from B", x.loginFrom(b, "fatima", "pw-fatima", nil), http.StatusSeeOther)

	x.now = x.now.Add(time.Second)
	wantStatus(t, "the right password from A after the wait", x.loginFrom(a, "fatima", "pw-fatima", nil), http.StatusSeeOther)

	// Each further failure doubles the wait, up to a minute.
	for _, wait := range []int{2, 4, 8, 16, 32, 60, 60} {
		wantStatus(t, "a wrong password from A after the wait", x.loginFrom(a, "fatima", "guess", nil), http.StatusUnauthorized)
		wantRetryAfter(t, fmt.Sprintf("the next try, %d s wait", wait), x.loginFrom(a, "fatima", "pw-fatima", nil), wait)
		x.now = x.now.Add(time.Duration(wait)*time.Second - time.Millisecond)
		wantRetryAfter(t, "a millisecond before the end of the wait", x.loginFrom(a, "fatima", "pw-fatima", nil), 1)
		x.now = x.now.Add(time.Millisecond)
	}
	wantStatus(t, "the right password after a minute's wait", x.loginFrom(a, "fatima", "pw-fatima", nil), http.StatusSeeOther)

	// A quarter of an hour without failures forgets them.
	wantStatus(t, "a wrong password", x.loginFrom(a, "fatima", "guess", nil), http.StatusUnauthorized)
	x.now = x.now.Add(15 * time.Minute)
	wantStatus(t, "a wrong password after a quiet quarter hour", x.loginFrom(a, "fatima", "guess", nil), http.StatusUnauthorized)
	wantStatus(t, "at once after", x.loginFrom(a, "fatima", "pw-fatima", nil), http.StatusSeeOther)
}

// TestLoginBackoffPerLogin: guesses at one login spread over many
// addresses slow that login down, but not from where its coach logged in
// before, nor other logins.
func TestLoginBackoffPerLogin(t *testing.T) {
	x := newHarness(t)
	const home = "198.51.100.50:1000"
	wantStatus(t, "youssef at home", x.loginFrom(home, "youssef", "pw-youssef", nil), http.StatusSeeOther)
	for i := range 10 {
		from := fmt.Sprintf("203.0.113.%d:1000", i+1)
		wantStatus(t, "a guess from "+from, x.loginFrom(from, "youssef", "guess", nil), http.StatusUnauthorized)
	}
	wantRetryAfter(t, "youssef from a new address", x.loginFrom("192.0.2.77:1000", "youssef", "pw-youssef", nil), 1)
	wantRetryAfter(t, "YOUSSEF (any case) from a new address", x.loginFrom("192.0.2.77:1000", "YOUSSEF", "pw-youssef", nil), 1)
	wantStatus(t, "youssef at home", x.loginFrom(home, "youssef", "pw-youssef", nil), http.StatusSeeOther)
	wantStatus(t, "fatima from a new address", x.loginFrom("192.0.2.77:1000", "fatima", "pw-fatima", nil), http.StatusSeeOther)
	// The right password reset youssef's count.
	wantStatus(t, "youssef from a new address after he logged in", x.loginFrom("192.0.2.78:1000", "youssef", "pw-youssef", nil), http.StatusSeeOther)
}

// TestLoginBackoffClientAddress: the address counted is the connection's;
// an IPv6 client counts by its /64; X-Forwarded-For is believed from a
// proxy on a private network only, and only its last address.
func TestLoginBackoffClientAddress(t *testing.T) {
	fail5 := func(x *harness, remote string, hdr map[string]string) {
		t.Helper()
		for range 5 {
			wantStatus(t, "a guess from "+remote, x.loginFrom(remote, "fatima", "guess", hdr), http.StatusUnauthorized)
		}
	}
	t.Run("IPv6 by /64", func(t *testing.T) {
		x := newHarness(t)
		fail5(x, "[2001:db8:1:2::1]:1000", nil)
		wantRetryAfter(t, "the same /64", x.loginFrom("[2001:db8:1:2:ffff::9]:1000", "fatima", "pw-fatima", nil), 1)
		wantStatus(t, "another /64", x.loginFrom("[2001:db8:1:3::1]:1000", "fatima", "pw-fatima", nil), http.StatusSeeOther)
	})
	t.Run("behind a private proxy", func(t *testing.T) {
		x := newHarness(t)
		const proxy = "10.0.0.2:5000"
		fail5(x, proxy, map[string]string{"X-Forwarded-For": "198.51.100.20"})
		wantRetryAfter(t, "the same client through the proxy", x.loginFrom(proxy, "fatima", "pw-fatima",
			map[string]string{"X-Forwarded-For": "203.0.113.1, 198.51.100.20"}), 1)
		wantStatus(t, "another client through the proxy", x.loginFrom(proxy, "fatima", "pw-fatima",
			map[string]string{"X-Forwarded-For": "198.51.100.21"}), http.StatusSeeOther)
		wantStatus(t, "a client claiming the throttled address first", x.loginFrom(proxy, "fatima", "pw-fatima",
			map[string]string{"X-Forwarded-For": "198.51.100.20, 198.51.100.22"}), http.StatusSeeOther)
	})
	t.Run("X-Forwarded-For from the internet", func(t *testing.T) {
		x := newHarness(t)
		fail5(x, "203.0.113.9:1000", map[string]string{"X-Forwarded-For": "198.51.100.30"})
		wantRetryAfter(t, "the same address claiming another", x.loginFrom("203.0.113.9:1000", "fatima", "pw-fatima",
			map[string]string{"X-Forwarded-For": "198.51.100.31"}), 1)
		wantStatus(t, "the address it claimed", x.loginFrom("198.51.100.30:1000", "fatima", "pw-fatima", nil), http.StatusSeeOther)
	})
}

// TestLoginTiming: an unknown login takes as long to refuse as a wrong
// password for an account hashed at app.BcryptCost, through the real
// handler. The medians of 10 tries each must be within 25%; a try takes a
// quarter of a second. Under the race detector, which slows bcrypt down
// some 15 times and unevenly, it does not run: make test runs it without.
func TestLoginTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("bcrypt at cost 12: about 5 s")
	}
	if raceDetector {
		t.Skip("timings under the race detector mean nothing: make test runs this test without it")
	}
	x := newHarness(t)
	// As app.Coaching.AddCoach stores it, less the time of hashing.
	const hash = "$2a$12$Vizn33uHDEqORKpt4AyVX.78fMbYvZB.Si64nMIuL8XE0zVYE0N/2" // "correct horse battery"
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != app.BcryptCost {
		t.Fatalf("the test's hash has cost %d (%v), want app.BcryptCost %d", cost, err, app.BcryptCost)
	}
	if err := x.cohorts.PutCoach(context.Background(), cohort.Coach{Login: "samira", Role: cohort.RoleCoach, PasswordHash: []byte(hash)}); err != nil {
		t.Fatal(err)
	}
	timed := func(login string) time.Duration {
		t.Helper()
		x.now = x.now.Add(16 * time.Minute) // past any backoff, and its counts forgotten
		start := time.Now()
		r := x.loginFrom("203.0.113.5:1000", login, "wrong password!", nil)
		took := time.Since(start)
		wantStatus(t, "login "+login, r, http.StatusUnauthorized)
		return took
	}
	var unknown, wrong []time.Duration
	for i := range 10 {
		// Interleaved, so that a slow moment of the machine weighs on both.
		unknown = append(unknown, timed(fmt.Sprintf("nobody%d", i)))
		wrong = append(wrong, timed("samira"))
	}
	median := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
	}
	mu, mw := median(unknown), median(wrong)
	diff := float64(max(mu, mw)-min(mu, mw)) / float64(max(mu, mw))
	t.Logf("median of 10 tries each: unknown login %v, wrong password %v (%.1f%% apart)", mu, mw, 100*diff)
	if diff >= 0.25 {
		t.Errorf("unknown login %v, wrong password %v: %.0f%% apart, want under 25%%", mu, mw, 100*diff)
	}
}

func TestSessionEndsOnPasswordChange(t *testing.T) {
	x := newHarness(t)
	ctx := context.Background()
	b := x.browser()
	b.login("fatima")
	want(t, "logged in", b.get("/coach/"), http.StatusOK, "Couture Salé")
	other := x.browser()
	other.login("fatima")
	youssef := x.browser()
	youssef.login("youssef")

	if _, _, err := x.coaching.AddCoach(ctx, app.NewCoach{Login: "fatima", Role: cohort.RoleCoach, Password: []byte("a brand new password")}); err != nil {
		t.Fatal(err)
	}
	for _, br := range []*browser{b, other} {
		r := br.get("/coach/")
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/coach/login") {
			t.Errorf("a session opened before the password changed: got %d to %q, want 303 to the login page", r.status, r.header.Get("Location"))
		}
	}
	// Other coaches' sessions go on. (app's TestSessionEnds logs in with
	// the new password: each bcrypt at cost 12 is slow.)
	want(t, "another coach's session", youssef.get("/coach/"), http.StatusOK, "Épiciers Fès")
}

func TestSessionEndsOnDisable(t *testing.T) {
	x := newHarness(t)
	ctx := context.Background()
	b := x.browser()
	b.login("youssef")
	want(t, "logged in", b.get("/coach/"), http.StatusOK, "Épiciers Fès")
	want(t, "the API", x.api("youssef", "GET", "/coach/api/cohorts", nil), http.StatusOK)

	if _, err := x.coaching.DisableCoach(ctx, app.Operator, "youssef"); err != nil {
		t.Fatal(err)
	}
	want(t, "a session opened before the account was disabled", b.get("/coach/"), http.StatusSeeOther)
	want(t, "the API token of a disabled account", x.api("youssef", "GET", "/coach/api/cohorts", nil), http.StatusUnauthorized)
	want(t, "the right password of a disabled account", b.post("/coach/login", url.Values{"login": {"youssef"}, "password": {"pw-youssef"}}),
		http.StatusUnauthorized, "Identifiant ou mot de passe incorrect")
	// Other coaches go on.
	want(t, "fatima's API", x.api("fatima", "GET", "/coach/api/cohorts", nil), http.StatusOK)
}

// TestSessionIdle: a session ends after DARSI_SESSION_IDLE (the default,
// 2 hours) without a request, and every request moves that end; it ends
// after 12 hours whatever happens.
func TestSessionIdle(t *testing.T) {
	x := newHarness(t)
	b := x.browser()
	b.login("fatima")
	for range 5 { // 10 hours of use, a request every two hours less a minute
		x.now = x.now.Add(app.DefaultSessionIdle - time.Minute)
		want(t, "a request inside the idle time", b.get("/coach/"), http.StatusOK, "Couture Salé")
	}
	x.now = x.now.Add(app.DefaultSessionIdle)
	want(t, "a request after two idle hours", b.get("/coach/"), http.StatusSeeOther)

	b.login("fatima")
	for range 11 {
		x.now = x.now.Add(time.Hour)
		want(t, "an hourly request", b.get("/coach/"), http.StatusOK)
	}
	x.now = x.now.Add(time.Hour)
	want(t, "a request 12 hours after the login", b.get("/coach/"), http.StatusSeeOther)
}

// TestSecureCookie: the session cookie is Secure when the server is
// reached over https, by DARSI_PUBLIC_URL's scheme or else by the
// request, and not over plain http from the loopback or a private
// network, where a coach tries the dashboard.
func TestSecureCookie(t *testing.T) {
	x := newHarness(t)
	remotes := map[string]string{"loopback": "127.0.0.1:50000", "LAN": "192.168.1.20:50000", "LAN IPv6": "[fd00::20]:50000",
		"public": "203.0.113.9:50000"}
	for _, tt := range []struct {
		publicURL string
		tls       bool
		remote    string
		want      bool
	}{
		{"https://darsi.example.org", false, "loopback", true},
		{"https://darsi.example.org", false, "LAN", true},
		{"https://darsi.example.org", false, "public", true},
		{"https://darsi.example.org", true, "loopback", true},
		{"https://darsi.example.org", true, "LAN", true},
		{"https://darsi.example.org", true, "public", true},
		{"http://192.168.1.2:8080", false, "loopback", false},
		{"http://192.168.1.2:8080", false, "LAN", false},
		{"http://192.168.1.2:8080", false, "public", false},
		{"http://192.168.1.2:8080", true, "loopback", true},
		{"http://192.168.1.2:8080", true, "LAN", true},
		{"http://192.168.1.2:8080", true, "public", true},
		{"", false, "loopback", false},
		{"", false, "LAN", false},
		{"", false, "LAN IPv6", false},
		{"", false, "public", true},
		{"", true, "loopback", true},
		{"", true, "LAN", true},
		{"", true, "public", true},
	} {
		name := fmt.Sprintf("public URL %q, from %s, TLS %v", tt.publicURL, tt.remote, tt.tls)
		h, err := coachweb.New(coachweb.Config{Coaching: x.coaching, PublicURL: tt.publicURL})
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{"login": {"fatima"}, "password": {"pw-fatima"}}
		req := httptest.NewRequest(http.MethodPost, "http://darsi.test/coach/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = remotes[tt.remote]
		if tt.tls {
			req.TLS = &tls.ConnectionState{}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		ck := sessionCookie(t, response{rec.Code, rec.Header(), rec.Body.String()})
		if ck.Secure != tt.want {
			t.Errorf("%s: got Secure %v, want %v", name, ck.Secure, tt.want)
		}
	}
	// Behind a proxy on the private network, its X-Forwarded-Proto says
	// what the browser used.
	h, err := coachweb.New(coachweb.Config{Coaching: x.coaching})
	if err != nil {
		t.Fatal(err)
	}
	for proto, secure := range map[string]bool{"https": true, "http": false, "": false} {
		form := url.Values{"login": {"fatima"}, "password": {"pw-fatima"}}
		req := httptest.NewRequest(http.MethodPost, "http://darsi.test/coach/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = "10.0.0.2:5000"
		req.Header.Set("X-Forwarded-Proto", proto)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if ck := sessionCookie(t, response{rec.Code, rec.Header(), rec.Body.String()}); ck.Secure != secure {
			t.Errorf("from a private proxy with X-Forwarded-Proto %q: got Secure %v, want %v", proto, ck.Secure, secure)
		}
	}
	if _, err := coachweb.New(coachweb.Config{Coaching: x.coaching, PublicURL: "ftp://darsi.example.org"}); bot.KindOf(err) != bot.Invalid {
		t.Errorf("an ftp public URL: got %v, want an Invalid error", err)
	}
}

// TestAuditLog: what coaches and the operator change, and what they take
// out, is in the audit log, which admins alone read, on a page and by
// the API, without a phone number.
func TestAuditLog(t *testing.T) {
	x := newHarness(t)
	ctx := context.Background()
	fatima := x.browser()
	fatima.login("fatima")
	wantStatus(t, "create a cohort", fatima.post("/coach/cohorts", url.Values{"name": {"Tisserandes"}}), http.StatusSeeOther)
	wantStatus(t, "a reminder", fatima.post("/coach/cohorts/"+fatimaCohort+"/remind",
		url.Values{"text": {"Appelez-moi au +212 600 000 009 ou 0600000009"}, "action": {"queue"}}), http.StatusSeeOther)
	want(t, "a broadcast by API", x.api("fatima", "POST", "/coach/api/cohorts/"+fatimaCohort+"/reminders",
		map[string]string{"text": "Fête !", "kind": "broadcast"}), http.StatusAccepted)
	wantStatus(t, "learners.csv", fatima.get("/coach/cohorts/"+fatimaCohort+"/learners.csv?sep=semicolon"), http.StatusOK)
	wantStatus(t, "outbox.csv", fatima.get("/coach/cohorts/"+fatimaCohort+"/outbox.csv"), http.StatusOK)
	wantStatus(t, "logout", fatima.post("/coach/logout", nil), http.StatusSeeOther)
	if _, _, err := x.coaching.AddCoach(app.WithOrigin(ctx, app.Origin{Via: "cli"}),
		app.NewCoach{Login: "samira", Role: cohort.RoleCoach, Password: []byte("long enough password")}); err != nil {
		t.Fatal(err)
	}
	if _, err := x.coaching.DisableCoach(ctx, app.Operator, "samira"); err != nil {
		t.Fatal(err)
	}
	// A refused login is not an entry: it changes nothing, and anyone
	// could fill the log with them.
	fatima.post("/coach/login", url.Values{"login": {"fatima"}, "password": {"wrong"}})

	admin := x.browser()
	admin.login("amal")
	var entries []cohort.AuditEntry
	next := "/coach/api/audit?limit=3"
	for next != "" {
		r := x.api("amal", "GET", next, nil)
		var page []cohort.AuditEntry
		if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &page) != nil {
			t.Fatalf("GET %s: %d %s", next, r.status, r.body)
		}
		if total := r.header.Get("X-Total-Count"); total != "10" {
			t.Errorf("GET %s: X-Total-Count %q, want 10", next, total)
		}
		entries = append(entries, page...)
		next = ""
		if link := r.header.Get("Link"); link != "" {
			m := regexp.MustCompile(`^<([^>]+)>; rel="next"$`).FindStringSubmatch(link)
			if m == nil {
				t.Fatalf("Link %q", link)
			}
			next = m[1]
		}
	}
	type seen struct{ actor, action, target, via string }
	var got []seen
	for _, e := range entries {
		got = append(got, seen{e.Actor, e.Action, e.Target, e.Via})
		// The learners' numbers, and those the reminder's text holds.
		for _, number := range []string{"+212", "600000001", "600000002", "600000003", "5550000004", "600000006", "600 000 009", "600000009"} {
			if text := strings.Join([]string{e.Actor, e.Target, e.Detail, e.Addr}, " "); strings.Contains(text, number) {
				t.Errorf("audit entry %+v holds a phone number (%s)", e, number)
			}
		}
		if e.Via != "cli" && e.Via != "" && e.Addr != "127.0.0.1" {
			t.Errorf("audit entry %+v: address %q, want 127.0.0.1", e, e.Addr)
		}
	}
	slices.Reverse(got)
	created := got[1].target
	wantSeen := []seen{
		{"fatima", app.AuditLogin, "fatima", "dashboard"},
		{"fatima", app.AuditCohortCreated, created, "dashboard"},
		{"fatima", app.AuditReminder, fatimaCohort, "dashboard"},
		{"fatima", app.AuditBroadcast, fatimaCohort, "api"},
		{"fatima", app.AuditExport, fatimaCohort, "dashboard"},
		{"fatima", app.AuditExport, fatimaCohort, "dashboard"},
		{"fatima", app.AuditLogout, "fatima", "dashboard"},
		{"", app.AuditCoachSaved, "samira", "cli"},
		{"", app.AuditCoachDisabled, "samira", ""},
		{"amal", app.AuditLogin, "amal", "dashboard"},
	}
	if !slices.Equal(got, wantSeen) {
		t.Errorf("audit log, oldest first:\ngot  %v\nwant %v", got, wantSeen)
	}
	if !cohort.ValidCode(created) {
		t.Errorf("the cohort.create entry names %q, want the new cohort's code", created)
	}

	page := admin.get("/coach/audit?limit=4")
	want(t, "the audit page", page, http.StatusOK, `id="audit"`, `data-action="coach.disable"`, "samira", `id="next"`, "10 entrées")
	if strings.Contains(page.body, `data-action="login"`) && strings.Count(page.body, "<tr data-action") != 4 {
		t.Errorf("the audit page with limit=4 shows %d entries", strings.Count(page.body, "<tr data-action"))
	}
	want(t, "the admin's header links the log", admin.get("/coach/"), http.StatusOK, `href="/coach/audit"`)

	coach := x.browser()
	coach.login("youssef")
	want(t, "a coach on the audit page", coach.get("/coach/audit"), http.StatusNotFound)
	want(t, "a coach on the audit API", x.api("youssef", "GET", "/coach/api/audit", nil), http.StatusNotFound, `"error"`)
	if r := coach.get("/coach/"); strings.Contains(r.body, `href="/coach/audit"`) {
		t.Errorf("a coach's header links the audit log")
	}
	want(t, "the audit API without a token", x.api("", "GET", "/coach/api/audit", nil), http.StatusUnauthorized)
	want(t, "the audit API with a bad cursor", x.api("amal", "GET", "/coach/api/audit?cursor=zz", nil), http.StatusBadRequest)
}

// TestAuditWithoutStore: a dashboard over a store that keeps no audit log
// says so on the page (503), and the use cases still work.
func TestAuditWithoutStore(t *testing.T) {
	x := newHarness(t)
	c := *x.coaching
	c.Audit = nil
	c.Content = func() *dialog.Content { return content(t) }
	h, err := coachweb.New(coachweb.Config{Coaching: &c, Now: func() time.Time { return x.now }})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "http://darsi.test/coach/api/audit", nil)
	req.Header.Set("Authorization", "Bearer "+tokens["amal"])
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("the audit API without an audit log: got %d, want 503", rec.Code)
	}
}
