package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/coachweb"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// remindDB is the Redis database of TestReminderInFourLanguagesOnTime,
// emptied before and after.
const remindDB = 5

// timedLearner is a member of the cohort of the reminder test.
type timedLearner struct {
	id       string
	lang     bot.Lang
	inWindow bool   // wrote two hours before the reminder
	zone     string // the zone their number (or BSUID) puts them in
}

// TestReminderInFourLanguagesOnTime: a coach writes a reminder in Darija,
// Arabic, French and Tamazight for a Friday at 12:45 in Morocco, to
// learners in Casablanca (a number and a BSUID), Paris, Dubai and
// Toronto. The preview (the API's and the page's) announces, learner by
// learner, when each will receive it: the Friday prayer holds it in
// Casablanca and Paris, the night in Toronto, nothing in Dubai. Queued,
// then sent by the outbox runner on a fake clock moved a minute at a time
// to the fake Twilio, each learner receives it once, in their language
// (free text inside the 24-hour window, the template outside it), at the
// very time the preview announced. On both stores.
func TestReminderInFourLanguagesOnTime(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		cfg := defaultConfig(t)
		cfg.Store = filepath.Join(t.TempDir(), "darsi.db")
		remindScenario(t, cfg)
	})
	t.Run("redis", func(t *testing.T) {
		cfg := defaultConfig(t)
		cfg.Store = redisDB(t, remindDB)
		remindScenario(t, cfg)
	})
}

func remindScenario(t *testing.T, cfg Config) {
	ctx := context.Background()
	// A Friday in June next year (the stores date sessions by the real
	// clock), 12:45 in Casablanca (UTC+1): inside the Friday prayer's
	// quiet hours there and in Paris, 07:45 in Toronto (night), 15:45 in
	// Dubai.
	day := time.Date(time.Now().Year()+1, 6, 8, 0, 0, 0, 0, time.UTC)
	for day.Weekday() != time.Friday {
		day = day.AddDate(0, 0, 1)
	}
	at := day.Add(11*time.Hour + 45*time.Minute)
	clock := &fakeClock{t: at.Add(-30 * time.Minute)}
	q, err := schedule.ParseQuiet("21:00-08:00,Fri 12:30-14:30")
	if err != nil {
		t.Fatal(err)
	}
	cfg.QuietHours = q
	cfg.Templates, err = schedule.ParseTemplates("templates.yaml", []byte(`
reminder:
  ary: {sid: HX000000000000000000000000000000a1, vars: {"1": text}}
  ar: {sid: HX000000000000000000000000000000a2, vars: {"1": text}}
  fr: {sid: HX000000000000000000000000000000a3, vars: {"1": text}}
  zgh: {sid: HX000000000000000000000000000000a4, vars: {"1": text}}
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := cfg.openStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	content, err := loadContent("")
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(s, content)
	a.Now = clock.Now
	coaching := newCoaching(cfg, s, a.Content, discardLog())
	coaching.Now = clock.Now
	_, token, err := coaching.AddCoach(ctx, app.NewCoach{Login: "hanane", Password: []byte("hanane-secret-1"), Role: "coach"})
	if err != nil {
		t.Fatal(err)
	}
	co, err := coaching.CreateCohort(ctx, app.Operator, "Tissage Tafraout", "hanane")
	if err != nil {
		t.Fatal(err)
	}
	dash, err := coachweb.New(coachweb.Config{Coaching: coaching, Deliveries: s, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(coachweb.Prefix+"/", dash)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	learners := []timedLearner{
		{"whatsapp:+212600000801", bot.Darija, true, "Africa/Casablanca"},
		{"whatsapp:+971500000802", bot.Arabic, false, "Asia/Dubai"},
		{"whatsapp:+33600000803", bot.French, true, "Europe/Paris"},
		{"whatsapp:MA.1502576394650804", bot.Tamazight, false, "Africa/Casablanca"},
		{"whatsapp:+15145550805", bot.French, false, "America/Toronto"},
	}
	for _, tl := range learners {
		last := at.Add(-2 * time.Hour)
		if !tl.inWindow {
			last = at.Add(-72 * time.Hour)
		}
		if _, err := s.Update(ctx, tl.id, "", func(l *bot.Learner) (app.Change, error) {
			l.Channel, l.Lang, l.Consent, l.Cohort, l.Phase = bot.WhatsApp, tl.lang, true, co.Code, bot.PhaseMenu
			l.LastInboundAt, l.UpdatedAt = last, last
			return app.Change{}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	texts := map[bot.Lang]string{
		bot.Darija:    "الخدمة ديال النهار: جيب الفاتورة ديالك للورشة.",
		bot.Arabic:    "تذكير: أحضر فاتورتك إلى الورشة.",
		bot.French:    "Rappel : apporte ta facture à l'atelier.",
		bot.Tamazight: "ⴰⵙⵎⵓⵜⵜⵉ: ⴰⵡⵉ ⵜⴰⴼⴰⴽⵜⵓⵔⵜ ⵏⵏⴽ.",
	}
	body := map[string]any{"texts": texts, "at": at.Format(time.RFC3339)}
	api := func(path string, want int) []byte {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("POST %s: %d, want %d\n%s", path, resp.StatusCode, want, data)
		}
		return data
	}

	// The preview, by the API.
	var plan coachweb.PreviewResponse
	if err := json.Unmarshal(api("/coach/api/cohorts/"+co.Code+"/reminders/preview", http.StatusOK), &plan); err != nil {
		t.Fatal(err)
	}
	announced := map[string]time.Time{}
	for _, m := range plan.Members {
		sendAt, err := time.Parse(time.RFC3339Nano, m.SendAt)
		if err != nil {
			t.Fatalf("preview of %s: send_at %q: %v", m.Learner, m.SendAt, err)
		}
		announced[m.Learner] = sendAt
	}
	wantAt := map[string]time.Time{
		// The Friday prayer in Casablanca ends at 14:30 (13:30 UTC), in
		// Paris at 14:30 (12:30 UTC); the night in Toronto at 08:00
		// (12:00 UTC); Dubai's 15:45 is no quiet time.
		learners[0].id: day.Add(13*time.Hour + 30*time.Minute),
		learners[1].id: at,
		learners[2].id: day.Add(12*time.Hour + 30*time.Minute),
		learners[3].id: day.Add(13*time.Hour + 30*time.Minute),
		learners[4].id: day.Add(12 * time.Hour),
	}
	for _, tl := range learners {
		got, ok := announced[bot.Mask(tl.id)]
		if !ok || !got.Equal(wantAt[tl.id]) {
			t.Errorf("preview of %s (%s): send at %v, want %v", bot.Mask(tl.id), tl.zone, got, wantAt[tl.id])
		}
	}
	for _, m := range plan.Members {
		for _, tl := range learners {
			if bot.Mask(tl.id) == m.Learner && (m.Zone != tl.zone || m.Lang != tl.lang) {
				t.Errorf("preview of %s: zone %s, language %s; want %s, %s", m.Learner, m.Zone, m.Lang, tl.zone, tl.lang)
			}
		}
	}
	for _, l := range plan.Langs {
		if l.Own != texts[l.Lang] || !strings.Contains(l.Text, texts[l.Lang]) {
			t.Errorf("preview in %s: own %q, text %q; want the coach's %q", l.Lang, l.Own, l.Text, texts[l.Lang])
		}
	}

	// The page's preview announces the same times.
	jar := &cookieJar{}
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", srv.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post("/coach/login", url.Values{"login": {"hanane"}, "password": {"hanane-secret-1"}, "next": {"/coach/"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("log in: %d", resp.StatusCode)
	}
	form := url.Values{"action": {"preview"}, "at": {at.Format(time.RFC3339)}}
	for lang, text := range texts {
		form.Set("text_"+string(lang), text)
	}
	resp = post("/coach/cohorts/"+co.Code+"/remind", form)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the form's preview: %d\n%s", resp.StatusCode, page)
	}
	rows := regexp.MustCompile(`<bdi dir="ltr">([^<]+)</bdi>.*?data-send-at="([^"]*)"`).FindAllStringSubmatch(strings.ReplaceAll(string(page), "\n", " "), -1)
	if len(rows) != len(learners) {
		t.Fatalf("the page's preview has %d rows with a send time, want %d", len(rows), len(learners))
	}
	for _, row := range rows {
		learner := strings.ReplaceAll(row[1], "&#43;", "+")
		got, err := time.Parse(time.RFC3339, row[2])
		if err != nil || !got.Equal(announced[learner]) {
			t.Errorf("the page announces %s for %s, the API %v", row[2], learner, announced[learner])
		}
	}

	// Queued by the API, then sent by the runner as the clock moves.
	var queued coachweb.ReminderResponse
	if err := json.Unmarshal(api("/coach/api/cohorts/"+co.Code+"/reminders", http.StatusAccepted), &queued); err != nil || queued.Queued != len(learners) {
		t.Fatalf("queued %+v, %v; want %d jobs", queued, err, len(learners))
	}
	fake := twiliotest.NewFake(t, e2eAccount, e2eToken)
	fake.SetClock(clock.Now)
	sender, err := twilio.NewSender(twilio.SenderConfig{AccountSID: e2eAccount, AuthToken: e2eToken, BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	runner, err := schedule.NewRunner(schedule.Config{Outbox: s, Learners: s, Sender: sender, Text: a.Content().Text,
		Deliveries: s, Limiter: s, Rate: 20, Policy: *cfg.policy(), WhatsAppFrom: waSender, Worker: "replica-1",
		Now: clock.Now, Logger: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	for now := at.Add(-5 * time.Minute); !now.After(at.Add(150 * time.Minute)); now = now.Add(time.Minute) {
		clock.Set(now)
		for {
			n, err := runner.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
	got := map[string][]twiliotest.FakeMessage{}
	for _, m := range fake.Messages() {
		got[m.To] = append(got[m.To], m)
	}
	for _, tl := range learners {
		msgs := got[tl.id]
		if len(msgs) != 1 {
			t.Errorf("%s received %d messages, want 1", bot.Mask(tl.id), len(msgs))
			continue
		}
		m := msgs[0]
		if !m.At.Equal(announced[bot.Mask(tl.id)]) {
			t.Errorf("%s (%s) received it at %v, the preview announced %v", bot.Mask(tl.id), tl.zone, m.At, announced[bot.Mask(tl.id)])
		}
		switch {
		case tl.inWindow && (m.ContentSID != "" || !strings.Contains(m.Body, texts[tl.lang])):
			t.Errorf("%s, inside the window, got template %q, body %q; want the %s text", bot.Mask(tl.id), m.ContentSID, m.Body, tl.lang)
		case !tl.inWindow && (m.ContentSID == "" || m.ContentVariables["1"] != texts[tl.lang]):
			t.Errorf("%s, outside the window, got template %q with %v; want the %s template with the %s text", bot.Mask(tl.id), m.ContentSID, m.ContentVariables, tl.lang, tl.lang)
		}
	}
	if counts, err := s.Counts(ctx, co.Code); err != nil || counts[schedule.Sent] != len(learners) {
		t.Errorf("the cohort's jobs: %v, %v; want %d sent", counts, err, len(learners))
	}
}

// cookieJar keeps the session cookie of the test's dashboard client.
type cookieJar struct {
	mu      sync.Mutex
	cookies []*http.Cookie
}

func (j *cookieJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cookies = append(j.cookies, cookies...)
}

func (j *cookieJar) Cookies(u *url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cookies
}
