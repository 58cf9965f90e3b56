package schedule_test

import (
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// TestPolicyDecide is the one rule the runner sends by and the coaches'
// preview shows: skips, quiet hours in the learner's zone, WhatsApp's
// window with its margin, templates by kind and language.
func TestPolicyDecide(t *testing.T) {
	quiet, err := schedule.ParseQuiet("21:00-08:00")
	if err != nil {
		t.Fatal(err)
	}
	p := &schedule.Policy{Quiet: quiet, ZoneOf: schedule.ZoneOf, Templates: testTemplates(t)}
	// 10:00 UTC in June: 11:00 in Casablanca, 12:00 in Paris.
	noon := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	wa := func(lang bot.Lang, wrote time.Duration) bot.Learner {
		return bot.Learner{ID: "whatsapp:+212600000001", Channel: bot.WhatsApp, Lang: lang, LastInboundAt: noon.Add(-wrote)}
	}
	reminder := schedule.Job{Kind: schedule.Reminder, Text: "x"}
	tests := []struct {
		name       string
		l          bot.Learner
		j          schedule.Job
		due        time.Time
		route      schedule.Route
		skip       string
		sendAt     time.Time
		noTemplate bool
	}{
		{"opted out", bot.Learner{ID: "whatsapp:+212600000001", OptedOut: true}, reminder, noon, schedule.RouteSkip, schedule.SkipOptedOut, noon, false},
		{"simulator", bot.Learner{ID: "sim:+212600000001"}, reminder, noon, schedule.RouteSkip, schedule.SkipUnreachable, noon, false},
		{"SMS, no window", bot.Learner{ID: "sms:+33600000001", Channel: bot.SMS}, reminder, noon, schedule.RouteFree, "", noon, false},
		{"in the window", wa(bot.French, time.Hour), reminder, noon, schedule.RouteFree, "", noon, false},
		{"within the margin of its end", wa(bot.French, 24*time.Hour-30*time.Second), reminder, noon, schedule.RouteTemplate, "", noon, false},
		{"never wrote", bot.Learner{ID: "whatsapp:+212600000001", Lang: bot.Darija}, reminder, noon, schedule.RouteTemplate, "", noon, false},
		{"outside, no template in the language", wa(bot.Arabic, 30*time.Hour), reminder, noon, schedule.RouteTemplate, "", noon, true},
		{"outside, the job's own template kind", wa(bot.French, 30*time.Hour), schedule.Job{Kind: schedule.Reminder, Template: "nope"}, noon, schedule.RouteTemplate, "", noon, true},
		// 22:00 UTC is 23:00 in Casablanca: held to 08:00 there, 07:00
		// UTC, when a window opened at 10:00 the day before is still open.
		{"held by quiet hours, window still open then", wa(bot.French, 0), reminder, noon.Add(12 * time.Hour), schedule.RouteFree, "", time.Date(2026, 6, 2, 7, 0, 0, 0, time.UTC), false},
		// Held to 07:00 UTC, by when a window opened at 05:00 the day
		// before has closed: the template, not the free text the due time
		// would allow.
		// A BSUID learner: Casablanca's quiet hours from the BSUID's
		// country, a free text inside the window, never SMS.
		{"BSUID, held by Casablanca's quiet hours", bot.Learner{ID: "whatsapp:MA.1502576394655843", Channel: bot.WhatsApp, Lang: bot.Darija, LastInboundAt: noon},
			reminder, noon.Add(12 * time.Hour), schedule.RouteFree, "", time.Date(2026, 6, 2, 7, 0, 0, 0, time.UTC), false},
		// 06:30 UTC is 08:30 in Paris, where a French BSUID lives: not
		// held, as it would be in Casablanca (07:30 there).
		{"BSUID of France, Paris hours", bot.Learner{ID: "whatsapp:FR.1502576394655843", Channel: bot.WhatsApp, Lang: bot.French, LastInboundAt: noon},
			reminder, noon.Add(20*time.Hour + 30*time.Minute), schedule.RouteFree, "", noon.Add(20*time.Hour + 30*time.Minute), false},
		{"BSUID of Morocco at the same time: held", bot.Learner{ID: "whatsapp:MA.1502576394655843", Channel: bot.WhatsApp, Lang: bot.French, LastInboundAt: noon},
			reminder, noon.Add(20*time.Hour + 30*time.Minute), schedule.RouteFree, "", time.Date(2026, 6, 2, 7, 0, 0, 0, time.UTC), false},
		{"held past the window's end", wa(bot.French, 5*time.Hour), reminder, noon.Add(12 * time.Hour), schedule.RouteTemplate, "", time.Date(2026, 6, 2, 7, 0, 0, 0, time.UTC), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Decide(tt.l, tt.j, tt.due)
			if d.Route != tt.route || d.Skip != tt.skip || !d.SendAt.Equal(tt.sendAt) || d.NoTemplate != tt.noTemplate {
				t.Errorf("got route %s skip %q send at %v no template %v; want %s %q %v %v",
					d.Route, d.Skip, d.SendAt, d.NoTemplate, tt.route, tt.skip, tt.sendAt, tt.noTemplate)
			}
			if d.Held != !tt.sendAt.Equal(tt.due) {
				t.Errorf("held %v, want %v", d.Held, !tt.sendAt.Equal(tt.due))
			}
			if d.Route == schedule.RouteTemplate && !d.NoTemplate && d.Template.SID == "" {
				t.Errorf("a template route without the template")
			}
		})
	}
}
