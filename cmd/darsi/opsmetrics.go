package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/darsi-ma/darsi/bot/schedule"
)

// scrapeTimeout bounds what one scrape asks of the store: a store that
// does not answer in time is reported down.
const scrapeTimeout = 2 * time.Second

// outboxStatuses are the statuses darsi_outbox_jobs reports, every one at
// each scrape (at zero when no job is in it).
var outboxStatuses = []schedule.Status{schedule.Queued, schedule.Claimed, schedule.Sent,
	schedule.Delivered, schedule.Failed, schedule.Cancelled}

// storeCollector reports, at each scrape of /metrics, whether the store
// answers and what the outbox owes. Every replica reports the same
// outbox (it is shared): alerts and dashboards take the max over replicas.
type storeCollector struct {
	pinger interface{ Ping(context.Context) error }
	outbox schedule.Outbox
	now    func() time.Time
	log    *slog.Logger

	up, jobs, due, oldest *prometheus.Desc
}

func newStoreCollector(s store, log *slog.Logger) *storeCollector {
	return &storeCollector{
		pinger: s, outbox: s, now: time.Now, log: log,
		up: prometheus.NewDesc("darsi_store_up",
			"1 when the store (Redis or the embedded file) answered a ping at this scrape, 0 when it did not within 2 s.", nil, nil),
		jobs: prometheus.NewDesc("darsi_outbox_jobs",
			"Outbox jobs in the store, by status (queued, claimed, sent, delivered, failed, cancelled); ended jobs stay for the job retention.",
			[]string{"status"}, nil),
		due: prometheus.NewDesc("darsi_outbox_due_jobs",
			"Outbox jobs whose time has come that no replica is working on (queued and due, or claimed with the lease run out), counted up to 100,000.", nil, nil),
		oldest: prometheus.NewDesc("darsi_outbox_oldest_due_age_seconds",
			"How long the oldest of the due jobs has been waiting; 0 when none is due.", nil, nil),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.jobs
	ch <- c.due
	ch <- c.oldest
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	if err := c.pinger.Ping(ctx); err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	counts, err := c.outbox.Counts(ctx, "")
	if err != nil {
		c.log.Warn("metrics: outbox counts", "err", err)
	} else {
		for _, st := range outboxStatuses {
			ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(counts[st]), string(st))
		}
	}
	br, ok := c.outbox.(schedule.BacklogReader)
	if !ok {
		return
	}
	now := c.now()
	b, err := br.Backlog(ctx, now, 0)
	if err != nil {
		c.log.Warn("metrics: outbox backlog", "err", err)
		return
	}
	age := 0.0
	if b.Due > 0 {
		age = max(0, now.Sub(b.Oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(c.due, prometheus.GaugeValue, float64(b.Due))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
}
