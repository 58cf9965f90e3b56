package locale_test

import (
	"math"
	"strconv"
	"testing"
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
	f.Fuzz(func(t *testing.T, s string) {
		for _, lang := range bot.Langs {
			once := locale.Directional(lang, s)
			if twice := locale.Directional(lang, once); twice != once {
				t.Fatalf("Directional(%s, %q) = %q, but applied twice = %q", lang, s, once, twice)
			}
			if lang.RTL() && !utf8.ValidString(once) {
				t.Fatalf("Directional(%s, %q) = %q, not valid UTF-8", lang, s, once)
			}
		}
	})
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
