package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// RunAudit runs the suite of cohort.AuditLog. open must return a new,
// empty store each time it is called, which keeps audit entries for
// retention (the suite asks for a second where it waits for entries to
// expire, for cohort.DefaultAuditRetention elsewhere).
func RunAudit(t *testing.T, open func(t *testing.T, retention time.Duration) cohort.AuditLog) {
	tests := []struct {
		name      string
		retention time.Duration
		fn        func(t *testing.T, s cohort.AuditLog)
	}{
		{"Empty", cohort.DefaultAuditRetention, testAuditEmpty},
		{"Pages", cohort.DefaultAuditRetention, testAuditPages},
		{"Invalid", cohort.DefaultAuditRetention, testAuditInvalid},
		{"Retention", time.Second, testAuditRetention},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t, tt.retention))
		})
	}
}

// auditEntry is the i-th entry of a test.
func auditEntry(i int) cohort.AuditEntry {
	return cohort.AuditEntry{At: t0.Add(time.Duration(i) * time.Minute), Actor: "fatima", Action: "cohort.create",
		Target: fmt.Sprintf("K7M2Q%d", i), Detail: "owner fatima", Via: "dashboard", Addr: "203.0.113.7"}
}

func appendAudit(tb testing.TB, s cohort.AuditLog, entries ...cohort.AuditEntry) {
	tb.Helper()
	for _, e := range entries {
		if err := s.AppendAudit(context.Background(), e); err != nil {
			tb.Fatalf("AppendAudit(%s %s): %v", e.Action, e.Target, err)
		}
	}
}

// auditPages reads the whole log a page of limit at a time and fails tb
// unless each page but the last is full and the last has no next cursor.
func auditPages(tb testing.TB, s cohort.AuditLog, limit int) []cohort.AuditEntry {
	tb.Helper()
	var all []cohort.AuditEntry
	cursor := ""
	for range 1000 {
		page, next, err := s.Audit(context.Background(), cursor, limit)
		if err != nil {
			tb.Fatalf("Audit(%q, %d): %v", cursor, limit, err)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		if len(page) != limit {
			tb.Fatalf("Audit(%q, %d): got a page of %d with a next cursor, want a full page", cursor, limit, len(page))
		}
		cursor = next
	}
	tb.Fatalf("Audit(_, %d): the cursors never end", limit)
	return nil
}

func wantAuditCount(tb testing.TB, s cohort.AuditLog, want int) {
	tb.Helper()
	got, err := s.AuditCount(context.Background())
	if err != nil || got != want {
		tb.Errorf("AuditCount: got %d, %v; want %d", got, err, want)
	}
}

func testAuditEmpty(t *testing.T, s cohort.AuditLog) {
	page, next, err := s.Audit(context.Background(), "", 10)
	if err != nil || len(page) != 0 || next != "" {
		t.Errorf("Audit of an empty log: got %v, %q, %v; want nothing", page, next, err)
	}
	wantAuditCount(t, s, 0)
}

func testAuditPages(t *testing.T, s cohort.AuditLog) {
	var want []cohort.AuditEntry
	for i := range 7 {
		want = append(want, auditEntry(i))
	}
	appendAudit(t, s, want...)
	slices.Reverse(want) // newest first
	ignoreID := cmpopts.IgnoreFields(cohort.AuditEntry{}, "ID")
	for _, limit := range []int{1, 3, 7, 100, 0} {
		got := auditPages(t, s, limit)
		if diff := cmp.Diff(got, want, opts, ignoreID); diff != "" {
			t.Errorf("the log a page of %d at a time, mismatch (-got +want):\n%s", limit, diff)
		}
		ids := map[string]bool{}
		for _, e := range got {
			if e.ID == "" || ids[e.ID] {
				t.Errorf("page of %d: entry %s has the id %q: want a distinct one", limit, e.Target, e.ID)
			}
			ids[e.ID] = true
		}
	}
	wantAuditCount(t, s, 7)
	// A page from an entry's id starts after it.
	first, _, err := s.Audit(context.Background(), "", 2)
	if err != nil || len(first) != 2 {
		t.Fatalf("Audit(\"\", 2): got %d entries, %v; want 2", len(first), err)
	}
	rest, _, err := s.Audit(context.Background(), first[0].ID, 2)
	if err != nil || len(rest) != 2 || rest[0].ID != first[1].ID {
		t.Errorf("Audit(the newest entry's id, 2): got %v, %v; want the two entries after it", rest, err)
	}
}

func testAuditInvalid(t *testing.T, s cohort.AuditLog) {
	ctx := context.Background()
	wantKind(t, "AppendAudit without an action", s.AppendAudit(ctx, cohort.AuditEntry{Actor: "fatima"}), bot.Invalid)
	_, _, err := s.Audit(ctx, "not a cursor", 10)
	wantKind(t, "Audit from a cursor that is no id", err, bot.Invalid)
	wantAuditCount(t, s, 0)
}

// testAuditRetention waits for entries to expire on the store's own clock:
// the real one. An entry past its retention is not listed nor counted,
// before an append purges it and after.
func testAuditRetention(t *testing.T, s cohort.AuditLog) {
	appendAudit(t, s, auditEntry(1), auditEntry(2))
	if got := auditPages(t, s, 10); len(got) != 2 {
		t.Fatalf("the log before the retention: got %d entries, want 2", len(got))
	}
	time.Sleep(1200 * time.Millisecond)
	if got := auditPages(t, s, 10); len(got) != 0 {
		t.Errorf("the log after the retention: got %v, want nothing", got)
	}
	wantAuditCount(t, s, 0)
	appendAudit(t, s, auditEntry(3))
	got := auditPages(t, s, 10)
	if len(got) != 1 || got[0].Target != auditEntry(3).Target {
		t.Errorf("the log after an append past the retention: got %v, want the new entry alone", got)
	}
	wantAuditCount(t, s, 1)
}
