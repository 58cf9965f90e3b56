package locale_test

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCoachWord(t *testing.T) {
	b := bundle(t)
	tests := []struct {
		text, rest string
		ok         bool
	}{
		{"coach combien je dois facturer ?", "combien je dois facturer ?", true},
		{"Coach : combien ?", "combien ?", true},
		{"COACH, Combien ?", "Combien ?", true},
		{"mon coach j'ai une question\nsur le prix", "j'ai une question\nsur le prix", true},
		{"coatch combien", "combien", true}, // one typo, 5 letters
		{"المدرب كيف أحسب الثمن؟", "كيف أحسب الثمن؟", true},
		{"الكوتش شحال نزيد؟", "شحال نزيد؟", true},
		{"ⴰⵎⵙⵍⵎⴰⴷ ⵎⴰⵏⵣⴰ", "ⵎⴰⵏⵣⴰ", true},
		{"amslmad manza", "manza", true},
		{"coach", "", true},
		{"  coach !  ", "", true},
		{"coaching is fun", "", false},
		{"menu", "", false},
		{"le coach a dit", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		rest, ok := b.CoachWord(tt.text)
		if rest != tt.rest || ok != tt.ok {
			t.Errorf("CoachWord(%q) = %q, %v; want %q, %v", tt.text, rest, ok, tt.rest, tt.ok)
		}
	}
}

func FuzzCoachWord(f *testing.F) {
	b := bundle(f)
	for _, s := range []string{"coach combien", "Coach : ?", "mon coach\nx", "المدرب سؤال", "ⴰⵎⵙⵍⵎⴰⴷ", "", " \t", "coach\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		rest, ok := b.CoachWord(text)
		if !ok && rest != "" {
			t.Fatalf("CoachWord(%q) gave %q without a coach word", text, rest)
		}
		if ok && !strings.Contains(text, rest) {
			t.Fatalf("CoachWord(%q) gave %q, not part of the message", text, rest)
		}
		if utf8.ValidString(text) && !utf8.ValidString(rest) {
			t.Fatalf("CoachWord(%q) cut a character: %q", text, rest)
		}
	})
}
