package app_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
)

const (
	bsuidPhone = "whatsapp:+212600000009"
	bsuidID    = "whatsapp:MA.1502576394655843"
)

func handle(tb testing.TB, a *app.App, in bot.Inbound) app.Result {
	tb.Helper()
	in.Channel = bot.WhatsApp
	res, err := a.HandleInbound(context.Background(), in)
	if err != nil {
		tb.Fatalf("HandleInbound(%+v): %v", in, err)
	}
	return res
}

// TestBSUIDContinuesTheLearner: a message from the number carrying the
// BSUID pairs them, and a later message from the BSUID alone goes on with
// the same learner; an erase asked for by the BSUID erases them, and its
// replay brings no one back.
func TestBSUIDContinuesTheLearner(t *testing.T) {
	s := openBolt(t)
	a := newAppOver(t, s)
	ctx := context.Background()
	handle(t, a, bot.Inbound{ID: "SM1", From: bsuidPhone, BSUID: bsuidID, Text: "salam"})
	handle(t, a, bot.Inbound{ID: "SM2", From: bsuidID, Text: "3"}) // French, by the BSUID alone
	l, err := s.Get(ctx, bsuidPhone)
	if err != nil || l.Lang != bot.French || l.BSUID != bsuidID {
		t.Fatalf("the learner by number: %+v, %v; want French, chosen by the BSUID's message", l, err)
	}
	if _, err := s.Get(ctx, bsuidID); bot.KindOf(err) != bot.NotFound {
		t.Fatalf("a learner under the BSUID: %v, want none", err)
	}
	// The BSUID's message again (Twilio retries): the same replies, nothing
	// changes.
	again := handle(t, a, bot.Inbound{ID: "SM2", From: bsuidID, Text: "3"})
	if !again.Duplicate {
		t.Error("the BSUID's message delivered twice: not a duplicate")
	}
	handle(t, a, bot.Inbound{ID: "SM3", From: bsuidID, Text: "effacer mes données"})
	handle(t, a, bot.Inbound{ID: "SM4", From: bsuidID, Text: "1"})
	if _, err := s.Get(ctx, bsuidPhone); bot.KindOf(err) != bot.NotFound {
		t.Fatalf("after the erase: %v, want no learner", err)
	}
	for _, id := range []string{"SM2", "SM3", "SM4"} {
		if res := handle(t, a, bot.Inbound{ID: id, From: bsuidID, Text: "1"}); !res.Duplicate || len(res.Replies) != 0 {
			t.Errorf("replay of %s by the BSUID: %+v, want a duplicate with nothing", id, res)
		}
	}
	for _, id := range []string{bsuidPhone, bsuidID} {
		if _, err := s.Get(ctx, id); bot.KindOf(err) != bot.NotFound {
			t.Errorf("after the replays, %s: %v, want no learner", bot.Mask(id), err)
		}
	}
	// A new message from the BSUID is a new learner, asked for a language.
	res := handle(t, a, bot.Inbound{ID: "SM5", From: bsuidID, Text: "salam"})
	if res.Duplicate || len(res.Replies) == 0 {
		t.Fatalf("a new message after the erase: %+v", res)
	}
	if l, err := s.Get(ctx, bsuidID); err != nil || l.Phase != bot.PhaseLanguage {
		t.Errorf("the new learner: %+v, %v; want one choosing a language", l, err)
	}
}

// TestBSUIDOwnLearner: a BSUID never paired with a number is a learner of
// its own, and stays one when a number later brings the same BSUID.
func TestBSUIDOwnLearner(t *testing.T) {
	s := openBolt(t)
	a := newAppOver(t, s)
	ctx := context.Background()
	handle(t, a, bot.Inbound{ID: "SM1", From: bsuidID, Text: "salam"})
	handle(t, a, bot.Inbound{ID: "SM2", From: bsuidID, Text: "1"})
	l, err := s.Get(ctx, bsuidID)
	if err != nil || l.Lang != bot.Darija || l.BSUID != "" {
		t.Fatalf("the BSUID's learner: %+v, %v; want Darija", l, err)
	}
	handle(t, a, bot.Inbound{ID: "SM3", From: bsuidPhone, BSUID: bsuidID, Text: "salam"})
	handle(t, a, bot.Inbound{ID: "SM4", From: bsuidID, Text: "2"})
	if l, _ := s.Get(ctx, bsuidID); l.Version != 3 {
		t.Errorf("the BSUID's learner: version %d, want 3: its own messages stay its own", l.Version)
	}
}

// TestBSUIDWithoutAliases: an App with no alias store treats a BSUID as a
// learner of its own.
func TestBSUIDWithoutAliases(t *testing.T) {
	s := openBolt(t)
	a := newAppOver(t, s)
	a.Aliases = nil
	handle(t, a, bot.Inbound{ID: "SM1", From: bsuidPhone, BSUID: bsuidID, Text: "salam"})
	handle(t, a, bot.Inbound{ID: "SM2", From: bsuidID, Text: "salam"})
	if _, err := s.Get(context.Background(), bsuidID); err != nil {
		t.Errorf("the BSUID's learner: %v, want one", err)
	}
}

// TestExportMasksBSUIDs: without --with-numbers, an export shows a BSUID
// learner's id and a learner's paired BSUID masked (MA.15…43); with it,
// whole.
func TestExportMasksBSUIDs(t *testing.T) {
	a := newApp(t)
	handle(t, a, bot.Inbound{ID: "SM1", From: bsuidID, Text: "salam"})
	handle(t, a, bot.Inbound{ID: "SM2", From: bsuidPhone, BSUID: "whatsapp:MA.9902576394655801", Text: "salam"})
	var full, masked bytes.Buffer
	if err := a.ExportLearners(context.Background(), &full, true); err != nil {
		t.Fatal(err)
	}
	if err := a.ExportLearners(context.Background(), &masked, false); err != nil {
		t.Fatal(err)
	}
	for _, whole := range []string{"1502576394655843", "9902576394655801", "600000009"} {
		if strings.Contains(masked.String(), whole) {
			t.Errorf("the default export shows %s: %s", whole, masked.String())
		}
		if !strings.Contains(full.String(), whole) {
			t.Errorf("the export with numbers lacks %s: %s", whole, full.String())
		}
	}
	for _, want := range []string{`"id":"whatsapp:MA.15…43"`, `"bsuid":"whatsapp:MA.99…01"`} {
		if !strings.Contains(masked.String(), want) {
			t.Errorf("the default export lacks %s: %s", want, masked.String())
		}
	}
}
