package locale_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/bidi"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/lessons"
)

const fsi = "\u2068"

// visual lays one line of an Arabic-script message out as a phone does:
// golang.org/x/text/unicode/bidi resolves the direction of every character
// (its runs are in logical order, each left to right or right to left), and
// the runs are then put in display order (rule L2): in a right-to-left
// paragraph the runs come in reverse order, a right-to-left run reversed
// with its brackets mirrored, a left-to-right run as it is. The result is
// the line as the eye sees it from left to right, marks included.
//
// That is exact when the levels of the line are 1 and 2, which holds for
// what Directional writes: a right-to-left paragraph (it starts with RLM),
// isolates (LRI, or FSI before left-to-right text) that hold no
// right-to-left letter and no two Arabic-Indic characters in a row, and no
// other explicit mark. visual refuses any other
// line.
func visual(line string) (string, error) {
	if !strings.HasPrefix(line, rlm) {
		return "", errors.New("the line does not start with RLM")
	}
	if err := levelsOneAndTwo(line); err != nil {
		return "", err
	}
	var p bidi.Paragraph
	if _, err := p.SetString(line); err != nil {
		return "", err
	}
	o, err := p.Order()
	if err != nil {
		return "", err
	}
	runs := make([]string, o.NumRuns())
	for i := range runs {
		r := o.Run(i)
		s := r.String()
		if r.Direction() == bidi.RightToLeft {
			s = bidi.ReverseString(s)
		}
		runs[len(runs)-1-i] = s
	}
	return strings.Join(runs, ""), nil
}

// levelsOneAndTwo reports an error when the bidi algorithm would give some
// character of line a level above 2, which visual cannot lay out from the
// directions of runs alone.
func levelsOneAndTwo(line string) error {
	depth := 0
	prevAN := false
	for i, r := range line {
		p, _ := bidi.LookupRune(r)
		switch c := p.Class(); {
		case r == '\u2068' && !firstStrongL(line[i+len(fsi):]):
			return errors.New("a first-strong isolate that is not left to right")
		case r == '\u2066' || r == '\u2068':
			if depth > 0 {
				return errors.New("nested isolates")
			}
			depth++
		case r == '\u2069':
			if depth == 0 {
				return errors.New("PDI without LRI")
			}
			depth--
		case c == bidi.LRE || c == bidi.RLE || c == bidi.LRO || c == bidi.RLO || c == bidi.PDF || c == bidi.RLI:
			return fmt.Errorf("explicit mark %U", r)
		case depth > 0 && (c == bidi.R || c == bidi.AL):
			return fmt.Errorf("right-to-left %q inside an isolate", r)
		case depth > 0 && c == bidi.AN && prevAN:
			return fmt.Errorf("Arabic-Indic %q after another inside an isolate", r)
		}
		prevAN = depth > 0 && p.Class() == bidi.AN
	}
	if depth != 0 {
		return errors.New("an isolate left open")
	}
	return nil
}

// firstStrongL reports whether the first strong character of s, up to the
// PDI that closes an isolate, is left to right: such a first-strong isolate
// is laid out as a left-to-right one (rule X5c).
func firstStrongL(s string) bool {
	for _, r := range s {
		if r == '\u2069' {
			return false
		}
		p, _ := bidi.LookupRune(r)
		switch p.Class() {
		case bidi.L:
			return true
		case bidi.R, bidi.AL:
			return false
		}
	}
	return false
}

// unmark removes the invisible direction marks.
var unmark = strings.NewReplacer(rlm, "", lri, "", fsi, "", pdi, "", "\u200e", "", "\u061c", "")

// islands returns the stretches of a laid-out line that the eye reads as
// one block of figures: digits, Latin letters and what goes between them in
// a sum or a number (operators, parentheses, decimal points, spaces),
// bounded by Arabic letters or other punctuation. A block's edges are
// trimmed of spaces, operators and punctuation, which belong to the
// sentence around it.
func islands(shown string) []string {
	in := func(r rune) bool {
		p, _ := bidi.LookupRune(r)
		switch p.Class() {
		case bidi.L, bidi.EN, bidi.AN:
			return true
		}
		return strings.ContainsRune(" +−-×÷*/=%٪().,", r)
	}
	var out []string
	for _, f := range strings.FieldsFunc(unmark.Replace(shown), func(r rune) bool { return !in(r) }) {
		if f = strings.Trim(f, " +−-×÷*/=().,"); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// inWrittenOrder reports how each block of figures of the laid-out line
// reads against the text as written (marks removed): a block with European
// digits or Latin letters (bidi classes L and EN) is read left to right, so
// it must appear in the text as it is shown; a block of Arabic-Indic digits
// only is read right to left, number by number. Spaces are not compared.
func inWrittenOrder(written, shown string) error {
	text := strings.ReplaceAll(unmark.Replace(written), " ", "")
	for _, is := range islands(shown) {
		read := strings.ReplaceAll(is, " ", "")
		if !strings.ContainsFunc(is, func(r rune) bool {
			p, _ := bidi.LookupRune(r)
			return p.Class() == bidi.L || p.Class() == bidi.EN
		}) {
			read = rightToLeft(read)
		}
		if !strings.Contains(text, read) {
			return fmt.Errorf("the block %q reads %q, which is not in the text as written", is, read)
		}
	}
	return nil
}

// rightToLeft reads a block of Arabic-Indic figures right to left: its
// numbers in reverse order, each number's digits as they are.
func rightToLeft(s string) string {
	var toks []string
	for s != "" {
		n := strings.IndexFunc(s, func(r rune) bool { return !(r >= 0x660 && r <= 0x669 || r == '٫' || r == '٬') })
		if n == 0 {
			_, n = utf8.DecodeRuneInString(s)
		} else if n < 0 {
			n = len(s)
		}
		toks = append(toks, s[:n])
		s = s[n:]
	}
	var b strings.Builder
	for i := len(toks) - 1; i >= 0; i-- {
		b.WriteString(toks[i])
	}
	return b.String()
}

// checkLaidOut lays out every line of an Arabic-script message and checks
// that its sums read in written order.
func checkLaidOut(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		shown, err := visual(line)
		if err != nil {
			t.Errorf("%q: %v", marks(line), err)
			continue
		}
		if err := inWrittenOrder(line, shown); err != nil {
			t.Errorf("%q is shown as %q: %v", marks(line), marks(shown), err)
		}
	}
}

var marked = strings.NewReplacer(rlm, "{RLM}", lri, "{LRI}", fsi, "{FSI}", pdi, "{PDI}")

func marks(s string) string { return marked.Replace(s) }

// TestDirectionalExpressions holds the rule for sums, amounts and what
// looks like them in Arabic-script text, and lays each result out with the
// bidi algorithm to check that it reads in written order.
func TestDirectionalExpressions(t *testing.T) {
	iso := func(s string) string { return lri + s + pdi }
	tests := []struct {
		in, want string
	}{
		// A sum is one isolate, operators and = included.
		{"تشتري 300 ÷ 20 = 15 درهم لكل طاجين.", rlm + "تشتري " + iso("300 ÷ 20 = 15") + " درهم لكل طاجين."},
		{"نعم: 10 × 20 = 200 درهم", rlm + "نعم: " + iso("10 × 20 = 200") + " درهم"},
		{"نعم: 1200 + 3000 − 3500 = 700 درهم.", rlm + "نعم: " + iso("1200 + 3000 − 3500 = 700") + " درهم."},
		{"إيه: 1200 × 30 ÷ 100 = 360 درهم.", rlm + "إيه: " + iso("1200 × 30 ÷ 100 = 360") + " درهم."},
		{"نعم: 300 × 20 / 100 = 60 درهم", rlm + "نعم: " + iso("300 × 20 / 100 = 60") + " درهم"},
		{"الحساب: 4*5=20", rlm + "الحساب: " + iso("4*5=20")},
		{"الحساب 12.5 + 7,5 = 20", rlm + "الحساب " + iso("12.5 + 7,5 = 20")},
		// Parentheses of a sum go in its isolate, in pairs.
		{"الحصة: (400 + 100) ÷ 100 = 5 دراهم", rlm + "الحصة: " + iso("(400 + 100) ÷ 100 = 5") + " دراهم"},
		{"المجموع 20 × (3 + 2) = 100", rlm + "المجموع " + iso("20 × (3 + 2) = 100")},
		{"المجموع ( 20 + 5 ) × 2 = 50", rlm + "المجموع " + iso("( 20 + 5 ) × 2 = 50")},
		{"((2 + 3) × 4)", rlm + "(" + iso("(2 + 3) × 4") + ")"},
		{"(مثلا 20)", rlm + "(مثلا " + iso("20") + ")"},
		{"بالمائة (%)؟ (مثلا 10)", rlm + "بالمائة (%)؟ (مثلا " + iso("10") + ")"},
		{"الدرس (2) اليوم", rlm + "الدرس (" + iso("2") + ") اليوم"},
		// Negative numbers, percentages, ranges, dates, phone numbers.
		{"الربح: -50 درهم", rlm + "الربح: " + iso("-50") + " درهم"},
		{"الربح: −50 درهم", rlm + "الربح: " + iso("−50") + " درهم"},
		{"الباقي 1200 − 3500 = -2300 درهم", rlm + "الباقي " + iso("1200 − 3500 = -2300") + " درهم"},
		{"(-5)", rlm + "(" + iso("-5") + ")"},
		{"هامش 20% من 30 = 6 دراهم", rlm + "هامش " + iso("20%") + " من " + iso("30 = 6") + " دراهم"},
		{"نعم: 30% × 1200 = 360", rlm + "نعم: " + iso("30% × 1200 = 360")},
		{"تخفيض 20٪ اليوم", rlm + "تخفيض " + iso("20٪") + " اليوم"},
		{"بين 10-15 يوما", rlm + "بين " + iso("10-15") + " يوما"},
		{"من 10 إلى 15 يوما", rlm + "من " + iso("10") + " إلى " + iso("15") + " يوما"},
		{"الموعد 03/12/2026 على 10:30", rlm + "الموعد " + iso("03/12/2026") + " على " + iso("10:30")},
		{"اتصل ب 0600 00 00 01 أو +212 600-000001", rlm + "اتصل ب " + iso("0600 00 00 01") + " أو " + iso("+212 600-000001")},
		// Units: a Latin one joins the number, an Arabic one stays outside.
		{"الثمن 1200 DH فقط", rlm + "الثمن " + iso("1200 DH") + " فقط"},
		{"الثمن 1 200 درهم", rlm + "الثمن " + iso("1 200") + " درهم"},
		{"الثمن 12٫5 درهم", rlm + "الثمن " + iso("12٫5") + " درهم"},
		// Latin words inside Arabic.
		{"اكتب OK أو STOP", rlm + "اكتب " + iso("OK") + " أو " + iso("STOP")},
		{"في Google Sheets (مجاني)", rlm + "في " + iso("Google Sheets") + " (مجاني)"},
		{"على ae.gov.ma أو cnss.ma.", rlm + "على " + iso("ae.gov.ma") + " أو " + iso("cnss.ma") + "."},
		// An operator next to an Arabic word is the sentence's.
		{"ما تحصله في الشهر × 12", rlm + "ما تحصله في الشهر × " + iso("12")},
		{"المواد 16 + الوقت 8", rlm + "المواد " + iso("16") + " + الوقت " + iso("8")},
		{"كراس × 250 درهم = 1500 درهم", rlm + "كراس × " + iso("250") + " درهم = " + iso("1500") + " درهم"},
		// Arabic-Indic digits are left alone: such a sum reads right to left.
		{"١٠ × ٢٠ = ٢٠٠ درهم", rlm + "١٠ × ٢٠ = ٢٠٠ درهم"},
		{"الثمن ١٢٫٥ درهم", rlm + "الثمن ١٢٫٥ درهم"},
	}
	// Figures, Arabic words, Arabic-Indic digits and unpaired parentheses
	// in one sum: it reads right to left as a whole, and the eye may take a
	// block of its figures out of order (the layout check says so); the
	// parentheses stay paired in every isolate all the same.
	mixed := []struct {
		in, want string
	}{
		{"(مثلا 5) + 3", rlm + "(مثلا " + iso("5") + ") + " + iso("3")},
		{"20 × (3 + شي حاجة", rlm + iso("20") + " × (" + iso("3") + " + شي حاجة"},
		{"2) 3 + 4 = 7", rlm + iso("2") + ") " + iso("3 + 4 = 7")},
		// Both kinds of digits: Arabic-Indic ones never join an isolate.
		{"300 + ٢٠ = 320", rlm + iso("300") + " + ٢٠ = " + iso("320")},
	}
	for i, tt := range append(tests, mixed...) {
		for _, lang := range []bot.Lang{bot.Arabic, bot.Darija} {
			got := locale.Directional(lang, tt.in)
			if got != tt.want {
				t.Errorf("Directional(%s, %q) = %q, want %q", lang, tt.in, marks(got), marks(tt.want))
			}
			if again := locale.Directional(lang, got); again != got {
				t.Errorf("Directional(%s, %q) applied twice = %q, want %q", lang, tt.in, marks(again), marks(got))
			}
		}
		if i < len(tests) {
			checkLaidOut(t, tt.want)
		}
	}
}

// TestLaidOutCatchesReversedSums shows that the check of laid-out lines
// fails the marks a sum used to get, and the sums an author turned around.
func TestLaidOutCatchesReversedSums(t *testing.T) {
	for _, line := range []string{
		// What Directional wrote before sums were isolated whole: shown "20 = 15 ÷ 300".
		rlm + "تشتري " + lri + "300" + pdi + " ÷ " + lri + "20 = 15" + pdi + " درهم",
		rlm + "نعم: " + lri + "1200 + 3000" + pdi + " − " + lri + "3500 = 700" + pdi + " درهم.",
		// No isolate at all: each number a left-to-right run, the operators right to left.
		rlm + "تشتري 300 ÷ 20 = 15 درهم",
		// A sum that mixes an Arabic parenthesis with figures.
		locale.Directional(bot.Arabic, "(مثلا 5) + 3 = 8"),
	} {
		shown, err := visual(line)
		if err != nil {
			t.Fatalf("%q: %v", marks(line), err)
		}
		if err := inWrittenOrder(line, shown); err == nil {
			t.Errorf("%q is shown as %q, and the check passes it", marks(line), marks(shown))
		}
	}
	// And visual is what a phone shows: this sum isolated whole reads as written.
	shown, err := visual(locale.Directional(bot.Arabic, "300 ÷ 20 = 15"))
	if err != nil || unmark.Replace(shown) != "300 ÷ 20 = 15" {
		t.Errorf("visual(300 ÷ 20 = 15) = %q, %v; want it as written", shown, err)
	}
	shown, err = visual(rlm + lri + "300" + pdi + " ÷ " + lri + "20 = 15" + pdi)
	if err != nil || unmark.Replace(shown) != "20 = 15 ÷ 300" {
		t.Errorf("visual of the old marks = %q, %v; want %q", shown, err, "20 = 15 ÷ 300")
	}
}

// operators are the characters that make a line of a transcript one to lay
// out.
const operators = "+−-×÷*/=%()"

// TestTranscriptSumsReadInOrder lays out, with the bidi algorithm, every
// line of an Arabic-script message in lessons/transcripts (Darija and
// Arabic) that holds an operator, and checks that every block of figures
// in it reads in written order. Tamazight is written left to right in
// Tifinagh: its lines with an operator must hold no right-to-left
// character, so that they are laid out as written.
func TestTranscriptSumsReadInOrder(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "lessons", "transcripts", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no transcripts in lessons/transcripts")
	}
	lines, sums := 0, 0
	for _, file := range files {
		lang := bot.Lang(strings.TrimPrefix(filepath.Ext(strings.TrimSuffix(file, ".txt")), "."))
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(string(data), "\n") {
			line = strings.TrimLeft(line, " ")
			if !strings.ContainsAny(line, operators) || strings.HasPrefix(line, "──") {
				continue
			}
			where := fmt.Sprintf("%s:%d", filepath.Base(file), n+1)
			switch {
			case lang.RTL():
				if !strings.HasPrefix(line, rlm) {
					continue // what the learner typed, or a media line
				}
				lines++
				shown, err := visual(line)
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				if err := inWrittenOrder(line, shown); err != nil {
					t.Errorf("%s: %q is shown as %q: %v", where, marks(line), marks(shown), err)
				}
				for _, is := range islands(shown) {
					if strings.ContainsAny(is, "+−×÷*/=") && strings.IndexFunc(is, unicode.IsDigit) >= 0 {
						sums++
						break
					}
				}
			case lang == bot.Tamazight:
				for _, r := range line {
					p, _ := bidi.LookupRune(r)
					if c := p.Class(); c == bidi.R || c == bidi.AL || c == bidi.AN {
						t.Errorf("%s: %q holds the right-to-left %q, which a left-to-right line lays out out of order", where, line, r)
						break
					}
				}
			}
		}
	}
	t.Logf("%d Arabic-script lines with an operator laid out, %d of them with a sum", lines, sums)
	if sums < 10 {
		t.Errorf("only %d lines with a sum in the Arabic-script transcripts; the test reads the wrong files", sums)
	}
}

// TestLessonSumsReadInOrder lays out every Darija and Arabic text of every
// lesson, the feedback of wrong answers included (transcripts play right
// answers only), each variable filled with a number, and checks that every
// block of figures in it reads in written order.
func TestLessonSumsReadInOrder(t *testing.T) {
	cat, err := lesson.Load(lessons.FS, "lessons")
	if err != nil {
		t.Fatalf("lesson.Load:\n%v", err)
	}
	texts := 0
	for _, course := range cat.Courses {
		for _, les := range course.Lessons {
			for _, st := range les.Steps {
				all := []lesson.Text{st.Say, st.Ask}
				for _, o := range st.Options {
					all = append(all, o.Text, o.Feedback)
				}
				for _, text := range all {
					for _, lang := range []bot.Lang{bot.Darija, bot.Arabic} {
						src := text.In(lang)
						if !strings.ContainsAny(src, operators) {
							continue
						}
						vars := map[string]string{}
						for _, name := range lesson.Placeholders(src) {
							vars[name] = "12.5"
						}
						out := locale.Directional(lang, lesson.Render(src, vars, nil))
						texts++
						t.Run(fmt.Sprintf("%s/%s/%s", les.ID, st.ID, lang), func(t *testing.T) { checkLaidOut(t, out) })
					}
				}
			}
		}
	}
	if texts == 0 {
		t.Fatal("no lesson text with an operator")
	}
}

// BenchmarkDirectional marks a lesson message with sums, amounts and Latin
// words, as every Arabic-script reply is.
func BenchmarkDirectional(b *testing.B) {
	text := "لنبدأ بالمواد. تشتري فاطمة الطين والطلاء بـ 300 درهم وتصنع 20 طاجينا. 300 ÷ 20 = 15 درهم من المواد لكل طاجين.\n" +
		"نعم: 1200 + 3000 − 3500 = 700 درهم. الحصة: (400 + 100) ÷ 100 = 5 دراهم (مثلا 20).\n" +
		"1. 10 دراهم\n2. 200 درهم\n3. 0 درهم، فهو عملها الخاص\nزوروا ae.gov.ma أو اكتب STOP."
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		locale.Directional(bot.Arabic, text)
	}
}

// TestDirectionalQuote: a coach's words inside a frame of ours. Words in
// Arabic script are marked like the frame, so that their sums read as
// written; words that start left to right keep their direction in a
// first-strong isolate, a line at a time; no isolate is nested.
func TestDirectionalQuote(t *testing.T) {
	const frame, slot = "رسالة من مدربك: \uE000", "\uE000"
	iso := func(s string) string { return lri + s + pdi }
	quote := func(s string) string { return fsi + s + pdi }
	words := "Atelier demain à 10 h, apportez vos carnets."
	tests := []struct {
		lang         bot.Lang
		frame, words string
		want         string
	}{
		{bot.Arabic, frame, words, rlm + "رسالة من مدربك: " + quote(words)},
		{bot.Darija, frame, "احسبوا 300 ÷ 20 = 15 قبل الورشة", rlm + "رسالة من مدربك: احسبوا " + iso("300 ÷ 20 = 15") + " قبل الورشة"},
		{bot.Arabic, frame, "300 ÷ 20 = 15", rlm + "رسالة من مدربك: " + iso("300 ÷ 20 = 15")},
		{bot.Arabic, frame, "Atelier demain\nغدا 10 + 5 = 15\n\nfin", rlm + "رسالة من مدربك: " + quote("Atelier demain") + "\n" +
			rlm + "غدا " + iso("10 + 5 = 15") + "\n\n" + rlm + quote("fin")},
		{bot.Arabic, frame, "\u2069Bonjour \u2066Amina\u2069", rlm + "رسالة من مدربك: " + quote("Bonjour Amina")},
		{bot.Arabic, "\uE000\n(Darsi)", "Bonjour", rlm + quote("Bonjour") + "\n" + rlm + "(" + iso("Darsi") + ")"},
		{bot.Arabic, "\u200f\uE000", "\u200fسلام", rlm + "سلام"},
		{bot.Arabic, "بلا مكان", words, rlm + "بلا مكان"},
		{bot.French, "Message de ton coach : \uE000", words, "Message de ton coach : " + words},
	}
	for _, tt := range tests {
		got := locale.DirectionalQuote(tt.lang, tt.frame, slot, tt.words)
		if got != tt.want {
			t.Errorf("DirectionalQuote(%s, %q, %q) = %q, want %q", tt.lang, tt.frame, tt.words, marks(got), marks(tt.want))
		}
		if tt.lang.RTL() {
			checkLaidOut(t, got)
		}
	}
}
