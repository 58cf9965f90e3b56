package twilio_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/twilio/twilio-go/client"
)

const (
	learner  = "whatsapp:+212600000001"
	waSender = "whatsapp:+14155238886"
)

var sidPattern = regexp.MustCompile(`^SM[0-9a-f]{32}$`)

func newSender(tb testing.TB, baseURL string, mod ...func(*twilio.SenderConfig)) *twilio.Sender {
	tb.Helper()
	cfg := twilio.SenderConfig{AccountSID: testAccount, AuthToken: testToken, BaseURL: baseURL,
		Now: func() time.Time { return fixedNow }}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := twilio.NewSender(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestSend(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  bot.Outbound
		want twiliotest.FakeMessage // SID, Status and At not compared
	}{
		{
			name: "text",
			msg:  bot.Outbound{To: learner, From: waSender, Body: "Salam Amina 👋", StatusCallback: "https://darsi.example.org/twilio/status?job=j1"},
			want: twiliotest.FakeMessage{To: learner, From: waSender, Body: "Salam Amina 👋", StatusCallback: "https://darsi.example.org/twilio/status?job=j1"},
		},
		{
			name: "template",
			msg: bot.Outbound{To: learner, From: waSender, ContentSID: "HX0123456789abcdef0123456789abcdef",
				ContentVariables: map[string]string{"1": "Amina", "2": "Prix & coûts <1>"}},
			want: twiliotest.FakeMessage{To: learner, From: waSender, ContentSID: "HX0123456789abcdef0123456789abcdef",
				ContentVariables: map[string]string{"1": "Amina", "2": "Prix & coûts <1>"}},
		},
		{
			name: "media",
			msg:  bot.Outbound{To: learner, From: waSender, Body: "Regarde", MediaURL: []string{"https://cdn.example.org/a.jpg"}},
			want: twiliotest.FakeMessage{To: learner, From: waSender, Body: "Regarde", MediaURL: []string{"https://cdn.example.org/a.jpg"}},
		},
		{
			name: "to a BSUID",
			msg:  bot.Outbound{To: "whatsapp:MA.1502576394655843", From: waSender, Body: "Rappel"},
			want: twiliotest.FakeMessage{To: "whatsapp:MA.1502576394655843", From: waSender, Body: "Rappel"},
		},
		{
			name: "to a parent BSUID",
			msg:  bot.Outbound{To: "whatsapp:US.ENT.11815799212886844830", From: waSender, Body: "Rappel"},
			want: twiliotest.FakeMessage{To: "whatsapp:US.ENT.11815799212886844830", From: waSender, Body: "Rappel"},
		},
		{
			name: "messaging service, SMS",
			msg:  bot.Outbound{To: "+33612345678", MessagingServiceSID: "MG0123456789abcdef0123456789abcdef", Body: "Rappel"},
			want: twiliotest.FakeMessage{To: "+33612345678", MessagingServiceSID: "MG0123456789abcdef0123456789abcdef", Body: "Rappel"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := twiliotest.NewFake(t, testAccount, testToken)
			s := newSender(t, fake.URL)
			d, err := s.Send(context.Background(), tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			msgs := fake.Messages()
			if len(msgs) != 1 {
				t.Fatalf("fake got %d messages, want 1", len(msgs))
			}
			if diff := cmp.Diff(tc.want, msgs[0], cmpopts.IgnoreFields(twiliotest.FakeMessage{}, "SID", "Status", "At"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
			if !sidPattern.MatchString(d.SID) || d.SID != msgs[0].SID {
				t.Errorf("SID: got %q, fake has %q", d.SID, msgs[0].SID)
			}
			want := bot.Delivery{SID: d.SID, To: tc.msg.To, Status: bot.StatusQueued, UpdatedAt: fixedNow}
			if tc.msg.StatusCallback != "" {
				want.JobID = "j1"
			}
			if diff := cmp.Diff(want, d); diff != "" {
				t.Errorf("delivery (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	for _, tc := range []struct {
		code, httpStatus int
		want             bot.SendClass
		kind             bot.Kind
	}{
		{63016, 400, bot.NeedsTemplate, bot.Invalid},
		{63018, 429, bot.RetryLater, bot.Unavailable},
		{63018, 400, bot.RetryLater, bot.Unavailable},
		{20429, 429, bot.RetryLater, bot.Unavailable},
		{30001, 400, bot.RetryLater, bot.Unavailable},
		{21611, 400, bot.RetryLater, bot.Unavailable},
		{20500, 500, bot.RetryLater, bot.Unavailable},
		{20503, 503, bot.RetryLater, bot.Unavailable},
		{21610, 400, bot.OptedOut, bot.Invalid},
		{21211, 400, bot.Permanent, bot.Invalid},
		{21614, 400, bot.Permanent, bot.Invalid},
		{63014, 400, bot.Permanent, bot.Invalid},
	} {
		t.Run(fmt.Sprint(tc.code, "/", tc.httpStatus), func(t *testing.T) {
			fake := twiliotest.NewFake(t, testAccount, testToken)
			fake.FailNext(learner, tc.code, tc.httpStatus)
			s := newSender(t, fake.URL)
			_, err := s.Send(context.Background(), bot.Outbound{To: learner, From: waSender, Body: "x"})
			var se *bot.SendError
			if !errors.As(err, &se) {
				t.Fatalf("got %v (%T), want *bot.SendError", err, err)
			}
			if se.Class != tc.want || se.Code != tc.code || se.HTTPStatus != tc.httpStatus {
				t.Errorf("got class %s, code %d, HTTP %d; want %s, %d, %d", se.Class, se.Code, se.HTTPStatus, tc.want, tc.code, tc.httpStatus)
			}
			if k := bot.KindOf(err); k != tc.kind {
				t.Errorf("kind: got %s, want %s", k, tc.kind)
			}
			var tre *client.TwilioRestError
			if !errors.As(err, &tre) || tre.Code != tc.code {
				t.Errorf("the twilio-go error is not in the chain: %v", err)
			}
			if len(fake.Messages()) != 0 {
				t.Error("a failed send was recorded")
			}
			// The failure was for one send only.
			if _, err := s.Send(context.Background(), bot.Outbound{To: learner, From: waSender, Body: "x"}); err != nil {
				t.Errorf("next send: %v", err)
			}
		})
	}
}

// TestSendHTTPErrors covers answers that are not Twilio's JSON: a proxy's
// error page, a closed port, a bad password.
func TestSendHTTPErrors(t *testing.T) {
	page := func(status int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "<html>gateway</html>", status)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	fake := twiliotest.NewFake(t, testAccount, testToken)

	for _, tc := range []struct {
		name       string
		base       string
		token      string
		want       bot.SendClass
		httpStatus int
		code       int
	}{
		{"502 page", page(502), "", bot.RetryLater, 502, 0},
		{"429 page", page(429), "", bot.RetryLater, 429, 0},
		{"404 page", page(404), "", bot.Permanent, 404, 0},
		{"connection refused", closed.URL, "", bot.RetryLater, 0, 0},
		{"wrong auth token", fake.URL, "0000000000000000000000000000beef", bot.Permanent, 401, 20003},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSender(t, tc.base, func(c *twilio.SenderConfig) {
				if tc.token != "" {
					c.AuthToken = tc.token
				}
			})
			_, err := s.Send(context.Background(), bot.Outbound{To: learner, From: waSender, Body: "x"})
			var se *bot.SendError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want *bot.SendError", err)
			}
			if se.Class != tc.want || se.HTTPStatus != tc.httpStatus || se.Code != tc.code {
				t.Errorf("got %s, HTTP %d, code %d; want %s, HTTP %d, code %d (%v)", se.Class, se.HTTPStatus, se.Code, tc.want, tc.httpStatus, tc.code, err)
			}
		})
	}
}

func TestSendTimeout(t *testing.T) {
	fake := twiliotest.NewFake(t, testAccount, testToken)
	fake.SetDelay(2 * time.Second)
	s := newSender(t, fake.URL, func(c *twilio.SenderConfig) { c.Timeout = 50 * time.Millisecond })
	start := time.Now()
	_, err := s.Send(context.Background(), bot.Outbound{To: learner, From: waSender, Body: "x"})
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %v, want about the 50 ms timeout", took)
	}
	var se *bot.SendError
	if !errors.As(err, &se) || se.Class != bot.RetryLater {
		t.Fatalf("got %v, want RetryLater", err)
	}
	if bot.KindOf(err) != bot.Unavailable {
		t.Errorf("kind: got %s, want unavailable", bot.KindOf(err))
	}
}

func TestSendContext(t *testing.T) {
	fake := twiliotest.NewFake(t, testAccount, testToken)
	s := newSender(t, fake.URL)

	t.Run("canceled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.Send(ctx, bot.Outbound{To: learner, From: waSender, Body: "x"})
		var se *bot.SendError
		if !errors.As(err, &se) || se.Class != bot.RetryLater || !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want RetryLater wrapping context.Canceled", err)
		}
		if n := len(fake.Messages()); n != 0 {
			t.Errorf("%d messages sent", n)
		}
	})

	t.Run("canceled during", func(t *testing.T) {
		fake.SetDelay(5 * time.Second)
		defer fake.SetDelay(0)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err := s.Send(ctx, bot.Outbound{To: learner, From: waSender, Body: "x"})
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("took %v: cancellation not honoured", took)
		}
		var se *bot.SendError
		if !errors.As(err, &se) || se.Class != bot.RetryLater || !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want RetryLater wrapping context.Canceled", err)
		}
	})
}

func TestSendInvalid(t *testing.T) {
	fake := twiliotest.NewFake(t, testAccount, testToken)
	s := newSender(t, fake.URL)
	for name, m := range map[string]bot.Outbound{
		"no recipient":           {From: waSender, Body: "x"},
		"no sender":              {To: learner, Body: "x"},
		"malformed BSUID":        {To: "whatsapp:MA..1502576394655843", From: waSender, Body: "x"},
		"BSUID by SMS":           {To: "MA.1502576394655843", From: "+15550000000", Body: "x"},
		"not a number":           {To: "whatsapp:0612345678", From: waSender, Body: "x"},
		"nothing to send":        {To: learner, From: waSender},
		"template with body":     {To: learner, From: waSender, ContentSID: "HX1", Body: "x"},
		"variables, no template": {To: learner, From: waSender, Body: "x", ContentVariables: map[string]string{"1": "a"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.Send(context.Background(), m)
			var se *bot.SendError
			if !errors.As(err, &se) || se.Class != bot.Permanent || bot.KindOf(err) != bot.Invalid {
				t.Errorf("got %v, want Permanent of kind invalid", err)
			}
		})
	}
	if n := len(fake.Messages()); n != 0 {
		t.Errorf("%d messages sent", n)
	}
}

func TestNewSenderInvalid(t *testing.T) {
	for name, cfg := range map[string]twilio.SenderConfig{
		"no sid":           {AuthToken: testToken},
		"no token":         {AccountSID: testAccount},
		"token not alnum":  {AccountSID: testAccount, AuthToken: "abc-def"},
		"base URL ftp":     {AccountSID: testAccount, AuthToken: testToken, BaseURL: "ftp://example.org"},
		"base URL no host": {AccountSID: testAccount, AuthToken: testToken, BaseURL: "http://"},
		"base URL query":   {AccountSID: testAccount, AuthToken: testToken, BaseURL: "http://x.org?a=1"},
	} {
		if _, err := twilio.NewSender(cfg); bot.KindOf(err) != bot.Invalid {
			t.Errorf("%s: got %v, want an error of kind invalid", name, err)
		}
	}
}

// TestSendBaseURLPath checks that a path in BaseURL prefixes Twilio's.
func TestSendBaseURLPath(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		fmt.Fprint(w, `{"sid":"SM00000000000000000000000000000000","status":"queued","to":"+33612345678","from":"+33700000000","num_segments":"1","num_media":"0"}`)
	}))
	t.Cleanup(srv.Close)
	s := newSender(t, srv.URL+"/twilio-proxy/")
	if _, err := s.Send(context.Background(), bot.Outbound{To: "+33612345678", From: "+33700000000", Body: "x"}); err != nil {
		t.Fatal(err)
	}
	if want := "/twilio-proxy/2010-04-01/Accounts/" + testAccount + "/Messages.json"; got != want {
		t.Errorf("path: got %q, want %q", got, want)
	}
}

// TestSendNoRedirect checks that a redirect is not followed: it would
// lose the form, and the message may have been created already.
func TestSendNoRedirect(t *testing.T) {
	var followed atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/elsewhere/", func(w http.ResponseWriter, r *http.Request) { followed.Add(1) })
	mux.HandleFunc("/2010-04-01/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere"+r.URL.Path, http.StatusTemporaryRedirect)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s := newSender(t, srv.URL)
	_, err := s.Send(context.Background(), bot.Outbound{To: learner, From: waSender, Body: "x"})
	var se *bot.SendError
	if !errors.As(err, &se) || se.Class != bot.Permanent || se.HTTPStatus != http.StatusTemporaryRedirect {
		t.Errorf("got %v, want a permanent failure with HTTP 307", err)
	}
	if n := followed.Load(); n != 0 {
		t.Errorf("redirect followed %d times, want 0", n)
	}
}

func TestSendConcurrent(t *testing.T) {
	fake := twiliotest.NewFake(t, testAccount, testToken)
	s := newSender(t, fake.URL)
	const n = 20
	var wg sync.WaitGroup
	sids := make([]string, n)
	for i := range n {
		wg.Go(func() {
			d, err := s.Send(context.Background(), bot.Outbound{To: learner, From: waSender, Body: fmt.Sprint("message ", i)})
			if err != nil {
				t.Error(err)
			}
			sids[i] = d.SID
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, sid := range sids {
		if seen[sid] {
			t.Errorf("SID %s returned twice", sid)
		}
		seen[sid] = true
	}
	if got := len(fake.Messages()); got != n {
		t.Errorf("fake got %d messages, want %d", got, n)
	}
}

func TestSent(t *testing.T) {
	fake := twiliotest.NewFake(t, testAccount, testToken)
	fake.SetPageSize(2)
	s := newSender(t, fake.URL)
	ctx := context.Background()

	// Yesterday, then this morning every 10 minutes, and another learner.
	var clock time.Time
	var mu sync.Mutex
	fake.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return clock })
	at := func(t time.Time) { mu.Lock(); clock = t; mu.Unlock() }
	send := func(to, body string) string {
		t.Helper()
		d, err := s.Send(ctx, bot.Outbound{To: to, From: waSender, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		return d.SID
	}
	at(fixedNow.AddDate(0, 0, -1))
	send(learner, "yesterday")
	var today []string
	for i := range 5 {
		at(fixedNow.Add(time.Duration(i*10) * time.Minute))
		today = append(today, send(learner, fmt.Sprint("today ", i)))
		send("whatsapp:+212700000002", "other")
	}

	t.Run("all pages, newest first", func(t *testing.T) {
		got, err := s.Sent(ctx, learner, fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		var want []bot.Delivery
		for i := 4; i >= 0; i-- {
			want = append(want, bot.Delivery{SID: today[i], To: learner, Status: bot.StatusQueued,
				UpdatedAt: fixedNow.Add(time.Duration(i*10) * time.Minute), Body: fmt.Sprint("today ", i)})
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateApproxTime(0)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})

	t.Run("filtered to the second, not the day", func(t *testing.T) {
		got, err := s.Sent(ctx, learner, fixedNow.Add(25*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].SID != today[4] || got[1].SID != today[3] {
			t.Errorf("got %+v, want the last two of today", got)
		}
	})

	t.Run("another learner", func(t *testing.T) {
		got, err := s.Sent(ctx, "whatsapp:+212700000002", fixedNow.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 5 {
			t.Errorf("got %d, want 5", len(got))
		}
	})

	t.Run("nothing", func(t *testing.T) {
		got, err := s.Sent(ctx, "whatsapp:+212799999999", fixedNow)
		if err != nil || len(got) != 0 {
			t.Errorf("got %v, %v; want nothing", got, err)
		}
	})

	t.Run("error", func(t *testing.T) {
		bad := newSender(t, fake.URL, func(c *twilio.SenderConfig) { c.AuthToken = "0000000000000000000000000000beef" })
		_, err := bad.Sent(ctx, learner, fixedNow)
		var se *bot.SendError
		if !errors.As(err, &se) || se.Code != 20003 || se.Class != bot.Permanent {
			t.Errorf("got %v, want Permanent 20003", err)
		}
	})
}
