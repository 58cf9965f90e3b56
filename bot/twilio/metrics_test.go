package twilio_test

import (
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

// counters gathers reg into "name{label=value,…} count" lines.
func counters(tb testing.TB, reg *prometheus.Registry) map[string]float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			key := mf.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Histogram != nil:
				out[key+"_count"] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	fa := dedupingApp(func(bot.Inbound) []bot.Reply { return []bot.Reply{{Text: "a"}, {Text: "b"}} })
	d := newFakeDeliveries()
	cfg := twilio.WebhookConfig{AuthToken: testToken, AccountSID: testAccount, PublicURL: testPublic, MaxBody: 4 << 10, Registerer: reg}
	wh := twilio.NewWebhook(fa, d, cfg)
	// A second webhook on the same registry shares the collectors.
	wh2 := twilio.NewWebhook(fa, d, cfg)

	send := func(wh *twilio.Webhook, target, body, sig string) {
		req := httptest.NewRequest("POST", target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig == "" {
			sig = sign(t, testToken, testPublic+target, mustQuery(t, body))
		}
		req.Header.Set("X-Twilio-Signature", sig)
		rec := httptest.NewRecorder()
		if strings.HasPrefix(target, "/twilio/status") {
			wh.Status().ServeHTTP(rec, req)
		} else {
			wh.Messages().ServeHTTP(rec, req)
		}
	}
	send(wh, "/twilio/messages", waText, "")                                           // ok, 2 replies
	send(wh2, "/twilio/messages", waText, "")                                          // duplicate, 2 replies
	send(wh, "/twilio/messages", smsText, "")                                          // ok sms
	send(wh, "/twilio/messages", waText, "bad")                                        // bad signature
	send(wh, "/twilio/messages", with(waText, "From", "\x7f"), "")                     // bad request
	send(wh, "/twilio/messages", with(waText, "Body", strings.Repeat("a", 5000)), "x") // too large
	send(wh, "/twilio/status?job=1", statusBody("sent"), "")
	send(wh, "/twilio/status?job=1", statusBody("queued"), "")
	send(wh, "/twilio/status?job=1", statusBody("teleported"), "")
	send(wh, "/twilio/status?job=1", statusBody("sent"), "bad")
	send(wh, "/twilio/messages", with(waText, "MessageSid", "SM1"), "")                 // bad SID
	send(wh, "/twilio/messages", with(waText, "AccountSid", otherAccount), "")          // another account
	send(wh, "/twilio/status?job=1", statusBody("sent", "SmsSid", "SMr2NumMedia0"), "") // bad SID

	got := counters(t, reg)
	want := map[string]float64{
		"darsi_inbound_messages_total{channel=whatsapp,outcome=ok}":              1,
		"darsi_inbound_messages_total{channel=whatsapp,outcome=duplicate}":       1,
		"darsi_inbound_messages_total{channel=sms,outcome=ok}":                   1,
		"darsi_inbound_messages_total{channel=whatsapp,outcome=bad_signature}":   1,
		"darsi_inbound_messages_total{channel=unknown,outcome=bad_request}":      1,
		"darsi_inbound_messages_total{channel=unknown,outcome=too_large}":        1,
		"darsi_inbound_messages_total{channel=whatsapp,outcome=bad_sid}":         1,
		"darsi_inbound_messages_total{channel=whatsapp,outcome=foreign_account}": 1,
		"darsi_webhook_duration_seconds_count":                                   8,
		"darsi_signature_failures_total":                                         2,
		"darsi_duplicate_messages_total":                                         1,
		"darsi_replies_total{channel=whatsapp}":                                  4,
		"darsi_replies_total{channel=sms}":                                       2,
		"darsi_status_callbacks_total{applied=true,status=sent}":                 1,
		"darsi_status_callbacks_total{applied=false,status=queued}":              1,
		"darsi_status_callbacks_total{applied=false,status=unknown}":             1,
		"darsi_sid_rejections_total{endpoint=messages,reason=malformed}":         1,
		"darsi_sid_rejections_total{endpoint=messages,reason=foreign_account}":   1,
		"darsi_sid_rejections_total{endpoint=status,reason=malformed}":           1,
		"darsi_sid_rejections_total{endpoint=status,reason=foreign_account}":     0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

// TestDeliveryFailureMetrics: a message Twilio reports failed or
// undelivered counts once, by error code, however often the callback
// comes.
func TestDeliveryFailureMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	d := newFakeDeliveries()
	cfg := twilio.WebhookConfig{AuthToken: testToken, AccountSID: testAccount, PublicURL: testPublic, Registerer: reg}
	wh := twilio.NewWebhook(dedupingApp(nil), d, cfg)
	status := func(body string) {
		target := "/twilio/status?job=1"
		req := httptest.NewRequest("POST", target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sign(t, testToken, testPublic+target, mustQuery(t, body)))
		rec := httptest.NewRecorder()
		wh.Status().ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("status callback: %d %s", rec.Code, rec.Body)
		}
	}
	other := "SM" + strings.Repeat("b", 32)
	status(statusBody("sent"))
	status(statusBody("undelivered", "ErrorCode", "63016"))
	status(statusBody("undelivered", "ErrorCode", "63016")) // Twilio's retry
	status(statusBody("failed", "MessageSid", other, "SmsSid", other, "ErrorCode", "30008"))
	got := counters(t, reg)
	for key, want := range map[string]float64{
		"darsi_delivery_failures_total{code=63016}": 1,
		"darsi_delivery_failures_total{code=30008}": 1,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
	n := 0
	for key := range got {
		if strings.HasPrefix(key, "darsi_delivery_failures_total") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d series of darsi_delivery_failures_total, want 2: %v", n, got)
	}
}
