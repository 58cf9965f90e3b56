package schedule_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/darsi-ma/darsi/bot"
)

// TestSendErrorMetrics: each refusal of a send is counted by Twilio's
// code and what the runner makes of it, never by learner.
func TestSendErrorMetrics(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	cfg := e.config()
	cfg.Registerer = reg
	throttled := e.whatsApp(1, bot.French, time.Hour)
	invalid := e.whatsApp(2, bot.French, time.Hour)
	stopped := e.whatsApp(3, bot.French, time.Hour)
	e.fake.FailNext(throttled.ID, 63018, 429) // queued again for later
	e.fake.FailNext(invalid.ID, 21211, 400)   // given up
	e.fake.FailNext(stopped.ID, 21610, 400)   // opted out
	e.enqueue(reminder("a", throttled, "hello"), reminder("b", invalid, "hello"), reminder("c", stopped, "hello"))
	e.drain(e.runner(cfg))

	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "darsi_outbox_send_errors_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if len(labels) != 2 {
				t.Errorf("labels %v, want code and class only", labels)
			}
			got[labels["code"]+"/"+labels["class"]] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"63018/retry": 1, "21211/permanent": 1, "21610/opted_out": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("darsi_outbox_send_errors_total (-want +got):\n%s", diff)
	}
	if j := e.job("a"); j.Status != "queued" {
		t.Errorf("the throttled job is %s, want queued for a retry", j.Status)
	}
	if j := e.job("b"); j.Status != "failed" {
		t.Errorf("the refused job is %s, want failed", j.Status)
	}
}
