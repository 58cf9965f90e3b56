package storetest

import (
	"context"
	"testing"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
)

// RunContents holds a store to app.Contents: a slot unknown is NotFound, a
// content put is read back, a new one replaces it, slots are apart, and
// what Put refuses.
func RunContents(t *testing.T, open func(t *testing.T) app.Contents) {
	ctx := context.Background()
	s := open(t)
	if _, err := s.Content(ctx, "costing-1/q1|fr"); bot.KindOf(err) != bot.NotFound {
		t.Fatalf("unknown slot: %v, want NotFound", err)
	}
	a := app.Content{Hash: "0123456789abcdef", SID: "HX00000000000000000000000000000001"}
	if err := s.PutContent(ctx, "costing-1/q1|fr", a); err != nil {
		t.Fatal(err)
	}
	if err := s.PutContent(ctx, "costing-1/q1|ary", app.Content{Hash: "ffff", SID: "HX2"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Content(ctx, "costing-1/q1|fr"); err != nil || got != a {
		t.Fatalf("Content = %+v, %v; want %+v", got, err, a)
	}
	b := app.Content{Hash: "fedcba9876543210", SID: "HX00000000000000000000000000000003"}
	if err := s.PutContent(ctx, "costing-1/q1|fr", b); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Content(ctx, "costing-1/q1|fr"); err != nil || got != b {
		t.Fatalf("after an edit, Content = %+v, %v; want %+v", got, err, b)
	}
	if got, err := s.Content(ctx, "costing-1/q1|ary"); err != nil || got.SID != "HX2" {
		t.Fatalf("another slot: %+v, %v", got, err)
	}
	for _, bad := range []struct {
		slot string
		c    app.Content
	}{{"", a}, {"x|fr", app.Content{Hash: "h"}}} {
		if err := s.PutContent(ctx, bad.slot, bad.c); bot.KindOf(err) != bot.Invalid {
			t.Errorf("PutContent(%q, %+v) = %v, want Invalid", bad.slot, bad.c, err)
		}
	}
}
