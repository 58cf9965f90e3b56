package redisstore

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/store/storetest"
	"github.com/redis/go-redis/v9"
)

func TestInbox(t *testing.T) {
	storetest.RunInbox(t, func(t *testing.T, retention time.Duration) app.Inbox {
		return open(t, Options{InboxRetention: retention})
	})
}

// TestClusterInbox runs the inbox suite on the Redis Cluster of
// TestCluster.
func TestClusterInbox(t *testing.T) {
	url := cmp.Or(os.Getenv("REDIS_CLUSTER_URL"), "redis://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002")
	storetest.RunInbox(t, func(t *testing.T, retention time.Duration) app.Inbox {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		prefix := fmt.Sprintf("test:%016x:", rand.Uint64())
		s, err := Open(ctx, url, Options{Prefix: prefix, InboxRetention: retention})
		if err != nil {
			t.Fatalf("Open(%s): %v\nstart a local cluster with: bash .ci/services", url, err)
		}
		if _, ok := s.client.(*redis.ClusterClient); !ok {
			t.Fatalf("REDIS_CLUSTER_URL gave a %T, want a *redis.ClusterClient", s.client)
		}
		t.Cleanup(func() { s.Close() })
		t.Cleanup(func() { deleteClusterKeys(t, s.client.(*redis.ClusterClient), prefix) })
		return s
	})
}
