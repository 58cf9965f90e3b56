package twiliotest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "f00dfacecafe0123456789abcdef0123"
)

// api is a twilio-go client pointed at the fake, built the way package
// twilio builds its own.
func api(tb testing.TB, f *twiliotest.Fake, user, pass string) *openapi.ApiService {
	tb.Helper()
	base, err := url.Parse(f.URL)
	if err != nil {
		tb.Fatal(err)
	}
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.Host = base.Scheme, base.Host, ""
		return http.DefaultTransport.RoundTrip(r)
	})
	c := &client.Client{Credentials: client.NewCredentials(user, pass), HTTPClient: &http.Client{Transport: rt, Timeout: 5 * time.Second}}
	c.SetAccountSid(user)
	return openapi.NewApiServiceWithClient(c)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func create(tb testing.TB, a *openapi.ApiService, to, body string) *openapi.ApiV2010Message {
	tb.Helper()
	p := &openapi.CreateMessageParams{}
	p.SetTo(to)
	p.SetFrom("whatsapp:+14155238886")
	p.SetBody(body)
	m, err := a.CreateMessage(p)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestFakeCreate(t *testing.T) {
	f := twiliotest.NewFake(t, sid, token)
	m := create(t, api(t, f, sid, token), "whatsapp:+212600000001", "مرحبا")
	if m.Sid == nil || len(*m.Sid) != 34 || !strings.HasPrefix(*m.Sid, "SM") {
		t.Errorf("sid: got %v", m.Sid)
	}
	if *m.Status != "queued" || *m.NumSegments != "1" || *m.NumMedia != "0" || *m.To != "whatsapp:+212600000001" {
		t.Errorf("got status %s, segments %s, media %s, to %s", *m.Status, *m.NumSegments, *m.NumMedia, *m.To)
	}
	if m.DateSent != nil {
		t.Errorf("date_sent on a queued message: %s", *m.DateSent)
	}
	got := f.Messages()
	if len(got) != 1 || got[0].SID != *m.Sid || got[0].Body != "مرحبا" || got[0].Status != bot.StatusQueued {
		t.Errorf("Messages: got %+v", got)
	}
}

func TestFakeErrors(t *testing.T) {
	f := twiliotest.NewFake(t, sid, token)
	check := func(err error, code, status int) {
		t.Helper()
		var tre *client.TwilioRestError
		if !errors.As(err, &tre) || tre.Code != code || tre.Status != status || tre.MoreInfo == "" {
			t.Errorf("got %v, want Twilio error %d (HTTP %d)", err, code, status)
		}
	}
	p := (&openapi.CreateMessageParams{}).SetTo("+33612345678").SetFrom("+33700000000").SetBody("x")

	_, err := api(t, f, sid, "wrongtoken0000000000000000000000").CreateMessage(p)
	check(err, 20003, 401)

	_, err = api(t, f, "AC99999999999999999999999999999999", token).CreateMessage(p)
	check(err, 20003, 401)

	f.FailNext("+33612345678", 21610, 400)
	f.FailNext("+33612345678", 63018, 429)
	_, err = api(t, f, sid, token).CreateMessage(p)
	check(err, 21610, 400)
	_, err = api(t, f, sid, token).CreateMessage(p)
	check(err, 63018, 429)
	if _, err = api(t, f, sid, token).CreateMessage(p); err != nil {
		t.Errorf("third send: %v", err)
	}

	_, err = api(t, f, sid, token).CreateMessage((&openapi.CreateMessageParams{}).SetTo("+33612345678").SetBody("x"))
	check(err, 21603, 400)
	_, err = api(t, f, sid, token).CreateMessage((&openapi.CreateMessageParams{}).SetTo("+33612345678").SetFrom("+33700000000"))
	check(err, 21602, 400)

	if n := len(f.Messages()); n != 1 {
		t.Errorf("fake recorded %d messages, want 1", n)
	}
}

func TestFakeList(t *testing.T) {
	f := twiliotest.NewFake(t, sid, token)
	f.SetPageSize(3)
	day := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := day.AddDate(0, 0, -1)
	f.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	a := api(t, f, sid, token)
	create(t, a, "+33612345678", "yesterday")
	mu.Lock()
	now = day
	mu.Unlock()
	for range 7 {
		create(t, a, "+33612345678", "today")
	}
	create(t, a, "+33699999999", "someone else")

	// twilio-go follows next_page_uri through every page.
	p := (&openapi.ListMessageParams{}).SetTo("+33612345678").SetDateSentAfter(day.Add(3 * time.Hour))
	msgs, err := a.ListMessage(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 7 {
		t.Fatalf("listed %d, want the 7 of the day (the filter is by day)", len(msgs))
	}
	for _, m := range msgs {
		if *m.Body != "today" || m.DateSent == nil {
			t.Errorf("listed %+v", m)
		}
	}

	// One page, read raw.
	req, _ := http.NewRequest("GET", f.URL+"/2010-04-01/Accounts/"+sid+"/Messages.json?To=%2B33612345678&PageSize=2", nil)
	req.SetBasicAuth(sid, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Messages    []map[string]any `json:"messages"`
		NextPageURI *string          `json:"next_page_uri"`
		PageSize    int              `json:"page_size"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 2 || page.PageSize != 2 || page.NextPageURI == nil ||
		!strings.Contains(*page.NextPageURI, "Page=1") || !strings.Contains(*page.NextPageURI, "PageToken=PASM") {
		t.Errorf("page: %d messages, size %d, next %v", len(page.Messages), page.PageSize, page.NextPageURI)
	}
	for _, k := range []string{"num_segments", "num_media"} {
		if _, ok := page.Messages[0][k].(string); !ok {
			t.Errorf("%s is %T, want a JSON string", k, page.Messages[0][k])
		}
	}
}

func TestFakeCallback(t *testing.T) {
	f := twiliotest.NewFake(t, sid, token)
	var got url.Values
	var sig, full string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		got, sig, full = r.PostForm, r.Header.Get("X-Twilio-Signature"), "http://"+r.Host+r.URL.RequestURI()
	}))
	t.Cleanup(srv.Close)

	p := (&openapi.CreateMessageParams{}).SetTo("whatsapp:+212600000001").SetFrom("whatsapp:+14155238886").
		SetBody("x").SetStatusCallback(srv.URL + "/twilio/status?job=j9")
	m, err := api(t, f, sid, token).CreateMessage(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Callback(context.Background(), *m.Sid, bot.StatusUndelivered, 63016); err != nil {
		t.Fatal(err)
	}
	if got.Get("MessageSid") != *m.Sid || got.Get("MessageStatus") != "undelivered" || got.Get("ErrorCode") != "63016" ||
		got.Get("To") != "whatsapp:+212600000001" || got.Get("AccountSid") != sid {
		t.Errorf("callback form: %v", got)
	}
	v := client.NewRequestValidator(token)
	params := map[string]string{}
	for k := range got {
		params[k] = got.Get(k)
	}
	if !v.Validate(full, params, sig) {
		t.Errorf("twilio-go rejects the callback's signature for %s", full)
	}
	if st := f.Messages()[0]; st.Status != bot.StatusUndelivered || st.ErrorCode != 63016 {
		t.Errorf("fake's message: %+v", st)
	}
	if err := f.Callback(context.Background(), "SMnope", bot.StatusSent, 0); err == nil {
		t.Error("callback for an unknown message: no error")
	}
}

// TestStartClose checks the constructor for programs that are not tests:
// the fake serves until Close, and not after.
func TestStartClose(t *testing.T) {
	f := twiliotest.Start(sid, token)
	create(t, api(t, f, sid, token), "whatsapp:+212600000001", "salam")
	if n := len(f.Messages()); n != 1 {
		t.Fatalf("Messages: got %d, want 1", n)
	}
	f.Close()
	resp, err := http.Get(f.URL + "/2010-04-01/Accounts/" + sid + "/Messages.json")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("after Close: got HTTP %d, want no answer", resp.StatusCode)
	}
}
