package coachweb_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/coachweb"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
	"github.com/darsi-ma/darsi/lessons"
	"github.com/darsi-ma/darsi/locales"
)

var (
	contentOnce sync.Once
	contentVal  *dialog.Content
	contentErr  error
)

func content(tb testing.TB) *dialog.Content {
	tb.Helper()
	contentOnce.Do(func() {
		text, err := locale.Load(locales.FS)
		if err != nil {
			contentErr = err
			return
		}
		cat, err := lesson.Load(lessons.FS, "lessons")
		if err != nil {
			contentErr = err
			return
		}
		contentVal = &dialog.Content{Lessons: cat, Text: text}
	})
	if contentErr != nil {
		tb.Fatal(contentErr)
	}
	return contentVal
}

// The cohorts of the tests: Fatima's and Youssef's; Amal is an admin.
const (
	fatimaCohort  = "K7M2QX"
	youssefCohort = "P3R4TW"
)

var tokens = map[string]string{"fatima": "tok-fatima-0123456789", "youssef": "tok-youssef-0123456789", "amal": "tok-amal-0123456789"}

// harness is a dashboard over in-memory stores, served over HTTP on the
// loopback.
type harness struct {
	t   *testing.T
	srv *httptest.Server
	// The embedded store keeps cohorts, coaches, sessions, the outbox,
	// deliveries and learners.
	store *boltstore.Store
	// cohorts and outbox are the store, by what the tests use it for.
	cohorts cohort.Store
	outbox  *boltstore.Store
	// coaching is the use cases the dashboard is a face on; h the
	// dashboard itself, for requests from chosen addresses.
	coaching *app.Coaching
	h        *coachweb.Handler
	now      time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "darsi.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	x := &harness{t: t, store: store, cohorts: store, outbox: store, now: now}
	for login, role := range map[string]cohort.Role{"fatima": cohort.RoleCoach, "youssef": cohort.RoleCoach, "amal": cohort.RoleAdmin} {
		hash, err := bcrypt.GenerateFromPassword([]byte("pw-"+login), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		x.cohorts.PutCoach(ctx, cohort.Coach{Login: login, Name: strings.ToUpper(login[:1]) + login[1:], Role: role,
			PasswordHash: hash, TokenHash: cohort.TokenHash(tokens[login]), CreatedAt: now})
	}
	x.cohorts.CreateCohort(ctx, cohort.Cohort{Code: fatimaCohort, Name: "Couture Salé", Coach: "fatima", CreatedAt: now})
	x.cohorts.CreateCohort(ctx, cohort.Cohort{Code: youssefCohort, Name: "Épiciers Fès", Coach: "youssef", CreatedAt: now})
	for _, l := range []bot.Learner{
		// In a lesson, wrote an hour ago: inside the window.
		bot.Learner{ID: "whatsapp:+212600000001", Channel: bot.WhatsApp, Lang: bot.French, Consent: true, Cohort: fatimaCohort, Name: "Khadija <Tapis>",
			Phase: bot.PhaseLesson, Position: bot.Position{Course: "costing", Lesson: "costing-2", Step: "", Index: 1},
			Completed:     []bot.Completion{{Lesson: "costing-1", Score: 50, At: now.Add(-2 * time.Hour)}},
			Indicators:    map[string]string{"revenue_stable": "yes"},
			LastInboundAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour)},
		// In a lesson, silent for five days: stuck, outside the window.
		bot.Learner{ID: "whatsapp:+212600000002", Channel: bot.WhatsApp, Lang: bot.Arabic, Consent: true, Cohort: fatimaCohort,
			Phase: bot.PhaseLesson, Position: bot.Position{Course: "costing", Lesson: "costing-1", Index: 0},
			LastInboundAt: now.Add(-5 * 24 * time.Hour), UpdatedAt: now.Add(-5 * 24 * time.Hour)},
		// Opted out.
		bot.Learner{ID: "whatsapp:+212600000003", Channel: bot.WhatsApp, Lang: bot.Darija, Consent: true, Cohort: fatimaCohort,
			OptedOut: true, Phase: bot.PhaseMenu, LastInboundAt: now.Add(-time.Hour)},
		// By SMS, the cohort's code in lower case.
		bot.Learner{ID: "sms:+15550000004", Channel: bot.SMS, Lang: bot.Tamazight, Consent: true, Cohort: strings.ToLower(fatimaCohort),
			Phase: bot.PhaseMenu, LastInboundAt: now.Add(-10 * 24 * time.Hour),
			Completed: []bot.Completion{{Lesson: "costing-1", Score: 100, At: now.Add(-10 * 24 * time.Hour)}}},
		// From the simulator: no message can reach them.
		bot.Learner{ID: "sim:+212600000006", Channel: bot.Sim, Lang: bot.French, Consent: true, Cohort: fatimaCohort,
			Phase: bot.PhaseMenu, LastInboundAt: now.Add(-time.Hour)},
		// Youssef's.
		bot.Learner{ID: "whatsapp:+212600000005", Channel: bot.WhatsApp, Lang: bot.French, Consent: true, Cohort: youssefCohort,
			Phase: bot.PhaseMenu, LastInboundAt: now.Add(-time.Hour)},
	} {
		_, err := store.Update(ctx, l.ID, "", func(stored *bot.Learner) (app.Change, error) {
			*stored = l
			return app.Change{}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Every language but Arabic has its templates: a learner writing
	// Arabic outside the window gets nothing.
	templates, err := schedule.ParseTemplates("templates.yaml", []byte(`
reminder:
  fr: {sid: HX00000000000000000000000000000001, vars: {"1": text}}
  ary: {sid: HX00000000000000000000000000000002, vars: {"1": text}}
  zgh: {sid: HX00000000000000000000000000000003, vars: {"1": text}}
broadcast:
  fr: {sid: HX00000000000000000000000000000004, vars: {"1": text}}
  ary: {sid: HX00000000000000000000000000000005, vars: {"1": text}}
  zgh: {sid: HX00000000000000000000000000000006, vars: {"1": text}}
coach_reply:
  fr: {sid: HX00000000000000000000000000000007, vars: {"1": text}}
`))
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return x.now }
	x.coaching = &app.Coaching{
		Cohorts: store, Members: store, Outbox: store, Audit: store, Threads: store, Learners: store,
		Content:      func() *dialog.Content { return content(t) },
		Policy:       &schedule.Policy{Templates: templates},
		WhatsAppFrom: "whatsapp:+14155238886",
		Now:          clock,
	}
	h, err := coachweb.New(coachweb.Config{Coaching: x.coaching, Deliveries: store, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	x.h = h
	mux := http.NewServeMux()
	mux.Handle("/coach/", h)
	x.srv = httptest.NewServer(mux)
	t.Cleanup(x.srv.Close)
	return x
}

// browser is a client with its own cookies that does not follow
// redirects, and sends what a browser sends on a same-origin form.
type browser struct {
	x *harness
	c *http.Client
}

func (x *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{x: x, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) response {
	b.x.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.x.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(data)}
}

func (b *browser) get(path string) response {
	b.x.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.x.srv.URL+path, nil)
	req.Header.Set("Sec-Fetch-Site", "none")
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) response {
	b.x.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.x.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", b.x.srv.URL)
	return b.do(req)
}

func (b *browser) login(login string) {
	b.x.t.Helper()
	r := b.post("/coach/login", url.Values{"login": {login}, "password": {"pw-" + login}, "next": {"/coach/"}})
	if r.status != http.StatusSeeOther {
		b.x.t.Fatalf("login %s: %d %s", login, r.status, r.body)
	}
}

// api calls the JSON API with login's token ("" for none).
func (x *harness) api(login, method, path string, body any) response {
	x.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, x.srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if login != "" {
		req.Header.Set("Authorization", "Bearer "+tokens[login])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		x.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(data)}
}

func want(t *testing.T, what string, r response, status int, contains ...string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d\n%s", what, r.status, status, clip(r.body))
		return
	}
	for _, s := range contains {
		if !strings.Contains(r.body, s) {
			t.Errorf("%s: body lacks %q\n%s", what, s, clip(r.body))
		}
	}
}

func clip(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return s
}

func TestLoginLogout(t *testing.T) {
	x := newHarness(t)
	b := x.browser()

	r := b.get("/coach/")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/coach/login?next=%2Fcoach%2F" {
		t.Fatalf("dashboard without a session: %d to %q, want 303 to the login page", r.status, r.header.Get("Location"))
	}
	want(t, "login page", b.get("/coach/login"), 200, `name="password"`)

	r = b.post("/coach/login", url.Values{"login": {"fatima"}, "password": {"wrong"}})
	want(t, "wrong password", r, http.StatusUnauthorized, "incorrect")
	r = b.post("/coach/login", url.Values{"login": {"nobody"}, "password": {"pw-nobody"}})
	want(t, "unknown login", r, http.StatusUnauthorized, "incorrect")
	if cks := b.c.Jar.Cookies(mustURL(t, x.srv.URL+"/coach/")); len(cks) != 0 {
		t.Fatalf("cookies after failed logins: %v", cks)
	}

	r = b.post("/coach/login", url.Values{"login": {"fatima"}, "password": {"pw-fatima"}, "next": {"/coach/cohorts/" + fatimaCohort}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/coach/cohorts/"+fatimaCohort {
		t.Fatalf("login: %d to %q, want 303 to the page asked for", r.status, r.header.Get("Location"))
	}
	ck := sessionCookie(t, r)
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/coach/" || ck.MaxAge <= 0 {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/coach/, a max age", ck)
	}
	if ck.Secure {
		t.Errorf("session cookie over plain http on the loopback is Secure: the browser would drop it")
	}
	if len(ck.Value) < 43 {
		t.Errorf("session id %q: want 32 random bytes", ck.Value)
	}
	// The store keeps a hash of the session id, not the id.
	if _, err := x.cohorts.Session(context.Background(), ck.Value); bot.KindOf(err) != bot.NotFound {
		t.Errorf("the store knows the raw session id (%v)", err)
	}
	want(t, "cohorts after login", b.get("/coach/"), 200, "Couture Salé", "Fatima")

	// A next outside the dashboard is not followed.
	r = b.post("/coach/login", url.Values{"login": {"fatima"}, "password": {"pw-fatima"}, "next": {"https://evil.example/"}})
	if loc := r.header.Get("Location"); loc != "/coach/" {
		t.Errorf("login with an outside next: redirected to %q, want /coach/", loc)
	}
	ck = sessionCookie(t, r)

	r = b.post("/coach/logout", nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.status)
	}
	if cleared := sessionCookie(t, r); cleared.MaxAge >= 0 || cleared.Value != "" {
		t.Errorf("logout cookie %+v: want it cleared", cleared)
	}
	// The old cookie no longer works.
	old := x.browser()
	old.c.Jar.SetCookies(mustURL(t, x.srv.URL+"/coach/"), []*http.Cookie{{Name: ck.Name, Value: ck.Value}})
	want(t, "old cookie after logout", old.get("/coach/"), http.StatusSeeOther)
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func sessionCookie(t *testing.T, r response) *http.Cookie {
	t.Helper()
	for _, line := range r.header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err == nil && ck.Name == "darsi_coach" {
			return ck
		}
	}
	t.Fatalf("no session cookie in %v", r.header.Values("Set-Cookie"))
	return nil
}

func TestCrossOriginRefused(t *testing.T) {
	x := newHarness(t)
	b := x.browser()
	b.login("fatima")
	before, _ := x.cohorts.Cohorts(context.Background(), "")

	for _, hdr := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "https://evil.example"},
	} {
		for _, path := range []string{"/coach/cohorts", "/coach/cohorts/" + fatimaCohort + "/remind", "/coach/logout", "/coach/login"} {
			form := url.Values{"name": {"evil"}, "text": {"evil"}, "action": {"queue"}, "login": {"fatima"}, "password": {"pw-fatima"}}
			req, _ := http.NewRequest(http.MethodPost, x.srv.URL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			want(t, fmt.Sprintf("POST %s with %v", path, hdr), b.do(req), http.StatusForbidden)
		}
	}
	after, _ := x.cohorts.Cohorts(context.Background(), "")
	if len(after) != len(before) {
		t.Errorf("a cross-origin form created a cohort")
	}
	if jobs, _, _ := x.outbox.Jobs(context.Background(), schedule.Filter{}); len(jobs) != 0 {
		t.Errorf("a cross-origin form queued %d jobs", len(jobs))
	}
	// The session survived the cross-origin logout.
	want(t, "still logged in", b.get("/coach/"), 200, "Couture Salé")
}

func TestRoleIsolation(t *testing.T) {
	x := newHarness(t)
	youssef := x.browser()
	youssef.login("youssef")
	admin := x.browser()
	admin.login("amal")

	pages := []string{"", "/learners.csv", "/outbox", "/outbox.csv", "/indicators", "/remind", "/poster.svg"}
	for _, p := range pages {
		path := "/coach/cohorts/" + fatimaCohort + p
		want(t, "youssef GET "+path, youssef.get(path), http.StatusNotFound)
		want(t, "youssef GET (lower case) "+path, youssef.get(strings.ToLower(path)), http.StatusNotFound)
		want(t, "admin GET "+path, admin.get(path), http.StatusOK)
	}
	want(t, "youssef's own cohort", youssef.get("/coach/cohorts/"+youssefCohort), http.StatusOK, "Épiciers Fès")
	r := youssef.post("/coach/cohorts/"+fatimaCohort+"/remind", url.Values{"text": {"hi"}, "action": {"queue"}})
	want(t, "youssef POST reminder to Fatima's cohort", r, http.StatusNotFound)
	if jobs, _, _ := x.outbox.Jobs(context.Background(), schedule.Filter{}); len(jobs) != 0 {
		t.Errorf("youssef queued %d jobs in Fatima's cohort", len(jobs))
	}
	list := youssef.get("/coach/")
	want(t, "youssef's cohorts", list, 200, "Épiciers Fès")
	if strings.Contains(list.body, "Couture Salé") || strings.Contains(list.body, fatimaCohort) {
		t.Errorf("youssef's cohort list shows Fatima's cohort")
	}
	want(t, "admin's cohorts", admin.get("/coach/"), 200, "Épiciers Fès", "Couture Salé")
	r = youssef.post("/coach/cohorts", url.Values{"name": {"x"}, "coach": {"fatima"}})
	want(t, "a coach creating a cohort for another", r, http.StatusForbidden)

	// The API: the same rules, as JSON.
	base := "/coach/api/cohorts/" + fatimaCohort
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", base + "/learners", nil},
		{"GET", base + "/jobs", nil},
		{"POST", base + "/reminders", map[string]string{"text": "hi"}},
	} {
		r := x.api("youssef", c.method, c.path, c.body)
		want(t, "API youssef "+c.method+" "+c.path, r, http.StatusNotFound, `"error"`)
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("API error as %q, want JSON", ct)
		}
		want(t, "API admin "+c.method+" "+c.path, x.api("amal", c.method, c.path, c.body), map[string]int{"GET": 200, "POST": 202}[c.method])
		want(t, "API without a token "+c.path, x.api("", c.method, c.path, c.body), http.StatusUnauthorized, `"error"`)
	}
	var cs []coachweb.APICohort
	r = x.api("youssef", "GET", "/coach/api/cohorts", nil)
	if err := json.Unmarshal([]byte(r.body), &cs); err != nil || r.status != 200 {
		t.Fatalf("API cohorts: %d %s", r.status, r.body)
	}
	if len(cs) != 1 || cs[0].Code != youssefCohort || cs[0].Members != 1 {
		t.Errorf("youssef's cohorts by API: %+v, want only %s with 1 member", cs, youssefCohort)
	}
	r = x.api("youssef", "POST", "/coach/api/cohorts", map[string]string{"name": "x", "coach": "fatima"})
	want(t, "API: a coach creating a cohort for another", r, http.StatusForbidden, `"error"`)

	req, _ := http.NewRequest("GET", x.srv.URL+"/coach/api/cohorts", nil)
	req.Header.Set("Authorization", "Bearer not-a-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API with a wrong token: %d, want 401", resp.StatusCode)
	}
	// A session cookie is no API credential.
	req, _ = http.NewRequest("GET", x.srv.URL+"/coach/api/cohorts", nil)
	if r := admin.do(req); r.status != http.StatusUnauthorized {
		t.Errorf("API with a session cookie and no token: %d, want 401", r.status)
	}
}

func TestCreateCohort(t *testing.T) {
	x := newHarness(t)
	b := x.browser()
	b.login("fatima")
	r := b.post("/coach/cohorts", url.Values{"name": {"Tisserandes de Tiznit"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	code := strings.TrimSuffix(strings.TrimPrefix(r.header.Get("Location"), "/coach/cohorts/"), "?created=1")
	if !cohort.ValidCode(code) {
		t.Fatalf("redirected to %q: no join code", r.header.Get("Location"))
	}
	co, err := x.cohorts.Cohort(context.Background(), code)
	if err != nil || co.Coach != "fatima" || co.Name != "Tisserandes de Tiznit" {
		t.Fatalf("stored cohort %+v (%v)", co, err)
	}
	link, _ := cohort.WhatsAppLink("whatsapp:+14155238886", code)
	page := b.get(r.header.Get("Location"))
	want(t, "new cohort's page", page, 200, "Tisserandes de Tiznit", code, `<svg xmlns="http://www.w3.org/2000/svg" class="qr"`,
		`href="`+link+`"`, "poster.svg", "Cohorte créée")
	if !regexp.MustCompile(`<path fill="#000" d="(M\d+ \d+h\d+v1h-\d+z)+"`).MatchString(page.body) {
		t.Errorf("the QR code has no modules")
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	poster := b.get("/coach/cohorts/" + code + "/poster.svg")
	want(t, "poster", poster, 200, code, "<svg", "WhatsApp")
	if ct := poster.header.Get("Content-Type"); ct != "image/svg+xml" {
		t.Errorf("poster content type %q", ct)
	}
	want(t, "an empty name", b.post("/coach/cohorts", url.Values{"name": {"  "}}), http.StatusBadRequest, "name")

	// The API answers as "darsi cohort create NAME --json" does.
	r = x.api("fatima", "POST", "/coach/api/cohorts", map[string]string{"name": "Coiffeuses"})
	var got coachweb.CohortResponse
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.status != http.StatusCreated {
		t.Fatalf("API create: %d %s", r.status, r.body)
	}
	if wantLink, _ := cohort.WhatsAppLink("whatsapp:+14155238886", got.Code); got.Link != wantLink || !cohort.ValidCode(got.Code) {
		t.Errorf("API create: %+v, want a code and its link %s", got, wantLink)
	}
	want(t, "API create without a name", x.api("fatima", "POST", "/coach/api/cohorts", map[string]string{"name": ""}), http.StatusBadRequest, `"error"`)
	want(t, "API create with an unknown field", x.api("fatima", "POST", "/coach/api/cohorts", map[string]string{"nom": "x"}), http.StatusBadRequest)
	r = x.api("amal", "POST", "/coach/api/cohorts", map[string]string{"name": "Pour Youssef", "coach": "youssef"})
	if r.status != http.StatusCreated {
		t.Fatalf("admin creates for youssef: %d %s", r.status, r.body)
	}
	json.Unmarshal([]byte(r.body), &got)
	if co, _ := x.cohorts.Cohort(context.Background(), got.Code); co.Coach != "youssef" {
		t.Errorf("admin's cohort for youssef belongs to %q", co.Coach)
	}
}

func TestLearnersPageAndCSV(t *testing.T) {
	x := newHarness(t)
	b := x.browser()
	b.login("fatima")
	page := b.get("/coach/cohorts/" + fatimaCohort)
	want(t, "learners", page, 200, "whatsapp:&#43;2126******01", "sms:&#43;1555*****04", "bloqué", "50 %", "Français", "العربية",
		`<bdi class="name">Khadija &lt;Tapis&gt;</bdi>`)
	for _, leak := range []string{"600000001", "+212600000002", "15550000004", "212600000005"} {
		if strings.Contains(page.body, leak) {
			t.Errorf("the learners page shows the number %s", leak)
		}
	}
	if n := strings.Count(page.body, `class="stuck"`); n != 1 {
		t.Errorf("%d stuck rows, want 1 (in a lesson, silent for 5 days)", n)
	}

	r := b.get("/coach/cohorts/" + fatimaCohort + "/learners.csv")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %s", r.status, r.header.Get("Content-Type"))
	}
	recs := parseCSV(t, r.body, ',')
	if len(recs) != 6 {
		t.Fatalf("CSV has %d lines, want a header and 5 learners:\n%s", len(recs), r.body)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	byID := map[string][]string{}
	for _, rec := range recs[1:] {
		byID[rec[col["learner"]]] = rec
	}
	stuck := byID["whatsapp:+2126******02"]
	if stuck == nil || stuck[col["stuck"]] != "true" || stuck[col["lang"]] != "ar" || stuck[col["lesson"]] != "costing-1" {
		t.Errorf("stuck learner in CSV: %v", stuck)
	}
	first := byID["whatsapp:+2126******01"]
	if first == nil || first[col["quiz_average"]] != "50" || first[col["completed"]] != "1" || first[col["stuck"]] != "false" || first[col["name"]] != "Khadija <Tapis>" {
		t.Errorf("first learner in CSV: %v", first)
	}
	if strings.Contains(r.body, "212600000005") || strings.Contains(r.body, "******05") {
		t.Errorf("Fatima's CSV lists Youssef's learner")
	}

	var rows []app.Progress
	r = x.api("fatima", "GET", "/coach/api/cohorts/"+strings.ToLower(fatimaCohort)+"/learners", nil)
	if err := json.Unmarshal([]byte(r.body), &rows); err != nil || r.status != 200 || len(rows) != 5 {
		t.Fatalf("API learners: %d %s", r.status, r.body)
	}
}

func TestReminderQueuesJobs(t *testing.T) {
	x := newHarness(t)
	ctx := context.Background()
	at := x.now.Add(2 * time.Hour).Truncate(time.Second).UTC()
	body := map[string]string{"text": "Demain, atelier à 10 h !", "at": at.Format(time.RFC3339), "template": "reminder"}
	r := x.api("fatima", "POST", "/coach/api/cohorts/"+fatimaCohort+"/reminders", body)
	var got coachweb.ReminderResponse
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.status != http.StatusAccepted {
		t.Fatalf("API reminder: %d %s", r.status, r.body)
	}
	if got.Queued != 3 {
		t.Errorf("queued %d, want 3 (5 members, one opted out, one in the simulator)", got.Queued)
	}
	jobs, _, err := x.outbox.Jobs(ctx, schedule.Filter{Cohort: fatimaCohort})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 3 {
		t.Fatalf("%d jobs in the outbox, want 3", len(jobs))
	}
	learners := map[string]bool{}
	for _, j := range jobs {
		learners[j.Learner] = true
		if j.Kind != schedule.Reminder || j.Cohort != fatimaCohort || j.Text != body["text"] || !j.DueAt.Equal(at) ||
			j.CreatedBy != "fatima" || j.Template != "reminder" || j.Status != schedule.Queued {
			t.Errorf("job %+v", j)
		}
		if !strings.HasPrefix(got.ID, "reminder-") || !strings.HasPrefix(j.ID, got.ID+"-") || strings.Contains(j.ID, "+") || strings.Contains(j.ID, "2126") {
			t.Errorf("job id %q: want reminder-<reminder id>-<learner hash>, no phone number", j.ID)
		}
	}
	if learners["whatsapp:+212600000003"] || !learners["sms:+15550000004"] || learners["whatsapp:+212600000005"] {
		t.Errorf("jobs for %v: want every member but the opted-out one, and no one else", learners)
	}

	// The same reminder again (a retried call) queues nothing new.
	r = x.api("fatima", "POST", "/coach/api/cohorts/"+fatimaCohort+"/reminders", body)
	json.Unmarshal([]byte(r.body), &got)
	if jobs, _, _ = x.outbox.Jobs(ctx, schedule.Filter{}); len(jobs) != 3 {
		t.Errorf("the same reminder twice: %d jobs, want 3", len(jobs))
	}

	// From the form: a broadcast now, then the outbox page.
	b := x.browser()
	b.login("fatima")
	r = b.post("/coach/cohorts/"+fatimaCohort+"/remind", url.Values{"text": {"Bonne fête !"}, "kind": {"broadcast"}, "action": {"queue"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/coach/cohorts/"+fatimaCohort+"/outbox?queued=3" {
		t.Fatalf("form reminder: %d to %q", r.status, r.header.Get("Location"))
	}
	jobs, _, _ = x.outbox.Jobs(ctx, schedule.Filter{Cohort: fatimaCohort})
	broadcasts := 0
	for _, j := range jobs {
		if j.Kind == schedule.Broadcast {
			broadcasts++
			if j.DueAt.After(x.now) {
				t.Errorf("a broadcast for now is due at %v, after now %v", j.DueAt, x.now)
			}
		}
	}
	if broadcasts != 3 {
		t.Errorf("%d broadcast jobs, want 3", broadcasts)
	}
	want(t, "outbox", b.get("/coach/cohorts/"+fatimaCohort+"/outbox?queued=3"), 200, "3 messages programmés", "Bonne fête !", "queued", "whatsapp:&#43;2126******01")

	// Bad input.
	for _, c := range []map[string]string{
		{"text": ""},
		{"text": strings.Repeat("x", 1601)},
		{"text": "hi", "at": "tomorrow"},
		{"text": "hi", "template": "Not A Kind!"},
		{"text": "hi", "kind": "nudge"},
	} {
		want(t, fmt.Sprintf("API reminder %v", c), x.api("fatima", "POST", "/coach/api/cohorts/"+fatimaCohort+"/reminders", c), http.StatusBadRequest, `"error"`)
	}
	want(t, "form reminder without text", b.post("/coach/cohorts/"+fatimaCohort+"/remind", url.Values{"text": {" "}, "action": {"queue"}}), http.StatusBadRequest, "empty")
}

func TestReminderPreview(t *testing.T) {
	x := newHarness(t)
	b := x.browser()
	b.login("fatima")
	text := "Rendez-vous à la coopérative demain à 10 h : apportez vos carnets de caisse et vos factures du mois, on fera les comptes ensemble. Pensez aussi à vos questions sur les prix."
	r := b.post("/coach/cohorts/"+fatimaCohort+"/remind", url.Values{"text": {text}, "action": {"preview"}})
	want(t, "preview", r, 200, `id="queue"`, "Programmer pour 3 apprenants")
	words := content(t).Text
	for _, lang := range bot.Langs {
		body, err := schedule.Render(words, lang, schedule.Job{Kind: schedule.Reminder, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		sms := locale.Segments(body)
		if sms.Segments < 2 {
			t.Errorf("%s: %d segments; the test wants a text over one segment", lang, sms.Segments)
		}
		want(t, "preview in "+string(lang), r, 200,
			fmt.Sprintf(`data-lang="%s"`, lang),
			fmt.Sprintf("SMS : %d segments (%s, %d unités)", sms.Segments, sms.Encoding, sms.Units))
		if !strings.Contains(r.body, template(body)) {
			t.Errorf("preview in %s lacks the message %q", lang, body)
		}
	}
	// One member each way: in the window, outside it (and Arabic has no
	// template configured), opted out, SMS, simulator.
	want(t, "routes", r, 200, "2 en texte libre · 1 par modèle · 2 ignorés",
		`<tr class="route-free"><td class="num" data-label="Numéro"><bdi dir="ltr">whatsapp:&#43;2126******01</bdi></td>`,
		`<tr class="route-template"><td class="num" data-label="Numéro"><bdi dir="ltr">whatsapp:&#43;2126******02</bdi></td>`,
		`<tr class="route-skip"><td class="num" data-label="Numéro"><bdi dir="ltr">whatsapp:&#43;2126******03</bdi></td>`,
		`<tr class="route-free"><td class="num" data-label="Numéro"><bdi dir="ltr">sms:&#43;1555*****04</bdi></td>`,
		`<tr class="route-skip"><td class="num" data-label="Numéro"><bdi dir="ltr">sim:&#43;2126******06</bdi></td>`,
		"aucun modèle configuré",
		"désinscrit")
	if jobs, _, _ := x.outbox.Jobs(context.Background(), schedule.Filter{}); len(jobs) != 0 {
		t.Errorf("a preview queued %d jobs", len(jobs))
	}

	// Due in 23 and a half hours, the first learner's window (opened an hour ago)
	// has closed: the template.
	at := x.now.Add(23*time.Hour + 30*time.Minute).In(mustZone(t)).Format("2006-01-02T15:04")
	r = b.post("/coach/cohorts/"+fatimaCohort+"/remind", url.Values{"text": {"Hi"}, "at": {at}, "action": {"preview"}})
	want(t, "preview tomorrow", r, 200, "1 en texte libre · 2 par modèle · 2 ignorés",
		`<tr class="route-template"><td class="num" data-label="Numéro"><bdi dir="ltr">whatsapp:&#43;2126******01</bdi></td>`, "SMS : 1 segment (")
}

// template escapes text as html/template does in an element.
func template(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;")
	return r.Replace(s)
}

func mustZone(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Africa/Casablanca")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestOutboxShowsDelivery(t *testing.T) {
	x := newHarness(t)
	ctx := context.Background()
	r := x.api("fatima", "POST", "/coach/api/cohorts/"+fatimaCohort+"/reminders", map[string]string{"text": "Atelier demain"})
	if r.status != http.StatusAccepted {
		t.Fatalf("reminder: %d %s", r.status, r.body)
	}
	// A runner claims and sends them; Twilio reports delivered for one,
	// undelivered for another.
	claimed, err := x.outbox.Claim(ctx, "w1", time.Now().Add(time.Minute), time.Minute, 10)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claim: %d jobs (%v)", len(claimed), err)
	}
	for i := range claimed {
		j := &claimed[i]
		j.Status, j.SID, j.SentAt = schedule.Sent, fmt.Sprintf("SM%032d", i), time.Now()
		if err := x.outbox.Settle(ctx, *j); err != nil {
			t.Fatal(err)
		}
		x.outbox.AdvanceDelivery(ctx, bot.Delivery{SID: j.SID, To: j.Learner, Status: bot.StatusSent, JobID: j.ID})
	}
	byLearner := map[string]schedule.Job{}
	for _, j := range claimed {
		byLearner[j.Learner] = j
	}
	ok, bad := byLearner["whatsapp:+212600000001"], byLearner["whatsapp:+212600000002"]
	x.outbox.Delivered(ctx, ok.ID, bot.StatusRead, 0)
	x.outbox.AdvanceDelivery(ctx, bot.Delivery{SID: ok.SID, Status: bot.StatusRead})
	x.outbox.Delivered(ctx, bad.ID, bot.StatusUndelivered, 63016)
	x.outbox.AdvanceDelivery(ctx, bot.Delivery{SID: bad.SID, Status: bot.StatusUndelivered, ErrorCode: 63016})

	b := x.browser()
	b.login("fatima")
	page := b.get("/coach/cohorts/" + fatimaCohort + "/outbox")
	want(t, "outbox", page, 200,
		`data-job="`+ok.ID+`"`, `<td class="delivery" data-label="Remise" data-delivery="read">lu</td>`,
		`<td class="delivery" data-label="Remise" data-delivery="undelivered">non remis (63016)</td>`,
		`class="status-delivered"`, `class="status-failed"`, `class="status-sent"`)

	var rows []coachweb.JobRow
	r = x.api("fatima", "GET", "/coach/api/cohorts/"+fatimaCohort+"/jobs", nil)
	if err := json.Unmarshal([]byte(r.body), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("API jobs: %d %s", r.status, r.body)
	}
	for _, row := range rows {
		if row.ID == ok.ID && (row.Status != schedule.Delivered || row.Delivery != bot.StatusRead || row.Learner != "whatsapp:+2126******01") {
			t.Errorf("API job %+v", row)
		}
	}
	csvResp := b.get("/coach/cohorts/" + fatimaCohort + "/outbox.csv")
	want(t, "outbox CSV", csvResp, 200)
	recs := parseCSV(t, csvResp.body, ',')
	if len(recs) != 4 {
		t.Fatalf("outbox CSV: got %d records, want a header and 3 jobs:\n%s", len(recs), csvResp.body)
	}
	if got, wantHead := recs[0][:5], []string{"id", "kind", "learner", "status", "delivery"}; !slices.Equal(got, wantHead) {
		t.Errorf("outbox CSV header: got %q, want it to start with %q", got, wantHead)
	}
	okRow := []string{ok.ID, "reminder", "whatsapp:+2126******01", "delivered", "read"}
	found := false
	for _, rec := range recs[1:] {
		found = found || slices.Equal(rec[:5], okRow)
	}
	if !found {
		t.Errorf("outbox CSV: no record starts with %q:\n%s", okRow, csvResp.body)
	}
}

// parseCSV checks that body starts with a UTF-8 byte order mark and reads
// the CSV after it, with the separator sep.
func parseCSV(tb testing.TB, body string, sep rune) [][]string {
	tb.Helper()
	rest, ok := strings.CutPrefix(body, "\ufeff")
	if !ok {
		tb.Fatalf("CSV without a UTF-8 byte order mark: %q", clip(body))
	}
	rd := csv.NewReader(strings.NewReader(rest))
	rd.Comma = sep
	recs, err := rd.ReadAll()
	if err != nil {
		tb.Fatalf("CSV does not parse: %v\n%s", err, clip(body))
	}
	return recs
}

func TestIndicators(t *testing.T) {
	x := newHarness(t)
	b := x.browser()
	b.login("fatima")
	page := b.get("/coach/cohorts/" + fatimaCohort + "/indicators")
	title := content(t).Lessons.Lesson("costing-1").Title.In(bot.French)
	want(t, "indicators", page, 200, `id="funnel"`, `id="weekly"`, `id="scores"`, "revenue_stable",
		template(title), "2 / 3", // costing-1: three started it, two finished
		"<strong>5</strong> membres", "<strong>1</strong> bloqué", "<strong>1</strong> désinscrit")
	if n := strings.Count(page.body, `<svg class="chart"`); n != 4 {
		t.Errorf("%d charts, want 4 (funnel, weekly, scores, one outcome)", n)
	}
}

func TestCSVFormulaCellsAreQuoted(t *testing.T) {
	x := newHarness(t)
	x.api("fatima", "POST", "/coach/api/cohorts/"+fatimaCohort+"/reminders", map[string]string{"text": "=HYPERLINK(\"http://evil\")"})
	x.api("fatima", "POST", "/coach/api/cohorts/"+fatimaCohort+"/reminders", map[string]string{"text": "Bonjour;=1+1"})
	x.api("fatima", "POST", "/coach/api/cohorts/"+fatimaCohort+"/reminders", map[string]string{"text": ";=1+1"})
	b := x.browser()
	b.login("fatima")
	for _, tt := range []struct {
		query string
		sep   rune
	}{{"", ','}, {"?sep=comma", ','}, {"?sep=semicolon", ';'}} {
		r := b.get("/coach/cohorts/" + fatimaCohort + "/outbox.csv" + tt.query)
		texts := map[string]bool{}
		for _, rec := range parseCSV(t, r.body, tt.sep)[1:] {
			texts[rec[len(rec)-1]] = true
		}
		for _, text := range []string{`'=HYPERLINK("http://evil")`, "Bonjour;=1+1", "';=1+1"} {
			if !texts[text] {
				t.Errorf("outbox.csv%s: no job with the text %q; got %v", tt.query, text, texts)
			}
		}
		// Read with the other separator, no cell starts a formula either.
		other := map[rune]rune{',': ';', ';': ','}[tt.sep]
		rd := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\ufeff")))
		rd.Comma, rd.LazyQuotes, rd.FieldsPerRecord = other, true, -1
		recs, err := rd.ReadAll()
		if err != nil {
			t.Fatalf("outbox.csv%s read with %q: %v", tt.query, other, err)
		}
		for _, rec := range recs {
			for _, cell := range rec {
				if c := strings.TrimLeft(cell, " "); c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
					t.Errorf("outbox.csv%s read with %q: the cell %q starts a formula", tt.query, other, cell)
				}
			}
		}
	}
	want(t, "CSV with an unknown separator", b.get("/coach/cohorts/"+fatimaCohort+"/outbox.csv?sep=tab"), http.StatusBadRequest)
}
