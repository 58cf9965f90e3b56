package locale

import (
	"strings"
	"testing"
)

func TestSegments(t *testing.T) {
	for _, tc := range []struct {
		name     string
		text     string
		enc      Encoding
		units    int
		segments int
	}{
		{"empty", "", GSM7, 0, 0},
		{"plain French fits GSM-7", "Combien de pièces fais-tu ?", GSM7, 27, 1},
		{"160 GSM-7 characters are one segment", strings.Repeat("a", 160), GSM7, 160, 1},
		{"161 split into 153-character segments", strings.Repeat("a", 161), GSM7, 161, 2},
		{"306 is two full segments", strings.Repeat("a", 306), GSM7, 306, 2},
		{"307 needs a third", strings.Repeat("a", 307), GSM7, 307, 3},
		{"the euro sign takes two septets", "5 €", GSM7, 4, 1},
		{"ê is not GSM-7", "fenêtre", UCS2, 7, 1},
		{"ç is not GSM-7 but Ç is", "Ça va", GSM7, 5, 1},
		{"Arabic is UCS-2", "شحال", UCS2, 4, 1},
		{"Tifinagh is UCS-2", "ⴰⵣⵓⵍ", UCS2, 4, 1},
		{"70 UCS-2 units are one segment", strings.Repeat("ش", 70), UCS2, 70, 1},
		{"71 split into 67-unit segments", strings.Repeat("ش", 71), UCS2, 71, 2},
		{"emoji outside the BMP count twice", "ok 👍", UCS2, 5, 1},
		{"one Arabic letter turns a long French text UCS-2", strings.Repeat("a", 100) + "ش", UCS2, 101, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Segments(tc.text)
			if got.Encoding != tc.enc || got.Units != tc.units || got.Segments != tc.segments {
				t.Errorf("Segments(%q) = %+v, want %s, %d units, %d segments", tc.text, got, tc.enc, tc.units, tc.segments)
			}
		})
	}
}
