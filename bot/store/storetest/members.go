package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/google/go-cmp/cmp"
)

// MembersStore is a store with the cohorts' index that Update keeps.
type MembersStore interface {
	app.Store
	app.Members
}

// RunMembers runs the suite of app.Members and of the part of Update that
// keeps it: joining, moving between cohorts, codes in any case, opting
// out, completing lessons, indicators, erasing; Members' pages and
// CohortCounts, always equal to a recount with app.Counters over the
// members, also under concurrent updates. open must return a new, empty
// store each time it is called, as for Run.
func RunMembers(t *testing.T, open func(t *testing.T) MembersStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s MembersStore)
	}{
		{"Empty", testMembersEmpty},
		{"Join", testMembersJoin},
		{"CodesInAnyCase", testMembersCodesInAnyCase},
		{"Move", testMembersMove},
		{"Counters", testMembersCounters},
		{"Erase", testMembersErase},
		{"Unchanged", testMembersUnchanged},
		{"Pages", testMembersPages},
		{"Concurrent", testMembersConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// member returns a learner of a cohort, as the conversation leaves one
// who joined.
func member(id, cohort string) bot.Learner {
	return bot.Learner{ID: id, Channel: bot.WhatsApp, Lang: bot.French, Consent: true, Cohort: cohort, Phase: bot.PhaseMenu}
}

// change returns an update function that applies fn to the learner.
func change(fn func(l *bot.Learner)) func(*bot.Learner) (app.Change, error) {
	return func(l *bot.Learner) (app.Change, error) {
		fn(l)
		return app.Change{}, nil
	}
}

func erase(*bot.Learner) (app.Change, error) { return app.Change{Erase: true}, nil }

// allMembers pages through a cohort's members, limit at a time, and
// returns them. It fails tb when a page is longer than the limit, when a
// page before the last is shorter, when the last page is empty, when a
// member comes twice or when they are not in ID order.
func allMembers(tb testing.TB, s app.Members, code string, limit int) []bot.Learner {
	tb.Helper()
	max := limit
	if max <= 0 {
		max = 100
	}
	var all []bot.Learner
	cursor := ""
	for page := 0; ; page++ {
		if page > 1000 {
			tb.Fatalf("Members(%q): more than 1000 pages", code)
		}
		got, next, err := s.Members(context.Background(), code, cursor, limit)
		if err != nil {
			tb.Fatalf("Members(%q, %q, %d): %v", code, cursor, limit, err)
		}
		if len(got) > max {
			tb.Fatalf("Members(%q, %q, %d): %d members, want at most %d", code, cursor, limit, len(got), max)
		}
		if page > 0 && len(got) == 0 {
			tb.Fatalf("Members(%q, %q, %d): an empty page after a cursor, want the cursor of the page before to be \"\"", code, cursor, limit)
		}
		if next != "" && len(got) < max {
			tb.Fatalf("Members(%q, %q, %d): %d members and a next page, want %d on a page that is not the last", code, cursor, limit, len(got), max)
		}
		all = append(all, got...)
		if next == "" {
			break
		}
		cursor = next
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].ID >= all[i].ID {
			tb.Fatalf("Members(%q) with pages of %d: %s before %s, want ascending IDs, each once", code, limit, all[i-1].ID, all[i].ID)
		}
	}
	return all
}

// memberIDs returns the IDs of learners.
func memberIDs(ls []bot.Learner) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.ID
	}
	return out
}

// sum adds app.Counters over learners.
func sum(ls []bot.Learner) app.Counts {
	out := app.Counts{}
	for _, l := range ls {
		for k, n := range app.Counters(&l) {
			out[k] += n
		}
	}
	return nonZero(out)
}

// wantCohort checks a cohort's members, by code: their IDs, and
// CohortCounts equal to a recount over them with app.Counters. It returns
// the counts.
func wantCohort(tb testing.TB, s MembersStore, code string, ids ...string) app.Counts {
	tb.Helper()
	members := allMembers(tb, s, code, 2)
	if diff := cmp.Diff(memberIDs(members), ids, opts); diff != "" {
		tb.Errorf("members of %q (-got +want):\n%s", code, diff)
	}
	for _, m := range members {
		if diff := cmp.Diff(m, get(tb, s, m.ID), opts); diff != "" {
			tb.Errorf("Members(%q) gave %s unlike Get (-Members +Get):\n%s", code, m.ID, diff)
		}
	}
	counts, err := s.CohortCounts(context.Background(), code)
	if err != nil {
		tb.Fatalf("CohortCounts(%q): %v", code, err)
	}
	got := nonZero(counts)
	if diff := cmp.Diff(got, sum(members)); diff != "" {
		tb.Errorf("CohortCounts(%q) differ from a recount over the members (-got +want):\n%s", code, diff)
	}
	return got
}

// wantIndex checks the whole index against a scan of Learners: every
// cohort a learner is in has exactly the learners the scan finds in it,
// and counts equal to their recount; the codes in also (in any case) have
// none but those.
func wantIndex(tb testing.TB, s MembersStore, also ...string) {
	tb.Helper()
	byCohort := map[string][]string{}
	for _, c := range also {
		byCohort[app.CohortKey(c)] = nil
	}
	err := s.Learners(context.Background(), func(l bot.Learner) error {
		if l.Cohort != "" {
			byCohort[app.CohortKey(l.Cohort)] = append(byCohort[app.CohortKey(l.Cohort)], l.ID)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("Learners: %v", err)
	}
	for c, ids := range byCohort {
		slices.Sort(ids)
		wantCohort(tb, s, c, ids...)
	}
}

func testMembersEmpty(t *testing.T, s MembersStore) {
	got, next, err := s.Members(context.Background(), "TIZ25A", "", 10)
	if err != nil || len(got) != 0 || next != "" {
		t.Errorf("Members of an empty store = %v, %q, %v; want none", memberIDs(got), next, err)
	}
	counts, err := s.CohortCounts(context.Background(), "TIZ25A")
	if err != nil || len(nonZero(counts)) != 0 {
		t.Errorf("CohortCounts of an empty store = %v, %v; want none", counts, err)
	}
	// A learner without a cohort is in none.
	update(t, s, amina, "SM1", set(member(amina, "")))
	wantCohort(t, s, "")
	wantCohort(t, s, "TIZ25A")
}

func testMembersJoin(t *testing.T, s MembersStore) {
	update(t, s, amina, "SM1", set(member(amina, "")))
	update(t, s, amina, "SM2", change(func(l *bot.Learner) { l.Cohort = "TIZ25A" }))
	for _, code := range []string{"TIZ25A", "tiz25a", "Tiz25A"} {
		got := wantCohort(t, s, code, amina)
		if diff := cmp.Diff(got, app.Counts{app.CountMembers: 1, app.CountConsented: 1}); diff != "" {
			t.Errorf("CohortCounts(%q) after joining (-got +want):\n%s", code, diff)
		}
	}
	wantCohort(t, s, "OTHER1")
}

// testMembersCodesInAnyCase: learners who typed a code in three cases are
// one cohort.
func testMembersCodesInAnyCase(t *testing.T, s MembersStore) {
	update(t, s, amina, "SM1", set(member(amina, "TIZ25A")))
	update(t, s, youssef, "SM1", set(member(youssef, "tiz25a")))
	update(t, s, "sms:+212600000003", "SM1", set(member("sms:+212600000003", "Tiz25a")))
	got := wantCohort(t, s, "tIZ25a", "sms:+212600000003", amina, youssef)
	if got[app.CountMembers] != 3 {
		t.Errorf("CohortCounts: %d members, want 3", got[app.CountMembers])
	}
}

func testMembersMove(t *testing.T, s MembersStore) {
	update(t, s, amina, "SM1", set(member(amina, "A1")))
	update(t, s, youssef, "SM1", set(member(youssef, "A1")))
	wantCohort(t, s, "A1", amina, youssef)

	update(t, s, amina, "SM2", change(func(l *bot.Learner) { l.Cohort = "B2" }))
	wantCohort(t, s, "A1", youssef)
	wantCohort(t, s, "B2", amina)

	// Another case of the same code is no move.
	update(t, s, amina, "SM3", change(func(l *bot.Learner) { l.Cohort = "b2" }))
	wantCohort(t, s, "B2", amina)

	// Leaving every cohort.
	update(t, s, youssef, "SM2", change(func(l *bot.Learner) { l.Cohort = "" }))
	if got := wantCohort(t, s, "A1"); len(got) != 0 {
		t.Errorf("CohortCounts of a cohort everyone left = %v, want none", got)
	}
	wantIndex(t, s, "A1", "B2")
}

// testMembersCounters moves every kind of counter and checks the counts
// after each change.
func testMembersCounters(t *testing.T, s MembersStore) {
	const code = "TIZ25A"
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	update(t, s, amina, "SM1", set(member(amina, code)))
	update(t, s, youssef, "SM1", set(member(youssef, code)))
	steps := []struct {
		what string
		id   string
		fn   func(l *bot.Learner)
		want app.Counts
	}{
		{"amina completes costing-1", amina, func(l *bot.Learner) {
			l.Completed = append(l.Completed, bot.Completion{Lesson: "costing-1", Score: 100, At: at})
		}, app.Counts{app.CountMembers: 2, app.CountConsented: 2, app.CountDone + "costing-1": 1}},
		{"youssef completes costing-1 and cash-1", youssef, func(l *bot.Learner) {
			l.Completed = append(l.Completed, bot.Completion{Lesson: "costing-1", At: at}, bot.Completion{Lesson: "cash-1", At: at})
		}, app.Counts{app.CountMembers: 2, app.CountConsented: 2, app.CountDone + "costing-1": 2, app.CountDone + "cash-1": 1}},
		{"amina answers an indicator", amina, func(l *bot.Learner) {
			l.Indicators = map[string]string{"revenue_stable": "yes"}
		}, app.Counts{app.CountMembers: 2, app.CountConsented: 2, app.CountDone + "costing-1": 2, app.CountDone + "cash-1": 1,
			app.CountAnswer + "revenue_stable=yes": 1}},
		{"amina changes her answer", amina, func(l *bot.Learner) {
			l.Indicators["revenue_stable"] = "no"
		}, app.Counts{app.CountMembers: 2, app.CountConsented: 2, app.CountDone + "costing-1": 2, app.CountDone + "cash-1": 1,
			app.CountAnswer + "revenue_stable=no": 1}},
		{"youssef opts out", youssef, func(l *bot.Learner) {
			l.OptedOut = true
		}, app.Counts{app.CountMembers: 2, app.CountConsented: 2, app.CountOptedOut: 1, app.CountDone + "costing-1": 2,
			app.CountDone + "cash-1": 1, app.CountAnswer + "revenue_stable=no": 1}},
		{"youssef opts in again", youssef, func(l *bot.Learner) {
			l.OptedOut = false
		}, app.Counts{app.CountMembers: 2, app.CountConsented: 2, app.CountDone + "costing-1": 2,
			app.CountDone + "cash-1": 1, app.CountAnswer + "revenue_stable=no": 1}},
		{"amina's data is reset but for her cohort", amina, func(l *bot.Learner) {
			*l = bot.Learner{ID: l.ID, Cohort: code, Version: l.Version}
		}, app.Counts{app.CountMembers: 2, app.CountConsented: 1, app.CountDone + "costing-1": 1, app.CountDone + "cash-1": 1}},
	}
	for i, st := range steps {
		update(t, s, st.id, fmt.Sprint("SM-step", i), change(st.fn))
		got := wantCohort(t, s, code, amina, youssef)
		if diff := cmp.Diff(got, st.want); diff != "" {
			t.Errorf("after %s: CohortCounts (-got +want):\n%s", st.what, diff)
		}
	}
}

func testMembersErase(t *testing.T, s MembersStore) {
	a := member(amina, "TIZ25A")
	a.Completed = []bot.Completion{{Lesson: "costing-1", At: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}}
	a.Indicators = map[string]string{"revenue_stable": "yes"}
	update(t, s, amina, "SM1", set(a))
	update(t, s, youssef, "SM1", set(member(youssef, "TIZ25A")))
	update(t, s, amina, "SM2", erase)
	got := wantCohort(t, s, "TIZ25A", youssef)
	if diff := cmp.Diff(got, app.Counts{app.CountMembers: 1, app.CountConsented: 1}); diff != "" {
		t.Errorf("CohortCounts after an erase (-got +want):\n%s", diff)
	}
	update(t, s, youssef, "SM2", erase)
	if got := wantCohort(t, s, "TIZ25A"); len(got) != 0 {
		t.Errorf("CohortCounts after every member was erased = %v, want none", got)
	}
	// Erasing a learner the store does not have changes nothing.
	update(t, s, "sms:+212600000009", "SM1", erase)
	wantIndex(t, s, "TIZ25A")
}

// testMembersUnchanged: an update that fails, or a message applied
// before, moves nothing in the index, even when the update function ran.
func testMembersUnchanged(t *testing.T, s MembersStore) {
	update(t, s, amina, "SM1", set(member(amina, "A1")))
	_, err := s.Update(context.Background(), amina, "SM2", func(l *bot.Learner) (app.Change, error) {
		l.Cohort, l.OptedOut = "B2", true
		return app.Change{}, errStep
	})
	if err == nil {
		t.Fatal("Update with a failing fn succeeded")
	}
	update(t, s, amina, "SM1", change(func(l *bot.Learner) { l.Cohort = "B2" }))
	update(t, s, amina, "SM1", erase)
	wantCohort(t, s, "A1", amina)
	wantCohort(t, s, "B2")
}

// testMembersPages pages through a cohort with limits that divide its
// size and limits that do not; a cursor need not be a member.
func testMembersPages(t *testing.T, s MembersStore) {
	var want []string
	for i := range 24 {
		id := bot.LearnerID(bot.SMS, fmt.Sprintf("+1555%07d", i))
		code := "A1"
		if i%5 == 4 {
			code = "B2" // others between the members
		}
		update(t, s, id, "SM1", set(member(id, code)))
		if code == "A1" {
			want = append(want, id)
		}
	}
	for _, limit := range []int{1, 2, 3, 4, 6, 19, 20, 100, 0} {
		got := allMembers(t, s, "a1", limit)
		if diff := cmp.Diff(memberIDs(got), want, opts); diff != "" {
			t.Errorf("members with pages of %d (-got +want):\n%s", limit, diff)
		}
	}
	// After a learner of another cohort: the members after that ID.
	got, next, err := s.Members(context.Background(), "A1", bot.LearnerID(bot.SMS, "+15550000004"), 3)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(memberIDs(got), want[4:7], opts); diff != "" {
		t.Errorf("Members after a non-member's ID (-got +want):\n%s", diff)
	}
	if next != want[6] {
		t.Errorf("Members after a non-member's ID: next %q, want %q", next, want[6])
	}
	// After the last member: nothing.
	got, next, err = s.Members(context.Background(), "A1", want[len(want)-1], 3)
	if err != nil || len(got) != 0 || next != "" {
		t.Errorf("Members after the last one = %v, %q, %v; want none", memberIDs(got), next, err)
	}
}

// testMembersConcurrent has 50 goroutines update 12 learners at once:
// moves between cohorts (codes in any case), departures, erasures, lessons
// completed, opt-outs and answers. Afterwards every cohort's members are
// those a scan of Learners finds, and its counts their recount.
func testMembersConcurrent(t *testing.T, s MembersStore) {
	const goroutines, updates, learners = 50, 6, 12
	codes := []string{"A1", "a1", "B2", "b2", "C3", ""}
	lessons := []string{"costing-1", "cash-1", "stock-1"}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*updates)
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 42))
			for u := range updates {
				id := bot.LearnerID(bot.WhatsApp, fmt.Sprintf("+2126000000%02d", rng.IntN(learners)))
				// Decided outside fn, which an optimistic store may call
				// more than once.
				var fn func(*bot.Learner) (app.Change, error)
				switch op := rng.IntN(6); op {
				case 0, 1:
					code := codes[rng.IntN(len(codes))]
					fn = change(func(l *bot.Learner) { l.Cohort, l.Consent = code, true })
				case 2:
					lesson := lessons[rng.IntN(len(lessons))]
					fn = change(func(l *bot.Learner) {
						if !l.Done(lesson) {
							l.Completed = append(l.Completed, bot.Completion{Lesson: lesson, Score: 50})
						}
					})
				case 3:
					fn = change(func(l *bot.Learner) { l.OptedOut = !l.OptedOut })
				case 4:
					answer := []string{"yes", "no"}[rng.IntN(2)]
					fn = change(func(l *bot.Learner) {
						if l.Indicators == nil {
							l.Indicators = map[string]string{}
						}
						l.Indicators["revenue_stable"] = answer
					})
				default:
					fn = erase
				}
				_, err := s.Update(context.Background(), id, fmt.Sprintf("SM-%d-%d", g, u), fn)
				errs <- err
			}
		})
	}
	within(t, "50 goroutines updating", wg.Wait)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Update: %v", err)
		}
	}
	wantIndex(t, s, "A1", "B2", "C3")
}
