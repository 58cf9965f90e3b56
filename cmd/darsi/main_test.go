package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/lesson"
)

// darsi runs the command in-process and returns its exit code and output.
func darsi(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func has(s string, table *unicode.RangeTable) bool {
	for _, r := range s {
		if unicode.Is(table, r) {
			return true
		}
	}
	return false
}

// TestChatJSONL is the scripted chat of the README: the four-language menu,
// then French.
func TestChatJSONL(t *testing.T) {
	store := filepath.Join(t.TempDir(), "darsi.db")
	in := `{"from":"+212600000001","text":"salam"}` + "\n" + `{"text":"3"}` + "\n"
	code, out, errOut := darsi(t, in, "chat", "--jsonl", "--store", store)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), out)
	}
	var first, second chatReply
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if first.From != "+212600000001" || second.From != "+212600000001" {
		t.Errorf("from: got %q and %q, want +212600000001", first.From, second.From)
	}
	menu := strings.Join(first.Replies, "\n")
	for name, script := range map[string]*unicode.RangeTable{"Arabic": unicode.Arabic, "Latin": unicode.Latin, "Tifinagh": unicode.Tifinagh} {
		if !has(menu, script) {
			t.Errorf("language menu has no %s script: %q", name, menu)
		}
	}
	french := strings.Join(second.Replies, "\n")
	if !has(french, unicode.Latin) || has(french, unicode.Arabic) || has(french, unicode.Tifinagh) {
		t.Errorf("second reply is not French: %q", french)
	}
}

func TestChatJSONLBadLine(t *testing.T) {
	store := filepath.Join(t.TempDir(), "darsi.db")
	code, out, _ := darsi(t, "not json\n"+`{"text":"salam"}`+"\n", "chat", "--jsonl", "--store", store)
	if code != 1 {
		t.Errorf("exit %d, want 1 after a bad line", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"error"`) || !strings.Contains(lines[1], "Français") {
		t.Errorf("got %q, want an error line then the menu", lines)
	}
}

func TestLint(t *testing.T) {
	code, out, errOut := darsi(t, "", "lint", "../../lessons")
	if code != 0 {
		t.Fatalf("lint lessons: exit %d\n%s%s", code, out, errOut)
	}

	// A broken copy: a missing translation and a goto to nowhere.
	dir := t.TempDir()
	copyDir(t, "../../lessons/costing", filepath.Join(dir, "costing"))
	file := filepath.Join(dir, "costing", "costing-1.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), "  - id: hook\n", "  - id: hook\n    goto: nowhere\n", 1)
	broken = regexp.MustCompile(`(?m)^(\s+)zgh: .*\n`).ReplaceAllString(broken, "")
	if broken == string(data) {
		t.Fatal("could not break the lesson")
	}
	if err := os.WriteFile(file, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = darsi(t, "", "lint", dir)
	if code != 1 {
		t.Fatalf("lint broken: exit %d, want 1\n%s", code, out)
	}
	line := regexp.MustCompile(`^` + regexp.QuoteMeta(dir) + `/costing/costing-1\.yaml:\d+:\d+: `)
	var gotoSeen, missingSeen bool
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !line.MatchString(l) {
			t.Errorf("not file:line:col: message: %q", l)
		}
		gotoSeen = gotoSeen || strings.Contains(l, `goto "nowhere"`)
		missingSeen = missingSeen || strings.Contains(l, "has no zgh text")
	}
	if !gotoSeen || !missingSeen {
		t.Errorf("lint output misses a problem:\n%s", out)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

func TestVersionAndUsage(t *testing.T) {
	if code, out, _ := darsi(t, "", "version"); code != 0 || !strings.HasPrefix(out, "darsi ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
	if code, _, errOut := darsi(t, "", "frobnicate"); code != 2 || !strings.Contains(errOut, "usage") {
		t.Errorf("unknown command: exit %d, %q", code, errOut)
	}
	if code, _, errOut := darsi(t, "", "chat", "--store", "redis://127.0.0.1:1/0"); code != 1 || errOut == "" {
		t.Errorf("unsupported store: exit %d, %q", code, errOut)
	}
}

// simUser posts to the simulator as one learner.
type simUser struct {
	t    *testing.T
	url  string
	from string
	n    int
}

func (s *simUser) send(text string) []string {
	s.t.Helper()
	s.n++
	body, _ := json.Marshal(map[string]string{"from": s.from, "text": text, "id": s.from + "-" + strconv.Itoa(s.n)})
	resp, err := http.Post(s.url+"/sim/messages", "application/json", bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Replies []bot.Reply `json:"replies"`
		Error   string      `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		s.t.Fatalf("POST %q: %d %v %s", text, resp.StatusCode, err, out.Error)
	}
	return bot.Texts(out.Replies)
}

// TestSimulatorCarriesLessonInEachLanguage takes a whole lesson through the
// simulator's HTTP interface in each of the four languages.
func TestSimulatorCarriesLessonInEachLanguage(t *testing.T) {
	cfg := defaultConfig(t)
	cfg.Store = filepath.Join(t.TempDir(), "darsi.db")
	a, store, err := openApp(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv := httptest.NewServer(routes(cfg, a, store, nil, slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(page, []byte("/sim/messages")) {
		t.Fatalf("GET /: %d, page without the chat", resp.StatusCode)
	}

	for i, lang := range bot.Langs {
		t.Run(string(lang), func(t *testing.T) {
			sim := &simUser{t: t, url: srv.URL, from: fmt.Sprintf("+21260000010%d", i)}
			sim.send("salam")
			sim.send(strconv.Itoa(i + 1))
			sim.send("1")
			sim.send("1")
			takeLesson(t, store, a, bot.LearnerID(bot.Sim, sim.from), lang, func(text string) { sim.send(text) })
		})
	}

	// A bad phone number is refused with a clear message.
	resp, err = http.Post(srv.URL+"/sim/messages", "application/json", strings.NewReader(`{"from":"me","text":"salam"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad number: got %d, want 400", resp.StatusCode)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// httptestServer serves h for the test and returns its base URL.
func httptestServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// takeLesson answers the learner's lesson right, one step at a time,
// through send, until it is done, reading where the learner stands from the
// store; then it checks the lesson is recorded as completed in lang.
func takeLesson(t *testing.T, s app.Store, a *app.App, id string, lang bot.Lang, send func(text string)) {
	t.Helper()
	for n := 0; ; n++ {
		l, err := s.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if l.Phase == bot.PhaseDone {
			if !l.Done("costing-1") || l.Lang != lang {
				t.Fatalf("lesson done but completed %v, lang %s", l.Completed, l.Lang)
			}
			return
		}
		if n > 30 {
			t.Fatalf("lesson never ends; at %q", l.Step)
		}
		st, _ := a.Content().Lessons.Lesson(l.Lesson).Step(l.Step)
		switch {
		case st.Kind == lesson.Question:
			send(strconv.Itoa(st.Correct() + 1))
		case st.InputKind == "text":
			send("tapis")
		default:
			send("30")
		}
	}
}

// TestServe boots the real command on a free port, checks health and
// readiness, and stops it as SIGTERM would.
func TestServe(t *testing.T) {
	addr, admin := freeAddr(t), freeAddr(t)
	t.Setenv("DARSI_ADMIN_ADDR", admin)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--store", filepath.Join(t.TempDir(), "darsi.db")}, nil, io.Discard, &stderr)
	}()
	url := "http://" + addr
	var resp *http.Response
	var err error
	for i := 0; i < 100; i++ {
		if resp, err = http.Get(url + "/healthz"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("server did not start: %v\n%s", err, stderr.String())
	}
	resp.Body.Close()
	if code, _, errOut := darsi(t, "", "probe", url+"/readyz"); code != 0 {
		t.Errorf("darsi probe /readyz: exit %d %s", code, errOut)
	}
	if code, _, _ := darsi(t, "", "probe", url+"/nothing-here"); code != 1 {
		t.Errorf("darsi probe on a 404: exit %d, want 1", code)
	}
	for _, path := range []string{"/healthz", "/readyz", "/"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
	}
	// Metrics and profiles answer on the admin listener only.
	for _, tt := range []struct {
		base, path string
		want       int
	}{
		{url, "/metrics", http.StatusNotFound}, {url, "/debug/pprof/", http.StatusNotFound},
		{"http://" + admin, "/metrics", http.StatusOK}, {"http://" + admin, "/debug/pprof/", http.StatusOK},
	} {
		resp, err := http.Get(tt.base + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want || (tt.want == 200 && tt.path == "/metrics" && !bytes.Contains(body, []byte("go_goroutines"))) {
			t.Errorf("GET %s%s: %d, want %d", tt.base, tt.path, resp.StatusCode, tt.want)
		}
		// The store answers, and its outbox owes nothing.
		for _, want := range []string{"\ndarsi_store_up 1\n", "\ndarsi_outbox_due_jobs 0\n", "\ndarsi_outbox_jobs{status=\"queued\"} 0\n"} {
			if tt.want == 200 && tt.path == "/metrics" && !bytes.Contains(body, []byte(want)) {
				t.Errorf("GET %s/metrics lacks %q", tt.base, strings.TrimSpace(want))
			}
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d: %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestExportLearners(t *testing.T) {
	store := filepath.Join(t.TempDir(), "darsi.db")
	if code, _, errOut := darsi(t, `{"text":"salam"}`+"\n"+`{"text":"3"}`+"\n", "chat", "--jsonl", "--store", store); code != 0 {
		t.Fatal(errOut)
	}
	decode := func(out string) app.ExportedLearner {
		t.Helper()
		var l app.ExportedLearner
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &l); err != nil {
			t.Fatalf("%v: %q", err, out)
		}
		return l
	}

	// By default the number is masked, and nothing is logged.
	code, out, errOut := darsi(t, "", "export", "learners", "--store", store)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	l := decode(out)
	if l.ID != bot.Mask("chat:+212600000001") || !strings.HasPrefix(l.Key, "L") || l.Lang != bot.French || l.Phase != bot.PhaseConsent {
		t.Errorf("got %+v", l)
	}
	if strings.Contains(out, "600000001") || errOut != "" {
		t.Errorf("default export: out %q, log %q; want no number and no log", out, errOut)
	}

	// With numbers, the export says so on stderr, without the numbers.
	code, out, errOut = darsi(t, "", "export", "--with-numbers", "learners", "--store", store)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if full := decode(out); full.ID != "chat:+212600000001" || full.Key != l.Key {
		t.Errorf("with numbers: got %+v", full)
	}
	if !strings.Contains(errOut, "full numbers") || strings.Contains(errOut, "600000001") {
		t.Errorf("with numbers: log %q, want a warning without numbers", errOut)
	}
}

// TestChatNamesController checks that DARSI_CONTROLLER reaches the engine:
// the consent notice names it.
func TestChatNamesController(t *testing.T) {
	t.Setenv("DARSI_CONTROLLER", "Association Darsi Maroc")
	in := `{"from":"+212600000001","text":"salam"}` + "\n" + `{"text":"3"}` + "\n"
	code, out, errOut := darsi(t, in, "chat", "--jsonl", "--store", "memory")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if want := "Responsable de tes données : Association Darsi Maroc."; !strings.Contains(out, want) {
		t.Errorf("got %s, want the consent notice to say %q", out, want)
	}
}
