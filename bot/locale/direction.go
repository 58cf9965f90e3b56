package locale

import (
	"strings"

	"golang.org/x/text/unicode/bidi"

	"github.com/darsi-ma/darsi/bot"
)

// The bidi marks Directional writes.
const (
	rlm = '\u200F' // RIGHT-TO-LEFT MARK
	lri = '\u2066' // LEFT-TO-RIGHT ISOLATE
	pdi = '\u2069' // POP DIRECTIONAL ISOLATE
)

// Directional prepares outgoing text for lang, so that phones lay out
// Arabic script text right to left whatever its first character is.
//
// For ary and ar, every line that is not blank starts with U+200F (RLM), and
// every run of left-to-right text — Latin words, digits, phone numbers,
// URLs, amounts — is wrapped in U+2066 (LRI) … U+2069 (PDI). A run is made of
// left-to-right letters and European digits (bidi classes L and EN) and the
// marks on them, joined by spaces and . , : / + % - _ @ ? = & # between
// them; a sign just before a digit and a % just after the run belong to it.
// Arabic-Indic digits need no isolate and are left alone. For fr and zgh
// (written left to right) the text is returned unchanged.
//
// Directional owns these marks: it first removes every isolate (U+2066–
// U+2069) and the RLMs that start a line, then adds its own, so it is
// idempotent. Invalid UTF-8 becomes U+FFFD.
func Directional(lang bot.Lang, text string) string {
	if !lang.RTL() {
		return text
	}
	text = strings.ToValidUTF8(text, "\uFFFD")
	text = strings.Map(func(r rune) rune {
		if r >= '\u2066' && r <= '\u2069' {
			return -1
		}
		return r
	}, text)
	var b strings.Builder
	b.Grow(len(text) + 16)
	var scratch []runeAt
	for i, line := range strings.Split(text, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		line = strings.TrimLeft(line, string(rlm))
		if strings.TrimSpace(line) == "" {
			b.WriteString(line)
			continue
		}
		b.WriteRune(rlm)
		scratch = isolateRuns(&b, line, scratch)
	}
	return b.String()
}

// isolateRuns writes line to b with each left-to-right run wrapped in
// LRI … PDI. scratch is reused from line to line; the grown one is returned.
func isolateRuns(b *strings.Builder, line string, scratch []runeAt) []runeAt {
	rs := scratch[:0]
	for i, r := range line {
		rs = append(rs, runeAt{r, int32(i)})
	}
	n := len(rs)
	// end is the byte just after rune k.
	end := func(k int) int {
		if k+1 < n {
			return int(rs[k+1].start)
		}
		return len(line)
	}
	core := func(k int) bool { return k < n && isLTR(rs[k].r) }
	// marks extends a run over the nonspacing marks after index k.
	marks := func(k int) int {
		for k < n && bidiClass(rs[k].r) == bidi.NSM {
			k++
		}
		return k
	}
	for i := 0; i < n; {
		sign := (rs[i].r == '+' || rs[i].r == '-') && i+1 < n && isDigitRune(rs[i+1].r)
		if !core(i) && !sign {
			b.WriteString(line[rs[i].start:end(i)])
			i++
			continue
		}
		last := i + 1
		if sign {
			last++
		}
		last = marks(last)
		for {
			p := last
			for p < n && isJoiner(rs[p].r) {
				p++
			}
			if !core(p) {
				break
			}
			last = marks(p + 1)
		}
		if last < n && rs[last].r == '%' {
			last++
		}
		b.WriteRune(lri)
		b.WriteString(line[rs[i].start:end(last-1)])
		b.WriteRune(pdi)
		i = last
	}
	return rs
}

// runeAt is a rune of a line and the byte where it starts.
type runeAt struct {
	r     rune
	start int32
}

func bidiClass(r rune) bidi.Class {
	p, _ := bidi.LookupRune(r)
	return p.Class()
}

// isLTR reports whether r starts or continues a left-to-right run.
func isLTR(r rune) bool {
	c := bidiClass(r)
	return c == bidi.L || c == bidi.EN
}

func isDigitRune(r rune) bool { return r >= '0' && r <= '9' }

func isJoiner(r rune) bool {
	return strings.ContainsRune(" .,:/+%-_@?=&#", r)
}
