package schedule_test

import (
	"strings"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
)

func casablanca(tb testing.TB) *time.Location {
	tb.Helper()
	loc, err := schedule.LoadZone("")
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

func parseQuiet(tb testing.TB, s string) schedule.Quiet {
	tb.Helper()
	q, err := schedule.ParseQuiet(s)
	if err != nil {
		tb.Fatal(err)
	}
	return q
}

// TestRamadanOffset checks the tz database's Ramadan changes of Morocco
// (UTC+1 the rest of the year, UTC+0 in Ramadan: from 15 February to
// 22 March 2026 and from 7 February to 14 March 2027, at 02:00-03:00
// local), and that a job due at 21:30 local on either side of a change is
// held until 08:00 local, which is a different UTC hour.
func TestRamadanOffset(t *testing.T) {
	loc := casablanca(t)
	q := parseQuiet(t, schedule.DefaultQuietHours)

	offsets := []struct {
		at   time.Time // UTC
		want int       // seconds east of UTC
	}{
		{time.Date(2026, 2, 15, 1, 59, 0, 0, time.UTC), 3600},
		{time.Date(2026, 2, 15, 2, 0, 0, 0, time.UTC), 0},
		{time.Date(2026, 3, 22, 1, 59, 0, 0, time.UTC), 0},
		{time.Date(2026, 3, 22, 2, 0, 0, 0, time.UTC), 3600},
		{time.Date(2027, 2, 7, 1, 59, 0, 0, time.UTC), 3600},
		{time.Date(2027, 2, 7, 2, 0, 0, 0, time.UTC), 0},
		{time.Date(2027, 3, 14, 1, 59, 0, 0, time.UTC), 0},
		{time.Date(2027, 3, 14, 2, 0, 0, 0, time.UTC), 3600},
	}
	for _, o := range offsets {
		if _, got := o.at.In(loc).Zone(); got != o.want {
			t.Errorf("offset at %s: got %d s, want %d s (is the tz database embedded and current?)", o.at, got, o.want)
		}
	}

	tests := []struct {
		name    string
		due     time.Time // local
		wantUTC time.Time
	}{
		// 2026: Ramadan starts in the night of 14 to 15 February.
		{"2026 before the night before", local(loc, 2026, 2, 13, 21, 30), time.Date(2026, 2, 14, 7, 0, 0, 0, time.UTC)},
		{"2026 night of the change to +00", local(loc, 2026, 2, 14, 21, 30), time.Date(2026, 2, 15, 8, 0, 0, 0, time.UTC)},
		{"2026 in Ramadan", local(loc, 2026, 3, 20, 21, 30), time.Date(2026, 3, 21, 8, 0, 0, 0, time.UTC)},
		{"2026 night of the change back to +01", local(loc, 2026, 3, 21, 21, 30), time.Date(2026, 3, 22, 7, 0, 0, 0, time.UTC)},
		{"2027 night of the change to +00", local(loc, 2027, 2, 6, 21, 30), time.Date(2027, 2, 7, 8, 0, 0, 0, time.UTC)},
		{"2027 night of the change back to +01", local(loc, 2027, 3, 13, 21, 30), time.Date(2027, 3, 14, 7, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := q.Next(tt.due, loc)
			if !got.Equal(tt.wantUTC) {
				t.Errorf("Next(%s) = %s (%s UTC), want %s", tt.due, got, got.UTC(), tt.wantUTC)
			}
			if h, m, _ := got.In(loc).Clock(); h != 8 || m != 0 {
				t.Errorf("Next(%s) = %s local, want 08:00", tt.due, got.In(loc))
			}
		})
	}
	// The same local hour lands on different UTC hours on either side.
	before := q.Next(local(loc, 2026, 2, 13, 21, 30), loc).UTC().Hour()
	after := q.Next(local(loc, 2026, 2, 14, 21, 30), loc).UTC().Hour()
	if before == after {
		t.Errorf("08:00 local is %02d:00 UTC on both sides of the change", before)
	}
}

func local(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, loc)
}

func TestQuietNext(t *testing.T) {
	loc := casablanca(t)
	def := parseQuiet(t, schedule.DefaultQuietHours)
	// 2026-04-07 is a Tuesday, 2026-04-10 a Friday (UTC+1 then).
	tests := []struct {
		name  string
		quiet schedule.Quiet
		at    time.Time
		want  time.Time
	}{
		{"morning allowed", def, local(loc, 2026, 4, 7, 10, 0), local(loc, 2026, 4, 7, 10, 0)},
		{"evening before quiet", def, local(loc, 2026, 4, 7, 20, 59), local(loc, 2026, 4, 7, 20, 59)},
		{"start of quiet", def, local(loc, 2026, 4, 7, 21, 0), local(loc, 2026, 4, 8, 8, 0)},
		{"before midnight", def, local(loc, 2026, 4, 7, 23, 59), local(loc, 2026, 4, 8, 8, 0)},
		{"after midnight", def, local(loc, 2026, 4, 8, 0, 0), local(loc, 2026, 4, 8, 8, 0)},
		{"early morning", def, local(loc, 2026, 4, 8, 7, 59), local(loc, 2026, 4, 8, 8, 0)},
		{"end of quiet", def, local(loc, 2026, 4, 8, 8, 0), local(loc, 2026, 4, 8, 8, 0)},
		{"Friday prayer", def, local(loc, 2026, 4, 10, 12, 45), local(loc, 2026, 4, 10, 14, 30)},
		{"Friday prayer start", def, local(loc, 2026, 4, 10, 12, 30), local(loc, 2026, 4, 10, 14, 30)},
		{"Friday before prayer", def, local(loc, 2026, 4, 10, 12, 29), local(loc, 2026, 4, 10, 12, 29)},
		{"Friday after prayer", def, local(loc, 2026, 4, 10, 14, 30), local(loc, 2026, 4, 10, 14, 30)},
		{"Thursday midday", def, local(loc, 2026, 4, 9, 12, 45), local(loc, 2026, 4, 9, 12, 45)},
		{"Thursday night to Friday morning", def, local(loc, 2026, 4, 9, 22, 0), local(loc, 2026, 4, 10, 8, 0)},
		{"weekday range crossing midnight, same day", parseQuiet(t, "Sat 22:00-02:00"), local(loc, 2026, 4, 11, 23, 0), local(loc, 2026, 4, 12, 2, 0)},
		{"weekday range crossing midnight, next day", parseQuiet(t, "Sat 22:00-02:00"), local(loc, 2026, 4, 12, 1, 0), local(loc, 2026, 4, 12, 2, 0)},
		{"weekday range on another day", parseQuiet(t, "Sat 22:00-02:00"), local(loc, 2026, 4, 10, 23, 0), local(loc, 2026, 4, 10, 23, 0)},
		{"overlapping ranges chain", parseQuiet(t, "21:00-08:00, 07:30-09:00"), local(loc, 2026, 4, 7, 22, 0), local(loc, 2026, 4, 8, 9, 0)},
		{"touching ranges chain", parseQuiet(t, "21:00-24:00,00:00-06:00"), local(loc, 2026, 4, 7, 22, 0), local(loc, 2026, 4, 8, 6, 0)},
		{"whole Sunday", parseQuiet(t, "sun 00:00-24:00"), local(loc, 2026, 4, 12, 15, 0), local(loc, 2026, 4, 13, 0, 0)},
		{"no quiet hours", parseQuiet(t, ""), local(loc, 2026, 4, 7, 23, 0), local(loc, 2026, 4, 7, 23, 0)},
		{"from UTC", def, time.Date(2026, 4, 7, 20, 30, 0, 0, time.UTC), local(loc, 2026, 4, 8, 8, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.quiet.Next(tt.at, loc)
			if !got.Equal(tt.want) {
				t.Errorf("Next(%s) = %s, want %s", tt.at.In(loc), got, tt.want)
			}
			if got.Location() != loc {
				t.Errorf("Next returned a time in %s, want %s", got.Location(), loc)
			}
		})
	}
}

func TestQuietInOtherZone(t *testing.T) {
	paris, err := schedule.LoadZone("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	q := parseQuiet(t, schedule.DefaultQuietHours)
	// 21:30 UTC is 23:30 in Paris in summer: held to 08:00 Paris, 06:00 UTC.
	got := q.Next(time.Date(2026, 7, 1, 21, 30, 0, 0, time.UTC), paris)
	if want := time.Date(2026, 7, 2, 6, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("got %s, want %s", got.UTC(), want)
	}
}

func TestParseQuietErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"25:00-08:00", `range 1 "25:00-08:00": start: "25:00": hour 25 out of range`},
		{"21:00-08:60", `range 1 "21:00-08:60": end: "08:60": minute 60 out of range`},
		{"21:00", `range 1 "21:00": want HH:MM-HH:MM, optionally after a weekday`},
		{"21:00-08:00,Fry 12:30-14:30", `range 2 "Fry 12:30-14:30": unknown weekday "Fry"`},
		{"21:00-08:00,", `range 2 "": empty range`},
		{"9pm-8am", `range 1 "9pm-8am": start: "9pm" is not a time of day (want HH:MM)`},
		{"21h00-08h00", `is not a time of day`},
		{"10:00-10:00", `start and end are the same time`},
		{"24:00-08:00", `start: "24:00": hour 24 out of range`},
		{"00:00-24:00", `cover the whole week`},
		{"08:00-20:00,20:00-08:00", `cover the whole week`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := schedule.ParseQuiet(tt.in)
			if err == nil {
				t.Fatalf("ParseQuiet(%q): no error, want %q", tt.in, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseQuiet(%q) = %q, want it to contain %q", tt.in, err, tt.want)
			}
			if k := bot.KindOf(err); k != bot.Invalid {
				t.Errorf("kind %s, want invalid", k)
			}
		})
	}
}

func TestParseQuietString(t *testing.T) {
	q := parseQuiet(t, " 21:00-08:00, fri 12:30-14:30 ")
	if got, want := q.String(), "21:00-08:00, fri 12:30-14:30"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
