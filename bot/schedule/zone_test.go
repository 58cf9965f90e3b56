package schedule

import (
	"testing"

	"github.com/darsi-ma/darsi/bot"
)

func TestZoneOf(t *testing.T) {
	for id, want := range map[string]string{
		"whatsapp:+212600000001":               "Africa/Casablanca",
		"sms:+33612345678":                     "Europe/Paris",
		"whatsapp:+15145550000":                "America/Toronto",
		"whatsapp:+97150000000":                "Asia/Dubai",
		"+34600000000":                         "Europe/Madrid",
		"whatsapp:MA.1502576394655843":         "Africa/Casablanca",
		"whatsapp:FR.1502576394655843":         "Europe/Paris",
		"whatsapp:CA.1502576394655843":         "America/Toronto",
		"whatsapp:DE.1502576394655843":         "Europe/Berlin",
		"whatsapp:US.ENT.11815799212886844830": "America/New_York",
	} {
		loc := ZoneOf(bot.Learner{ID: id})
		if loc == nil || loc.String() != want {
			t.Errorf("ZoneOf(%s) = %v, want %s", id, loc, want)
		}
	}
	for _, id := range []string{"chat:local", "sim:abc", "whatsapp:+99912345", "", "whatsapp:ZZ.1502576394655843",
		"sms:MA.1502576394655843", "whatsapp:ma.1502576394655843"} {
		if loc := ZoneOf(bot.Learner{ID: id}); loc != nil {
			t.Errorf("ZoneOf(%q) = %v, want nil (the default zone)", id, loc)
		}
	}
}

// TestCountryZones loads every zone of the generated table (the embedded
// tz database knows them all) and checks the table covers the countries
// of Moroccans abroad.
func TestCountryZones(t *testing.T) {
	if len(zoneByCountry) < 200 {
		t.Errorf("%d countries, want the whole of zone1970.tab", len(zoneByCountry))
	}
	for cc, name := range zoneByCountry {
		if loc := CountryZone(cc); loc == nil || loc.String() != name {
			t.Errorf("CountryZone(%s) = %v, want %s", cc, loc, name)
		}
	}
	for _, cc := range []string{"MA", "FR", "ES", "IT", "BE", "NL", "DE", "GB", "US", "CA", "DZ", "TN", "SA", "AE", "QA", "SN", "MR"} {
		if CountryZone(cc) == nil {
			t.Errorf("no zone for %s", cc)
		}
	}
	if loc := CountryZone("XX"); loc != nil {
		t.Errorf("CountryZone(XX) = %v, want nil", loc)
	}
}
