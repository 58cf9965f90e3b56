package locale

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/bidi"

	"github.com/darsi-ma/darsi/bot"
)

// The bidi marks Directional writes.
const (
	rlm = '\u200F' // RIGHT-TO-LEFT MARK
	lri = '\u2066' // LEFT-TO-RIGHT ISOLATE
	fsi = '\u2068' // FIRST STRONG ISOLATE
	pdi = '\u2069' // POP DIRECTIONAL ISOLATE
)

// Directional prepares outgoing text for lang, so that phones lay out
// Arabic script text right to left whatever its first character is, and
// show sums and amounts as they are written.
//
// For ary and ar, every line that is not blank starts with U+200F (RLM), and
// every run of left-to-right text — Latin words, digits, phone numbers,
// URLs, amounts, arithmetic expressions — is wrapped in U+2066 (LRI) …
// U+2069 (PDI), one isolate a run, never nested. A run is made of
// left-to-right letters and European digits (bidi classes L and EN) and the
// marks on them, joined by what may stand between them in a number, an
// address or a sum: spaces, . , : _ @ ? & #, the operators + − - × ÷ * / =
// % and parentheses, and the Arabic decimal and thousands separators ٫ ٬.
// So `300 ÷ 20 = 15` is one isolate and reads left to right, where two
// isolates with a ÷ between them would be laid out right to left ("20 = 15
// ÷ 300"). A sign (+ - −) just before a digit, and a % or ٪ just after the
// run, belong to it. Parentheses go into a run only in pairs: a run that
// holds one of a pair takes in the other when only spaces and parentheses
// lie between, and is cut in two at it otherwise, so `(400 + 100) ÷ 100`
// is one isolate and `(مثلا 20)` keeps its parentheses outside.
//
// Units: a Latin unit (DH, kg) next to a number joins its run and % ends
// it; an Arabic one (درهم) stays outside, where the right-to-left line puts
// it after the number in reading order. Arabic-Indic digits (U+0660–U+0669,
// bidi class AN) are left alone, even inside a sum: an operator between two
// of them resolves to right to left whatever isolate surrounds it (rule N1
// of the bidi algorithm), so such a sum is laid out, and read, right to
// left. For fr and zgh (written left to right) the text is returned
// unchanged.
//
// Directional owns these marks: it first removes every isolate (U+2066–
// U+2069) and the RLMs that start a line, then adds its own, so it is
// idempotent, and removing them gives back the text. Invalid UTF-8 becomes
// U+FFFD.
func Directional(lang bot.Lang, text string) string {
	if !lang.RTL() {
		return text
	}
	return mark([]piece{{text: clean(text)}})
}

// DirectionalQuote is Directional for a message of ours, frame, that
// quotes someone else's words at slot, as a coach's reminder does: the
// frame gets its marks as Directional gives them, and so does each line of
// words whose first strong character is right to left or that has none
// (Arabic script, figures). A line of words that starts left to right
// (French, Tamazight, Darija in Latin letters) goes in a first-strong
// isolate, U+2068 (FSI) … U+2069 (PDI), so that it keeps its own direction
// inside the right-to-left line; a line of them after the first starts
// with RLM as every line does. Isolates in words are removed first, so that
// none is nested or left open. For fr and zgh, and a frame without slot, it
// is the frame with slot replaced by words.
func DirectionalQuote(lang bot.Lang, frame, slot, words string) string {
	before, after, ok := strings.Cut(frame, slot)
	if !lang.RTL() || !ok {
		return Directional(lang, strings.Replace(frame, slot, words, 1))
	}
	ps := []piece{{text: clean(before)}}
	for i, line := range strings.Split(clean(words), "\n") {
		if i > 0 {
			ps = append(ps, piece{text: "\n"})
		}
		ps = append(ps, piece{text: line, quoted: startsLTR(line)})
	}
	ps = append(ps, piece{text: clean(after)})
	return mark(ps)
}

// clean makes text valid UTF-8 and removes its isolates.
func clean(text string) string {
	return strings.Map(func(r rune) rune {
		if r >= '\u2066' && r <= '\u2069' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(text, "\uFFFD"))
}

// startsLTR reports whether the first strong character of s is left to
// right.
func startsLTR(s string) bool {
	for _, r := range s {
		switch bidiClass(r) {
		case bidi.L:
			return true
		case bidi.R, bidi.AL:
			return false
		}
	}
	return false
}

// A piece of a message: text to mark, or quoted words (one line of them)
// to put in a first-strong isolate.
type piece struct {
	text   string
	quoted bool
}

// mark writes the pieces of a message with the marks of Directional: an
// RLM at the start of every line that is not blank, its left-to-right runs
// isolated, quoted pieces in a first-strong isolate.
func mark(ps []piece) string {
	size := 0
	for _, p := range ps {
		size += len(p.text)
	}
	var b strings.Builder
	b.Grow(size + 16)
	// A line has at most as many runes as the message: one allocation each.
	n := 0
	for _, p := range ps {
		n += utf8.RuneCountInString(p.text)
	}
	sc := scratch{rs: make([]runeAt, 0, n), runes: n}
	// The pieces of the line being gathered; a piece may end it.
	var line []piece
	flush := func() {
		// The RLMs that start the line are Directional's own: drop them.
		start, blank := true, true
		for i := range line {
			if start {
				line[i].text = strings.TrimLeft(line[i].text, string(rlm))
				start = line[i].text == ""
			}
			if strings.TrimSpace(line[i].text) != "" {
				blank = false
			}
		}
		if !blank {
			b.WriteRune(rlm)
		}
		for _, p := range line {
			switch {
			case blank:
				b.WriteString(p.text)
			case p.quoted && p.text != "":
				b.WriteRune(fsi)
				b.WriteString(p.text)
				b.WriteRune(pdi)
			case p.text != "":
				sc.isolateRuns(&b, p.text)
			}
		}
		line = line[:0]
	}
	for _, p := range ps {
		for {
			text, rest, nl := strings.Cut(p.text, "\n")
			line = append(line, piece{text, p.quoted})
			if !nl {
				break
			}
			flush()
			b.WriteByte('\n')
			p.text = rest
		}
	}
	flush()
	return b.String()
}

// scratch holds what isolateRuns needs for a line, reused from line to line.
type scratch struct {
	rs      []runeAt
	runes   int     // the runes of the whole text, the most a line may hold
	partner []int32 // the index of the parenthesis paired with this one; -1 for none
	stack   []int32
	spans   []span
}

// runeAt is a rune of a line and the byte where it starts.
type runeAt struct {
	r     rune
	start int32
}

// span is a run to isolate: the runes [from, to) of a line.
type span struct{ from, to int }

// isolateRuns writes line to b with each left-to-right run wrapped in
// LRI … PDI.
func (sc *scratch) isolateRuns(b *strings.Builder, line string) {
	rs := sc.rs[:0]
	for i, r := range line {
		rs = append(rs, runeAt{r, int32(i)})
	}
	sc.rs = rs
	if strings.ContainsAny(line, "()") {
		sc.pairParens()
	}
	sc.spans = sc.spans[:0]
	n := len(rs)
	for i := 0; i < n; {
		if !sc.startsRun(i) {
			i++
			continue
		}
		to := sc.runEnd(i)
		sc.balance(i, to, 0)
		i = to
	}
	// The byte just before rune k: where a span starting at k opens.
	at := func(k int) int {
		if k < n {
			return int(rs[k].start)
		}
		return len(line)
	}
	done, doneRune := 0, 0 // what of line is written, in bytes and runes
	for _, s := range sc.spans {
		s.from = max(s.from, doneRune) // spans are apart; this keeps the output whole if they were not
		if s.from >= s.to {
			continue
		}
		b.WriteString(line[done:at(s.from)])
		b.WriteRune(lri)
		b.WriteString(line[at(s.from):at(s.to)])
		b.WriteRune(pdi)
		done, doneRune = at(s.to), s.to
	}
	b.WriteString(line[done:])
}

// startsRun reports whether a run starts at rune i: a left-to-right
// character, or a sign just before a digit.
func (sc *scratch) startsRun(i int) bool {
	rs := sc.rs
	return isLTR(rs[i].r) || isSign(rs[i].r) && i+1 < len(rs) && isDigitRune(rs[i+1].r)
}

// runEnd returns the end of the run that starts at rune i: the last
// left-to-right character reached through joiners, the marks on it, and a
// percent sign just after.
func (sc *scratch) runEnd(i int) int {
	rs := sc.rs
	n := len(rs)
	core := func(k int) bool { return k < n && isLTR(rs[k].r) }
	marks := func(k int) int {
		for k < n && bidiClass(rs[k].r) == bidi.NSM {
			k++
		}
		return k
	}
	last := i + 1
	if !core(i) { // a sign, and the digit after it
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
	if last < n && isPercent(rs[last].r) {
		last++
	}
	return last
}

// pairParens pairs the parentheses of the line as the bidi algorithm pairs
// brackets: each ")" with the nearest "(" before it not yet paired.
func (sc *scratch) pairParens() {
	n := len(sc.rs)
	if cap(sc.partner) < n {
		sc.partner = make([]int32, n, max(n, sc.runes))
	}
	sc.partner = sc.partner[:n]
	sc.stack = sc.stack[:0]
	for k, ra := range sc.rs {
		sc.partner[k] = -1
		switch ra.r {
		case '(':
			sc.stack = append(sc.stack, int32(k))
		case ')':
			if len(sc.stack) > 0 {
				o := sc.stack[len(sc.stack)-1]
				sc.stack = sc.stack[:len(sc.stack)-1]
				sc.partner[k], sc.partner[o] = o, int32(k)
			}
		}
	}
}

// maxSplits bounds the work balance does on a line of many unpaired
// parentheses; past it, the rest of a run is cut at every parenthesis.
const maxSplits = 64

// balance adds the run [from, to) to sc.spans with both parentheses of
// every pair it holds: it takes in the other one of a pair when only spaces
// and parentheses lie between it and the run, and otherwise cuts the run in
// two at the parenthesis and balances each part. depth counts the cuts.
func (sc *scratch) balance(from, to, depth int) {
	rs := sc.rs
	for changed := true; changed; {
		changed = false
		for k := from; k < to; k++ {
			if rs[k].r != '(' && rs[k].r != ')' {
				continue
			}
			p := int(sc.partner[k])
			switch {
			case p >= from && p < to:
				continue
			case p >= 0 && p < from && onlyParens(rs[p+1:from]):
				from, changed = p, true
			case p >= to && onlyParens(rs[to:p]):
				to, changed = p+1, true
			default:
				sc.cut(from, to, k, depth)
				return
			}
		}
	}
	sc.spans = append(sc.spans, span{from, to})
}

// cut splits the run [from, to) at the parenthesis k, which cannot go into
// it, and balances the parts on either side that hold left-to-right text.
func (sc *scratch) cut(from, to, k, depth int) {
	rs := sc.rs
	if depth >= maxSplits {
		// Give up on pairing: keep the text between parentheses only.
		for j := from; j < to; j++ {
			if rs[j].r == '(' || rs[j].r == ')' {
				sc.addTrimmed(from, j)
				from = j + 1
			}
		}
		sc.addTrimmed(from, to)
		return
	}
	if l, r, ok := sc.trim(from, k); ok {
		sc.balance(l, r, depth+1)
	}
	if l, r, ok := sc.trim(k+1, to); ok {
		sc.balance(l, r, depth+1)
	}
}

// addTrimmed adds the part of [from, to) that trim keeps, without pairing.
func (sc *scratch) addTrimmed(from, to int) {
	if l, r, ok := sc.trim(from, to); ok {
		sc.spans = append(sc.spans, span{l, r})
	}
}

// trim narrows [from, to) to a run: from its first left-to-right character
// (or a sign just before a digit) to its last one, with the marks and a
// percent sign after it. It reports false when no run is left.
func (sc *scratch) trim(from, to int) (int, int, bool) {
	rs := sc.rs
	for from < to && !(isLTR(rs[from].r) || isSign(rs[from].r) && from+1 < to && isDigitRune(rs[from+1].r)) {
		from++
	}
	if from >= to {
		return 0, 0, false
	}
	last := to
	for last > from && !isLTR(rs[last-1].r) && bidiClass(rs[last-1].r) != bidi.NSM {
		last--
	}
	if last == from { // only a sign: the digit after it lies beyond to
		return 0, 0, false
	}
	if last < to && isPercent(rs[last].r) {
		last++
	}
	return from, last, true
}

// onlyParens reports whether rs holds nothing but parentheses and spaces.
func onlyParens(rs []runeAt) bool {
	for _, ra := range rs {
		if ra.r != '(' && ra.r != ')' && ra.r != ' ' {
			return false
		}
	}
	return true
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

func isSign(r rune) bool { return r == '+' || r == '-' || r == '−' }

func isPercent(r rune) bool { return r == '%' || r == '٪' }

// isJoiner reports whether r may stand between two parts of one run.
func isJoiner(r rune) bool {
	switch r {
	case ' ', '.', ',', ':', '/', '+', '%', '-', '_', '@', '?', '=', '&', '#',
		'−', '×', '÷', '*', '(', ')', '٫', '٬', '٪':
		return true
	}
	return false
}
