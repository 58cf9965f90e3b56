package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// fullNumber matches a full phone number as the tests write them
// (Moroccan +212 and North American +1 numbers), with or without its "+",
// alone, in an address, in a URL (%2B) or in HTML (&#43;); not digits
// inside a longer token, such as a message SID's hex digits, and not a
// masked number ("+2126******01").
var fullNumber = regexp.MustCompile(`(?:^|[^0-9A-Za-z]|%2B)\+?(212[5-7][0-9]{8}|1[2-9][0-9]{9})(?:[^0-9A-Za-z]|$)`)

// numbersIn returns the full phone numbers s holds.
func numbersIn(s string) []string {
	var out []string
	for _, m := range fullNumber.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// noNumbers fails the test when text, which a coach, Twilio or a log
// reader sees (what), holds a full phone number other than the business's
// own senders (ours, without "+"); it shows the line.
func noNumbers(t testing.TB, what, text string, ours ...string) {
	t.Helper()
	for line := range strings.Lines(text) {
		for _, n := range numbersIn(line) {
			if !slices.Contains(ours, n) {
				if line = strings.TrimSpace(line); len(line) > 300 {
					line = line[:300] + "…"
				}
				t.Errorf("%s names %s: %s", what, n, line)
				break
			}
		}
	}
}

func TestNumbersIn(t *testing.T) {
	for s, want := range map[string]string{
		"whatsapp:+212600000001":                     "212600000001",
		"to=whatsapp%3A%2B212600000001&x=1":          "212600000001",
		`<td>whatsapp:&#43;212600000001</td>`:        "212600000001",
		`"wa_id":"212600000001"`:                     "212600000001",
		"sms:+15550000004 said":                      "15550000004",
		"whatsapp:+2126******01":                     "",
		"SM1212600000001abcdef0123456789abcdef0":     "",
		"job=reminder-1e4fbdde5b682c85-Lfad20f09a28": "",
		"2026-12-03T10:00:00Z 1733220000":            "",
	} {
		got := strings.Join(numbersIn(s), ",")
		if got != want {
			t.Errorf("numbersIn(%q) = %q, want %q", s, got, want)
		}
	}
}
