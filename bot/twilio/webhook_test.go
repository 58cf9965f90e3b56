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
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Payloads as Twilio posts them (SIDs and numbers replaced).
const (
	waText = "SmsMessageSid=SM0a1b2c3d4e5f60718293a4b5c6d7e8f9&NumMedia=0&ProfileName=Amina&MessageType=text" +
		"&SmsSid=SM0a1b2c3d4e5f60718293a4b5c6d7e8f9&WaId=212600000001&SmsStatus=received&Body=Salam" +
		"&To=whatsapp%3A%2B14155238886&NumSegments=1&ReferralNumMedia=0&MessageSid=SM0a1b2c3d4e5f60718293a4b5c6d7e8f9" +
		"&AccountSid=AC0123456789abcdef0123456789abcdef&From=whatsapp%3A%2B212600000001&ApiVersion=2010-04-01"

	waVoiceNote = "MediaContentType0=audio%2Fogg&SmsMessageSid=MM1111111111111111111111111111111a&NumMedia=1" +
		"&ProfileName=Amina&MessageType=audio&SmsSid=MM1111111111111111111111111111111a&WaId=212600000001" +
		"&SmsStatus=received&Body=&To=whatsapp%3A%2B14155238886&NumSegments=1&ReferralNumMedia=0" +
		"&MessageSid=MM1111111111111111111111111111111a&AccountSid=AC0123456789abcdef0123456789abcdef" +
		"&From=whatsapp%3A%2B212600000001" +
		"&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC0123456789abcdef0123456789abcdef%2FMessages%2FMM1111111111111111111111111111111a%2FMedia%2FME2222222222222222222222222222222b" +
		"&ApiVersion=2010-04-01"

	waImage = "MediaContentType0=image%2Fjpeg&SmsMessageSid=MM3333333333333333333333333333333c&NumMedia=1" +
		"&ProfileName=Fatima+Zahra&MessageType=image&SmsSid=MM3333333333333333333333333333333c&WaId=212661234567" +
		"&SmsStatus=received&Body=Voici+mon+tapis&To=whatsapp%3A%2B14155238886&NumSegments=1&ReferralNumMedia=0" +
		"&MessageSid=MM3333333333333333333333333333333c&AccountSid=AC0123456789abcdef0123456789abcdef" +
		"&From=whatsapp%3A%2B212661234567" +
		"&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC0123456789abcdef0123456789abcdef%2FMessages%2FMM3333333333333333333333333333333c%2FMedia%2FME4444444444444444444444444444444d" +
		"&ApiVersion=2010-04-01"

	waLocation = "Latitude=31.6294723&Longitude=-7.9810845&Address=Jemaa+el-Fna%2C+Marrakech&Label=Souk" +
		"&SmsMessageSid=SM5555555555555555555555555555555e&NumMedia=0&ProfileName=Youssef&MessageType=location" +
		"&SmsSid=SM5555555555555555555555555555555e&WaId=212700000002&SmsStatus=received&Body=" +
		"&To=whatsapp%3A%2B14155238886&NumSegments=1&ReferralNumMedia=0&MessageSid=SM5555555555555555555555555555555e" +
		"&AccountSid=AC0123456789abcdef0123456789abcdef&From=whatsapp%3A%2B212700000002&ApiVersion=2010-04-01"

	waButton = "SmsMessageSid=SM6666666666666666666666666666666f&NumMedia=0&ProfileName=Amina&MessageType=button" +
		"&ButtonText=Oui&ButtonPayload=consent_yes&OriginalRepliedMessageSid=SM7777777777777777777777777777777a" +
		"&OriginalRepliedMessageSender=whatsapp%3A%2B14155238886&SmsSid=SM6666666666666666666666666666666f" +
		"&WaId=212600000001&SmsStatus=received&Body=Oui&To=whatsapp%3A%2B14155238886&NumSegments=1" +
		"&ReferralNumMedia=0&MessageSid=SM6666666666666666666666666666666f" +
		"&AccountSid=AC0123456789abcdef0123456789abcdef&From=whatsapp%3A%2B212600000001&ApiVersion=2010-04-01"

	smsText = "ToCountry=FR&ToState=&SmsMessageSid=SM8888888888888888888888888888888b&NumMedia=0&ToCity=" +
		"&FromZip=&SmsSid=SM8888888888888888888888888888888b&FromState=&SmsStatus=received&FromCity=" +
		"&Body=Bonjour&FromCountry=FR&To=%2B33700000000&MessagingServiceSid=MG0123456789abcdef0123456789abcdef" +
		"&ToZip=&NumSegments=1&MessageSid=SM8888888888888888888888888888888b" +
		"&AccountSid=AC0123456789abcdef0123456789abcdef&From=%2B33612345678&ApiVersion=2010-04-01"
)

var fixedNow = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

// with returns payload with parameters set (kv: name, value, …); a value
// of "\x7f" deletes the parameter.
func with(payload string, kv ...string) string {
	q, err := url.ParseQuery(payload)
	if err != nil {
		panic(err)
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "\x7f" {
			q.Del(kv[i])
			continue
		}
		q.Set(kv[i], kv[i+1])
	}
	return q.Encode()
}

// webhookCase is one request to the inbound webhook. By default it is a
// signed POST of body to https://darsi.example.org/twilio/messages and the
// app answers one reply, "ok".
type webhookCase struct {
	name        string
	method      string            // default POST
	target      string            // path and query; default /twilio/messages
	body        string            // the form, as posted
	contentType string            // default application/x-www-form-urlencoded
	header      map[string]string // extra headers
	signURL     string            // the URL signed; default PublicURL + target
	signToken   string            // the token signing; default testToken
	signature   string            // as is instead of computing one; "-" sends none
	cfg         func(*twilio.WebhookConfig)
	handle      func(context.Context, bot.Inbound) (app.Result, error)

	wantStatus  int
	wantInbound *bot.Inbound // nil: the app must not be called
	wantTwiML   []twimlMsg   // checked on 200
}

// runWebhookCases runs each case through a fresh webhook.
func runWebhookCases(t *testing.T, cases []webhookCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runWebhookCase(t, tc)
		})
	}
}

func runWebhookCase(t *testing.T, tc webhookCase) {
	t.Helper()
	cfg := twilio.WebhookConfig{AuthToken: testToken, PublicURL: testPublic, Now: func() time.Time { return fixedNow }}
	if tc.cfg != nil {
		tc.cfg(&cfg)
	}
	fa := &fakeApp{Handle: tc.handle}
	wh := twilio.NewWebhook(fa, newFakeDeliveries(), cfg)

	method := tc.method
	if method == "" {
		method = http.MethodPost
	}
	target := tc.target
	if target == "" {
		target = "/twilio/messages"
	}
	req := httptest.NewRequest(method, "http://darsi.internal:8080"+target, strings.NewReader(tc.body))
	ct := tc.contentType
	if ct == "" {
		ct = "application/x-www-form-urlencoded"
	}
	if ct != "-" {
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range tc.header {
		req.Header.Set(k, v)
	}
	switch tc.signature {
	case "-":
	case "":
		signURL := tc.signURL
		if signURL == "" {
			signURL = strings.TrimRight(cfg.PublicURL, "/") + target
		}
		token := tc.signToken
		if token == "" {
			token = testToken
		}
		form, err := url.ParseQuery(tc.body)
		if err == nil {
			req.Header.Set("X-Twilio-Signature", sign(t, token, signURL, form))
		}
	default:
		req.Header.Set("X-Twilio-Signature", tc.signature)
	}

	rec := httptest.NewRecorder()
	wh.Messages().ServeHTTP(rec, req)

	if rec.Code != tc.wantStatus {
		t.Fatalf("status: got %d, want %d; body: %s", rec.Code, tc.wantStatus, rec.Body)
	}
	calls := fa.Calls()
	switch {
	case tc.wantInbound == nil && len(calls) > 0:
		t.Errorf("app called with %+v, want not called", calls[0])
	case tc.wantInbound != nil && len(calls) != 1:
		t.Errorf("app called %d times, want once", len(calls))
	case tc.wantInbound != nil:
		want := *tc.wantInbound
		if diff := cmp.Diff(want, calls[0], cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("inbound (-want +got):\n%s", diff)
		}
	}
	if rec.Code != http.StatusOK {
		return
	}
	if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/xml") {
		t.Errorf("Content-Type: got %q, want text/xml", got)
	}
	if diff := cmp.Diff(tc.wantTwiML, parseTwiML(t, rec.Body.Bytes()), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("TwiML (-want +got):\n%s\n%s", diff, rec.Body)
	}
}

var okTwiML = []twimlMsg{{Body: "ok"}}

func TestWebhookPayloads(t *testing.T) {
	amina := "whatsapp:+212600000001"
	runWebhookCases(t, []webhookCase{
		{
			name:       "whatsapp text",
			body:       waText,
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: amina, Channel: bot.WhatsApp,
				Text: "Salam", ProfileName: "Amina"},
			wantTwiML: okTwiML,
		},
		{
			name:       "whatsapp from a BSUID",
			body:       with(waText, "From", "whatsapp:MA.1502576394655843", "WaId", "\x7f"),
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "whatsapp:MA.1502576394655843",
				Channel: bot.WhatsApp, Text: "Salam", ProfileName: "Amina"},
			wantTwiML: okTwiML,
		},
		{
			name:       "whatsapp from a number with its BSUID",
			body:       with(waText, "ExternalUserId", "MA.1502576394655843"),
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: amina, Channel: bot.WhatsApp,
				Text: "Salam", ProfileName: "Amina", BSUID: "whatsapp:MA.1502576394655843"},
			wantTwiML: okTwiML,
		},
		{
			name:       "sms text",
			body:       smsText,
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "SM8888888888888888888888888888888b", From: "sms:+33612345678",
				Channel: bot.SMS, Text: "Bonjour"},
			wantTwiML: okTwiML,
		},
		{
			name:       "sms STOP reaches the app",
			body:       with(smsText, "Body", "STOP", "OptOutType", "STOP"),
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "SM8888888888888888888888888888888b", From: "sms:+33612345678",
				Channel: bot.SMS, Text: "STOP"},
			wantTwiML: okTwiML,
		},
		{
			name:       "sms START reaches the app",
			body:       with(smsText, "Body", "START", "OptOutType", "START"),
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "SM8888888888888888888888888888888b", From: "sms:+33612345678",
				Channel: bot.SMS, Text: "START"},
			wantTwiML: okTwiML,
		},
		{
			name:       "whatsapp stop word",
			body:       with(waText, "Body", "stop"),
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: amina, Channel: bot.WhatsApp,
				Text: "stop", ProfileName: "Amina"},
			wantTwiML: okTwiML,
		},
		{
			name:       "voice note",
			body:       waVoiceNote,
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "MM1111111111111111111111111111111a", From: amina, Channel: bot.WhatsApp,
				ProfileName: "Amina", Media: []bot.Media{{
					URL:         "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/MM1111111111111111111111111111111a/Media/ME2222222222222222222222222222222b",
					ContentType: "audio/ogg",
				}}},
			wantTwiML: okTwiML,
		},
		{
			name:       "image with caption",
			body:       waImage,
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "MM3333333333333333333333333333333c", From: "whatsapp:+212661234567",
				Channel: bot.WhatsApp, Text: "Voici mon tapis", ProfileName: "Fatima Zahra", Media: []bot.Media{{
					URL:         "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/MM3333333333333333333333333333333c/Media/ME4444444444444444444444444444444d",
					ContentType: "image/jpeg",
				}}},
			wantTwiML: okTwiML,
		},
		{
			name:       "location",
			body:       waLocation,
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "SM5555555555555555555555555555555e", From: "whatsapp:+212700000002",
				Channel: bot.WhatsApp, ProfileName: "Youssef", Latitude: "31.6294723", Longitude: "-7.9810845"},
			wantTwiML: okTwiML,
		},
		{
			name:       "quick-reply button",
			body:       waButton,
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "SM6666666666666666666666666666666f", From: amina, Channel: bot.WhatsApp,
				Text: "Oui", Payload: "consent_yes", ProfileName: "Amina"},
			wantTwiML: okTwiML,
		},
		{
			name:       "invalid UTF-8 passed through",
			body:       strings.Replace(waText, "Body=Salam", "Body=%FF%FEsa%C3", 1),
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: amina, Channel: bot.WhatsApp,
				Text: "\xff\xfesa\xc3", ProfileName: "Amina"},
			wantTwiML: okTwiML,
		},
		{
			name:       "NUL bytes passed through",
			body:       strings.Replace(waText, "Body=Salam", "Body=%00a%00b%00", 1),
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: amina, Channel: bot.WhatsApp,
				Text: "\x00a\x00b\x00", ProfileName: "Amina"},
			wantTwiML: okTwiML,
		},
		{
			name:       "5,000-character message",
			body:       with(waText, "Body", strings.Repeat("ب", 5000)),
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: amina, Channel: bot.WhatsApp,
				Text: strings.Repeat("ب", 5000), ProfileName: "Amina"},
			wantTwiML: okTwiML,
		},
		{
			name:       "emoji only",
			body:       with(waText, "Body", "👍🏽🙏"),
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: amina, Channel: bot.WhatsApp,
				Text: "👍🏽🙏", ProfileName: "Amina"},
			wantTwiML: okTwiML,
		},
		{
			name:       "Arabic-Indic digit",
			body:       with(waText, "Body", "٣"),
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: amina, Channel: bot.WhatsApp,
				Text: "٣", ProfileName: "Amina"},
			wantTwiML: okTwiML,
		},
		{
			name:       "unknown parameters accepted",
			body:       with(waText, "BrandNewTwilioParam", "x", "ChannelMetadata", `{"type":"whatsapp"}`),
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: amina, Channel: bot.WhatsApp,
				Text: "Salam", ProfileName: "Amina"},
			wantTwiML: okTwiML,
		},
		{
			name:       "SmsSid when MessageSid is missing",
			body:       with(waText, "MessageSid", "\x7f", "SmsMessageSid", "\x7f"),
			wantStatus: 200,
			wantInbound: &bot.Inbound{ID: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: amina, Channel: bot.WhatsApp,
				Text: "Salam", ProfileName: "Amina"},
			wantTwiML: okTwiML,
		},
	})
}

func TestWebhookSignature(t *testing.T) {
	amina := &bot.Inbound{ID: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "whatsapp:+212600000001",
		Channel: bot.WhatsApp, Text: "Salam", ProfileName: "Amina"}
	noPublicURL := func(c *twilio.WebhookConfig) { c.PublicURL = "" }
	runWebhookCases(t, []webhookCase{
		{name: "valid", body: waText, wantStatus: 200, wantInbound: amina, wantTwiML: okTwiML},
		{name: "missing", body: waText, signature: "-", wantStatus: 403},
		{name: "empty", body: waText, signature: " ", wantStatus: 403},
		{name: "garbage", body: waText, signature: "not-a-signature", wantStatus: 403},
		{name: "other token", body: waText, signToken: "0000000000000000000000000000beef", wantStatus: 403},
		{name: "other scheme", body: waText, signURL: "http://darsi.example.org/twilio/messages", wantStatus: 403},
		{name: "other path", body: waText, signURL: testPublic + "/twilio/status", wantStatus: 403},
		{
			name:       "body changed after signing",
			body:       waText,
			signature:  sign(t, testToken, testPublic+"/twilio/messages", mustQuery(t, with(waText, "Body", "Salut"))),
			wantStatus: 403,
		},
		{
			name:        "query string is part of the signed URL",
			target:      "/twilio/messages?tenant=ma&rc=3",
			body:        waText,
			wantStatus:  200,
			wantInbound: amina,
			wantTwiML:   okTwiML,
		},
		{
			name:       "query string left out of the signed URL",
			target:     "/twilio/messages?tenant=ma",
			body:       waText,
			signURL:    testPublic + "/twilio/messages",
			wantStatus: 403,
		},
		{
			// A validator that read r.Form would sign the query parameters
			// twice; Twilio signs them once, in the URL.
			name:       "query parameters not signed as POST parameters",
			target:     "/twilio/messages?tenant=ma",
			body:       waText,
			signature:  sign(t, testToken, testPublic+"/twilio/messages?tenant=ma", mustQuery(t, with(waText, "tenant", "ma"))),
			wantStatus: 403,
		},
		{
			name:        "default port in the signed URL",
			body:        waText,
			signURL:     "https://darsi.example.org:443/twilio/messages",
			wantStatus:  200,
			wantInbound: amina,
			wantTwiML:   okTwiML,
		},
		{
			name:        "PublicURL with a trailing slash",
			cfg:         func(c *twilio.WebhookConfig) { c.PublicURL = testPublic + "/" },
			body:        waText,
			signURL:     testPublic + "/twilio/messages",
			wantStatus:  200,
			wantInbound: amina,
			wantTwiML:   okTwiML,
		},
		{
			name:       "PublicURL set: the request's host is ignored",
			body:       waText,
			signURL:    "http://darsi.internal:8080/twilio/messages",
			wantStatus: 403,
		},
		{
			name:        "PublicURL empty: URL from Host",
			cfg:         noPublicURL,
			body:        waText,
			signURL:     "http://darsi.internal:8080/twilio/messages",
			wantStatus:  200,
			wantInbound: amina,
			wantTwiML:   okTwiML,
		},
		{
			name:        "PublicURL empty: URL from X-Forwarded-Proto and X-Forwarded-Host",
			cfg:         noPublicURL,
			header:      map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "bot.example.ma, proxy.internal"},
			target:      "/twilio/messages?x=1",
			body:        waText,
			signURL:     "https://bot.example.ma/twilio/messages?x=1",
			wantStatus:  200,
			wantInbound: amina,
			wantTwiML:   okTwiML,
		},
		{
			name:       "PublicURL empty: behind a proxy, the internal URL does not verify",
			cfg:        noPublicURL,
			header:     map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "bot.example.ma"},
			body:       waText,
			signURL:    "http://darsi.internal:8080/twilio/messages",
			wantStatus: 403,
		},
	})
}

func mustQuery(tb testing.TB, s string) url.Values {
	tb.Helper()
	q, err := url.ParseQuery(s)
	if err != nil {
		tb.Fatal(err)
	}
	return q
}

// TestWebhookDocumentedVector posts Twilio's documented example through the
// webhook. It is a voice call's request, with neither MessageSid nor
// AccountSid: the webhook refuses it for its SIDs, before its signature
// (which TestDocumentedVector verifies), as it refuses any request that is
// not a message of a Twilio account.
func TestWebhookDocumentedVector(t *testing.T) {
	runWebhookCase(t, webhookCase{
		cfg:    func(c *twilio.WebhookConfig) { c.PublicURL, c.AuthToken = "https://mycompany.com", "12345" },
		target: "/myapp.php?foo=1&bar=2",
		body:   "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212",
		// The signature Twilio's documentation gives, not one we computed.
		signature:  "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
		wantStatus: 400,
	})
}

func TestWebhookBadInput(t *testing.T) {
	unavailable := func(context.Context, bot.Inbound) (app.Result, error) {
		return app.Result{}, bot.Errorf("store.Update", bot.Unavailable, "redis: connection refused")
	}
	amina := &bot.Inbound{ID: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "whatsapp:+212600000001",
		Channel: bot.WhatsApp, Text: "Salam", ProfileName: "Amina"}
	runWebhookCases(t, []webhookCase{
		{name: "GET", method: http.MethodGet, signature: "-", wantStatus: 405},
		{name: "no auth token", cfg: func(c *twilio.WebhookConfig) { c.AuthToken = "" }, body: waText, wantStatus: 503},
		{
			name:       "body over 64 KiB",
			body:       with(waText, "Body", strings.Repeat("a", 65<<10)),
			signature:  "-",
			wantStatus: 413,
		},
		{
			name:       "body over a smaller limit",
			cfg:        func(c *twilio.WebhookConfig) { c.MaxBody = 1 << 10 },
			body:       with(waText, "Body", strings.Repeat("a", 2<<10)),
			wantStatus: 413,
		},
		{
			name:        "body just under the limit",
			cfg:         func(c *twilio.WebhookConfig) { c.MaxBody = int64(len(waText)) },
			body:        waText,
			wantStatus:  200,
			wantInbound: amina,
			wantTwiML:   okTwiML,
		},
		{name: "malformed form", body: "From=whatsapp%3A%2B212600000001&Body=%zz", signature: "whatever", wantStatus: 400},
		{name: "JSON body", body: `{"From":"whatsapp:+212600000001"}`, contentType: "application/json", wantStatus: 400},
		{name: "no Content-Type", body: waText, contentType: "-", wantStatus: 400},
		{name: "no From", body: with(waText, "From", "\x7f"), wantStatus: 400},
		{name: "empty From", body: with(waText, "From", ""), wantStatus: 400},
		{name: "From not a number", body: with(waText, "From", "whatsapp:amina"), wantStatus: 400},
		{name: "From unencoded plus", body: strings.Replace(smsText, "From=%2B", "From=+", 1), wantStatus: 400},
		{name: "From on another channel", body: with(waText, "From", "messenger:1234567890"), wantStatus: 400},
		{name: "From a malformed BSUID", body: with(waText, "From", "whatsapp:MA.15025763-94655843"), wantStatus: 400},
		{name: "From a BSUID by SMS", body: with(smsText, "From", "MA.1502576394655843"), wantStatus: 400},
		{name: "ExternalUserId malformed", body: with(waText, "ExternalUserId", "MA."), wantStatus: 400},
		{name: "no From and no signature", body: with(waText, "From", "\x7f"), signature: "-", wantStatus: 403},
		{name: "store down", body: waText, handle: unavailable, wantStatus: 503, wantInbound: amina},
		{
			name: "store hangs",
			cfg:  func(c *twilio.WebhookConfig) { c.Timeout = 20 * time.Millisecond },
			body: waText,
			handle: func(ctx context.Context, _ bot.Inbound) (app.Result, error) {
				<-ctx.Done()
				return app.Result{}, ctx.Err()
			},
			wantStatus:  503,
			wantInbound: amina,
		},
		{
			name: "conflict",
			body: waText,
			handle: func(context.Context, bot.Inbound) (app.Result, error) {
				return app.Result{}, bot.Errorf("store.Update", bot.Conflict, "too many retries")
			},
			wantStatus:  409,
			wantInbound: amina,
		},
		{
			name: "internal error",
			body: waText,
			handle: func(context.Context, bot.Inbound) (app.Result, error) {
				return app.Result{}, bot.Errorf("dialog", bot.Internal, "bug")
			},
			wantStatus:  500,
			wantInbound: amina,
		},
	})
}

func TestWebhookReplies(t *testing.T) {
	replies := func(rs ...bot.Reply) func(context.Context, bot.Inbound) (app.Result, error) {
		return func(context.Context, bot.Inbound) (app.Result, error) { return app.Result{Replies: rs}, nil }
	}
	amina := &bot.Inbound{ID: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "whatsapp:+212600000001",
		Channel: bot.WhatsApp, Text: "Salam", ProfileName: "Amina"}
	line := "Chaque dirham compte.\n"
	long := strings.Repeat(line, 100) // 2,200 characters
	runWebhookCases(t, []webhookCase{
		{name: "no replies", body: waText, handle: replies(), wantStatus: 200, wantInbound: amina},
		{
			name:        "replies joined",
			body:        waText,
			handle:      replies(bot.Reply{Text: "Mrehba!"}, bot.Reply{Text: "1 الدارجة / Darija\n2 العربية"}),
			wantStatus:  200,
			wantInbound: amina,
			wantTwiML:   []twimlMsg{{Body: "Mrehba!\n\n1 الدارجة / Darija\n2 العربية"}},
		},
		{
			name:        "text and media",
			body:        waText,
			handle:      replies(bot.Reply{Text: "Regarde :"}, bot.Reply{Text: "Un tapis", Media: "https://cdn.example.org/tapis.jpg"}),
			wantStatus:  200,
			wantInbound: amina,
			wantTwiML:   []twimlMsg{{Body: "Regarde :"}, {Body: "Un tapis", Media: []string{"https://cdn.example.org/tapis.jpg"}}},
		},
		{
			name:        "relative media made absolute",
			body:        waText,
			handle:      replies(bot.Reply{Media: "/media/costing.png"}, bot.Reply{Media: "media/b.png"}),
			wantStatus:  200,
			wantInbound: amina,
			wantTwiML: []twimlMsg{
				{Media: []string{testPublic + "/media/costing.png"}},
				{Media: []string{testPublic + "/media/b.png"}},
			},
		},
		{
			name:        "long reply split",
			body:        waText,
			handle:      replies(bot.Reply{Text: long}),
			wantStatus:  200,
			wantInbound: amina,
			wantTwiML: []twimlMsg{
				{Body: strings.TrimSuffix(strings.Repeat(line, 72), "\n")},
				{Body: strings.Repeat(line, 28)},
			},
		},
	})
}

// TestWebhookDuplicate sends the same message twice, as Twilio does when it
// retries: the second answer is the first, byte for byte.
func TestWebhookDuplicate(t *testing.T) {
	n := 0
	fa := dedupingApp(func(in bot.Inbound) []bot.Reply {
		n++
		return []bot.Reply{{Text: "Salam Amina"}, {Text: "Question " + strings.Repeat("?", n)}}
	})
	wh := twilio.NewWebhook(fa, nil, twilio.WebhookConfig{AuthToken: testToken, PublicURL: testPublic})
	post := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/twilio/messages", strings.NewReader(waText))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sign(t, testToken, testPublic+"/twilio/messages", mustQuery(t, waText)))
		rec := httptest.NewRecorder()
		wh.Messages().ServeHTTP(rec, req)
		return rec
	}
	first, second := post(), post()
	if first.Code != 200 || second.Code != 200 {
		t.Fatalf("status: got %d and %d, want 200 twice", first.Code, second.Code)
	}
	if first.Body.String() != second.Body.String() {
		t.Errorf("duplicate answered differently:\nfirst:  %s\nsecond: %s", first.Body, second.Body)
	}
	if got := len(fa.Calls()); got != 2 {
		t.Errorf("app called %d times, want 2 (it deduplicates, not the webhook)", got)
	}
}

// TestWebhookNoReplies checks the exact empty response.
func TestWebhookNoReplies(t *testing.T) {
	fa := &fakeApp{Handle: func(context.Context, bot.Inbound) (app.Result, error) { return app.Result{}, nil }}
	wh := twilio.NewWebhook(fa, nil, twilio.WebhookConfig{AuthToken: testToken, PublicURL: testPublic})
	req := httptest.NewRequest("POST", "/twilio/messages", strings.NewReader(waText))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sign(t, testToken, testPublic+"/twilio/messages", mustQuery(t, waText)))
	rec := httptest.NewRecorder()
	wh.Messages().ServeHTTP(rec, req)
	if want := `<?xml version="1.0" encoding="UTF-8"?><Response/>`; rec.Body.String() != want {
		t.Errorf("body: got %q, want %q", rec.Body, want)
	}
}
