package lint

import (
	"fmt"
	"strings"

	"github.com/darsi-ma/darsi/bot/locale"
)

// gsmReplacements are the characters that turn a French (or Latin-script)
// SMS into UCS-2 and what to write instead, which GSM-7 has. Those that
// change a word's spelling (ê → e) are suggestions to weigh: rewording is
// often better.
var gsmReplacements = map[rune]string{
	'À': "A", 'Â': "A", 'È': "E", 'Ê': "E", 'Ë': "E", 'Î': "I", 'Ï': "I", 'Ô': "O", 'Ù': "U", 'Û': "U", 'Œ': "OE",
	'â': "a", 'ê': "e", 'ë': "e", 'î': "i", 'ï': "i", 'ô': "o", 'û': "u", 'ç': "c", 'œ': "oe", 'ÿ': "y",
	'’': "'", '‘': "'", 'ʼ': "'", '´': "'", '`': "'",
	'«': "\"", '»': "\"", '“': "\"", '”': "\"", '„': "\"",
	'…': "...", '–': "-", '—': "-", '‑': "-", '−': "-",
	'\u00a0': " ", '\u202f': " ", '\u2009': " ", '\u2007': " ",
	'•': "-", '×': "x",
}

// respelled are the replacements that change a word's spelling.
const respelled = "âêëîïôûçÿÂÊËÎÏÔÛ"

// gsmAdvice is what a note suggests for r.
func gsmAdvice(r rune) string {
	s, _ := gsmReplacement(r)
	if strings.ContainsRune(respelled, r) {
		return fmt.Sprintf("write %q, which changes the spelling, or a word without %q", s, string(r))
	}
	return fmt.Sprintf("write %q", s)
}

// gsmReplacement returns what to write instead of r, which GSM-7 lacks, and
// whether lint knows one.
func gsmReplacement(r rune) (string, bool) {
	s, ok := gsmReplacements[r]
	return s, ok
}

// gsmOnly returns msg with every character outside GSM-7 replaced, and
// whether each one could be: when true, those characters alone made msg
// UCS-2.
func gsmOnly(msg string) (string, bool) {
	if locale.Segments(msg).Encoding == locale.GSM7 {
		return msg, true
	}
	var b strings.Builder
	for _, r := range msg {
		if locale.Segments(string(r)).Encoding == locale.GSM7 {
			b.WriteRune(r)
			continue
		}
		s, ok := gsmReplacement(r)
		if !ok {
			return msg, false
		}
		b.WriteString(s)
	}
	return b.String(), true
}

// forcing lists the characters of text that GSM-7 lacks, with their byte
// offsets.
func forcing(text string) (offs []int, runes []rune) {
	for i, r := range text {
		if locale.Segments(string(r)).Encoding != locale.GSM7 {
			offs, runes = append(offs, i), append(runes, r)
		}
	}
	return offs, runes
}

// charName shows a character in a finding: invisible spaces by name.
func charName(r rune) string {
	switch r {
	case '\u00a0':
		return "non-breaking space"
	case '\u202f':
		return "narrow non-breaking space"
	case '\u2009':
		return "thin space"
	case '\u2007':
		return "figure space"
	}
	return string(r)
}
