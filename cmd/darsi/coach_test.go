package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
	"github.com/darsi-ma/darsi/locales"
)

// memCohorts is a cohort.Store in memory, standing in for the stores' own
// in the tests of the commands' logic.
type memCohorts struct {
	mu      sync.Mutex
	cohorts []cohort.Cohort
	coaches map[string]cohort.Coach
}

func (m *memCohorts) CreateCohort(ctx context.Context, c cohort.Cohort) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.cohorts {
		if strings.EqualFold(x.Code, c.Code) {
			return bot.Errorf("mem.CreateCohort", bot.Conflict, "code %s taken", c.Code)
		}
	}
	m.cohorts = append(m.cohorts, c)
	return nil
}

func (m *memCohorts) Cohort(ctx context.Context, code string) (cohort.Cohort, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.cohorts {
		if strings.EqualFold(x.Code, code) {
			return x, nil
		}
	}
	return cohort.Cohort{}, bot.Errorf("mem.Cohort", bot.NotFound, "no cohort %s", code)
}

func (m *memCohorts) Cohorts(ctx context.Context, coach string) ([]cohort.Cohort, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []cohort.Cohort
	for _, x := range m.cohorts {
		if coach == "" || x.Coach == coach {
			out = append(out, x)
		}
	}
	return out, nil
}

func (m *memCohorts) PutCoach(ctx context.Context, c cohort.Coach) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.coaches == nil {
		m.coaches = map[string]cohort.Coach{}
	}
	m.coaches[c.Login] = c
	return nil
}

func (m *memCohorts) Coach(ctx context.Context, login string) (cohort.Coach, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.coaches[login]
	if !ok {
		return cohort.Coach{}, bot.Errorf("mem.Coach", bot.NotFound, "no coach %s", login)
	}
	return c, nil
}

func (m *memCohorts) CoachByToken(ctx context.Context, tokenHash string) (cohort.Coach, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.coaches {
		if c.TokenHash == tokenHash {
			return c, nil
		}
	}
	return cohort.Coach{}, bot.Errorf("mem.CoachByToken", bot.NotFound, "no such token")
}

func (m *memCohorts) PutSession(ctx context.Context, id, login string, expires time.Time) error {
	return nil
}
func (m *memCohorts) Session(ctx context.Context, id string) (string, error) {
	return "", bot.Errorf("mem.Session", bot.NotFound, "no sessions")
}
func (m *memCohorts) DeleteSession(ctx context.Context, id string) error { return nil }

var _ cohort.Store = (*memCohorts)(nil)

// testTools returns coach tools over a fresh embedded learner store, an
// in-memory cohort store and outbox, and an app whose learners join
// cohorts through the conversation.
func testTools(t *testing.T) (*coachTools, *app.App, *schedule.Memory) {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "darsi.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	content, err := loadContent("")
	if err != nil {
		t.Fatal(err)
	}
	text, err := locale.Load(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	cs := &memCohorts{}
	out := schedule.NewMemory()
	clock := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	tools := &coachTools{cohorts: cs, learners: s, outbox: out, text: text, now: now, from: "whatsapp:+212522000000"}
	a := app.New(s, content)
	a.Cohorts = cs
	a.Now = now
	return tools, a, out
}

// say sends one learner's message through the app.
func say(t *testing.T, a *app.App, id, text string) []string {
	t.Helper()
	ch, _ := bot.SplitLearnerID(id)
	res, err := a.HandleInbound(context.Background(), bot.Inbound{ID: id + "/" + text, From: id, Channel: ch, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return bot.Texts(res.Replies)
}

func TestAddCoach(t *testing.T) {
	tools, _, _ := testTools(t)
	ctx := context.Background()
	c, token, err := tools.addCoach(ctx, "Amina", "Amina B.", cohort.RoleCoach, []byte("correct horse battery"))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := tools.cohorts.Coach(ctx, "amina")
	if err != nil {
		t.Fatal(err)
	}
	if stored.Login != "amina" || stored.Name != "Amina B." || stored.Role != cohort.RoleCoach || c.Login != "amina" {
		t.Errorf("stored %+v", stored)
	}
	if err := bcrypt.CompareHashAndPassword(stored.PasswordHash, []byte("correct horse battery")); err != nil {
		t.Errorf("password hash does not verify: %v", err)
	}
	if cost, _ := bcrypt.Cost(stored.PasswordHash); cost != 12 {
		t.Errorf("bcrypt cost %d, want 12", cost)
	}
	if !strings.HasPrefix(token, "darsi_") || len(token) < 40 || strings.Contains(stored.TokenHash, token) {
		t.Errorf("token %q, stored hash %q", token, stored.TokenHash)
	}
	if got, err := tools.cohorts.CoachByToken(ctx, cohort.TokenHash(token)); err != nil || got.Login != "amina" {
		t.Errorf("CoachByToken(hash of the printed token) = %+v, %v", got, err)
	}

	// Again: a new password and token, the same creation time; the old
	// token stops working.
	created := stored.CreatedAt
	tools.now = func() time.Time { return created.Add(time.Hour) }
	_, token2, err := tools.addCoach(ctx, "amina", "", cohort.RoleAdmin, []byte("another long password"))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := tools.cohorts.Coach(ctx, "amina")
	if !again.CreatedAt.Equal(created) || again.Role != cohort.RoleAdmin || again.Name != "Amina B." || token2 == token {
		t.Errorf("replaced account %+v", again)
	}
	if _, err := tools.cohorts.CoachByToken(ctx, cohort.TokenHash(token)); bot.KindOf(err) != bot.NotFound {
		t.Errorf("the old token still works: %v", err)
	}

	for _, bad := range []struct {
		login string
		role  cohort.Role
	}{{"a", cohort.RoleCoach}, {"amina fassi", cohort.RoleCoach}, {"amina", "boss"}} {
		if _, _, err := tools.addCoach(ctx, bad.login, "", bad.role, []byte("long enough password")); err == nil {
			t.Errorf("addCoach(%q, %q) succeeded", bad.login, bad.role)
		}
	}
}

func TestReadPassword(t *testing.T) {
	if p, err := readPassword(strings.NewReader("long enough pw\nrest")); err != nil || string(p) != "long enough pw" {
		t.Errorf("got %q, %v", p, err)
	}
	if p, err := readPassword(strings.NewReader("long enough pw\r\n")); err != nil || string(p) != "long enough pw" {
		t.Errorf("CRLF: got %q, %v", p, err)
	}
	for _, in := range []string{"", "short\n", strings.Repeat("x", 73)} {
		if _, err := readPassword(strings.NewReader(in)); err == nil {
			t.Errorf("readPassword(%q) succeeded", in)
		}
	}
}

func TestCreateCohortAndPoster(t *testing.T) {
	tools, _, _ := testTools(t)
	ctx := context.Background()
	var stderr bytes.Buffer
	if _, _, err := tools.createCohort(ctx, "Couture Safi", "nobody", "", &stderr); err == nil || !strings.Contains(err.Error(), "darsi coach add") {
		t.Errorf("unknown coach: got %v", err)
	}
	tools.addCoach(ctx, "amina", "", cohort.RoleCoach, []byte("long enough password"))
	poster := filepath.Join(t.TempDir(), "poster.svg")
	c, link, err := tools.createCohort(ctx, "Couture Safi", "amina", poster, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://wa.me/212522000000?text=join%20" + c.Code; link != want {
		t.Errorf("link %q, want %q", link, want)
	}
	svg, err := os.ReadFile(poster)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "Couture Safi", c.Code, "ⵜⴰⵔⴰⴱⴱⵓⵜ", "للانضمام", "rejoindre"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("poster lacks %q", want)
		}
	}

	// Without a WhatsApp number: no link (and a warning), no poster.
	tools.from = ""
	stderr.Reset()
	if _, link, err := tools.createCohort(ctx, "Tissage", "", "", &stderr); err != nil || link != "" || !strings.Contains(stderr.String(), "TWILIO_WHATSAPP_FROM") {
		t.Errorf("no number: link %q, err %v, stderr %q", link, err, stderr.String())
	}
	n := len(tools.cohorts.(*memCohorts).cohorts)
	if _, _, err := tools.createCohort(ctx, "Tissage", "", poster, &stderr); err == nil {
		t.Error("a poster without a WhatsApp number was made")
	}
	if len(tools.cohorts.(*memCohorts).cohorts) != n {
		t.Error("a failed --poster still created a cohort")
	}

	list, err := tools.listCohorts(ctx, "")
	if err != nil || len(list) != 2 || list[0].Code != c.Code || list[0].Coach != "amina" {
		t.Errorf("list: %+v, %v", list, err)
	}
}

func TestRemind(t *testing.T) {
	tools, a, out := testTools(t)
	ctx := context.Background()
	c, _, err := tools.createCohort(ctx, "Couture Safi", "", "", &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := tools.createCohort(ctx, "Tissage", "", "", &bytes.Buffer{})

	// Five learners join by the conversation, one of them in another
	// cohort first; one opts out; one chats from the terminal.
	members := []string{"whatsapp:+212600000001", "whatsapp:+212600000002", "sms:+33600000003", "whatsapp:+212600000004", "whatsapp:+212600000005"}
	for i, id := range members {
		if i == 3 {
			say(t, a, id, "join "+other.Code)
		}
		say(t, a, id, strings.ToLower(c.Code))
		say(t, a, id, "3")
	}
	say(t, a, "whatsapp:+212600000005", "STOP")
	say(t, a, "chat:+212600000006", "rejoindre "+c.Code)
	say(t, a, "whatsapp:+212600000007", "join "+other.Code)

	res, err := tools.remind(ctx, reminder{Cohort: strings.ToLower(c.Code), Text: "N'oubliez pas la leçon 2 !"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Queued != 4 || res.OptedOut != 1 || res.Unreachable != 1 || res.Already != 0 {
		t.Errorf("got %+v, want 4 queued, 1 opted out, 1 unreachable", res)
	}
	jobs, err := out.Jobs(ctx, schedule.Filter{Cohort: c.Code})
	if err != nil {
		t.Fatal(err)
	}
	var learners []string
	for _, j := range jobs {
		learners = append(learners, j.Learner)
		if j.Kind != schedule.Reminder || j.Status != schedule.Queued || j.Text != "N'oubliez pas la leçon 2 !" || j.CreatedBy != "darsi" ||
			!j.DueAt.Equal(tools.now()) || j.Cohort != c.Code || !strings.HasPrefix(j.ID, res.Reminder+"-") {
			t.Errorf("job %+v", j)
		}
	}
	slices.Sort(learners)
	want := slices.Clone(members[:4])
	slices.Sort(want)
	if !slices.Equal(learners, want) {
		t.Errorf("jobs for %q, want %q", learners, want)
	}

	// The same command again, the same day: nothing more.
	again, err := tools.remind(ctx, reminder{Cohort: c.Code, Text: "N'oubliez pas la leçon 2 !"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Queued != 0 || again.Already != 4 || again.Reminder != res.Reminder {
		t.Errorf("again: %+v, want 0 queued, 4 already", again)
	}
	if jobs, _ := out.Jobs(ctx, schedule.Filter{Cohort: c.Code}); len(jobs) != 4 {
		t.Errorf("%d jobs after a second run, want 4", len(jobs))
	}

	// At a given time, with a template: other jobs.
	at := time.Date(2026, 3, 3, 9, 0, 0, 0, time.FixedZone("", 3600))
	later, err := tools.remind(ctx, reminder{Cohort: c.Code, Text: "N'oubliez pas la leçon 2 !", At: at, Template: "reminder_lesson", By: "amina"})
	if err != nil {
		t.Fatal(err)
	}
	if later.Queued != 4 || later.Reminder == res.Reminder {
		t.Errorf("later: %+v", later)
	}
	j, err := out.Job(ctx, later.Reminder+"-"+shortHash(members[0], 12))
	if err != nil || !j.DueAt.Equal(at) || j.Template != "reminder_lesson" || j.CreatedBy != "amina" {
		t.Errorf("job %+v, %v", j, err)
	}

	// Bad input.
	for _, r := range []reminder{
		{Cohort: "ZZ9ZZ9", Text: "x"},
		{Cohort: c.Code, Text: "  "},
		{Cohort: c.Code, Text: strings.Repeat("x", 1601)},
		{Cohort: c.Code, Text: "x", Template: "Not A Kind"},
	} {
		if _, err := tools.remind(ctx, r); err == nil {
			t.Errorf("remind(%+v) succeeded", r)
		}
	}
}

// TestCoachCommandsJSON runs the commands as a script would, on the
// embedded store, once the stores keep cohorts and an outbox.
func TestCoachCommandsJSON(t *testing.T) {
	store := filepath.Join(t.TempDir(), "darsi.db")
	s, err := openStore(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	_, hasCohorts := s.(cohort.Store)
	_, hasOutbox := s.(schedule.Outbox)
	s.Close()
	if !hasCohorts || !hasOutbox {
		t.Fatal("the embedded store keeps no cohorts or no outbox")
	}
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
	if code != 0 || !strings.HasPrefix(out, "0 reminders queued") || !strings.Contains(out, "1 members talk to the bot from the terminal") {
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
	if code != 1 || !strings.Contains(errOut, "stop darsi serve or use the dashboard/API") {
		t.Errorf("store held: exit %d, stderr %q", code, errOut)
	}
}

func TestCoachCommandsUsage(t *testing.T) {
	for _, args := range [][]string{
		{"coach"}, {"coach", "remove", "x"}, {"coach", "add"},
		{"cohort"}, {"cohort", "create"}, {"cohort", "list", "extra"},
		{"remind"}, {"remind", "--cohort", "K7M2QX"}, {"remind", "--cohort", "K7M2QX", "--text", "x", "--at", "tomorrow"},
	} {
		code, _, errOut := darsi(t, "", append(args, "--store", filepath.Join(t.TempDir(), "x.db"))...)
		if code == 0 || errOut == "" {
			t.Errorf("darsi %q: exit %d, stderr %q", args, code, errOut)
		}
	}
}
