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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/simulator"
)

// chromiumPath returns the first Chromium found: $CHROMIUM, then Debian's
// and Ubuntu's usual paths. The browser test needs one, so it fails (and
// never skips) without it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	var tried []string
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		tried = append(tried, p)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	t.Fatalf("no Chromium for the browser test (tried %s).\n"+
		"Install it: apt-get update && apt-get install -y chromium\n"+
		"or set CHROMIUM to the path of a Chromium or Chrome binary.", strings.Join(tried, ", "))
	return ""
}

// simExchange is one message of the simulator as the server saw it.
type simExchange struct {
	req  simulator.Request
	resp simulator.Response
}

// simRecorder passes requests to the routes and keeps what went through
// POST /sim/messages, so the test can hold the page to what the server
// answered.
type simRecorder struct {
	next http.Handler
	mu   sync.Mutex
	seen []simExchange
}

func (r *simRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/sim/messages" {
		r.next.ServeHTTP(w, req)
		return
	}
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	r.next.ServeHTTP(rec, req)
	var ex simExchange
	json.Unmarshal(body, &ex.req)
	json.Unmarshal(rec.Body.Bytes(), &ex.resp)
	r.mu.Lock()
	r.seen = append(r.seen, ex)
	r.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

func (r *simRecorder) exchanges() []simExchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]simExchange(nil), r.seen...)
}

// pageBubble is a message bubble of the simulator page, as shown.
type pageBubble struct {
	Kind  string `json:"kind"` // me, bot or err
	Dir   string `json:"dir"`
	Align string `json:"align"` // the computed text-align
	Text  string `json:"text"`
	Img   string `json:"img"` // the src of the bubble's image, if it has one
}

const readBubbles = `[...document.querySelectorAll("#log .msg")].map(d => ({
	kind: ["me", "bot", "err"].find(k => d.classList.contains(k)) || "",
	dir: d.dir,
	align: getComputedStyle(d).textAlign,
	text: d.textContent,
	img: d.querySelector("img") ? d.querySelector("img").getAttribute("src") : "",
}))`

const answered = `Number(document.getElementById("log").dataset.answered)`

// lockedBuffer collects the browser's output for a failure message.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestBrowserSimulator takes the first lesson in each language through the
// simulator page in a real headless Chromium, typing as a person would, and
// checks what the page shows: a bubble for each reply, right to left for
// Darija and Arabic, left to right for French and Tamazight.
func TestBrowserSimulator(t *testing.T) {
	exe := chromiumPath(t)
	start := time.Now()

	cfg := defaultConfig(t)
	cfg.Store = filepath.Join(t.TempDir(), "darsi.db")
	a, store, err := openApp(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rec := &simRecorder{next: routes(cfg, a, store, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))}
	srv := httptest.NewServer(rec)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bctx := startBrowser(t, ctx, exe)

	// Start the browser, then watch the page's requests and errors.
	var mu sync.Mutex
	var requests, exceptions []string
	if err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, ev.Request.URL)
		case *runtime.EventExceptionThrown:
			msg := ev.ExceptionDetails.Text
			if x := ev.ExceptionDetails.Exception; x != nil {
				msg += " " + x.Description
			}
			exceptions = append(exceptions, msg)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx,
		chromedp.EmulateViewport(412, 860, chromedp.EmulateScale(2)), // a phone
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("text")),
	); err != nil {
		t.Fatalf("open the simulator: %v", err)
	}

	bubbles := func(t *testing.T) []pageBubble {
		t.Helper()
		bs, err := chromedp.Run(bctx, chromedp.Evaluate[[]pageBubble](readBubbles))
		if err != nil {
			t.Fatalf("read the bubbles: %v", err)
		}
		return bs
	}

	for i, lang := range bot.Langs {
		from := fmt.Sprintf("+21260000020%d", i)
		t.Run(string(lang), func(t *testing.T) {
			// A new number, typed over the old one; leaving the field
			// starts a new conversation.
			if err := chromedp.Do(bctx,
				chromedp.Click(chromedp.ID("from")),
				chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
				chromedp.KeyEvent(from),
				chromedp.Click(chromedp.ID("text")),
			); err != nil {
				t.Fatalf("set the phone number: %v", err)
			}
			if got, err := chromedp.Run(bctx, chromedp.Value(chromedp.ID("from"))); err != nil || got != from {
				t.Fatalf("phone field: got %q (%v), want %q", got, err, from)
			}
			if bs := bubbles(t); len(bs) != 0 {
				t.Fatalf("a new number should start an empty chat, got %d bubbles", len(bs))
			}

			// turns[k] holds the bubbles that message k brought.
			var turns [][]pageBubble
			// exchange sends text (with payload, a button's id) through
			// submit and checks what the page shows against the server's
			// answer.
			exchange := func(text, payload string, submit chromedp.Action[chromedp.Void]) {
				t.Helper()
				n, err := chromedp.Run(bctx, chromedp.Evaluate[int](answered))
				if err != nil {
					t.Fatal(err)
				}
				shown := len(bubbles(t))
				seen := len(rec.exchanges())
				if err := chromedp.Do(bctx, submit); err != nil {
					t.Fatalf("type %q: %v", text, err)
				}
				if _, err := chromedp.Run(bctx, chromedp.Poll[chromedp.Void](
					fmt.Sprintf("%s > %d", answered, n),
					chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
					t.Fatalf("no answer shown to %q: %v", text, err)
				}

				ex := rec.exchanges()
				if len(ex) != seen+1 {
					t.Fatalf("message %q: the page made %d requests, want 1", text, len(ex)-seen)
				}
				last := ex[len(ex)-1]
				if last.req.From != from || last.req.Text != text || last.req.ID == "" || last.req.Payload != payload {
					t.Fatalf("page sent %+v, want from %s, text %q, payload %q and an id", last.req, from, text, payload)
				}
				all := bubbles(t)
				turn := all[shown:]
				if len(turn) == 0 || turn[0].Kind != "me" || turn[0].Text != text {
					t.Fatalf("message %q: no bubble of mine first, got %+v", text, turn)
				}
				bots := turn[1:]
				if len(bots) != len(last.resp.Replies) || len(bots) == 0 {
					t.Fatalf("message %q: %d bubbles for %d replies: %+v (error %q)",
						text, len(bots), len(last.resp.Replies), bots, last.resp.Error)
				}
				for k, r := range last.resp.Replies {
					want := r.Text
					if r.Choice != nil {
						// The question, its options as buttons below.
						want = r.Choice.Body
					}
					// An image is shown as an image, under the text.
					if bots[k].Kind != "bot" || bots[k].Text != want || bots[k].Img != r.Media {
						t.Errorf("message %q, reply %d: bubble %+v, want a bot bubble %q with image %q", text, k, bots[k], want, r.Media)
					}
				}
				turns = append(turns, bots)
			}
			send := func(text string, click bool) {
				t.Helper()
				submit := chromedp.SendKeys(chromedp.ID("text"), text+"\n") // Enter submits
				if click {
					submit = chromedp.Steps(
						chromedp.SendKeys(chromedp.ID("text"), text),
						chromedp.Click(chromedp.CSS(`#send button[type="submit"]`)),
					)
				}
				exchange(text, "", submit)
			}
			// tap clicks option n of the last question's buttons.
			tap := func(n int) {
				t.Helper()
				last := rec.exchanges()
				c := last[len(last)-1].resp.Replies[len(last[len(last)-1].resp.Replies)-1].Choice
				if c == nil || len(c.Options) < n {
					t.Fatalf("no option %d to tap in %+v", n, c)
				}
				sel := fmt.Sprintf(`[...document.querySelectorAll("#log .choices")].pop().children[%d]`, n-1)
				label, err := chromedp.Run(bctx, chromedp.Evaluate[string](sel+".textContent"))
				if err != nil || label != c.Options[n-1].Title {
					t.Fatalf("button %d reads %q (%v), want %q", n, label, err, c.Options[n-1].Title)
				}
				title := strings.Map(func(r rune) rune {
					if r == '\u200e' || r == '\u200f' || (r >= '\u2066' && r <= '\u2069') {
						return -1
					}
					return r
				}, c.Options[n-1].Title)
				exchange(title, c.Options[n-1].ID, chromedp.Evaluate[chromedp.Void](sel+".click()"))
			}

			send("salam", false)
			tap(i + 1)       // the language, by its button
			send("1", false) // consent
			send("1", false) // the course
			takeLesson(t, store, a, bot.LearnerID(bot.Sim, from), lang, func(text string) { send(text, false) })

			all := bubbles(t)
			for _, b := range all {
				if b.Kind == "err" {
					t.Errorf("error bubble: %q", b.Text)
				}
			}
			rtl := lang == bot.Darija || lang == bot.Arabic
			wrong := 0
			for k, turn := range turns {
				for _, b := range turn {
					var want string
					switch {
					case rtl && (b.Dir != "rtl" || b.Align != "right"):
						want = "rtl, aligned right"
					case !rtl && k > 0 && (b.Dir != "ltr" || b.Align == "right" || b.Align == "end"):
						// turn 0 is the four-language menu, which opens in Arabic script
						want = "ltr, aligned left"
					default:
						continue
					}
					if wrong++; wrong <= 3 {
						t.Errorf("turn %d: bubble dir=%q text-align=%q, want %s: %q", k, b.Dir, b.Align, want, b.Text)
					}
				}
			}
			if wrong > 3 {
				t.Errorf("and %d more bubbles in the wrong direction", wrong-3)
			}
			end := turns[len(turns)-1]
			done := false
			for _, b := range end {
				done = done || strings.Contains(b.Text, "✅")
			}
			if !done {
				t.Errorf("the last answer has no lesson-done bubble (✅): %+v", end)
			}
			if last := all[len(all)-1]; last.Kind != "bot" {
				t.Errorf("the last bubble is not the bot's: %+v", last)
			}

			if lang == bot.Darija {
				png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
				if err != nil {
					t.Fatalf("screenshot: %v", err)
				}
				path := os.Getenv("DARSI_SCREENSHOT")
				if path == "" {
					path = filepath.Join(t.TempDir(), "simulator-ary.png")
				}
				if err := os.WriteFile(path, png, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("screenshot of the Darija lesson: %s", path)
			}
		})
		if t.Failed() {
			break
		}
	}

	mu.Lock()
	defer mu.Unlock()
	for _, u := range requests {
		if !strings.HasPrefix(u, srv.URL+"/") {
			t.Errorf("the page requested %s, outside the test server", u)
		}
	}
	for _, e := range exceptions {
		t.Errorf("JavaScript exception: %s", e)
	}
	t.Logf("%d requests, %s in all", len(requests), time.Since(start).Round(time.Millisecond))
}

// startBrowser starts headless Chromium for a test and returns its
// context, ended with the test; a browser that does not start fails the
// test with its output. Anything but the loopback test servers goes to a
// closed port.
func startBrowser(t *testing.T, ctx context.Context, exe string) context.Context {
	t.Helper()
	browserOut := &lockedBuffer{}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.ProxyServer("http://127.0.0.1:9"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(browserOut),
	)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v\n%s", exe, err, browserOut.String())
	}
	return bctx
}
