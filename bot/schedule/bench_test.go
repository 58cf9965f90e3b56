//go:build unix

package schedule_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/schedule/scheduletest"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// instantSender is a Twilio that answers at once, in process.
type instantSender struct{ n atomic.Int64 }

func (s *instantSender) Send(ctx context.Context, m bot.Outbound) (bot.Delivery, error) {
	n := s.n.Add(1)
	return bot.Delivery{SID: fmt.Sprintf("SM%032x", n), To: m.To, Status: bot.StatusQueued}, nil
}

func (s *instantSender) Sent(ctx context.Context, to string, since time.Time) ([]bot.Delivery, error) {
	return nil, nil
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDeliver1000 measures the scheduler's cost: one op delivers
// 1,000 due jobs from a memory outbox (claim, learner, quiet hours,
// window, render, send, record, settle), with no rate limit, to a Twilio
// that answers at once: "inprocess" is a Sender that returns at once (the
// scheduler alone), "twiliotest" the real twilio.Sender (twilio-go, HTTP)
// against the fake Twilio in the same process, whose CPU counts too.
// cpu-ms/1000jobs is the process's CPU time per op.
func BenchmarkDeliver1000(b *testing.B) {
	const n = 1000
	for _, bc := range []string{"inprocess", "twiliotest"} {
		b.Run(bc, func(b *testing.B) {
			var sender schedule.Sender = &instantSender{}
			if bc == "twiliotest" {
				fake := twiliotest.NewFake(b, testAccount, testToken)
				s, err := twilio.NewSender(twilio.SenderConfig{AccountSID: testAccount, AuthToken: testToken, BaseURL: fake.URL})
				if err != nil {
					b.Fatal(err)
				}
				sender = s
			}
			now := casablancaMorning
			ls := &learners{}
			jobs := make([]schedule.Job, n)
			for i := range n {
				l := bot.Learner{ID: bot.LearnerID(bot.WhatsApp, fmt.Sprintf("+2126%08d", i)), Channel: bot.WhatsApp, Lang: bot.Langs[i%4], LastInboundAt: now.Add(-time.Hour)}
				ls.put(l)
				jobs[i] = schedule.Job{ID: fmt.Sprint(i), Kind: schedule.Reminder, Learner: l.ID, Text: "Ghda f 10h: l-ders 3 🧮", DueAt: now}
			}
			quiet, err := schedule.ParseQuiet(schedule.DefaultQuietHours)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			var cpu time.Duration
			for range b.N {
				b.StopTimer()
				out := scheduletest.NewMemory()
				if _, err := out.Enqueue(context.Background(), jobs...); err != nil {
					b.Fatal(err)
				}
				r, err := schedule.NewRunner(schedule.Config{
					Outbox: out, Deliveries: out, Learners: ls, Sender: sender, Text: texts(b),
					Policy: schedule.Policy{Templates: testTemplates(b), Quiet: quiet}, WhatsAppFrom: whatsAppFrom, PublicURL: publicURL,
					Worker: "bench", Now: func() time.Time { return now },
				})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := cpuTime(b)
				sent := 0
				for {
					k, err := r.RunOnce(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					if k == 0 {
						break
					}
					sent += k
				}
				cpu += cpuTime(b) - start
				if sent != n {
					b.Fatalf("delivered %d jobs, want %d", sent, n)
				}
			}
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/1000jobs")
		})
	}
}
