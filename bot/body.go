package bot

import "unicode/utf8"

// MaxBody is the longest message body Twilio takes, on every channel
// (WhatsApp, SMS, the TwiML reply and the REST API alike): 1,600
// characters, counted as Twilio counts them, in UTF-16 code units. A
// character outside the Basic Multilingual Plane (most emoji) takes two,
// so a body of 1,600 runes with emoji in it is refused with Twilio's error
// 21617. Every check of a body's length goes through BodyLen.
const MaxBody = 1600

// BodyLen is the length of a message body as Twilio counts it against
// MaxBody: UTF-16 code units, two for a rune above U+FFFF. Invalid UTF-8
// counts one unit a byte, as the replacement character it becomes.
func BodyLen(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF && r <= utf8.MaxRune {
			n++
		}
	}
	return n
}
