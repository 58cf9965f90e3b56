package twilio

import (
	"cmp"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/darsi-ma/darsi/bot"
)

// recorder is the network: it answers every request with a queued
// message and keeps the requests as the sender's transports left them.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	body := `{"sid":"SM00000000000000000000000000000001","status":"queued","to":"+33612345678"}`
	return &http.Response{
		StatusCode: http.StatusCreated,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    req,
	}, nil
}

func (r *recorder) only(tb testing.TB) *http.Request {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) != 1 {
		tb.Fatalf("got %d requests, want 1", len(r.reqs))
	}
	return r.reqs[0]
}

type ctxKey struct{}

// sendVia sends one message with s, whose network is rec, under a context
// carrying a value the request must carry too.
func sendVia(tb testing.TB, s *Sender) {
	tb.Helper()
	ctx := context.WithValue(context.Background(), ctxKey{}, "this call")
	m := bot.Outbound{To: "+33612345678", From: "+33700000000", Body: "x"}
	if _, err := s.Send(ctx, m); err != nil {
		tb.Fatal(err)
	}
}

func newTestSender(tb testing.TB, baseURL string) *Sender {
	tb.Helper()
	s, err := NewSender(SenderConfig{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "f00dfacecafe0123456789abcdef0123", BaseURL: baseURL})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestSenderTwilioEdge checks that Twilio's own URL leaves TWILIO_EDGE and
// TWILIO_REGION to twilio-go, and that the call's context reaches the
// request.
func TestSenderTwilioEdge(t *testing.T) {
	t.Setenv("TWILIO_EDGE", "sydney")
	t.Setenv("TWILIO_REGION", "au1")
	for _, base := range []string{"", DefaultBaseURL, DefaultBaseURL + "/"} {
		t.Run(cmp.Or(base, "empty"), func(t *testing.T) {
			s := newTestSender(t, base)
			rec := &recorder{}
			s.client.HTTPClient.Transport = rec
			sendVia(t, s)
			req := rec.only(t)
			if got, want := req.URL.Host, "api.sydney.au1.twilio.com"; got != want {
				t.Errorf("host: got %q, want %q", got, want)
			}
			if got := req.Context().Value(ctxKey{}); got != "this call" {
				t.Errorf("context value: got %v, want the call's", got)
			}
			if _, ok := req.Context().Deadline(); !ok {
				t.Error("request has no deadline, want the sender's timeout")
			}
		})
	}
}

// TestSenderBaseURL checks that another base URL overrides TWILIO_EDGE and
// TWILIO_REGION, prefixes Twilio's path, and that calls leave the sender's
// client as it was.
func TestSenderBaseURL(t *testing.T) {
	t.Setenv("TWILIO_EDGE", "sydney")
	t.Setenv("TWILIO_REGION", "au1")
	s := newTestSender(t, "http://proxy.example:8080/twilio/")
	bt, ok := s.client.HTTPClient.Transport.(*baseTransport)
	if !ok {
		t.Fatalf("transport: got %T, want *baseTransport", s.client.HTTPClient.Transport)
	}
	rec := &recorder{}
	bt.next = rec
	sendVia(t, s)
	req := rec.only(t)
	if got, want := req.URL.String(), "http://proxy.example:8080/twilio/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"; got != want {
		t.Errorf("URL: got %q, want %q", got, want)
	}
	if got := req.Context().Value(ctxKey{}); got != "this call" {
		t.Errorf("context value: got %v, want the call's", got)
	}
	if got := s.client.HTTPClient.Transport; got != bt {
		t.Errorf("sender's transport after a call: got %T, want the base URL's, unchanged", got)
	}
}
