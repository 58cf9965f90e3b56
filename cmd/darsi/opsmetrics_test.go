package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
)

// gauges gathers reg into "name" or "name{value}" (one label) → value.
func gauges(tb testing.TB, reg *prometheus.Registry) map[string]float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "{" + l.GetValue() + "}"
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}

// TestStoreCollector: /metrics says whether the store answers, how many
// jobs the outbox holds in each status, how many are due and since when.
func TestStoreCollector(t *testing.T) {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "darsi.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	ctx := context.Background()
	job := func(id string, due time.Time) schedule.Job {
		return schedule.Job{ID: id, Kind: schedule.Reminder, Learner: "whatsapp:+212600000001", Text: "Atelier samedi",
			DueAt: due, CreatedAt: now.Add(-time.Hour)}
	}
	if _, err := s.Enqueue(ctx, job("a", now.Add(-15*time.Minute)), job("b", now.Add(-time.Minute)),
		job("c", now.Add(-time.Minute)), job("later", now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, "w1", now.Add(-time.Minute), time.Hour, 1); err != nil { // a, now claimed
		t.Fatal(err)
	}
	c := newStoreCollector(s, slog.New(slog.DiscardHandler))
	c.now = func() time.Time { return now }
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	want := map[string]float64{
		"darsi_store_up":                      1,
		"darsi_outbox_jobs{queued}":           3,
		"darsi_outbox_jobs{claimed}":          1,
		"darsi_outbox_jobs{sent}":             0,
		"darsi_outbox_jobs{delivered}":        0,
		"darsi_outbox_jobs{failed}":           0,
		"darsi_outbox_jobs{cancelled}":        0,
		"darsi_outbox_due_jobs":               2,
		"darsi_outbox_oldest_due_age_seconds": 60,
	}
	if diff := cmp.Diff(want, gauges(t, reg)); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}

	// A store that does not answer is down, and says nothing else.
	s.Close()
	if diff := cmp.Diff(map[string]float64{"darsi_store_up": 0}, gauges(t, reg)); diff != "" {
		t.Errorf("metrics of a closed store (-want +got):\n%s", diff)
	}
}
