package schedule

import (
	"strings"
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

// ZoneOf returns the time zone of a learner from the country of their
// phone number ("whatsapp:+33…" is in Paris), or nil for the default
// (Africa/Casablanca) when the number says nothing known.
func ZoneOf(l bot.Learner) *time.Location {
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
