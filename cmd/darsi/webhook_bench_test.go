package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// BenchmarkWebhook runs signed WhatsApp webhooks through the whole
// in-process path on the real Redis: signature, parse, engine, store, TwiML.
func BenchmarkWebhook(b *testing.B) {
	store := e2eRedis(b)
	cfg := defaultConfig(b)
	cfg.Store = store
	cfg.TwilioAuthToken = e2eToken
	cfg.PublicURL = "http://darsi.test"
	content, err := loadContent("")
	if err != nil {
		b.Fatal(err)
	}
	s, err := cfg.openStore(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	reg := prometheus.NewRegistry()
	a := app.New(measureStore(s, reg), content)
	h := routes(cfg, a, s, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	script := []string{"salam", "3", "1", "1", "2", "3", "tapis", "300", "20", "1", "aide", "menu"}
	var learners atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		id := fmt.Sprintf("%06d", learners.Add(1))
		for pb.Next() {
			n++
			form := url.Values{
				"MessageSid": {fmt.Sprintf("SM%024s%08x", id, n)}, "AccountSid": {"AC00000000000000000000000000000000"},
				"From": {"whatsapp:+212600" + id},
				"To":   {"whatsapp:+14155238886"}, "Body": {script[n%len(script)]}, "NumMedia": {"0"},
			}
			target := "http://darsi.test/twilio/messages"
			req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", twiliotest.Signature(e2eToken, target, form))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
}
