package cohort

import (
	"context"
	"crypto/rand"
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/locale"
)

// CodeAlphabet is the letters a join code is written with: upper-case
// letters and digits without those a learner confuses when reading a poster
// or a message (0 and O, 1 and I and L).
const CodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// CodeLength is the length of a join code: 31⁶, about 887 million codes.
const CodeLength = 6

// ValidCode reports whether s has the shape of a join code (case-insensitive).
func ValidCode(s string) bool {
	if len(s) != CodeLength {
		return false
	}
	for _, r := range strings.ToUpper(s) {
		if !strings.ContainsRune(CodeAlphabet, r) {
			return false
		}
	}
	return true
}

// hasDigitAndLetter reports whether s mixes letters and digits, as every
// generated code does, so that a code sent alone is never an ordinary word.
func hasDigitAndLetter(s string) bool {
	return strings.ContainsAny(s, "23456789") && strings.ContainsFunc(s, func(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' })
}

// NewCode returns a random join code: CodeLength characters of
// CodeAlphabet with at least one letter and one digit.
func NewCode() string {
	for {
		var b [CodeLength]byte
		rand.Read(b[:]) // never fails (crypto/rand)
		code := make([]byte, CodeLength)
		for i, x := range b {
			// 256 % 31 leaves a bias of under 1%, harmless for codes
			// that are looked up, not secret.
			code[i] = CodeAlphabet[int(x)%len(CodeAlphabet)]
		}
		if hasDigitAndLetter(string(code)) {
			return string(code)
		}
	}
}

// maxCodeTries bounds how many codes Create draws before it gives up.
const maxCodeTries = 20

// Create stores a new cohort named name, followed by coach ("" for none),
// under a fresh join code, and returns it. The code is one that words
// reads back as a join code when sent alone (no keyword, no number), and a
// code already taken is drawn again.
//
// Errors: Invalid when name is empty; Conflict when no free code was found
// after several tries; the store's (Unavailable…).
func Create(ctx context.Context, s Store, words *locale.Bundle, name, coach string, now time.Time) (Cohort, error) {
	const op = "cohort.Create"
	name = strings.TrimSpace(name)
	if name == "" {
		return Cohort{}, bot.Errorf(op, bot.Invalid, "a cohort needs a name")
	}
	for range maxCodeTries {
		code := NewCode()
		if got, explicit, ok := JoinCandidate(code, words); !ok || explicit || got != code {
			continue // a keyword or a number: a learner sending it alone would not join
		}
		c := Cohort{Code: code, Name: name, Coach: coach, CreatedAt: now.UTC()}
		err := s.CreateCohort(ctx, c)
		if bot.KindOf(err) == bot.Conflict {
			continue
		}
		if err != nil {
			return Cohort{}, err
		}
		return c, nil
	}
	return Cohort{}, bot.Errorf(op, bot.Conflict, "no free join code after %d tries", maxCodeTries)
}
