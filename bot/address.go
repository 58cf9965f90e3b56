package bot

import (
	"errors"
	"fmt"
)

// Learner addresses. A WhatsApp or SMS learner is named by their address,
// the channel and what Twilio calls them by:
//
//	whatsapp:+212600000001         a WhatsApp number (E.164)
//	sms:+212600000001              an SMS number (E.164)
//	whatsapp:MA.1502576394655843   a WhatsApp user who hides their number
//	                               behind a username: their business-scoped
//	                               user id (BSUID)
//
// A BSUID is a two-letter ISO 3166 country code in capitals, a dot, and 1
// to 128 ASCII letters and digits, possibly followed by further
// dot-separated parts of the same kind for a parent id
// ("US.ENT.11815799212886844830"); at most MaxBSUIDParts parts after the
// country code. A BSUID learner is on WhatsApp only: there is no SMS
// fallback and no phone number to tell their country but the BSUID's.

// MaxBSUIDPart is the longest part of a BSUID after its country code.
const MaxBSUIDPart = 128

// MaxBSUIDParts is how many dot-separated parts a BSUID has at most after
// its country code: the id, or a parent id's kind and id.
const MaxBSUIDParts = 3

// Errors of CheckAddress, for callers that tell them apart.
var (
	ErrChannel = errors.New("channel not supported")
	ErrAddress = errors.New("not an E.164 number or a WhatsApp BSUID")
)

// ValidE164 reports whether s is "+" and 7 to 15 digits, the first not 0.
func ValidE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ValidBSUID reports whether s is a WhatsApp business-scoped user id, such
// as "MA.1502576394655843" or "US.ENT.11815799212886844830" (see the
// format above).
func ValidBSUID(s string) bool {
	if len(s) < 4 || !upper(s[0]) || !upper(s[1]) || s[2] != '.' {
		return false
	}
	parts, n := 1, 0
	for i := 3; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if n == 0 || parts == MaxBSUIDParts {
				return false
			}
			parts, n = parts+1, 0
		case upper(c) || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'):
			if n++; n > MaxBSUIDPart {
				return false
			}
		default:
			return false
		}
	}
	return n > 0
}

func upper(c byte) bool { return c >= 'A' && c <= 'Z' }

// CheckAddress reports whether id is the address of a WhatsApp or SMS
// learner: "whatsapp:+E.164", "sms:+E.164" or "whatsapp:<BSUID>". The
// error wraps ErrChannel for another channel (or none) and ErrAddress for
// a malformed number or BSUID; it never repeats the address.
func CheckAddress(id string) error {
	ch, rest := SplitLearnerID(id)
	switch ch {
	case WhatsApp:
		if ValidE164(rest) || ValidBSUID(rest) {
			return nil
		}
	case SMS:
		if ValidE164(rest) {
			return nil
		}
		if ValidBSUID(rest) {
			return fmt.Errorf("%w: a WhatsApp BSUID is not an SMS address", ErrAddress)
		}
	default:
		return ErrChannel
	}
	return ErrAddress
}

// IsBSUID reports whether id is the address of a WhatsApp learner known by
// their BSUID ("whatsapp:MA.…") rather than their number.
func IsBSUID(id string) bool {
	ch, rest := SplitLearnerID(id)
	return ch == WhatsApp && ValidBSUID(rest)
}

// Country returns the two-letter country code of a BSUID address
// ("whatsapp:MA.…" is in "MA"), or "" for any other id: a number's country
// is told by its dialling prefix instead.
func Country(id string) string {
	if !IsBSUID(id) {
		return ""
	}
	_, rest := SplitLearnerID(id)
	return rest[:2]
}

// maskBSUID shows a BSUID's country code, the first two and the last two
// characters of what follows ("MA.15…43"), or only the country code when
// what follows is too short to hide anything that way.
func maskBSUID(b string) string {
	rest := b[3:]
	if len(rest) < 8 {
		return b[:3] + "…"
	}
	return b[:3] + rest[:2] + "…" + rest[len(rest)-2:]
}
