package cohort

import (
	"strings"
	"unicode"

	"github.com/darsi-ma/darsi/bot/locale"
)

// maxJoinMessage bounds the bytes of a message that may be a join: "join"
// in any language and a code are a few dozen; longer texts are not read.
const maxJoinMessage = 100

// JoinCandidate reports whether a learner's message asks to join a cohort,
// and with which code (upper case). It does no lookup: the caller looks the
// code up in its Store and tells the engine (bot.Inbound.JoinCohort).
//
// A message is a join candidate when it starts with a join word of words
// ("join K7M2QX", "rejoindre k7m2qx", "انضم K7M2QX"): explicit is then true,
// and code is what follows the word, "" when nothing does, whatever its
// shape (the learner meant to join; an unknown code gets an answer). Or
// when the whole message is one word with the shape of a generated code
// (ValidCode, letters and digits mixed) that is no keyword, language name
// or number. Matching is case- and script-insensitive (locale.Normalize:
// full-width letters, Arabic-Indic digits…). Messages over 100 bytes
// are no candidates.
func JoinCandidate(text string, words *locale.Bundle) (code string, explicit, ok bool) {
	if len(text) > maxJoinMessage {
		return "", false, false
	}
	if rest, ok := words.JoinWord(text); ok {
		return strings.ToUpper(strings.ReplaceAll(rest, " ", "")), true, true
	}
	if len(strings.Fields(text)) != 1 {
		return "", false, false
	}
	fields := strings.Fields(locale.Normalize(text))
	if len(fields) != 1 {
		return "", false, false
	}
	w := strings.TrimFunc(fields[0], func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) })
	if !ValidCode(w) || !hasDigitAndLetter(w) {
		return "", false, false
	}
	if words.Intent(text) != locale.NoIntent {
		return "", false, false
	}
	if _, named := words.LanguageNamed(text); named {
		return "", false, false
	}
	if _, number := locale.ParseNumber(text); number {
		return "", false, false
	}
	return strings.ToUpper(w), false, true
}
