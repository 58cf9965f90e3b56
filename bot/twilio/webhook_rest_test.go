package twilio_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/twilio"
)

// recReplier records the turns handed to it.
type recReplier struct {
	mu    sync.Mutex
	turns [][]bot.Reply
	err   error
}

func (r *recReplier) SendReplies(_ context.Context, in bot.Inbound, replies []bot.Reply) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.turns = append(r.turns, replies)
	return nil
}

// TestWebhookRESTTurns: a WhatsApp turn with an interactive reply is
// answered with empty TwiML and handed whole to the Replier, media made
// absolute; one without, or an SMS turn, or no Replier, goes as TwiML
// with its numbered lines; a Replier that fails gets its error's status (503 for a store down,
// so that Twilio retries).
func TestWebhookRESTTurns(t *testing.T) {
	yesNo := &bot.Choice{Scope: "q", Lang: bot.French, Body: "Prêt ?", Options: []bot.ChoiceOption{
		{ID: bot.ChoicePayload("q", 1), Title: "Oui"}, {ID: bot.ChoicePayload("q", 2), Title: "Non"}}}
	long := &bot.Choice{Scope: "q", Lang: bot.French, Body: "Prêt ?", Options: []bot.ChoiceOption{
		{ID: bot.ChoicePayload("q", 1), Title: strings.Repeat("x", 21)}, {ID: bot.ChoicePayload("q", 2), Title: "Non"}}}
	turn := func(c *bot.Choice) []bot.Reply {
		return []bot.Reply{{Text: "Bravo"}, {Text: "Regarde", Media: "/media/x.jpg"}, {Text: "Prêt ?\n1. Oui\n2. Non", Choice: c}}
	}
	post := func(wh *twilio.Webhook, payload string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/twilio/messages", strings.NewReader(payload))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sign(t, testToken, testPublic+"/twilio/messages", mustQuery(t, payload)))
		rec := httptest.NewRecorder()
		wh.Messages().ServeHTTP(rec, req)
		return rec
	}
	const empty = `<?xml version="1.0" encoding="UTF-8"?><Response/>`
	for _, tc := range []struct {
		name     string
		choice   *bot.Choice
		payload  string
		replier  bool
		fail     error
		wantCode int
		wantREST bool
	}{
		{"buttons on WhatsApp", yesNo, waText, true, nil, 200, true},
		{"options too long", long, waText, true, nil, 200, false},
		{"SMS", yesNo, smsText, true, nil, 200, false},
		{"interactive off", yesNo, waText, false, nil, 200, false},
		{"store down", yesNo, waText, true, bot.Errorf("enqueue", bot.Unavailable, "down"), 503, false},
		{"enqueue refused", yesNo, waText, true, errors.New("refused"), 500, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fa := &fakeApp{Handle: func(context.Context, bot.Inbound) (app.Result, error) {
				return app.Result{Replies: turn(tc.choice)}, nil
			}}
			cfg := twilio.WebhookConfig{AuthToken: testToken, PublicURL: testPublic}
			rp := &recReplier{err: tc.fail}
			if tc.replier {
				cfg.Replies = rp
			}
			rec := post(twilio.NewWebhook(fa, nil, cfg), tc.payload)
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.wantCode, rec.Body)
			}
			if tc.wantCode != 200 {
				return
			}
			if tc.wantREST {
				if rec.Body.String() != empty {
					t.Errorf("body %q, want empty TwiML", rec.Body)
				}
				if len(rp.turns) != 1 || len(rp.turns[0]) != 3 || rp.turns[0][1].Media != testPublic+"/media/x.jpg" || rp.turns[0][2].Choice == nil {
					t.Errorf("replier got %+v", rp.turns)
				}
				return
			}
			if len(rp.turns) != 0 || !strings.Contains(rec.Body.String(), "1. Oui") {
				t.Errorf("replier got %d turns; TwiML %s", len(rp.turns), rec.Body)
			}
		})
	}
}

// TestRESTMessages: runs of plain replies are joined as TwiML joins them;
// an interactive reply is a message of its own, its media before it.
func TestRESTMessages(t *testing.T) {
	c := &bot.Choice{Scope: "q", Body: "Prêt ?", Options: []bot.ChoiceOption{{ID: "darsi:q#1", Title: "Oui"}, {ID: "darsi:q#2", Title: "Non"}}}
	got := twilio.RESTMessages([]bot.Reply{{Text: "a"}, {Text: "b"}, {Text: "Prêt ?\n1. Oui\n2. Non", Media: "https://x/m.jpg", Choice: c}, {Text: "c"}})
	want := []bot.Reply{{Text: "a\n\nb"}, {Media: "https://x/m.jpg"}, {Text: "Prêt ?\n1. Oui\n2. Non", Choice: c}, {Text: "c"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].Text != want[i].Text || got[i].Media != want[i].Media || (got[i].Choice == nil) != (want[i].Choice == nil) {
			t.Errorf("message %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
