package bot_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/darsi-ma/darsi/bot"
)

func TestCheckAddress(t *testing.T) {
	long := strings.Repeat("a1B2", 32) // 128 characters
	for _, tc := range []struct {
		id   string
		want error // nil, bot.ErrAddress or bot.ErrChannel
	}{
		{"whatsapp:+212600000001", nil},
		{"sms:+212600000001", nil},
		{"whatsapp:MA.1502576394655843", nil},
		{"whatsapp:US.ENT.11815799212886844830", nil},
		{"whatsapp:BR.a", nil},
		{"whatsapp:MA." + long, nil},
		{"whatsapp:US.ENT." + long, nil},
		{"whatsapp:US.A.B.C", nil},

		{"whatsapp:MA." + long + "x", bot.ErrAddress},    // a part over 128
		{"whatsapp:US.A.B.C.D", bot.ErrAddress},          // four parts
		{"whatsapp:MA.", bot.ErrAddress},                 // nothing after the dot
		{"whatsapp:MA..15", bot.ErrAddress},              // an empty part
		{"whatsapp:MA.15.", bot.ErrAddress},              // a trailing dot
		{"whatsapp:ma.1502576394655843", bot.ErrAddress}, // country in lower case
		{"whatsapp:M.1502576394655843", bot.ErrAddress},
		{"whatsapp:MAR.1502576394655843", bot.ErrAddress},
		{"whatsapp:MA-1502576394655843", bot.ErrAddress},
		{"whatsapp:MA.15025763 94655843", bot.ErrAddress},
		{"whatsapp:MA.150257639465584٣", bot.ErrAddress}, // an Arabic-Indic digit
		{"whatsapp:MA.1502_576", bot.ErrAddress},
		{"whatsapp:0612345678", bot.ErrAddress},
		{"whatsapp:+0612345678", bot.ErrAddress},
		{"whatsapp:+2126", bot.ErrAddress},
		{"whatsapp:", bot.ErrAddress},
		{"sms:MA.1502576394655843", bot.ErrAddress}, // BSUIDs are WhatsApp only
		{"sms:+21260000000a", bot.ErrAddress},
		{"messenger:+212600000001", bot.ErrChannel},
		{"chat:+212600000001", bot.ErrChannel},
		{"+212600000001", bot.ErrChannel},
		{"", bot.ErrChannel},
	} {
		err := bot.CheckAddress(tc.id)
		if (err == nil) != (tc.want == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("CheckAddress(%q) = %v, want %v", tc.id, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "1502576394655843") {
			t.Errorf("CheckAddress(%q) repeats the address: %v", tc.id, err)
		}
	}
}

func TestCountry(t *testing.T) {
	for id, want := range map[string]string{
		"whatsapp:MA.1502576394655843":         "MA",
		"whatsapp:US.ENT.11815799212886844830": "US",
		"whatsapp:+212600000001":               "",
		"sms:+33600000001":                     "",
		"whatsapp:ma.1":                        "",
	} {
		if got := bot.Country(id); got != want {
			t.Errorf("Country(%q) = %q, want %q", id, got, want)
		}
		if got, want := bot.IsBSUID(id), want != ""; got != want {
			t.Errorf("IsBSUID(%q) = %v, want %v", id, got, want)
		}
	}
}

// FuzzCheckAddress holds the validator to the format by a second,
// independent reading of it, and checks that masking never shows a BSUID
// or a number whole.
func FuzzCheckAddress(f *testing.F) {
	for _, s := range []string{
		"whatsapp:+212600000001", "sms:+212600000001", "whatsapp:MA.1502576394655843",
		"whatsapp:US.ENT.11815799212886844830", "whatsapp:MA..1", "sms:MA.1", "whatsapp:MA.1.2.3.4",
		"whatsapp:MA." + strings.Repeat("9", 129), "messenger:+1", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := bot.CheckAddress(id)
		ch, rest, _ := strings.Cut(id, ":")
		want := (ch == "whatsapp" && (reference164(rest) || referenceBSUID(rest))) || (ch == "sms" && reference164(rest))
		if (err == nil) != want {
			t.Fatalf("CheckAddress(%q) = %v, the format says valid=%v", id, err, want)
		}
		if bot.IsBSUID(id) != (ch == "whatsapp" && referenceBSUID(rest)) {
			t.Fatalf("IsBSUID(%q) = %v", id, bot.IsBSUID(id))
		}
		if err == nil && len(rest) > 8 && strings.Contains(bot.Mask(id), rest) {
			t.Fatalf("Mask(%q) = %q shows it whole", id, bot.Mask(id))
		}
	})
}

func reference164(s string) bool {
	digits, ok := strings.CutPrefix(s, "+")
	if !ok || len(digits) < 7 || len(digits) > 15 || digits[0] == '0' {
		return false
	}
	return strings.Trim(digits, "0123456789") == ""
}

func referenceBSUID(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 1+bot.MaxBSUIDParts || len(parts[0]) != 2 ||
		strings.Trim(parts[0], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > bot.MaxBSUIDPart ||
			strings.Trim(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
			return false
		}
	}
	return true
}
