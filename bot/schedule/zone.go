package schedule

import (
	"strings"
	"sync"
	"time"

	"github.com/darsi-ma/darsi/bot"
)

// zoneByPrefix maps international dialling prefixes to the time zone of
// the country, for the countries where many Moroccan learners live. A
// country with several zones gets the one of its largest Moroccan
// community (Canada: Montreal).
var zoneByPrefix = []struct {
	prefix string
	zone   string
}{
	{"+212", "Africa/Casablanca"},
	{"+213", "Africa/Algiers"},
	{"+216", "Africa/Tunis"},
	{"+221", "Africa/Dakar"},
	{"+222", "Africa/Nouakchott"},
	{"+966", "Asia/Riyadh"},
	{"+971", "Asia/Dubai"},
	{"+974", "Asia/Qatar"},
	{"+31", "Europe/Amsterdam"},
	{"+32", "Europe/Brussels"},
	{"+33", "Europe/Paris"},
	{"+34", "Europe/Madrid"},
	{"+39", "Europe/Rome"},
	{"+44", "Europe/London"},
	{"+49", "Europe/Berlin"},
	{"+1", "America/Toronto"},
}

var zones = func() map[string]*time.Location {
	m := map[string]*time.Location{}
	for _, z := range zoneByPrefix {
		loc, err := time.LoadLocation(z.zone)
		if err != nil {
			panic(err) // time/tzdata is embedded: cannot happen
		}
		m[z.prefix] = loc
	}
	return m
}()

//go:generate go run ./internal/zonegen -o zones_gen.go

// countryZones caches the locations of zoneByCountry as they are asked
// for: country code to *time.Location.
var countryZones sync.Map

// CountryZone returns the time zone of an ISO 3166 country ("MA" is
// Africa/Casablanca), the first the tz database's zone1970.tab lists for it
// (zones_gen.go, made by internal/zonegen), or nil for a code it does not
// know.
func CountryZone(cc string) *time.Location {
	if loc, ok := countryZones.Load(cc); ok {
		return loc.(*time.Location)
	}
	name, ok := zoneByCountry[cc]
	if !ok {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is embedded, and the test loads every zone: cannot happen
	}
	countryZones.Store(cc, loc)
	return loc
}

// ZoneOf returns the time zone of a learner from the country of their
// phone number ("whatsapp:+33…" is in Paris), or for a learner known by
// their WhatsApp BSUID from its country code ("whatsapp:MA.…" is in
// Casablanca, see CountryZone); nil for the default (Africa/Casablanca)
// when the address says nothing known.
func ZoneOf(l bot.Learner) *time.Location {
	if cc := bot.Country(l.ID); cc != "" {
		return CountryZone(cc)
	}
	id := l.ID
	if i := strings.IndexByte(id, ':'); i >= 0 {
		id = id[i+1:]
	}
	for _, z := range zoneByPrefix {
		if strings.HasPrefix(id, z.prefix) {
			return zones[z.prefix]
		}
	}
	return nil
}
