package bot_test

import (
	"testing"
	"unicode/utf16"

	"github.com/darsi-ma/darsi/bot"
)

func TestBodyLen(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"empty", "", 0},
		{"ascii", "Salam", 5},
		{"french accents", "Ça coûte", 8},
		{"arabic", "درس", 3},
		{"tifinagh", "ⵜⴰⵎⴰⵣⵉⵖⵜ", 8},
		{"emoji outside the BMP take two", "👍", 2},
		{"keycap is three BMP runes", "1️⃣", 3},
		{"mixed", "ok 👍🏽", 7},
		{"invalid UTF-8 bytes count one each", "a\xff\xfeb", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bot.BodyLen(tt.in); got != tt.want {
				t.Errorf("BodyLen(%q) = %d, want %d", tt.in, got, tt.want)
			}
			if got, units := bot.BodyLen(tt.in), len(utf16.Encode([]rune(tt.in))); got != units {
				t.Errorf("BodyLen(%q) = %d, UTF-16 encoding has %d units", tt.in, got, units)
			}
		})
	}
}

func FuzzBodyLen(f *testing.F) {
	for _, s := range []string{"", "salam", "👍👍", "\xff", "ⵜ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := bot.BodyLen(s), len(utf16.Encode([]rune(s))); got != want {
			t.Errorf("BodyLen(%q) = %d, UTF-16 has %d units", s, got, want)
		}
	})
}
