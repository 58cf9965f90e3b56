package twilio

import (
	"net/url"
	"strings"
)

// Twilio names every resource with a SID: two capital letters that say its
// kind, then 32 hexadecimal digits.
const (
	sidLen    = 34
	sidDigits = 32
)

// Kinds of SID the webhook reads.
const (
	accountPrefix = "AC" // an account
	smsPrefix     = "SM" // a message without media (SMS, WhatsApp)
	mmsPrefix     = "MM" // a message with media
)

// messageSIDParams are the parameters that carry a message's SID: Twilio
// sends all three, the same; older integrations read the last two.
var messageSIDParams = []string{"MessageSid", "SmsMessageSid", "SmsSid"}

// ValidSID reports whether s is a Twilio SID of the kind prefix (such as
// "AC"): exactly prefix, then 32 hexadecimal digits (either case), and
// nothing else. A prefix that is not two capital letters matches nothing.
func ValidSID(s, prefix string) bool {
	if len(prefix) != 2 || !isUpper(prefix[0]) || !isUpper(prefix[1]) {
		return false
	}
	if len(s) != sidLen || s[:2] != prefix {
		return false
	}
	for i := 2; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// ValidMessageSID reports whether s is the SID of a message: SM (no media)
// or MM (with media), then 32 hexadecimal digits.
func ValidMessageSID(s string) bool {
	return ValidSID(s, smsPrefix) || ValidSID(s, mmsPrefix)
}

// ValidAccountSID reports whether s is the SID of an account: AC, then 32
// hexadecimal digits.
func ValidAccountSID(s string) bool { return ValidSID(s, accountPrefix) }

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// sidProblem is why a request's SIDs are refused.
type sidProblem int

const (
	sidOK        sidProblem = iota
	sidMalformed            // a SID missing or not in Twilio's format: 400
	sidForeign              // another account's request: 403
)

// checkSIDs checks the SIDs of a webhook or status-callback form, as
// Twilio always sends them: at least one message SID parameter, each one
// present a message SID; AccountSid an account SID, and account's when
// account is not "". It returns the problem and a short reason for logs and
// the response, which never quotes the values.
//
// Twilio's signature joins names and values without a separator, so a
// signed form can be cut again at other places ("MessageSid=SM…&NumMedia=0"
// as "MessageSid=SM…NumMedia0") and still verify: a SID of the exact
// format is what refuses such a form.
func checkSIDs(form url.Values, account string) (sidProblem, string) {
	seen := false
	for _, p := range messageSIDParams {
		vs, ok := form[p]
		if !ok {
			continue
		}
		seen = true
		for _, v := range vs {
			if !ValidMessageSID(v) {
				return sidMalformed, p + " is not SM or MM and 32 hexadecimal digits"
			}
		}
	}
	if !seen {
		return sidMalformed, "missing MessageSid"
	}
	vs, ok := form["AccountSid"]
	if !ok {
		return sidMalformed, "missing AccountSid"
	}
	for _, v := range vs {
		if !ValidAccountSID(v) {
			return sidMalformed, "AccountSid is not AC and 32 hexadecimal digits"
		}
		if account != "" && !strings.EqualFold(v, account) {
			return sidForeign, "AccountSid is another account's"
		}
	}
	return sidOK, ""
}
