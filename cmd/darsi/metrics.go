package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
)

// measuredStore times every store operation for /metrics.
type measuredStore struct {
	app.Store
	latency *prometheus.HistogramVec
}

func measureStore(s app.Store, reg prometheus.Registerer) *measuredStore {
	m := &measuredStore{
		Store: s,
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "darsi_store_operation_duration_seconds",
			Help:    "Time taken by learner store operations, by operation and outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"op", "outcome"}),
	}
	reg.MustRegister(m.latency)
	if rt, ok := s.(interface{ RoundTrips() uint64 }); ok {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "darsi_store_round_trips_total",
			Help: "Network round trips to the store.",
		}, func() float64 { return float64(rt.RoundTrips()) }))
	}
	return m
}

func (m *measuredStore) observe(op string, start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		outcome = bot.KindOf(err).String()
	}
	m.latency.WithLabelValues(op, outcome).Observe(time.Since(start).Seconds())
}

func (m *measuredStore) Update(ctx context.Context, id, msgID string, fn func(*bot.Learner) (app.Change, error)) (app.Result, error) {
	start := time.Now()
	res, err := m.Store.Update(ctx, id, msgID, fn)
	m.observe("update", start, err)
	return res, err
}

func (m *measuredStore) Get(ctx context.Context, id string) (bot.Learner, error) {
	start := time.Now()
	l, err := m.Store.Get(ctx, id)
	if bot.KindOf(err) == bot.NotFound {
		m.observe("get", start, nil)
	} else {
		m.observe("get", start, err)
	}
	return l, err
}

func (m *measuredStore) Ping(ctx context.Context) error {
	start := time.Now()
	err := m.Store.Ping(ctx)
	m.observe("ping", start, err)
	return err
}
