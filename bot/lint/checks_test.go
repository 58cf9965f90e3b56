package lint

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/darsi-ma/darsi/bot"
)

func runAt(t *testing.T, steps string, now time.Time) *Report {
	t.Helper()
	_, rep, err := Load(fixture(steps), "x", Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestVerified(t *testing.T) {
	sourced := func(verified string) string {
		s := "  - id: law\n    say: " + four("La loi dit.") + "\n    sources: [\"Loi 114-13\"]\n"
		if verified != "" {
			s += "    verified: \"" + verified + "\"\n"
		}
		return s + goodTail
	}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

	rep := runAt(t, sourced(""), now)
	want(t, rep, RuleVerified, Error, "x/t/t-1.yaml:8:14", `step "law" has sources but no verified`, "verified: 2026-12")
	if len(rep.Aged) != 1 || rep.Aged[0].Step != "law" || rep.Aged[0].Verified != "" {
		t.Errorf("aged: %+v", rep.Aged)
	}

	// Twelve months is still fine; thirteen is due.
	for _, tc := range []struct {
		verified string
		warn     bool
		parts    []string
	}{
		{"2026-12", false, nil},
		{"2025-12", false, nil},
		{"2025-11", true, []string{"verified in 2025-11, 13 months ago", "check the facts again"}},
		{"2019-01", true, []string{"95 months ago"}},
		{"2027-01", true, []string{"a month to come"}},
	} {
		t.Run(tc.verified, func(t *testing.T) {
			rep := runAt(t, sourced(tc.verified), now)
			if !tc.warn {
				if len(findings(rep, RuleVerified)) != 0 || len(rep.Aged) != 0 {
					t.Fatalf("verified %s on %s: %v", tc.verified, now.Format("2006-01-02"), rep.Findings)
				}
				return
			}
			want(t, rep, RuleVerified, Warning, "x/t/t-1.yaml:9:15", tc.parts...)
		})
	}

	rep = runAt(t, sourced("2024-03"), now)
	var buf bytes.Buffer
	if err := rep.WriteSummary(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Sources to check again (verified missing or over 12 months ago): 1 steps\n  x/t/t-1.yaml:6: t-1/law (verified 2024-03)\n") {
		t.Errorf("summary does not list the step:\n%s", buf.String())
	}
}

func TestGSMNotes(t *testing.T) {
	// "À" alone makes the French message UCS-2; the Arabic one is UCS-2
	// anyway, so its ’ costs nothing and gets no note.
	text := "{ary: \"سلام\", ar: \"سلام’\", fr: \"À toi : note ton prix d’achat.\", zgh: \"ⴰⵣⵓⵍ\"}"
	steps := "  - id: hi\n    say: " + text + "\n" + goodTail
	rep := run(t, fixture(steps), nil)
	var got []string
	for _, f := range findings(rep, RuleGSM) {
		got = append(got, fmt.Sprintf("%s [%s %s]", f, f.Lang, f.Step))
	}
	wantNotes := []string{
		`x/t/t-1.yaml:7:42: note: "À" alone makes this fr message UCS-2 (1 SMS segments, 1 in GSM-7): write "A" [fr hi]`,
		`x/t/t-1.yaml:7:65: note: "’" alone makes this fr message UCS-2 (1 SMS segments, 1 in GSM-7): write "'" [fr hi]`,
	}
	if strings.Join(got, "\n") != strings.Join(wantNotes, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantNotes, "\n"))
	}
	if rep.GSM[bot.French]["À"] != 1 || rep.GSM[bot.French]["’"] != 1 || len(rep.GSM[bot.Arabic]) != 0 {
		t.Errorf("counts: %v", rep.GSM)
	}

	// A message of two segments in UCS-2 and one in GSM-7.
	long := strings.Repeat("Vends plus cher ", 6) + "« À toi »"
	rep = run(t, fixture("  - id: hi\n    say: {ary: a, ar: a, fr: \""+long+"\", zgh: a}\n"+goodTail), nil)
	fs := findings(rep, RuleGSM)
	if len(fs) != 3 || !strings.Contains(fs[0].Message, "(2 SMS segments, 1 in GSM-7)") {
		t.Fatalf("notes: %v", fs)
	}
	u := rep.Lessons[0].Langs[bot.French]
	if u.SegmentsGSM != u.Segments-1 {
		t.Errorf("segments %d, with replacements %d: want one fewer", u.Segments, u.SegmentsGSM)
	}
	var buf bytes.Buffer
	if err := rep.WriteSummary(&buf); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		fmt.Sprintf("fr %d → %d", u.Segments, u.SegmentsGSM),
		`fr: "«" 1, "»" 1, "À" 1.`,
	} {
		if !strings.Contains(buf.String(), p) {
			t.Errorf("summary lacks %q:\n%s", p, buf.String())
		}
	}

	// An emoji keeps the message UCS-2 whatever else is replaced: no note.
	rep = run(t, fixture("  - id: hi\n    say: {ary: a, ar: a, fr: \"À toi 🎉\", zgh: a}\n"+goodTail), nil)
	if fs := findings(rep, RuleGSM); len(fs) != 0 {
		t.Errorf("notes on a message an emoji keeps UCS-2: %v", fs)
	}
}

func TestGSMReplacementsAreGSM(t *testing.T) {
	if got := gsmAdvice('À'); got != `write "A"` {
		t.Errorf("advice for À: %s", got)
	}
	if got := gsmAdvice('ê'); got != `write "e", which changes the spelling, or a word without "ê"` {
		t.Errorf("advice for ê: %s", got)
	}
	for r, s := range gsmReplacements {
		if got, ok := gsmOnly(string(r)); !ok || got != s {
			t.Errorf("%q → %q, %v", r, got, ok)
		}
		if _, ok := gsmOnly(s); !ok || strings.ContainsRune(s, r) {
			t.Errorf("the replacement of %q, %q, is not GSM-7", r, s)
		}
	}
}

func TestNegativeAmount(t *testing.T) {
	input := func(v string) string {
		return "  - id: " + v + "\n    input: number\n    var: " + v + "\n    min: 0\n    max: 1000\n    ask: " + four("?") + "\n"
	}
	for _, tc := range []struct {
		name, calc, say string
		where           string // the say line up to the placeholder warned on, or "" for none
	}{
		{"margin shown in DH", "price - floor", `{ary: "{{r}} درهم", ar: "{{r}} درهم", fr: "Tu gardes {{r}} DH.", zgh: "{{r}} ⴷⵔⵀⵎ"}`, `fr: "Tu gardes `},
		{"in Darija only", "price - floor", `{ary: "باقي ليك {{r}} درهم", ar: "{{r}}", fr: "{{r}}", zgh: "{{r}}"}`, `ary: "باقي ليك `},
		{"a share", "(price - floor) / 10", `{ary: a, ar: a, fr: "Marge : {{r}} %", zgh: a}`, `fr: "Marge : `},
		{"guarded with max", "max(0, price - floor)", `{ary: a, ar: a, fr: "Tu gardes {{r}} DH.", zgh: a}`, ""},
		{"guarded with a condition", "price > floor ? price - floor : 0", `{ary: a, ar: a, fr: "Tu gardes {{r}} DH.", zgh: a}`, ""},
		{"not an amount", "price - floor", `{ary: a, ar: a, fr: "Écart : {{r}}.", zgh: a}`, ""},
		{"guarded the other way", "price <= floor ? 0 : price - floor", `{ary: a, ar: a, fr: "Tu gardes {{r}} DH.", zgh: a}`, ""},
		{"the wrong difference", "price > floor ? floor - price : 0", `{ary: a, ar: a, fr: "Tu gardes {{r}} DH.", zgh: a}`, `fr: "Tu gardes `},
		// The ranges allow a negative result, but no inputs give one.
		{"relation the ranges miss", "price - price * floor / 1000", `{ary: a, ar: a, fr: "Reste {{r}} DH.", zgh: a}`, ""},
		{"never negative", "price + floor", `{ary: a, ar: a, fr: "Total : {{r}} DH.", zgh: a}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := input("price") + input("floor") + "  - id: c\n    calc:\n      r: \"" + tc.calc + "\"\n    say: " + tc.say + "\n" + goodTail
			rep := run(t, fixture(steps), nil)
			if tc.where == "" {
				if fs := findings(rep, RuleNegative); len(fs) != 0 {
					t.Fatalf("false alarm: %v", fs)
				}
				return
			}
			line := lineOf(t, steps, "    say: {")
			sayLine := "    say: " + tc.say
			col := utf8.RuneCountInString(sayLine[:strings.Index(sayLine, tc.where)+len(tc.where)]) + 1
			want(t, rep, RuleNegative, Warning, fmt.Sprintf("x/t/t-1.yaml:%d:%d", line, col),
				"{{r}} is shown as an amount", "negative (-", " with price=", ", floor=", "max(0, …)")
		})
	}
}

func TestPluralForms(t *testing.T) {
	input := func(bounds string) string {
		return "  - id: in\n    input: number\n    var: k\n" + bounds + "    ask: " + four("?") + "\n"
	}
	say := `{ary: "{{k|other:# سيمانة}}", ar: "{{k|one:أسبوع واحد|other:# أسابيع}}", fr: "Depuis {{k}} semaines.", zgh: "{{k|one:ⵢⴰⵏ|other:#}}"}`
	steps := input("    min: 0\n    max: 10\n") + "  - id: c\n    say: " + say + "\n" + goodTail
	rep := run(t, fixture(steps), nil)
	var got []string
	for _, f := range findings(rep, RulePlural) {
		got = append(got, fmt.Sprintf("%s [%s]", f, f.Lang))
	}
	line := lineOf(t, steps, "    say: {")
	wantFs := []string{
		fmt.Sprintf("x/t/t-1.yaml:%d:17: warning: {{k|…}} has no zero: form, which 0 takes in ary (k can be 0 to 10): it reads as the other: form [ary]", line),
		fmt.Sprintf("x/t/t-1.yaml:%d:17: warning: {{k|…}} has no one: form, which 1 takes in ary (k can be 0 to 10): it reads as the other: form [ary]", line),
		fmt.Sprintf("x/t/t-1.yaml:%d:17: warning: {{k|…}} has no two: form, which 2 takes in ary (k can be 0 to 10): it reads as the other: form [ary]", line),
		fmt.Sprintf("x/t/t-1.yaml:%d:17: warning: {{k|…}} has no few: form, which 3 takes in ary (k can be 0 to 10): it reads as the other: form [ary]", line),
		fmt.Sprintf("x/t/t-1.yaml:%d:45: warning: {{k|…}} has no zero: form, which 0 takes in ar (k can be 0 to 10): it reads as the other: form [ar]", line),
		fmt.Sprintf("x/t/t-1.yaml:%d:45: warning: {{k|…}} has no two: form, which 2 takes in ar (k can be 0 to 10): it reads as the other: form [ar]", line),
		fmt.Sprintf("x/t/t-1.yaml:%d:45: warning: {{k|…}} has no few: form, which 3 takes in ar (k can be 0 to 10): it reads as the other: form [ar]", line),
		fmt.Sprintf(`x/t/t-1.yaml:%d:95: note: {{k}} semaines reads "1 semaines" when k is 0 or 1 (it can be 0 to 10): write {{k|one:# semaine|other:# semaines}} [fr]`, line),
	}
	if strings.Join(got, "\n") != strings.Join(wantFs, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantFs, "\n"))
	}

	// From 2 up, Arabic needs two, few, many and other, and French's
	// plural is always right.
	say = `{ary: "{{k|two:#|few:#|many:#|other:#}}", ar: "{{k|two:#|few:#|many:#|other:#}}", fr: "Depuis {{k}} semaines.", zgh: "{{k|one:ⵢⴰⵏ|other:#}}"}`
	steps = input("    min: 2\n    max: 99\n") + "  - id: c\n    say: " + say + "\n" + goodTail
	if fs := findings(run(t, fixture(steps), nil), RulePlural); len(fs) != 0 {
		t.Errorf("false alarms: %v", fs)
	}
}
