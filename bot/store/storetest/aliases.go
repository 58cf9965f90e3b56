package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
)

// AliasStore is what RunAliases needs: learners, and the aliases Update
// keeps with them.
type AliasStore interface {
	app.Store
	app.Aliases
}

// BSUIDs of the suite.
const (
	aminaBSUID   = "whatsapp:MA.1502576394655843"
	youssefBSUID = "whatsapp:MA.9902576394655801"
)

// RunAliases runs the suite of app.Aliases: the pair of a learner's number
// and BSUID is kept by Update, moved when the BSUID changes, and gone with
// an erase but for what stops replays. open must return a new, empty
// store each time.
func RunAliases(t *testing.T, open func(t *testing.T) AliasStore) {
	for _, tt := range []struct {
		name string
		fn   func(t *testing.T, s AliasStore)
	}{
		{"Unknown", testAliasUnknown},
		{"KeptByUpdate", testAliasKept},
		{"Moves", testAliasMoves},
		{"ManyLearners", testAliasManyLearners},
		{"Erase", testAliasErase},
		{"EraseThenNewPair", testAliasEraseThenNewPair},
		{"CancelledContext", testAliasCancelled},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// withBSUID returns an update function that sets the learner's BSUID and
// counts, as count does.
func withBSUID(bsuid string) func(*bot.Learner) (app.Change, error) {
	return func(l *bot.Learner) (app.Change, error) {
		l.BSUID = bsuid
		return count(l)
	}
}

// wantAlias fails unless Alias(bsuid, msgID) answers id (and no replay).
func wantAlias(tb testing.TB, s app.Aliases, bsuid, msgID, id string) {
	tb.Helper()
	got, replay, err := s.Alias(context.Background(), bsuid, msgID)
	if err != nil || got != id || replay {
		tb.Fatalf("Alias(%q, %q) = %q, replay %v, %v; want %q", bsuid, msgID, got, replay, err, id)
	}
}

// wantNoAlias fails unless Alias(bsuid, msgID) is NotFound, or a replay
// when replay is set.
func wantNoAlias(tb testing.TB, s app.Aliases, bsuid, msgID string, replay bool) {
	tb.Helper()
	got, isReplay, err := s.Alias(context.Background(), bsuid, msgID)
	switch {
	case replay && (err != nil || !isReplay || got != ""):
		tb.Fatalf("Alias(%q, %q) = %q, replay %v, %v; want a replay and no learner", bsuid, msgID, got, isReplay, err)
	case !replay && (bot.KindOf(err) != bot.NotFound || isReplay || got != ""):
		tb.Fatalf("Alias(%q, %q) = %q, replay %v, %v; want NotFound", bsuid, msgID, got, isReplay, err)
	}
}

func testAliasUnknown(t *testing.T, s AliasStore) {
	wantNoAlias(t, s, aminaBSUID, "", false)
	wantNoAlias(t, s, aminaBSUID, "SM1", false)
	update(t, s, amina, "SM1", count) // a learner without a BSUID
	wantNoAlias(t, s, aminaBSUID, "SM1", false)
}

func testAliasKept(t *testing.T, s AliasStore) {
	update(t, s, amina, "SM1", withBSUID(aminaBSUID))
	if l := get(t, s, amina); l.BSUID != aminaBSUID {
		t.Fatalf("the learner's BSUID: %q, want %q", l.BSUID, aminaBSUID)
	}
	wantAlias(t, s, aminaBSUID, "SM2", amina)
	wantAlias(t, s, aminaBSUID, "", amina)
	// Further messages, which leave the BSUID as it is, keep the pair.
	update(t, s, amina, "SM2", count)
	update(t, s, amina, "SM3", withBSUID(aminaBSUID))
	wantAlias(t, s, aminaBSUID, "SM4", amina)
	// A message id the learner had is no replay while they live.
	wantAlias(t, s, aminaBSUID, "SM1", amina)
	// The BSUID has no learner of its own.
	wantNotFound(t, s, aminaBSUID)
}

func testAliasMoves(t *testing.T, s AliasStore) {
	update(t, s, amina, "SM1", withBSUID(aminaBSUID))
	update(t, s, amina, "SM2", withBSUID(youssefBSUID))
	wantNoAlias(t, s, aminaBSUID, "SM3", false)
	wantAlias(t, s, youssefBSUID, "SM3", amina)
	// Cleared: the learner no longer has a BSUID.
	update(t, s, amina, "SM3", withBSUID(""))
	wantNoAlias(t, s, youssefBSUID, "SM4", false)
	if l := get(t, s, amina); l.BSUID != "" {
		t.Errorf("the learner's BSUID: %q, want none", l.BSUID)
	}
}

func testAliasManyLearners(t *testing.T, s AliasStore) {
	const n = 40 // over the Redis store's buckets
	for i := range n {
		update(t, s, fmt.Sprintf("whatsapp:+2126000001%02d", i), "SM1", withBSUID(fmt.Sprintf("whatsapp:MA.77%02d", i)+"1502576394"))
	}
	for i := range n {
		wantAlias(t, s, fmt.Sprintf("whatsapp:MA.77%02d", i)+"1502576394", "SM2", fmt.Sprintf("whatsapp:+2126000001%02d", i))
	}
	wantNoAlias(t, s, "whatsapp:MA.77991502576394", "SM2", false)
}

func testAliasErase(t *testing.T, s AliasStore) {
	erase := func(*bot.Learner) (app.Change, error) { return app.Change{Erase: true}, nil }
	update(t, s, amina, "SM1", withBSUID(aminaBSUID))
	update(t, s, amina, "SM2", count)
	update(t, s, youssef, "SM1", withBSUID(youssefBSUID))
	update(t, s, amina, "SM3", erase)
	wantNotFound(t, s, amina)

	// A new message from the BSUID finds no one: it is a new learner's.
	wantNoAlias(t, s, aminaBSUID, "SM9", false)
	wantNoAlias(t, s, aminaBSUID, "", false)
	// The erased learner's messages, the erase included, replayed by the
	// BSUID: recognised, and they bring no one back.
	for _, msgID := range []string{"SM1", "SM2", "SM3"} {
		wantNoAlias(t, s, aminaBSUID, msgID, true)
	}
	// The other learner keeps theirs.
	wantAlias(t, s, youssefBSUID, "SM1", youssef)
	wantAlias(t, s, youssefBSUID, "SM9", youssef)
}

func testAliasEraseThenNewPair(t *testing.T, s AliasStore) {
	erase := func(*bot.Learner) (app.Change, error) { return app.Change{Erase: true}, nil }
	update(t, s, amina, "SM1", withBSUID(aminaBSUID))
	update(t, s, amina, "SM2", erase)
	// The same number comes back with its BSUID: a new learner, paired
	// again.
	update(t, s, amina, "SM3", withBSUID(aminaBSUID))
	wantAlias(t, s, aminaBSUID, "SM4", amina)
	if l := get(t, s, amina); l.BSUID != aminaBSUID || l.Vars["n"] != "1" {
		t.Errorf("the learner after coming back: %+v, want a new one with the BSUID", l)
	}
}

func testAliasCancelled(t *testing.T, s AliasStore) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Alias(ctx, aminaBSUID, "SM1"); bot.KindOf(err) != bot.Unavailable {
		t.Errorf("Alias with a cancelled context: %v, want Unavailable", err)
	}
}
