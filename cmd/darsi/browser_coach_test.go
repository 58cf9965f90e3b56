package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// addCoach runs "darsi coach add" on the store and returns the API token
// it prints.
func addCoach(t *testing.T, store, login, role, password string) string {
	t.Helper()
	cmd := exec.Command(darsiBinary(t), "coach", "add", login, "--role", role, "--name", strings.ToUpper(login[:1])+login[1:])
	cmd.Env = append(os.Environ(), "DARSI_STORE="+store)
	cmd.Stdin = strings.NewReader(password + "\n")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("darsi coach add %s: %v\n%s", login, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// notQuietNow returns a DARSI_QUIET_HOURS that holds nothing for the next
// hours: one minute half a day away, so that the test passes at any hour.
func notQuietNow(t *testing.T) string {
	loc, err := time.LoadLocation("Africa/Casablanca")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Now().In(loc).Add(12 * time.Hour)
	return from.Format("15:04") + "-" + from.Add(time.Minute).Format("15:04")
}

// TestBrowserCoach drives the coach dashboard of the real "darsi serve"
// in a headless Chromium on a phone-sized screen: a coach logs in, creates
// a cohort and sees its QR code; a learner joins it on WhatsApp; the coach
// previews and schedules a reminder and sees it delivered on the outbox
// page once the fake Twilio reports it; another coach sees nothing of the
// cohort, on pages, CSV or API.
func TestBrowserCoach(t *testing.T) {
	exe := chromiumPath(t)
	start := time.Now()
	store := filepath.Join(t.TempDir(), "darsi.db")
	const fatimaPW, youssefPW = "fatima-secret-1", "youssef-secret-1"
	addCoach(t, store, "fatima", "coach", fatimaPW)
	youssefToken := addCoach(t, store, "youssef", "coach", youssefPW)

	const sid = "AC00000000000000000000000000000000"
	fake := twiliotest.NewFake(t, sid, e2eToken)
	t.Setenv("TWILIO_API_BASE_URL", fake.URL)
	t.Setenv("TWILIO_WHATSAPP_FROM", "whatsapp:+14155238886")
	// Conversations by TwiML: this test counts what the outbox sends.
	t.Setenv("DARSI_INTERACTIVE", "off")
	t.Setenv("DARSI_QUIET_HOURS", notQuietNow(t))
	r := startReplica(t, store)

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	bctx := startBrowser(t, ctx, exe)
	var mu sync.Mutex
	var exceptions []string
	if err := chromedp.Listen(bctx, func(ev any) {
		if ev, ok := ev.(*runtime.EventExceptionThrown); ok {
			mu.Lock()
			exceptions = append(exceptions, ev.ExceptionDetails.Text)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv("DARSI_COACH_SCREENSHOTS") // a folder for the pages' pictures
	shot := func(name string) {
		if shots == "" {
			return
		}
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err == nil {
			os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644)
		}
	}
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, r.logs)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	login := func(who, password string) {
		t.Helper()
		do("log in as "+who,
			chromedp.Navigate(r.base+"/coach/"),
			chromedp.WaitVisible(chromedp.ID("password")),
			chromedp.SendKeys(chromedp.ID("login"), who),
			chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.ID("create")),
		)
	}

	do("phone screen", chromedp.EmulateViewport(412, 860, chromedp.EmulateScale(2)))
	login("fatima", fatimaPW)
	shot("1-cohorts")

	// Create a cohort: its page shows the code, the wa.me link and the QR.
	do("create a cohort",
		chromedp.SendKeys(chromedp.CSS(`#create input[name="name"]`), "Couturières de Salé"),
		chromedp.Click(chromedp.CSS(`#create button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#qr svg.qr`)),
	)
	code := text("#code")
	link := text("#link")
	if len(code) != 6 || link != "https://wa.me/14155238886?text=join%20"+code {
		t.Fatalf("new cohort: code %q, link %q", code, link)
	}
	qrModules, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelector("#qr svg path").getAttribute("d").split("M").length - 1`))
	if err != nil || qrModules < 100 {
		t.Fatalf("QR code: %d runs of modules (%v)", qrModules, err)
	}
	qrWidth, _ := chromedp.Run(bctx, chromedp.Evaluate[float64](`document.querySelector("#qr svg").getBoundingClientRect().width`))
	if qrWidth < 120 {
		t.Errorf("the QR code is %.0f px wide on a phone: too small to scan", qrWidth)
	}
	overflow, _ := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if overflow {
		t.Errorf("the cohort page is wider than the phone's screen")
	}
	shot("2-cohort")

	// A learner joins on WhatsApp, in French, with the code.
	learner := "+212600000301"
	for i, msg := range []string{"salam", "3", "1", "join " + code} {
		r.send(learner, fmt.Sprintf("SMcoach%026d", i), msg)
	}
	do("the learner is listed",
		chromedp.Navigate(r.base+"/coach/cohorts/"+code),
		chromedp.WaitVisible(chromedp.ID("learners")),
	)
	if got := text("#learners tbody .num"); got != "whatsapp:+2126******01" {
		t.Errorf("learner shown as %q, want the masked number", got)
	}

	// Preview, then schedule a reminder.
	reminder := "Atelier demain à 10 h, apportez vos carnets."
	do("preview a reminder",
		chromedp.Navigate(r.base+"/coach/cohorts/"+code+"/remind"),
		chromedp.WaitVisible(chromedp.ID("text")),
		chromedp.SendKeys(chromedp.ID("text"), reminder),
		chromedp.Click(chromedp.ID("preview")),
		chromedp.WaitVisible(chromedp.ID("previews")),
	)
	if got := text("#routes"); !strings.HasPrefix(got, "1 en texte libre · 0 par modèle") {
		t.Errorf("routes: %q, want the learner inside the window", got)
	}
	if got := text(`[data-lang="fr"] .segs`); !strings.Contains(got, "SMS : 1 segment") {
		t.Errorf("French preview: %q", got)
	}
	shot("3-preview")
	do("schedule it",
		chromedp.Click(chromedp.ID("queue")),
		chromedp.WaitVisible(chromedp.ID("queued")),
	)
	if got := text("#queued"); got != "1 message programmé." {
		t.Errorf("after scheduling: %q", got)
	}

	// The server's scheduler sends it; the fake reports it delivered.
	var msgSID string
	for deadline := time.Now().Add(30 * time.Second); msgSID == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, m := range fake.Messages() {
			if m.To == "whatsapp:"+learner && strings.Contains(m.Body, reminder) {
				msgSID = m.SID
			}
		}
	}
	if msgSID == "" {
		t.Fatalf("the reminder never reached the fake Twilio; it got %d messages\n%s", len(fake.Messages()), r.logs)
	}
	if err := fake.Callback(ctx, msgSID, bot.StatusDelivered, 0); err != nil {
		t.Fatalf("status callback: %v\n%s", err, r.logs)
	}
	delivered := false
	for deadline := time.Now().Add(15 * time.Second); !delivered && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		do("the outbox page",
			chromedp.Navigate(r.base+"/coach/cohorts/"+code+"/outbox"),
			chromedp.WaitVisible(chromedp.ID("jobs")),
		)
		delivered = text(`#jobs tr[data-kind="reminder"] td.delivery`) == "remis" && strings.HasPrefix(text(`#jobs tr[data-kind="reminder"] td.status`), "remis")
	}
	if !delivered {
		t.Errorf("the outbox page shows status %q, delivery %q; want remis, remis\n%s", text(`#jobs tr[data-kind="reminder"] td.status`), text(`#jobs tr[data-kind="reminder"] td.delivery`), r.logs)
	}
	shot("4-outbox")
	do("the indicators page",
		chromedp.Navigate(r.base+"/coach/cohorts/"+code+"/indicators"),
		chromedp.WaitVisible(chromedp.CSS(`#weekly svg.chart`)),
	)
	shot("5-indicators")

	// Another coach sees nothing of it.
	do("log out", chromedp.Click(chromedp.CSS(`.logout button`)), chromedp.WaitVisible(chromedp.ID("password")))
	login("youssef", youssefPW)
	if list := text("main"); strings.Contains(list, code) {
		t.Errorf("youssef's cohort list shows %s", code)
	}
	resp, err := chromedp.Run(bctx, chromedp.NavigateResponse(r.base+"/coach/cohorts/"+code))
	if err != nil || resp.Status != http.StatusNotFound {
		t.Errorf("youssef opens the cohort in the browser: %v (%v), want 404", resp, err)
	}

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"login": {"youssef"}, "password": {youssefPW}}
	lr, err := client.PostForm(r.base+"/coach/login", form)
	if err != nil || lr.StatusCode != http.StatusSeeOther {
		t.Fatalf("youssef logs in over HTTP: %v %v", lr, err)
	}
	lr.Body.Close()
	for _, p := range []string{"", "/learners.csv", "/outbox", "/outbox.csv", "/indicators", "/remind", "/poster.svg"} {
		resp, err := client.Get(r.base + "/coach/cohorts/" + code + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("youssef GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/learners", ""}, {"GET", "/jobs", ""}, {"POST", "/reminders", `{"text":"hi"}`},
	} {
		req, _ := http.NewRequest(c.method, r.base+"/coach/api/cohorts/"+code+c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+youssefToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct{ Error string }
		if resp.StatusCode != http.StatusNotFound || json.Unmarshal(data, &e) != nil || e.Error == "" {
			t.Errorf("youssef API %s %s: %d %s, want 404 and a JSON error", c.method, c.path, resp.StatusCode, data)
		}
	}
	if n := len(fake.Messages()); n != 1 {
		t.Errorf("the fake Twilio got %d messages, want the one reminder", n)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, e := range exceptions {
		t.Errorf("JavaScript exception: %s", e)
	}
	t.Logf("coach dashboard in the browser: %s", time.Since(start).Round(time.Millisecond))
}
