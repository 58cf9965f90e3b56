package locale

// GSM-7 is the SMS alphabet of 160 characters a segment; any character
// outside it makes the whole message UCS-2 (70 a segment). gsmBasic is the
// basic table; gsmExtended characters take two septets (an escape and the
// character).
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtended = "^{}\\[~]|€\f"
)

var gsmWidth = func() map[rune]int {
	m := make(map[rune]int, 140)
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtended {
		m[r] = 2
	}
	return m
}()

// Encoding is how an SMS body travels.
type Encoding string

// SMS encodings.
const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// SMS describes what one message costs as SMS.
type SMS struct {
	Encoding Encoding
	Units    int // septets for GSM-7, UTF-16 code units for UCS-2
	Segments int
}

// Segments counts the SMS segments of text: 160 GSM-7 characters in one
// segment or 153 a segment when split; 70 UCS-2 code units or 67 a segment
// when split. Any character outside GSM-7 (Arabic, Tifinagh, "ê", most
// emoji) makes the whole message UCS-2, where characters outside the Basic
// Multilingual Plane count as two. An empty text is no message: 0 segments.
func Segments(text string) SMS {
	septets, gsm := 0, true
	for _, r := range text {
		w, ok := gsmWidth[r]
		if !ok {
			gsm = false
			break
		}
		septets += w
	}
	if gsm {
		return SMS{Encoding: GSM7, Units: septets, Segments: segments(septets, 160, 153)}
	}
	units := 0
	for _, r := range text {
		if r > 0xFFFF {
			units += 2
		} else {
			units++
		}
	}
	return SMS{Encoding: UCS2, Units: units, Segments: segments(units, 70, 67)}
}

func segments(n, single, multi int) int {
	switch {
	case n == 0:
		return 0
	case n <= single:
		return 1
	}
	return (n + multi - 1) / multi
}
