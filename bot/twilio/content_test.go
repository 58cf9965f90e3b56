package twilio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// choice returns a choice of the given titles.
func choice(scope string, lang bot.Lang, body string, titles ...string) *bot.Choice {
	c := &bot.Choice{Scope: scope, Lang: lang, Body: body, Button: "Choisir"}
	for i, t := range titles {
		c.Options = append(c.Options, bot.ChoiceOption{ID: bot.ChoicePayload(scope, i+1), Title: t})
	}
	return c
}

func TestContentType(t *testing.T) {
	long20, long21, long24, long25 := strings.Repeat("é", 20), strings.Repeat("é", 21), strings.Repeat("ب", 24), strings.Repeat("ب", 25)
	ten := make([]string, 10)
	for i := range ten {
		ten[i] = "Cours " + strings.Repeat("x", i)
	}
	for _, tc := range []struct {
		name string
		c    *bot.Choice
		want string
	}{
		{"nil", nil, ""},
		{"one option", choice("q", bot.French, "Q ?", "Oui"), ""},
		{"two short", choice("q", bot.French, "Q ?", "Oui", "Non"), twilio.QuickReply},
		{"three of 20", choice("q", bot.French, "Q ?", "a", "b", long20), twilio.QuickReply},
		{"three, one of 21: a list needs 4", choice("q", bot.French, "Q ?", "a", "b", long21), ""},
		{"four of 24", choice("q", bot.Arabic, "Q ?", "a", "b", "c", long24), twilio.ListPicker},
		{"four, one of 25", choice("q", bot.Arabic, "Q ?", "a", "b", "c", long25), ""},
		{"ten", choice("q", bot.French, "Q ?", ten...), twilio.ListPicker},
		{"eleven", choice("q", bot.French, "Q ?", append(ten, "x")...), ""},
		{"no body", choice("q", bot.French, "", "Oui", "Non"), ""},
		{"body of 1025", choice("q", bot.French, strings.Repeat("x", 1025), "Oui", "Non"), ""},
		{"empty title", choice("q", bot.French, "Q ?", "Oui", ""), ""},
	} {
		if got := twilio.ContentType(tc.c); got != tc.want {
			t.Errorf("%s: ContentType = %q, want %q", tc.name, got, tc.want)
		}
	}
	described := choice("q", bot.French, "Q ?", "a", "b", "c", "d")
	described.Options[3].Description = strings.Repeat("d", 72)
	if got := twilio.ContentType(described); got != twilio.ListPicker {
		t.Errorf("list with a description of 72: %q", got)
	}
	described.Options[3].Description += "d"
	if got := twilio.ContentType(described); got != "" {
		t.Errorf("list with a description of 73: %q", got)
	}
	twoDescribed := choice("q", bot.French, "Q ?", "a", "b")
	twoDescribed.Options[1].Description = "more"
	if got := twilio.ContentType(twoDescribed); got != "" {
		t.Errorf("quick replies with a description (buttons have none): %q", got)
	}
	noButton := choice("q", bot.French, "Q ?", "a", "b", "c", "d")
	noButton.Button = ""
	if got := twilio.ContentType(noButton); got != "" {
		t.Errorf("list without a button: %q", got)
	}
}

// memContents is app.Contents in a map.
type memContents struct {
	mu sync.Mutex
	m  map[string]app.Content
}

func (s *memContents) Content(_ context.Context, slot string) (app.Content, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[slot]
	if !ok {
		return app.Content{}, bot.Errorf("mem", bot.NotFound, "none")
	}
	return c, nil
}

func (s *memContents) PutContent(_ context.Context, slot string, c app.Content) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]app.Content{}
	}
	s.m[slot] = c
	return nil
}

// TestContentsAgainstTheFake: a content is made once per slot and text,
// lazily or by Sync, reused by another process through the store, made
// again when its text changes, and sent; the fake holds what the Content
// API got.
func TestContentsAgainstTheFake(t *testing.T) {
	ctx := context.Background()
	fake := twiliotest.NewFake(t, testAccount, testToken)
	fake.SetPageSize(2) // listings of several pages
	s := newSender(t, fake.URL)
	store := &memContents{}
	cs := &twilio.Contents{Store: store, API: s}

	yesNo := choice("costing-1/q1", bot.French, "Tu as noté tes frais ?", "Oui", "Non")
	list := choice("menu", bot.French, "Choisis un cours.", "Prix de revient", "Trésorerie", "Négocier", "Clients")
	long := choice("costing-1/q2", bot.French, "Laquelle ?", "Seulement la matière", "La matière, le temps de travail et les frais fixes")

	sid, ok, err := cs.Content(ctx, yesNo)
	if err != nil || !ok || !strings.HasPrefix(sid, "HX") {
		t.Fatalf("Content = %q, %v, %v", sid, ok, err)
	}
	if again, _, _ := cs.Content(ctx, yesNo); again != sid {
		t.Fatalf("second use made %q, want %q", again, sid)
	}
	// Another replica: a new Contents over the same store.
	other := &twilio.Contents{Store: store, API: s}
	if got, _, _ := other.Content(ctx, yesNo); got != sid {
		t.Fatalf("another replica got %q, want %q", got, sid)
	}
	if _, ok, err := cs.Content(ctx, long); ok || err != nil {
		t.Fatalf("long options: ok %v err %v, want numbered lines", ok, err)
	}
	if n := len(fake.Contents()); n != 1 {
		t.Fatalf("%d contents, want 1", n)
	}

	res, err := cs.Sync(ctx, []*bot.Choice{yesNo, list, long, list}, true)
	if err != nil || res != (twilio.SyncResult{Eligible: 2, Created: 1, Existing: 1}) {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	if n := len(fake.Contents()); n != 1 {
		t.Fatalf("a dry run made contents: %d", n)
	}
	res, err = cs.Sync(ctx, []*bot.Choice{yesNo, list, long}, false)
	if err != nil || res != (twilio.SyncResult{Eligible: 2, Created: 1, Existing: 1}) {
		t.Fatalf("sync: %+v, %v", res, err)
	}
	res, err = cs.Sync(ctx, []*bot.Choice{yesNo, list, long}, false)
	if err != nil || res != (twilio.SyncResult{Eligible: 2, Existing: 2}) {
		t.Fatalf("second sync: %+v, %v", res, err)
	}
	// A store that lost its record adopts the content Twilio has.
	lost := &twilio.Contents{Store: &memContents{}, API: s}
	res, err = lost.Sync(ctx, []*bot.Choice{yesNo, list}, false)
	if err != nil || res != (twilio.SyncResult{Eligible: 2, Adopted: 2}) {
		t.Fatalf("sync on an empty store: %+v, %v", res, err)
	}
	// An edit of one option: one new content, in the same slot.
	edited := choice("costing-1/q1", bot.French, "Tu as noté tes frais ?", "Oui", "Pas encore")
	res, err = cs.Sync(ctx, []*bot.Choice{edited, list}, false)
	if err != nil || res != (twilio.SyncResult{Eligible: 2, Created: 1, Existing: 1}) {
		t.Fatalf("sync after an edit: %+v, %v", res, err)
	}
	contents := fake.Contents()
	if len(contents) != 3 {
		t.Fatalf("%d contents, want 3", len(contents))
	}
	last := contents[2]
	if last.Type != twilio.QuickReply || last.Options[1].Title != "Pas encore" || last.Options[1].ID != "darsi:costing-1/q1#2" {
		t.Fatalf("edited content %+v", last)
	}
	if got, _ := store.Content(ctx, twilio.ContentSlot(edited)); got.SID != last.SID {
		t.Fatalf("slot holds %q, want the edit's %q", got.SID, last.SID)
	}
	if contents[1].Type != twilio.ListPicker || contents[1].Button != "Choisir" || len(contents[1].Options) != 4 {
		t.Fatalf("list content %+v", contents[1])
	}

	// Sent with its SID, the message reads as the content's body.
	d, err := s.Send(ctx, bot.Outbound{To: learner, From: waSender, ContentSID: last.SID})
	if err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages()
	if got := msgs[len(msgs)-1]; got.SID != d.SID || got.ContentSID != last.SID || got.Body != edited.Body {
		t.Fatalf("sent %+v", got)
	}
}

// TestFakeContentLimits: the fake refuses what Twilio refuses, with
// Twilio's codes: a malformed content SID (21655), a session message
// breaking WhatsApp's limits (63021), a content request without a body or
// with too many actions (20001).
func TestFakeContentLimits(t *testing.T) {
	ctx := context.Background()
	fake := twiliotest.NewFake(t, testAccount, testToken)
	s := newSender(t, fake.URL)
	post := func(body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, fake.URL+"/v1/Content", bytes.NewBufferString(body))
		req.SetBasicAuth(testAccount, testToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			SID  string `json:"sid"`
			Code int    `json:"code"`
		}
		if err := decodeJSON(resp, &out); err != nil {
			t.Fatal(err)
		}
		if out.Code != 0 {
			return out.Code, ""
		}
		return resp.StatusCode, out.SID
	}
	qr := func(n int, title, body string) string {
		var acts []string
		for range n {
			acts = append(acts, `{"title":"`+title+`","id":"x"}`)
		}
		return `{"language":"fr","types":{"twilio/quick-reply":{"body":"` + body + `","actions":[` + strings.Join(acts, ",") + `]}}}`
	}
	list := func(n int, item string) string {
		var items []string
		for range n {
			items = append(items, `{"item":"`+item+`","id":"x"}`)
		}
		return `{"language":"fr","types":{"twilio/list-picker":{"body":"b","button":"Choisir","items":[` + strings.Join(items, ",") + `]}}}`
	}
	for name, body := range map[string]string{
		"no body":       qr(2, "a", ""),
		"11 actions":    qr(11, "a", "b"),
		"no language":   `{"types":{"twilio/quick-reply":{"body":"b","actions":[{"title":"a"}]}}}`,
		"11 list items": list(11, "a"),
		"two types":     `{"language":"fr","types":{"twilio/text":{"body":"b"},"twilio/quick-reply":{"body":"b","actions":[{"title":"a"}]}}}`,
	} {
		if code, _ := post(body); code != 20001 {
			t.Errorf("%s: code %d, want 20001", name, code)
		}
	}
	send := func(sid string) error {
		_, err := s.Send(ctx, bot.Outbound{To: learner, From: waSender, ContentSID: sid})
		return err
	}
	code := func(err error) int {
		var se *bot.SendError
		if !errors.As(err, &se) {
			return 0
		}
		return se.Code
	}
	for name, body := range map[string]string{
		"4 quick replies in session": qr(4, "a", "b"),
		"quick reply title of 21":    qr(2, strings.Repeat("a", 21), "b"),
		"body of 1025":               qr(2, "a", strings.Repeat("b", 1025)),
		"list item of 25":            list(4, strings.Repeat("a", 25)),
	} {
		st, sid := post(body)
		if st != http.StatusCreated {
			t.Fatalf("%s: create answered %d", name, st)
		}
		if err := send(sid); code(err) != 63021 {
			t.Errorf("%s: send %v, want 63021", name, err)
		}
	}
	for name, body := range map[string]string{
		"3 quick replies of 20": qr(3, strings.Repeat("a", 20), "b"),
		"10 list items of 24":   list(10, strings.Repeat("a", 24)),
	} {
		_, sid := post(body)
		if err := send(sid); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := send("HXnothex"); code(err) != 21655 {
		t.Errorf("malformed content SID: %v, want 21655", err)
	}
}

func decodeJSON(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
