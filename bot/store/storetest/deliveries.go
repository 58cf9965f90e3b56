package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/google/go-cmp/cmp"
)

// RunDeliveries runs the suite of app.Deliveries. open must return a new,
// empty store each time it is called, as for Run.
func RunDeliveries(t *testing.T, open func(t *testing.T) app.Deliveries) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s app.Deliveries)
	}{
		{"Unknown", testDeliveryUnknown},
		{"FirstCreates", testDeliveryFirstCreates},
		{"Forward", testDeliveryForward},
		{"BackwardRefused", testDeliveryBackwardRefused},
		{"FailedAfterSent", testDeliveryFailedAfterSent},
		{"FailedAfterDeliveredRefused", testDeliveryFailedAfterDelivered},
		{"EmptyFieldsKeep", testDeliveryEmptyFieldsKeep},
		{"UnknownStatusIgnored", testDeliveryUnknownStatus},
		{"EmptySID", testDeliveryEmptySID},
		{"PerSID", testDeliveryPerSID},
		{"Concurrent", testDeliveryConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

const sid = "SM0123456789abcdef0123456789abcdef"

// delivery returns a delivery of sid at status, at a time that carries
// nanoseconds and a zone other than UTC.
func delivery(status bot.DeliveryStatus) bot.Delivery {
	return bot.Delivery{
		SID:       sid,
		To:        "whatsapp:+212600000001",
		Status:    status,
		JobID:     "reminder-42",
		UpdatedAt: time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.FixedZone("+01", 3600)),
	}
}

func advance(tb testing.TB, s app.Deliveries, d bot.Delivery, want bool) {
	tb.Helper()
	got, err := s.AdvanceDelivery(context.Background(), d)
	if err != nil {
		tb.Fatalf("AdvanceDelivery(%s): %v", d.Status, err)
	}
	if got != want {
		tb.Fatalf("AdvanceDelivery(%s) = %v, want %v", d.Status, got, want)
	}
}

// wantDelivery checks what the store gives back for want.SID: want, but
// for the recipient, which a store never keeps (a delivery names its job,
// not a phone number).
func wantDelivery(tb testing.TB, s app.Deliveries, want bot.Delivery) {
	tb.Helper()
	want.To = ""
	got, err := s.Delivery(context.Background(), want.SID)
	if err != nil {
		tb.Fatalf("Delivery(%q): %v", want.SID, err)
	}
	if diff := cmp.Diff(got, want, opts); diff != "" {
		tb.Errorf("Delivery(%q) mismatch (-got +want):\n%s", want.SID, diff)
	}
}

func testDeliveryUnknown(t *testing.T, s app.Deliveries) {
	d, err := s.Delivery(context.Background(), sid)
	if err == nil {
		t.Fatalf("Delivery of an unknown sid = %+v, want an error of kind %v", d, bot.NotFound)
	}
	if got := bot.KindOf(err); got != bot.NotFound {
		t.Errorf("Delivery of an unknown sid: kind of %v is %v, want %v", err, got, bot.NotFound)
	}
}

func testDeliveryFirstCreates(t *testing.T, s app.Deliveries) {
	d := delivery(bot.StatusQueued)
	d.ErrorCode = 63016
	advance(t, s, d, true)
	wantDelivery(t, s, d)
}

func testDeliveryForward(t *testing.T, s app.Deliveries) {
	d := delivery(bot.StatusQueued)
	advance(t, s, d, true)
	for _, st := range []bot.DeliveryStatus{bot.StatusSent, bot.StatusDelivered, bot.StatusRead} {
		d.Status = st
		d.UpdatedAt = d.UpdatedAt.Add(time.Second)
		advance(t, s, d, true)
		wantDelivery(t, s, d)
	}
}

func testDeliveryBackwardRefused(t *testing.T, s app.Deliveries) {
	want := delivery(bot.StatusDelivered)
	advance(t, s, want, true)
	for _, st := range []bot.DeliveryStatus{
		bot.StatusDelivered, bot.StatusSent, bot.StatusQueued, bot.StatusAccepted, bot.StatusSending,
	} {
		d := delivery(st)
		d.To = "whatsapp:+212600000099"
		d.JobID = "other"
		d.ErrorCode = 30003
		d.UpdatedAt = want.UpdatedAt.Add(time.Minute)
		advance(t, s, d, false)
		wantDelivery(t, s, want)
	}
}

func testDeliveryFailedAfterSent(t *testing.T, s app.Deliveries) {
	advance(t, s, delivery(bot.StatusSent), true)
	d := delivery(bot.StatusUndelivered)
	d.ErrorCode = 63016
	advance(t, s, d, true)
	wantDelivery(t, s, d)
}

// testDeliveryFailedAfterDelivered checks that a late failure never undoes
// a receipt.
func testDeliveryFailedAfterDelivered(t *testing.T, s app.Deliveries) {
	want := delivery(bot.StatusDelivered)
	advance(t, s, want, true)
	for _, st := range []bot.DeliveryStatus{bot.StatusFailed, bot.StatusUndelivered, bot.StatusCanceled} {
		d := delivery(st)
		d.ErrorCode = 30008
		advance(t, s, d, false)
	}
	wantDelivery(t, s, want)
}

// testDeliveryEmptyFieldsKeep checks that a status callback, which knows
// neither the job nor always the recipient, keeps what the sender recorded.
func testDeliveryEmptyFieldsKeep(t *testing.T, s app.Deliveries) {
	want := delivery(bot.StatusQueued)
	advance(t, s, want, true)
	want.Status = bot.StatusSent
	want.UpdatedAt = want.UpdatedAt.Add(time.Second)
	advance(t, s, bot.Delivery{SID: sid, Status: want.Status, UpdatedAt: want.UpdatedAt}, true)
	wantDelivery(t, s, want)

	// Fields that are set replace the stored ones; the recipient is never
	// kept.
	want.Status = bot.StatusDelivered
	want.JobID = "reminder-43"
	advance(t, s, bot.Delivery{SID: sid, Status: want.Status, To: "whatsapp:+212600000002", JobID: want.JobID, UpdatedAt: want.UpdatedAt}, true)
	wantDelivery(t, s, want)
}

// testDeliveryUnknownStatus checks that a status Twilio may add one day is
// ignored rather than recorded or refused with an error.
func testDeliveryUnknownStatus(t *testing.T, s app.Deliveries) {
	advance(t, s, delivery("partially_delivered"), false)
	if _, err := s.Delivery(context.Background(), sid); bot.KindOf(err) != bot.NotFound {
		t.Errorf("after an unknown status, Delivery: got error %v, want kind %v", err, bot.NotFound)
	}
	want := delivery(bot.StatusSent)
	advance(t, s, want, true)
	advance(t, s, delivery("partially_delivered"), false)
	wantDelivery(t, s, want)
}

func testDeliveryEmptySID(t *testing.T, s app.Deliveries) {
	d := delivery(bot.StatusQueued)
	d.SID = ""
	_, err := s.AdvanceDelivery(context.Background(), d)
	if got := bot.KindOf(err); got != bot.Invalid {
		t.Errorf("AdvanceDelivery with an empty SID: got %v (kind %v), want kind %v", err, got, bot.Invalid)
	}
}

func testDeliveryPerSID(t *testing.T, s app.Deliveries) {
	a := delivery(bot.StatusRead)
	b := delivery(bot.StatusQueued)
	b.SID = "SMffffffffffffffffffffffffffffffff"
	advance(t, s, a, true)
	advance(t, s, b, true)
	wantDelivery(t, s, a)
	wantDelivery(t, s, b)
}

// testDeliveryConcurrent sends every status of one message at once, in a
// random order, many times over, as Twilio's callbacks may arrive: the
// message ends at the furthest status.
func testDeliveryConcurrent(t *testing.T, s app.Deliveries) {
	all := []bot.DeliveryStatus{
		bot.StatusAccepted, bot.StatusQueued, bot.StatusSending, bot.StatusSent,
		bot.StatusFailed, bot.StatusDelivered, bot.StatusRead,
	}
	const rounds = 8
	var ds []bot.Delivery
	for range rounds {
		for _, st := range all {
			d := delivery(st)
			d.JobID = fmt.Sprintf("job-%s", st)
			ds = append(ds, d)
		}
	}
	rand.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })

	var wg sync.WaitGroup
	errs := make(chan error, len(ds))
	reads := make(chan bool, len(ds))
	for _, d := range ds {
		wg.Go(func() {
			ok, err := s.AdvanceDelivery(context.Background(), d)
			if err != nil {
				errs <- err
				return
			}
			reads <- ok && d.Status == bot.StatusRead
		})
	}
	within(t, fmt.Sprintf("%d concurrent advances", len(ds)), wg.Wait)
	close(errs)
	close(reads)
	for err := range errs {
		t.Errorf("concurrent AdvanceDelivery: %v", err)
	}
	n := 0
	for ok := range reads {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d advances to %s reported true, want 1", n, bot.StatusRead)
	}
	want := delivery(bot.StatusRead)
	want.JobID = "job-read"
	wantDelivery(t, s, want)
}
