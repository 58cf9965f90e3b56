package locale_test

import "testing"

func TestJoinWord(t *testing.T) {
	b := bundle(t)
	tests := []struct {
		text, rest string
		ok         bool
	}{
		{"join K7M2QX", "k7m2qx", true},
		{"JOIN: k7m2qx", "k7m2qx", true},
		{"Rejoindre K7M2QX", "k7m2qx", true},
		{"rejoinde K7M2QX", "k7m2qx", true}, // one typo, 8 letters
		{"je rejoins K7M2QX !", "k7m2qx", true},
		{"انضم K7M2QX", "k7m2qx", true},
		{"إنضم K٧M٢QX", "k7m2qx", true}, // hamza form, Arabic-Indic digits
		{"نضم K7M2QX", "k7m2qx", true},
		{"nedkhol K7M2QX", "k7m2qx", true},
		{"ⴽⵛⵎ K7M2QX", "k7m2qx", true},
		{"kcem K7M2QX", "k7m2qx", true},
		{"join", "", true},
		{"K7M2QX", "", false},
		{"joining is fun", "", false},
		{"menu", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		rest, ok := b.JoinWord(tt.text)
		if rest != tt.rest || ok != tt.ok {
			t.Errorf("JoinWord(%q) = %q, %v; want %q, %v", tt.text, rest, ok, tt.rest, tt.ok)
		}
	}
}
