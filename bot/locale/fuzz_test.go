package locale_test

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/locale"
)

// seeds are inputs learners send, for the fuzz targets and benchmarks.
var seeds = []string{
	"ÉTAPE Suivante", "مُسَاعَدَة", "نعم ١٢٣ ۴۵۶", "1️⃣", "stop\u200b", "ﻻ", "👍🏽", "d’accord",
	"3awni", "wakha", "7bes", "suivnt", "la", "la suite", "ⵜⴰⵎⴰⵣⵉⵖⵜ", "ⵜⴰⵎⴰⵣⵉⵖⵜ / Tamaziɣt",
	"1 200 DH", "١٢٫٥ درهم", "1.200,50", "-5", "İstanbul", "Straße", "ᄀ\u200bᅡ", "a\xffb",
	"\u2066+212 600-000001\u2069", "\u200fسطر\nسطر", "الـــتالي", "ＳＴＯＰ", "ﷺ", "ǰ", "ΐ",
}

func FuzzNormalize(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := locale.Normalize(s)
		if !utf8.ValidString(n) {
			t.Fatalf("Normalize(%q) = %q, not valid UTF-8", s, n)
		}
		if again := locale.Normalize(n); again != n {
			t.Fatalf("Normalize(Normalize(%q)) = %q, want %q", s, again, n)
		}
	})
}

func FuzzParseNumber(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	for _, s := range []string{"1200", "1,200", "12,5", "0.250", "1 200 000", "DH 5", "15%", "1e5", "99999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := locale.ParseNumber(s)
		if !ok {
			if v != 0 {
				t.Fatalf("ParseNumber(%q) = %v, false; want 0 with false", s, v)
			}
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("ParseNumber(%q) = %v", s, v)
		}
		// What FormatNumber writes, ParseNumber reads back.
		out := locale.FormatNumber(v)
		back, ok := locale.ParseNumber(out)
		want, _ := strconv.ParseFloat(out, 64)
		if !ok || back != want {
			t.Fatalf("ParseNumber(FormatNumber(%v) = %q) = %v, %v; want %v, true", v, out, back, ok, want)
		}
	})
}

func FuzzDirectional(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	for _, s := range []string{
		"تشتري 300 ÷ 20 = 15 درهم", "نعم: 1200 + 3000 − 3500 = 700 درهم.", "إيه: 1200 × 30 ÷ 100 = 360",
		"الحصة: (400 + 100) ÷ 100 = 5", "((2 + 3) × 4)", "(مثلا 5) + 3", "20 × (3 + شي", "2) 3 + 4 = 7",
		")(1)(", "(((1", "1)))", "الربح: −50 درهم", "= -2300", "20% × 30", "20٪", "بين 10-15", "03/12/2026",
		"0600 00 00 01", "1200 DH", "12٫5 + 1٬200", "١٠ × ٢٠ = ٢٠٠", "300 + ٢٠ = 320", "اكتب OK أو STOP",
		"\u2066300\u2069 ÷ \u206620 = 15\u2069", "\u200f\u2067سطر\u2069 (1 + 2)\n\n\u200f \u200f3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		const frame, slot = "رسالة: \uE000 (1 + 2)\n\uE000", "\uE000"
		for _, lang := range bot.Langs {
			once := locale.Directional(lang, s)
			if twice := locale.Directional(lang, once); twice != once {
				t.Fatalf("Directional(%s, %q) = %q, but applied twice = %q", lang, s, once, twice)
			}
			quoted := locale.DirectionalQuote(lang, frame, slot, s)
			if !lang.RTL() {
				if once != s {
					t.Fatalf("Directional(%s, %q) = %q, want it unchanged", lang, s, once)
				}
				if want := strings.Replace(frame, slot, s, 1); quoted != want {
					t.Fatalf("DirectionalQuote(%s, %q) = %q, want %q", lang, s, quoted, want)
				}
				continue
			}
			valid := strings.ToValidUTF8(s, "\uFFFD")
			checkMarks(t, "Directional", lang, s, once, valid)
			checkMarks(t, "DirectionalQuote", lang, s, quoted, strings.Replace(frame, slot, valid, 1))
		}
	})
}

// checkMarks checks what Directional or DirectionalQuote wrote for an
// Arabic-script language: valid UTF-8, an RLM at the start of every line
// that is not blank, isolates balanced and never nested, no Latin letter or
// ASCII digit outside one, and without its marks, the text.
func checkMarks(t *testing.T, fn string, lang bot.Lang, in, out, text string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("%s(%s, %q) = %q, not valid UTF-8", fn, lang, in, out)
	}
	if got, want := stripMarks(out), stripMarks(text); got != want {
		t.Fatalf("%s(%s, %q) = %q: without its marks %q, want %q", fn, lang, in, out, got, want)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "\u200f") {
			t.Fatalf("%s(%s, %q): line %q does not start with RLM", fn, lang, in, line)
		}
		open := false
		for _, r := range line {
			switch {
			case (r == '\u2066' || r == '\u2068') && open, r == '\u2069' && !open:
				t.Fatalf("%s(%s, %q): isolates nested or unbalanced in %q", fn, lang, in, line)
			case r == '\u2066' || r == '\u2068' || r == '\u2069':
				open = !open
			case r == '\u2067':
				t.Fatalf("%s(%s, %q): %U in %q", fn, lang, in, r, line)
			case !open && r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
				t.Fatalf("%s(%s, %q): %q outside an isolate in %q", fn, lang, in, r, line)
			}
		}
		if open {
			t.Fatalf("%s(%s, %q): an isolate left open in %q", fn, lang, in, line)
		}
	}
}

// stripMarks removes what Directional adds: the isolates, and the RLMs
// that start a line.
func stripMarks(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= '\u2066' && r <= '\u2069' {
			return -1
		}
		return r
	}, s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimLeft(l, "\u200f")
	}
	return strings.Join(lines, "\n")
}

func BenchmarkNormalize(b *testing.B) {
	for b.Loop() {
		for _, s := range seeds {
			locale.Normalize(s)
		}
	}
}

func BenchmarkIntent(b *testing.B) {
	bu := bundle(b)
	inputs := append([]string{"Je ne sais pas quoi répondre", "continur", "بغيت نعرف الثمن ديال السلعة"}, seeds...)
	for b.Loop() {
		for _, s := range inputs {
			bu.Intent(s)
		}
	}
}
