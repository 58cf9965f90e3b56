package locale

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Normalize prepares text for matching, as docs/languages.md describes,
// so that the ways learners type one word compare equal:
//
//  1. NFKC (full-width letters, ligatures such as ﻻ, circled digits);
//  2. drop format characters (Unicode Cf: LRM, RLM, ALM, ZWSP, ZWJ, BOM,
//     bidi embeddings and isolates), tatweel U+0640 and emoji skin tones
//     U+1F3FB–U+1F3FF;
//  3. map Arabic-Indic digits U+0660–U+0669 and U+06F0–U+06F9 to 0–9;
//  4. NFD, then drop nonspacing and enclosing marks (Mn, Me: tashkeel,
//     hamza above and below, accents, the keycap of 1️⃣);
//  5. fold Arabic letter variants: أ إ آ ٱ → ا, ى ی → ي, ة → ه, ک ڭ گ → ك,
//     ڤ → ف;
//  6. Unicode case folding, then NFC; map ’ ‘ ʼ to ';
//  7. turn 👍 👌 ✅ ✔ into the word "yes" and 👎 ❌ into "no", each a word
//     of its own;
//  8. trim, and collapse every run of white space into one space.
//
// Invalid UTF-8 becomes U+FFFD, so the result is always valid UTF-8, and
// Normalize(Normalize(s)) == Normalize(s). It is for comparing only: never
// store or show its result.
func Normalize(s string) string {
	if isASCII(s) {
		return collapseSpace(strings.ToLower(s))
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = norm.NFKC.String(s)
	s = strings.Map(dropFormat, s)
	s = norm.NFD.String(s)
	s = strings.Map(dropMarks, s)
	s = cases.Fold().String(s) // a Caser keeps state: one per call
	s = strings.Map(foldCherokee, s)
	s = norm.NFC.String(s)
	s = replaceSymbols(s)
	return collapseSpace(s)
}

// dropFormat is step 2 and 3 of Normalize.
func dropFormat(r rune) rune {
	switch {
	case r == '\u0640', r >= 0x1F3FB && r <= 0x1F3FF, unicode.Is(unicode.Cf, r):
		return -1
	case r >= '\u0660' && r <= '\u0669':
		return '0' + r - '\u0660'
	case r >= '\u06F0' && r <= '\u06F9':
		return '0' + r - '\u06F0'
	}
	return r
}

// arabicVariants folds letters that learners (and keyboards) use for one
// another. The hamza forms decompose under NFD already; they are listed for
// clarity.
var arabicVariants = map[rune]rune{
	'أ': 'ا', 'إ': 'ا', 'آ': 'ا', 'ٱ': 'ا',
	'ى': 'ي', 'ی': 'ي',
	'ة': 'ه',
	'ک': 'ك', 'ڭ': 'ك', 'گ': 'ك',
	'ڤ': 'ف',
}

// dropMarks is step 4 (after NFD) and 5 of Normalize.
func dropMarks(r rune) rune {
	if unicode.In(r, unicode.Mn, unicode.Me) {
		return -1
	}
	if v, ok := arabicVariants[r]; ok {
		return v
	}
	return r
}

// foldCherokee completes cases.Fold, which (x/text v0.44.0) swaps Cherokee
// capitals and small letters instead of folding both to the capitals as
// Unicode's CaseFolding.txt does; Normalize would not be idempotent.
func foldCherokee(r rune) rune {
	switch {
	case r >= 0xAB70 && r <= 0xABBF:
		return r - 0xAB70 + 0x13A0
	case r >= 0x13F8 && r <= 0x13FD:
		return r - 8
	}
	return r
}

// symbolWords lists the emoji that answer yes or no. Emoji have no Unicode
// property for this in Go, hence the explicit set.
var symbolWords = map[rune]string{
	'👍': "yes", '👌': "yes", '✅': "yes", '✔': "yes",
	'👎': "no", '❌': "no",
}

// replaceSymbols is step 7 of Normalize, and maps apostrophes (step 6).
func replaceSymbols(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool {
		_, ok := symbolWords[r]
		return ok || isApostrophe(r)
	}) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		switch w, ok := symbolWords[r]; {
		case ok:
			b.WriteByte(' ')
			b.WriteString(w)
			b.WriteByte(' ')
		case isApostrophe(r):
			b.WriteByte('\'')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isApostrophe(r rune) bool { return r == '’' || r == '‘' || r == 'ʼ' }

// collapseSpace trims s and turns each run of white space into one space.
func collapseSpace(s string) string {
	if !needsCollapse(s) {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

func needsCollapse(s string) bool {
	prevSpace := true // a leading space needs trimming
	for _, r := range s {
		sp := unicode.IsSpace(r)
		if sp && (prevSpace || r != ' ') {
			return true
		}
		prevSpace = sp
	}
	return prevSpace && s != ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
