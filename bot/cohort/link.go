package cohort

import (
	"net/url"
	"strings"
	"unicode"

	"github.com/darsi-ma/darsi/bot"
)

// JoinText is the message a learner sends to join the cohort with code: a
// join word that works in every language, then the code.
func JoinText(code string) string { return "join " + code }

// WhatsAppLink returns the wa.me link that opens a chat with from (the
// bot's WhatsApp sender, as in TWILIO_WHATSAPP_FROM: "whatsapp:+2126…", or
// a bare number) with JoinText(code) typed in. It fails with Invalid when
// from has no digits.
func WhatsAppLink(from, code string) (string, error) {
	number := strings.TrimPrefix(strings.TrimSpace(from), "whatsapp:")
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		if unicode.IsSpace(r) || strings.ContainsRune("+-().", r) {
			return -1
		}
		return 'x'
	}, number)
	if digits == "" || strings.Contains(digits, "x") {
		return "", bot.Errorf("cohort.WhatsAppLink", bot.Invalid, "%q is not a WhatsApp number (want whatsapp:+2126…)", from)
	}
	// wa.me reads %20 as a space; "+" would show as a plus on some phones.
	return "https://wa.me/" + digits + "?text=" + strings.ReplaceAll(url.QueryEscape(JoinText(code)), "+", "%20"), nil
}
