package twilio_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	hex32        = "0123456789abcdef0123456789abcdef"
	otherAccount = "ACfedcba9876543210fedcba9876543210"
)

func TestValidSID(t *testing.T) {
	for _, tc := range []struct {
		sid, prefix string
		want        bool
	}{
		{"SM" + hex32, "SM", true},
		{"MM" + hex32, "MM", true},
		{"AC" + hex32, "AC", true},
		{"AC" + strings.ToUpper(hex32), "AC", true},
		{"AC" + hex32, "SM", false},
		{"ac" + hex32, "AC", false},
		{"ac" + hex32, "ac", false}, // a prefix is two capital letters
		{"AC" + hex32[:31], "AC", false},
		{"AC" + hex32 + "0", "AC", false},
		{"AC" + hex32[:31] + "g", "AC", false},
		{"AC" + hex32[:31] + " ", "AC", false},
		{"AC" + hex32[:30] + "٣", "AC", false}, // an Arabic-Indic digit: two bytes, not hex
		{"AC", "AC", false},
		{"", "AC", false},
		{"", "", false},
		{"A" + hex32 + "0", "A", false},
	} {
		if got := twilio.ValidSID(tc.sid, tc.prefix); got != tc.want {
			t.Errorf("ValidSID(%q, %q): got %v, want %v", tc.sid, tc.prefix, got, tc.want)
		}
	}
	for _, tc := range []struct {
		sid              string
		message, account bool
	}{
		{"SM" + hex32, true, false},
		{"MM" + hex32, true, false},
		{"AC" + hex32, false, true},
		{"CA" + hex32, false, false},
		{"MG" + hex32, false, false},
		{"SMr2NumMedia0", false, false},
	} {
		if got := twilio.ValidMessageSID(tc.sid); got != tc.message {
			t.Errorf("ValidMessageSID(%q): got %v, want %v", tc.sid, got, tc.message)
		}
		if got := twilio.ValidAccountSID(tc.sid); got != tc.account {
			t.Errorf("ValidAccountSID(%q): got %v, want %v", tc.sid, got, tc.account)
		}
	}
}

// TestWebhookSIDs posts payloads whose SIDs are malformed or another
// account's: each gets its 4xx before the signature is looked at, the app
// is not called, and darsi_inbound_messages_total and
// darsi_sid_rejections_total count it.
func TestWebhookSIDs(t *testing.T) {
	amina := &bot.Inbound{ID: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "whatsapp:+212600000001",
		Channel: bot.WhatsApp, Text: "Salam", ProfileName: "Amina"}
	ours := func(c *twilio.WebhookConfig) { c.AccountSID = testAccount }
	allSIDs := func(v string) []string {
		return []string{"MessageSid", v, "SmsMessageSid", v, "SmsSid", v}
	}
	for _, tc := range []struct {
		webhookCase
		// wantOutcome is the outcome label counted, and wantReason the
		// reason of darsi_sid_rejections_total ("" when none).
		wantOutcome, wantReason string
	}{
		{webhookCase: webhookCase{name: "ours", cfg: ours, body: waText, wantStatus: 200, wantInbound: amina, wantTwiML: okTwiML},
			wantOutcome: "ok"},
		{webhookCase: webhookCase{name: "no account configured: any account", body: with(waText, "AccountSid", otherAccount),
			wantStatus: 200, wantInbound: amina, wantTwiML: okTwiML}, wantOutcome: "ok"},
		{webhookCase: webhookCase{name: "ours in capitals", cfg: func(c *twilio.WebhookConfig) { c.AccountSID = "AC" + strings.ToUpper(testAccount[2:]) },
			body: waText, wantStatus: 200, wantInbound: amina, wantTwiML: okTwiML}, wantOutcome: "ok"},
		{webhookCase: webhookCase{name: "MM with media", cfg: ours, body: with(waText, allSIDs("MM"+hex32)...), wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "MM" + hex32, From: amina.From, Channel: bot.WhatsApp, Text: "Salam", ProfileName: "Amina"},
			wantTwiML:   okTwiML}, wantOutcome: "ok"},

		{webhookCase: webhookCase{name: "another account", cfg: ours, body: with(waText, "AccountSid", otherAccount), wantStatus: 403},
			wantOutcome: "foreign_account", wantReason: "foreign_account"},
		{webhookCase: webhookCase{name: "another account, unsigned", cfg: ours, body: with(waText, "AccountSid", otherAccount),
			signature: "-", wantStatus: 403}, wantOutcome: "foreign_account", wantReason: "foreign_account"},
		{webhookCase: webhookCase{name: "ours then another", cfg: ours,
			body: waText + "&AccountSid=" + otherAccount, wantStatus: 403}, wantOutcome: "foreign_account", wantReason: "foreign_account"},

		{webhookCase: webhookCase{name: "no message SID", body: with(waText, allSIDs("\x7f")...), wantStatus: 400},
			wantOutcome: "bad_sid", wantReason: "malformed"},
		{webhookCase: webhookCase{name: "empty MessageSid", body: with(waText, "MessageSid", ""), wantStatus: 400},
			wantOutcome: "bad_sid", wantReason: "malformed"},
		{webhookCase: webhookCase{name: "short MessageSid", body: with(waText, allSIDs("SM"+hex32[:31])...), wantStatus: 400},
			wantOutcome: "bad_sid", wantReason: "malformed"},
		{webhookCase: webhookCase{name: "long MessageSid", body: with(waText, allSIDs("SM"+hex32+"0")...), wantStatus: 400},
			wantOutcome: "bad_sid", wantReason: "malformed"},
		{webhookCase: webhookCase{name: "MessageSid not hex", body: with(waText, allSIDs("SM"+hex32[:31]+"z")...), wantStatus: 400},
			wantOutcome: "bad_sid", wantReason: "malformed"},
		{webhookCase: webhookCase{name: "MessageSid in small letters", body: with(waText, allSIDs("sm"+hex32)...), wantStatus: 400},
			wantOutcome: "bad_sid", wantReason: "malformed"},
		{webhookCase: webhookCase{name: "a call's SID", body: with(waText, allSIDs("CA"+hex32)...), wantStatus: 400},
			wantOutcome: "bad_sid", wantReason: "malformed"},
		{webhookCase: webhookCase{name: "MessageSid with a newline", body: with(waText, allSIDs("SM"+hex32+"\n")...), wantStatus: 400},
			wantOutcome: "bad_sid", wantReason: "malformed"},
		{webhookCase: webhookCase{name: "MessageSid good, SmsSid not", body: with(waText, "SmsSid", "SM1"), wantStatus: 400},
			wantOutcome: "bad_sid", wantReason: "malformed"},
		{webhookCase: webhookCase{name: "MessageSid repeated, second malformed", body: waText + "&MessageSid=SM1", wantStatus: 400},
			wantOutcome: "bad_sid", wantReason: "malformed"},
		{webhookCase: webhookCase{name: "malformed MessageSid, unsigned", body: with(waText, "MessageSid", "SM1"), signature: "-", wantStatus: 400},
			wantOutcome: "bad_sid", wantReason: "malformed"},
		{webhookCase: webhookCase{name: "no AccountSid", cfg: ours, body: with(waText, "AccountSid", "\x7f"), wantStatus: 400},
			wantOutcome: "bad_sid", wantReason: "malformed"},
		{webhookCase: webhookCase{name: "short AccountSid", body: with(waText, "AccountSid", "AC123"), wantStatus: 400},
			wantOutcome: "bad_sid", wantReason: "malformed"},
		{webhookCase: webhookCase{name: "an API key for AccountSid", cfg: ours, body: with(waText, "AccountSid", "SK"+hex32), wantStatus: 400},
			wantOutcome: "bad_sid", wantReason: "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			cfg := tc.cfg
			tc.cfg = func(c *twilio.WebhookConfig) {
				if cfg != nil {
					cfg(c)
				}
				c.Registerer = reg
			}
			runWebhookCase(t, tc.webhookCase)
			got := counters(t, reg)
			key := "darsi_inbound_messages_total{channel=whatsapp,outcome=" + tc.wantOutcome + "}"
			if got[key] != 1 {
				t.Errorf("%s: got %v, want 1", key, got[key])
			}
			for _, reason := range []string{"malformed", "foreign_account"} {
				key := "darsi_sid_rejections_total{endpoint=messages,reason=" + reason + "}"
				want := 0.0
				if reason == tc.wantReason {
					want = 1
				}
				if got[key] != want {
					t.Errorf("%s: got %v, want %v", key, got[key], want)
				}
			}
			if tc.wantReason != "" && got["darsi_signature_failures_total"] != 0 {
				t.Errorf("darsi_signature_failures_total: got %v, want 0 (the SIDs are checked first)", got["darsi_signature_failures_total"])
			}
		})
	}
}

// TestWebhookRecutForm replays a signed message with its parameters cut
// again: Twilio's signature joins names and values without a separator, so
// "MessageSid=SM…&NumMedia=0" and "MessageSid=SM…NumMedia0" carry the same
// signature. The SID's format refuses the second.
func TestWebhookRecutForm(t *testing.T) {
	for _, sid := range []string{"SM" + hex32, "SMr2"} {
		signed := url.Values{
			"AccountSid": {testAccount}, "Body": {"Salam"}, "From": {"whatsapp:+212600000001"},
			"MessageSid": {sid}, "NumMedia": {"0"},
		}
		recut := url.Values{
			"AccountSid": {testAccount}, "Body": {"Salam"}, "From": {"whatsapp:+212600000001"},
			"MessageSid": {sid + "NumMedia0"},
		}
		target := testPublic + "/twilio/messages"
		sig := sign(t, testToken, target, signed)
		if !twilio.VerifySignature(testToken, target, recut, sig) {
			t.Fatalf("%s: the re-cut form does not carry the signature; the test proves nothing", sid)
		}
		wantSigned := 200
		if !twilio.ValidMessageSID(sid) {
			wantSigned = 400
		}
		for _, tc := range []struct {
			name string
			form url.Values
			want int
		}{{"as signed", signed, wantSigned}, {"re-cut", recut, 400}} {
			fa := &fakeApp{}
			wh := twilio.NewWebhook(fa, nil, twilio.WebhookConfig{AuthToken: testToken, AccountSID: testAccount, PublicURL: testPublic})
			req := httptest.NewRequest(http.MethodPost, "/twilio/messages", strings.NewReader(tc.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", sig)
			rec := httptest.NewRecorder()
			wh.Messages().ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("%s %s: got %d, want %d (%s)", sid, tc.name, rec.Code, tc.want, strings.TrimSpace(rec.Body.String()))
			}
			if calls := len(fa.Calls()); tc.want != 200 && calls != 0 {
				t.Errorf("%s %s: app called %d times, want never", sid, tc.name, calls)
			}
		}
	}
}

// TestStatusSIDs sends status callbacks with malformed and foreign SIDs:
// 400 and 403, nothing stored, and darsi_sid_rejections_total counts them.
func TestStatusSIDs(t *testing.T) {
	for _, tc := range []struct {
		name       string
		body       string
		signature  string
		wantStatus int
		wantReason string
	}{
		{"ours", statusBody("delivered"), "", 200, ""},
		{"malformed MessageSid", statusBody("delivered", "MessageSid", "SM1", "SmsSid", "SM1"), "", 400, "malformed"},
		{"malformed SmsSid", statusBody("delivered", "SmsSid", "SMr2NumMedia0"), "", 400, "malformed"},
		{"no SID", statusBody("delivered", "MessageSid", "\x7f", "SmsSid", "\x7f"), "", 400, "malformed"},
		{"no AccountSid", statusBody("delivered", "AccountSid", "\x7f"), "", 400, "malformed"},
		{"malformed AccountSid", statusBody("delivered", "AccountSid", "AC"+hex32[:8]), "", 400, "malformed"},
		{"another account", statusBody("delivered", "AccountSid", otherAccount), "", 403, "foreign_account"},
		{"another account, unsigned", statusBody("delivered", "AccountSid", otherAccount), "-", 403, "foreign_account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			d := newFakeDeliveries()
			wh := twilio.NewWebhook(&fakeApp{}, d, twilio.WebhookConfig{
				AuthToken: testToken, AccountSID: testAccount, PublicURL: testPublic, Registerer: reg,
				Now: func() time.Time { return fixedNow },
			})
			if got := postStatus(t, wh.Status(), "/twilio/status?job=j1", tc.body, tc.signature); got != tc.wantStatus {
				t.Fatalf("status: got %d, want %d", got, tc.wantStatus)
			}
			_, err := d.Delivery(t.Context(), statusSID)
			if stored := err == nil; stored != (tc.wantStatus == 200) {
				t.Errorf("delivery stored: got %v, want %v", stored, tc.wantStatus == 200)
			}
			got := counters(t, reg)
			for _, reason := range []string{"malformed", "foreign_account"} {
				key := "darsi_sid_rejections_total{endpoint=status,reason=" + reason + "}"
				want := 0.0
				if reason == tc.wantReason {
					want = 1
				}
				if got[key] != want {
					t.Errorf("%s: got %v, want %v", key, got[key], want)
				}
			}
		})
	}
}
