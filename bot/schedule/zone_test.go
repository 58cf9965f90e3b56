package schedule

import (
	"testing"

	"github.com/darsi-ma/darsi/bot"
)

func TestZoneOf(t *testing.T) {
	for id, want := range map[string]string{
		"whatsapp:+212600000001": "Africa/Casablanca",
		"sms:+33612345678":       "Europe/Paris",
		"whatsapp:+15145550000":  "America/Toronto",
		"whatsapp:+97150000000":  "Asia/Dubai",
		"+34600000000":           "Europe/Madrid",
	} {
		loc := ZoneOf(bot.Learner{ID: id})
		if loc == nil || loc.String() != want {
			t.Errorf("ZoneOf(%s) = %v, want %s", id, loc, want)
		}
	}
	for _, id := range []string{"chat:local", "sim:abc", "whatsapp:+99912345", ""} {
		if loc := ZoneOf(bot.Learner{ID: id}); loc != nil {
			t.Errorf("ZoneOf(%q) = %v, want nil (the default zone)", id, loc)
		}
	}
}
