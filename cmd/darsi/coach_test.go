package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
)

func TestReadPassword(t *testing.T) {
	if p, err := readPassword(strings.NewReader("long enough pw\nrest")); err != nil || string(p) != "long enough pw" {
		t.Errorf("got %q, %v", p, err)
	}
	if p, err := readPassword(strings.NewReader("long enough pw\r\n")); err != nil || string(p) != "long enough pw" {
		t.Errorf("CRLF: got %q, %v", p, err)
	}
	// Too short or too long: app.Coaching.AddCoach refuses it, and
	// nothing is saved.
	store := filepath.Join(t.TempDir(), "darsi.db")
	for _, in := range []string{"", "short\n", strings.Repeat("x", 73)} {
		if code, _, errOut := darsi(t, in, "coach", "add", "amina", "--store", store); code == 0 || !strings.Contains(errOut, "password") {
			t.Errorf("coach add with password %q: exit %d, stderr %q", in, code, errOut)
		}
	}
}

func TestCohortPoster(t *testing.T) {
	store := filepath.Join(t.TempDir(), "darsi.db")
	poster := filepath.Join(t.TempDir(), "poster.svg")
	t.Setenv("TWILIO_WHATSAPP_FROM", "whatsapp:+212522000000")
	code, out, errOut := darsi(t, "", "cohort", "create", "Couture Safi", "--poster", poster, "--store", store)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	svg, err := os.ReadFile(poster)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "Couture Safi", "ⵜⴰⵔⴰⴱⴱⵓⵜ", "للانضمام", "rejoindre", "wa.me/212522000000"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("poster lacks %q", want)
		}
	}
	if !strings.Contains(out, "poster: "+poster) {
		t.Errorf("stdout %q does not name the poster", out)
	}

	// Without a WhatsApp number: no link (and a warning), no poster, and
	// a refused --poster creates no cohort.
	t.Setenv("TWILIO_WHATSAPP_FROM", "")
	code, out, errOut = darsi(t, "", "cohort", "create", "Tissage", "--json", "--store", store)
	if code != 0 || !strings.Contains(out, `"link":""`) || !strings.Contains(errOut, "TWILIO_WHATSAPP_FROM") {
		t.Errorf("no number: exit %d, %q, %q", code, out, errOut)
	}
	if code, _, _ := darsi(t, "", "cohort", "create", "Poterie", "--poster", poster, "--store", store); code == 0 {
		t.Error("a poster without a WhatsApp number was made")
	}
	_, out, _ = darsi(t, "", "cohort", "list", "--json", "--store", store)
	var list []listedCohort
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 {
		t.Errorf("cohort list: %q, %v; want 2 cohorts", out, err)
	}
}

// TestCoachCommandsJSON runs the commands as a script would, on the
// embedded store, once the stores keep cohorts and an outbox.
func TestCoachCommandsJSON(t *testing.T) {
	store := filepath.Join(t.TempDir(), "darsi.db")
	t.Setenv("TWILIO_WHATSAPP_FROM", "whatsapp:+212522000000")

	code, out, errOut := darsi(t, "long enough password\n", "coach", "add", "amina", "--name", "Amina", "--store", store)
	if code != 0 || !strings.HasPrefix(strings.TrimSpace(out), "darsi_") {
		t.Fatalf("coach add: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = darsi(t, "", "cohort", "create", "Couture", "Safi", "--coach", "amina", "--json", "--store", store)
	if code != 0 {
		t.Fatalf("cohort create: exit %d: %s", code, errOut)
	}
	var created map[string]string
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("cohort create --json printed %q: %v", out, err)
	}
	if len(created) != 2 || !cohort.ValidCode(created["code"]) || created["link"] != "https://wa.me/212522000000?text=join%20"+created["code"] {
		t.Errorf("cohort create --json = %q", out)
	}
	if code, out, errOut = darsi(t, "", "cohort", "list", "--store", store); code != 0 || !strings.Contains(out, "Couture Safi") {
		t.Errorf("cohort list: exit %d, %q, %q", code, out, errOut)
	}
	// Members join through the terminal chat, which reaches no phone: the
	// reminder skips them.
	lines := `{"text":"join ` + created["code"] + `"}` + "\n"
	if code, _, errOut = darsi(t, lines, "chat", "--jsonl", "--store", store); code != 0 {
		t.Fatalf("chat: %s", errOut)
	}
	code, out, errOut = darsi(t, "", "remind", "--cohort", created["code"], "--text", "Leçon 2 !", "--store", store)
	if code != 1 || !strings.HasPrefix(out, "0 reminders queued") || !strings.Contains(out, "1 members talk to the bot from the terminal") ||
		!strings.Contains(errOut, "nobody in cohort") {
		t.Errorf("remind: exit %d, %q, %q", code, out, errOut)
	}
}

// TestCoachCommandsWhileServing: the embedded store is one process's; a
// command says what to do when darsi serve holds it.
func TestCoachCommandsWhileServing(t *testing.T) {
	store := filepath.Join(t.TempDir(), "darsi.db")
	s, err := boltstore.Open(store, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	code, _, errOut := darsi(t, "", "cohort", "list", "--store", store)
	if code != 1 || !strings.Contains(errOut, "the store "+store+" is in use by a running darsi serve: stop it") {
		t.Errorf("store held: exit %d, stderr %q", code, errOut)
	}
}

// TestFirstCoach: darsi serve on an embedded store without any coach
// account prints the command that makes the first one; that command, run
// while the server holds the file, says to stop it; run as printed once
// the server stopped, it makes the account, and the next start prints
// nothing.
func TestFirstCoach(t *testing.T) {
	store := filepath.Join(t.TempDir(), "darsi.db")
	r := startReplica(t, store)
	var command string
	for deadline := time.Now().Add(5 * time.Second); command == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := regexp.MustCompile(`command="([^"]+)"`).FindStringSubmatch(r.logs.String()); m != nil {
			command = m[1]
		}
	}
	want := "darsi coach add admin --role admin --store " + store + " < password.txt"
	if command != want || !strings.Contains(r.logs.String(), "stop darsi serve (Ctrl-C)") {
		t.Fatalf("darsi serve printed the command %q, want %q\n%s", command, want, r.logs)
	}
	args := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(command, "darsi "), " < password.txt"))
	const password = "first-admin-secret"
	code, _, errOut := darsi(t, password+"\n", args...)
	if code != 1 || !strings.Contains(errOut, "the store "+store+" is in use by a running darsi serve: stop it") {
		t.Errorf("coach add while serving: exit %d, stderr %q", code, errOut)
	}
	r.stop()
	code, token, errOut := darsi(t, password+"\n", args...)
	if code != 0 || len(strings.TrimSpace(token)) < 20 {
		t.Fatalf("the printed command: exit %d, token %q, stderr %q", code, token, errOut)
	}
	r = startReplica(t, store)
	req, _ := http.NewRequest("GET", r.base+"/coach/api/cohorts", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(token))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the first coach's token: %d", resp.StatusCode)
	}
	r.stop()
	if strings.Contains(r.logs.String(), "no coach account") {
		t.Errorf("a store with a coach still gets the first-coach hint:\n%s", r.logs)
	}
}

func TestCoachCommandsUsage(t *testing.T) {
	for _, args := range [][]string{
		{"coach"}, {"coach", "remove", "x"}, {"coach", "add"}, {"coach", "disable"}, {"coach", "disable", "a", "b"},
		{"cohort"}, {"cohort", "create"}, {"cohort", "list", "extra"},
		{"remind"}, {"remind", "--cohort", "K7M2QX"}, {"remind", "--cohort", "K7M2QX", "--text", "x", "--at", "tomorrow"},
	} {
		code, _, errOut := darsi(t, "", append(args, "--store", filepath.Join(t.TempDir(), "x.db"))...)
		if code == 0 || errOut == "" {
			t.Errorf("darsi %q: exit %d, stderr %q", args, code, errOut)
		}
	}
}

// TestReminderQueuedOnceFromEveryAdapter queues the same reminder (same
// cohort, text and time) from the command line, then the dashboard's form,
// then the API: the outbox gets it once, whichever way it came.
func TestReminderQueuedOnceFromEveryAdapter(t *testing.T) {
	ctx := context.Background()
	store := filepath.Join(t.TempDir(), "darsi.db")
	code, out, errOut := darsi(t, "long enough password\n", "coach", "add", "fatima", "--store", store)
	if code != 0 {
		t.Fatalf("coach add: %s", errOut)
	}
	token := strings.TrimSpace(out)
	code, out, errOut = darsi(t, "", "cohort", "create", "Couture Safi", "--coach", "fatima", "--json", "--store", store)
	var created createdCohort
	if code != 0 || json.Unmarshal([]byte(out), &created) != nil {
		t.Fatalf("cohort create: exit %d, %q, %q", code, out, errOut)
	}

	// Three learners join on WhatsApp.
	cfg := defaultConfig(t)
	cfg.Store = store
	a, s, err := openApp(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.Cohorts = s
	for i := range 3 {
		from := bot.LearnerID(bot.WhatsApp, fmt.Sprintf("+21260000000%d", i))
		if _, err := a.HandleInbound(ctx, bot.Inbound{ID: from, From: from, Channel: bot.WhatsApp, Text: "join " + created.Code}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	zone, err := time.LoadLocation("Africa/Casablanca")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(zone).AddDate(0, 0, 10)
	at := time.Date(day.Year(), day.Month(), day.Day(), 9, 30, 0, 0, zone)
	for _, tt := range []struct {
		name                 string
		cli                  []string
		form                 url.Values
		api                  map[string]string
		wantQueuedFromTheCLI int
	}{
		{"now", nil, url.Values{}, map[string]string{}, 3},
		{"at a time", []string{"--at", at.Format(time.RFC3339)}, url.Values{"at": {at.Format("2006-01-02T15:04")}},
			map[string]string{"at": at.UTC().Format(time.RFC3339)}, 3},
	} {
		text := "Atelier " + tt.name + " : apportez vos factures."
		args := append([]string{"remind", "--cohort", created.Code, "--text", text, "--json", "--store", store}, tt.cli...)
		code, out, errOut := darsi(t, "", args...)
		var fromCLI app.Reminded
		if code != 0 || json.Unmarshal([]byte(out), &fromCLI) != nil || fromCLI.Queued != tt.wantQueuedFromTheCLI {
			t.Fatalf("%s: remind: exit %d, %q, %q", tt.name, code, out, errOut)
		}

		cfg.Store = store
		s, err := cfg.openStore(ctx)
		if err != nil {
			t.Fatal(err)
		}
		a := app.New(s, a.Content())
		base := httptestServer(t, routes(cfg, a, s, nil, discardLog()))
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := browser.PostForm(base+"/coach/login", url.Values{"login": {"fatima"}, "password": {"long enough password"}})
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: login: %v %v", tt.name, resp, err)
		}
		resp.Body.Close()
		form := url.Values{"text": {text}, "action": {"queue"}}
		for k, v := range tt.form {
			form[k] = v
		}
		resp, err = browser.PostForm(base+"/coach/cohorts/"+created.Code+"/remind", form)
		if err != nil || resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "queued=0") {
			t.Fatalf("%s: the form: %v, %v; want a redirect with queued=0", tt.name, resp, err)
		}
		resp.Body.Close()

		body := map[string]string{"text": text}
		for k, v := range tt.api {
			body[k] = v
		}
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, base+"/coach/api/cohorts/"+created.Code+"/reminders", bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var fromAPI struct {
			Queued, Already int
			ID              string
		}
		json.NewDecoder(resp.Body).Decode(&fromAPI)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || fromAPI.Queued != 0 || fromAPI.Already != 3 || fromAPI.ID != fromCLI.Reminder {
			t.Errorf("%s: the API: %d %+v; want nothing queued, 3 already, reminder %s", tt.name, resp.StatusCode, fromAPI, fromCLI.Reminder)
		}

		jobs, _, err := s.Jobs(ctx, schedule.Filter{Cohort: created.Code, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, j := range jobs {
			if j.Text == text {
				n++
				if !strings.HasPrefix(j.ID, fromCLI.Reminder+"-") {
					t.Errorf("%s: job %s is not of reminder %s", tt.name, j.ID, fromCLI.Reminder)
				}
			}
		}
		if n != 3 {
			t.Errorf("%s: %d jobs with the text, want 3 (once per member)", tt.name, n)
		}
		s.Close()
	}
}

// TestCoachWhatsApp: darsi coach add --whatsapp stores the coach's number
// for the digest and shows it masked; a new password keeps it, --whatsapp
// "" erases it, and a national number is refused without being echoed.
func TestCoachWhatsApp(t *testing.T) {
	store := filepath.Join(t.TempDir(), "darsi.db")
	const pw = "fatima-secret-1\n"
	code, _, errOut := darsi(t, pw, "coach", "add", "fatima", "--whatsapp", "+212600000555", "--store", store)
	if code != 0 || !strings.Contains(errOut, "daily digest of new questions to whatsapp:+2126******55") || strings.Contains(errOut, "600000555") {
		t.Fatalf("coach add --whatsapp: exit %d, stderr %q", code, errOut)
	}
	number := func() string {
		t.Helper()
		s, err := boltstore.Open(store, boltstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c, err := s.Coach(context.Background(), "fatima")
		if err != nil {
			t.Fatal(err)
		}
		return c.WhatsApp
	}
	if got := number(); got != "whatsapp:+212600000555" {
		t.Errorf("stored %q", got)
	}
	if code, _, errOut = darsi(t, pw, "coach", "add", "fatima", "--store", store); code != 0 || number() != "whatsapp:+212600000555" {
		t.Errorf("a new password: exit %d %q, number %q", code, errOut, number())
	}
	if code, _, errOut = darsi(t, pw, "coach", "add", "fatima", "--whatsapp", "", "--store", store); code != 0 || number() != "" || !strings.Contains(errOut, "no WhatsApp number") {
		t.Errorf("--whatsapp \"\": exit %d %q, number %q", code, errOut, number())
	}
	if code, _, errOut = darsi(t, pw, "coach", "add", "fatima", "--whatsapp", "0600000555", "--store", store); code != 1 || !strings.Contains(errOut, "international number") || strings.Contains(errOut, "0600000555") {
		t.Errorf("a national number: exit %d %q", code, errOut)
	}
}
