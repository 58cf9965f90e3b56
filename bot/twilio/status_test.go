package twilio_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
	"github.com/google/go-cmp/cmp"
)

const statusSID = "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// statusBody is a status callback as Twilio posts it.
func statusBody(status string, extra ...string) string {
	q := url.Values{
		"SmsSid":        {statusSID},
		"SmsStatus":     {status},
		"MessageStatus": {status},
		"ChannelPrefix": {"whatsapp"},
		"To":            {"whatsapp:+212600000001"},
		"MessageSid":    {statusSID},
		"AccountSid":    {testAccount},
		"From":          {"whatsapp:+14155238886"},
		"ApiVersion":    {"2010-04-01"},
	}
	for i := 0; i < len(extra); i += 2 {
		if extra[i+1] == "\x7f" {
			q.Del(extra[i])
		} else {
			q.Set(extra[i], extra[i+1])
		}
	}
	return q.Encode()
}

func postStatus(tb testing.TB, h http.Handler, target, body, signature string) int {
	tb.Helper()
	req := httptest.NewRequest("POST", target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signature == "" {
		signature = sign(tb, testToken, testPublic+target, mustQuery(tb, body))
	}
	if signature != "-" {
		req.Header.Set("X-Twilio-Signature", signature)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code == http.StatusOK && rec.Body.Len() != 0 {
		tb.Errorf("200 with a body: %q", rec.Body)
	}
	return rec.Code
}

// TestStatusForwardOnly replays callbacks out of order: only forward moves
// are kept, and the job id of the callback URL is recorded.
func TestStatusForwardOnly(t *testing.T) {
	d := newFakeDeliveries()
	wh := twilio.NewWebhook(&fakeApp{}, d, twilio.WebhookConfig{
		AuthToken: testToken, PublicURL: testPublic, Now: func() time.Time { return fixedNow },
	})
	h := wh.Status()
	target := "/twilio/status?job=job-42"
	steps := []struct {
		body        string
		wantStatus  int
		wantStored  bot.DeliveryStatus
		wantErrCode int
	}{
		{statusBody("sent"), 200, bot.StatusSent, 0},
		{statusBody("queued"), 200, bot.StatusSent, 0}, // late, ignored
		{statusBody("delivered"), 200, bot.StatusDelivered, 0},
		{statusBody("sent"), 200, bot.StatusDelivered, 0},
		{statusBody("undelivered", "ErrorCode", "63016"), 200, bot.StatusDelivered, 0}, // never undoes a receipt
		{statusBody("exploded"), 200, bot.StatusDelivered, 0},                          // unknown, ignored
		{statusBody("read"), 200, bot.StatusRead, 0},
	}
	for i, s := range steps {
		if got := postStatus(t, h, target, s.body, ""); got != s.wantStatus {
			t.Fatalf("step %d: status %d, want %d", i, got, s.wantStatus)
		}
		got, err := d.Delivery(context.Background(), statusSID)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got.Status != s.wantStored || got.ErrorCode != s.wantErrCode {
			t.Errorf("step %d: stored %s/%d, want %s/%d", i, got.Status, got.ErrorCode, s.wantStored, s.wantErrCode)
		}
	}
	got, _ := d.Delivery(context.Background(), statusSID)
	want := bot.Delivery{SID: statusSID, To: "whatsapp:+212600000001", Status: bot.StatusRead, JobID: "job-42", UpdatedAt: fixedNow}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delivery (-want +got):\n%s", diff)
	}
}

func TestStatusCallback(t *testing.T) {
	for _, tc := range []struct {
		name       string
		target     string
		body       string
		signature  string
		storeErr   error
		noStore    bool
		wantStatus int
		want       *bot.Delivery // nil: nothing stored
	}{
		{
			name: "failed with error code", target: "/twilio/status?job=j1",
			body:       statusBody("failed", "ErrorCode", "63016", "ErrorMessage", "outside window"),
			wantStatus: 200,
			want: &bot.Delivery{SID: statusSID, To: "whatsapp:+212600000001", Status: bot.StatusFailed,
				ErrorCode: 63016, JobID: "j1", UpdatedAt: fixedNow},
		},
		{
			name: "no job", target: "/twilio/status", body: statusBody("delivered"), wantStatus: 200,
			want: &bot.Delivery{SID: statusSID, To: "whatsapp:+212600000001", Status: bot.StatusDelivered, UpdatedAt: fixedNow},
		},
		{
			name: "to a BSUID", target: "/twilio/status?job=j3",
			body:       statusBody("read", "To", "whatsapp:MA.1502576394655843"),
			wantStatus: 200,
			want: &bot.Delivery{SID: statusSID, To: "whatsapp:MA.1502576394655843", Status: bot.StatusRead,
				JobID: "j3", UpdatedAt: fixedNow},
		},
		{name: "bad signature", target: "/twilio/status?job=j1", body: statusBody("delivered"), signature: "AAAA", wantStatus: 403},
		{name: "no signature", target: "/twilio/status?job=j1", body: statusBody("delivered"), signature: "-", wantStatus: 403},
		{
			name: "job id not signed", target: "/twilio/status?job=j2", body: statusBody("delivered"),
			signature:  sign(t, testToken, testPublic+"/twilio/status?job=j1", mustQuery(t, statusBody("delivered"))),
			wantStatus: 403,
		},
		{name: "missing MessageSid", target: "/twilio/status", body: statusBody("sent", "MessageSid", "\x7f", "SmsSid", "\x7f"), wantStatus: 400},
		{name: "unknown status", target: "/twilio/status", body: statusBody("teleported"), wantStatus: 200},
		{name: "missing status", target: "/twilio/status", body: statusBody("", "MessageStatus", "\x7f", "SmsStatus", "\x7f"), wantStatus: 200},
		{
			name: "store down", target: "/twilio/status", body: statusBody("sent"), wantStatus: 503,
			storeErr: bot.Errorf("redis", bot.Unavailable, "down"),
		},
		{name: "no delivery store", target: "/twilio/status", body: statusBody("sent"), noStore: true, wantStatus: 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newFakeDeliveries()
			d.err = tc.storeErr
			var store interface {
				AdvanceDelivery(context.Context, bot.Delivery) (bool, error)
				Delivery(context.Context, string) (bot.Delivery, error)
			} = d
			if tc.noStore {
				store = nil
			}
			wh := twilio.NewWebhook(&fakeApp{}, store, twilio.WebhookConfig{
				AuthToken: testToken, PublicURL: testPublic, Now: func() time.Time { return fixedNow },
			})
			if got := postStatus(t, wh.Status(), tc.target, tc.body, tc.signature); got != tc.wantStatus {
				t.Fatalf("status: got %d, want %d", got, tc.wantStatus)
			}
			d.err = nil
			got, err := d.Delivery(context.Background(), statusSID)
			switch {
			case tc.want == nil && err == nil:
				t.Errorf("stored %+v, want nothing", got)
			case tc.want != nil && err != nil:
				t.Errorf("nothing stored, want %+v", *tc.want)
			case tc.want != nil:
				if diff := cmp.Diff(*tc.want, got); diff != "" {
					t.Errorf("delivery (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestStatusCallbackEndToEnd sends through the fake Twilio with a status
// callback URL on a real server, then has the fake call back.
func TestStatusCallbackEndToEnd(t *testing.T) {
	fake := twiliotest.NewFake(t, testAccount, testToken)
	d := newFakeDeliveries()
	// PublicURL empty: the callback comes to the server's own address.
	wh := twilio.NewWebhook(&fakeApp{}, d, twilio.WebhookConfig{AuthToken: testToken})
	mux := http.NewServeMux()
	mux.Handle("POST /twilio/status", wh.Status())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	s, err := twilio.NewSender(twilio.SenderConfig{AccountSID: testAccount, AuthToken: testToken, BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sent, err := s.Send(ctx, bot.Outbound{
		To: "whatsapp:+212600000001", From: "whatsapp:+14155238886", Body: "Rappel : ta leçon t'attend.",
		StatusCallback: srv.URL + "/twilio/status?job=job-7",
	})
	if err != nil {
		t.Fatal(err)
	}
	if sent.JobID != "job-7" {
		t.Errorf("JobID: got %q, want job-7", sent.JobID)
	}
	if _, err := d.AdvanceDelivery(ctx, sent); err != nil {
		t.Fatal(err)
	}
	for _, st := range []bot.DeliveryStatus{bot.StatusDelivered, bot.StatusSent, bot.StatusRead} {
		if err := fake.Callback(ctx, sent.SID, st, 0); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.Delivery(ctx, sent.SID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != bot.StatusRead || got.JobID != "job-7" || got.To != "whatsapp:+212600000001" {
		t.Errorf("delivery: got %+v, want read, job-7, to the learner", got)
	}
	if st := fake.Messages()[0].Status; st != bot.StatusRead {
		t.Errorf("fake's status: got %s, want read", st)
	}
}
