package twilio_test

import (
	"context"
	"encoding/xml"
	"net/url"
	"sync"
	"testing"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
	"github.com/twilio/twilio-go/client"
)

const (
	testAccount = "AC0123456789abcdef0123456789abcdef"
	testToken   = "f00dfacecafe0123456789abcdef0123"
	testPublic  = "https://darsi.example.org"
)

// sign returns X-Twilio-Signature for a request to fullURL with form,
// computed by twiliotest.Signature, and checks that twilio-go's own
// validator agrees with it.
func sign(tb testing.TB, token, fullURL string, form url.Values) string {
	tb.Helper()
	sig := twiliotest.Signature(token, fullURL, form)
	v := client.NewRequestValidator(token)
	if !v.Validate(fullURL, firstValues(form), sig) {
		tb.Fatalf("twilio-go does not validate our signature %q for %s", sig, fullURL)
	}
	return sig
}

func firstValues(form url.Values) map[string]string {
	m := make(map[string]string, len(form))
	for k, vs := range form {
		if len(vs) > 0 {
			m[k] = vs[0]
		}
	}
	return m
}

// fakeApp implements twilio.Inbound with a function field, and records
// what it was handed.
type fakeApp struct {
	Handle func(ctx context.Context, in bot.Inbound) (app.Result, error)

	mu    sync.Mutex
	calls []bot.Inbound
}

func (a *fakeApp) HandleInbound(ctx context.Context, in bot.Inbound) (app.Result, error) {
	a.mu.Lock()
	a.calls = append(a.calls, in)
	a.mu.Unlock()
	if a.Handle == nil {
		return app.Result{Replies: []bot.Reply{{Text: "ok"}}}, nil
	}
	return a.Handle(ctx, in)
}

func (a *fakeApp) Calls() []bot.Inbound {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]bot.Inbound(nil), a.calls...)
}

// dedupingApp answers like the real app: the replies of a MessageSid seen
// before come back with Duplicate set.
func dedupingApp(replies func(in bot.Inbound) []bot.Reply) *fakeApp {
	var mu sync.Mutex
	seen := map[string][]bot.Reply{}
	return &fakeApp{Handle: func(ctx context.Context, in bot.Inbound) (app.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		if rs, ok := seen[in.ID]; ok {
			return app.Result{Replies: rs, Duplicate: true}, nil
		}
		rs := replies(in)
		seen[in.ID] = rs
		return app.Result{Replies: rs}, nil
	}}
}

// fakeDeliveries is an in-memory app.Deliveries that keeps only forward
// moves, as the stores do.
type fakeDeliveries struct {
	mu  sync.Mutex
	m   map[string]bot.Delivery
	err error // returned by every call when set
}

var _ app.Deliveries = (*fakeDeliveries)(nil)

func newFakeDeliveries() *fakeDeliveries { return &fakeDeliveries{m: map[string]bot.Delivery{}} }

func (f *fakeDeliveries) AdvanceDelivery(ctx context.Context, d bot.Delivery) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return false, f.err
	}
	d, forward := d.Advance(f.m[d.SID])
	if forward {
		f.m[d.SID] = d
	}
	return forward, nil
}

func (f *fakeDeliveries) Delivery(ctx context.Context, sid string) (bot.Delivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.m[sid]
	if !ok {
		return bot.Delivery{}, bot.Errorf("fakeDeliveries.Delivery", bot.NotFound, "no delivery %s", sid)
	}
	return d, nil
}

// twimlMsg is one <Message> of a TwiML response, as Twilio reads it.
type twimlMsg struct {
	Body  string
	Media []string
}

// parseTwiML parses a TwiML messaging response as XML (so that attribute
// order does not matter) into its messages.
func parseTwiML(tb testing.TB, body []byte) []twimlMsg {
	tb.Helper()
	var doc struct {
		XMLName  xml.Name `xml:"Response"`
		Messages []struct {
			Text  string     `xml:",chardata"`
			Body  *string    `xml:"Body"`
			Media []string   `xml:"Media"`
			Attrs []xml.Attr `xml:",any,attr"`
		} `xml:"Message"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		tb.Fatalf("TwiML is not XML: %v\n%s", err, body)
	}
	var out []twimlMsg
	for _, m := range doc.Messages {
		if len(m.Attrs) > 0 {
			tb.Errorf("unexpected attributes on <Message>: %v", m.Attrs)
		}
		msg := twimlMsg{Body: m.Text, Media: m.Media}
		if m.Body != nil {
			msg.Body = *m.Body
		}
		out = append(out, msg)
	}
	return out
}
