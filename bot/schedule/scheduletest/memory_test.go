package scheduletest_test

import (
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/schedule/scheduletest"
	"github.com/darsi-ma/darsi/bot/store/storetest"
)

// Memory passes the suites the stores pass.
func TestMemoryOutbox(t *testing.T) {
	storetest.RunOutbox(t, func(t *testing.T) schedule.Outbox { return scheduletest.NewMemory() })
}

// TestMemoryRetention: Purge stands in for a store's background purge.
func TestMemoryRetention(t *testing.T) {
	storetest.RunOutboxRetention(t, func(t *testing.T) (schedule.Outbox, storetest.Expire) {
		m := scheduletest.NewMemory()
		return m, func(now time.Time) { m.Purge(now) }
	})
}

func TestMemoryDeliveries(t *testing.T) {
	storetest.RunDeliveries(t, func(t *testing.T) app.Deliveries { return scheduletest.NewMemory() })
}

func TestMemoryLimiter(t *testing.T) {
	storetest.RunLimiter(t, func(t *testing.T) storetest.Limiter { return scheduletest.NewMemory() })
}
