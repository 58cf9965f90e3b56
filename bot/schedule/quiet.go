package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	// The Ramadan offset change of Africa/Casablanca must be right on any
	// machine, including a container without /usr/share/zoneinfo: every
	// binary that imports this package carries the time zone database.
	_ "time/tzdata"

	"github.com/darsi-ma/darsi/bot"
)

// DefaultQuietHours is the value of DARSI_QUIET_HOURS when it is not set:
// nights, and the Friday midday prayer.
const DefaultQuietHours = "21:00-08:00,Fri 12:30-14:30"

// DefaultZone is the time zone of learners whose own is not known.
const DefaultZone = "Africa/Casablanca"

// Quiet is a set of local-time ranges in which the bot starts no message.
// The zero Quiet allows every instant.
type Quiet struct {
	ranges []quietRange
	src    string
}

// quietRange is one range, in minutes after local midnight. A range whose
// end is not after its start crosses midnight. day counts only when every
// is false.
type quietRange struct {
	day        time.Weekday
	start, end int // 0 ≤ start < 1440, 0 < end ≤ 1440
	every      bool
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseQuiet reads quiet hours as DARSI_QUIET_HOURS writes them: ranges
// separated by commas, each "HH:MM-HH:MM" in local time, optionally after
// an English three-letter weekday ("Fri 12:30-14:30"). A range whose end
// comes before its start crosses midnight ("21:00-08:00"; with a weekday,
// it starts on that day and ends the next). 24:00 may end a range. The
// empty string means no quiet hours.
//
// Errors are of kind Invalid and name the range and what is wrong with it.
// A set of ranges that covers the whole week is refused: nothing could
// ever be sent.
func ParseQuiet(s string) (Quiet, error) {
	const op = "schedule.ParseQuiet"
	q := Quiet{src: strings.TrimSpace(s)}
	if q.src == "" {
		return q, nil
	}
	for i, part := range strings.Split(s, ",") {
		r, err := parseRange(strings.TrimSpace(part))
		if err != nil {
			return Quiet{}, bot.Errorf(op, bot.Invalid, "quiet hours %q: range %d %q: %v", s, i+1, strings.TrimSpace(part), err)
		}
		q.ranges = append(q.ranges, r)
	}
	if q.coversWeek() {
		return Quiet{}, bot.Errorf(op, bot.Invalid, "quiet hours %q cover the whole week: no message could ever be sent", s)
	}
	return q, nil
}

func parseRange(s string) (quietRange, error) {
	r := quietRange{every: true}
	if s == "" {
		return r, fmt.Errorf("empty range (a comma too many?)")
	}
	if day, rest, ok := strings.Cut(s, " "); ok {
		d, known := weekdays[strings.ToLower(day)]
		if !known {
			return r, fmt.Errorf("unknown weekday %q (want Mon, Tue, Wed, Thu, Fri, Sat or Sun)", day)
		}
		r.day, r.every = d, false
		s = strings.TrimSpace(rest)
	}
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return r, fmt.Errorf("want HH:MM-HH:MM, optionally after a weekday")
	}
	var err error
	if r.start, err = parseClock(strings.TrimSpace(from), false); err != nil {
		return r, fmt.Errorf("start: %v", err)
	}
	if r.end, err = parseClock(strings.TrimSpace(to), true); err != nil {
		return r, fmt.Errorf("end: %v", err)
	}
	if r.start == r.end {
		return r, fmt.Errorf("start and end are the same time: the range is empty")
	}
	return r, nil
}

// parseClock reads "H:MM" or "HH:MM" into minutes after midnight; "24:00"
// only as the end of a range.
func parseClock(s string, end bool) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(m) != 2 || len(h) < 1 || len(h) > 2 {
		return 0, fmt.Errorf("%q is not a time of day (want HH:MM)", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 {
		return 0, fmt.Errorf("%q is not a time of day (want HH:MM)", s)
	}
	switch {
	case mm > 59:
		return 0, fmt.Errorf("%q: minute %d out of range (00-59)", s, mm)
	case hh == 24 && mm == 0 && end:
		return 1440, nil
	case hh > 23:
		return 0, fmt.Errorf("%q: hour %d out of range (00-23, or 24:00 to end a range)", s, hh)
	}
	return hh*60 + mm, nil
}

// String returns the ranges as ParseQuiet read them.
func (q Quiet) String() string { return q.src }

// coversWeek reports whether every minute of the week is quiet.
func (q Quiet) coversWeek() bool {
	const week = 7 * 1440
	var quiet [week]bool
	for _, r := range q.ranges {
		for d := range 7 {
			if !r.every && time.Weekday(d) != r.day {
				continue
			}
			end := r.end
			if end <= r.start {
				end += 1440
			}
			for m := r.start; m < end; m++ {
				quiet[(d*1440+m)%week] = true
			}
		}
	}
	for _, x := range quiet {
		if !x {
			return false
		}
	}
	return true
}

// Next returns t if t is outside the quiet hours in loc, and otherwise the
// first instant after t that is, in loc's wall-clock time: a message due
// at 21:30 is held until 08:00 local, whatever the UTC offset is that day.
// The result is in loc. A nil loc means UTC.
func (q Quiet) Next(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	// Each step moves t to the end of a range that holds it; ranges that
	// overlap or touch need a few steps, and ParseQuiet refused a week
	// with no way out. The bound guards against clock jumps only.
	for range 64 {
		end, quiet := q.quietUntil(t)
		if !quiet {
			return t
		}
		t = end
	}
	return t
}

// quietUntil reports whether t is inside a range and, if so, the latest end
// of the ranges holding it.
func (q Quiet) quietUntil(t time.Time) (time.Time, bool) {
	loc := t.Location()
	var until time.Time
	y, m, d := t.Date()
	// A range crossing midnight may have started the day before.
	for _, back := range []int{1, 0} {
		day := time.Date(y, m, d-back, 12, 0, 0, 0, loc) // noon: away from offset changes
		for _, r := range q.ranges {
			if !r.every && day.Weekday() != r.day {
				continue
			}
			end := r.end
			if end <= r.start {
				end += 1440
			}
			from := wall(day, r.start)
			to := wall(day, end)
			if !t.Before(from) && t.Before(to) && to.After(until) {
				until = to
			}
		}
	}
	return until, !until.IsZero()
}

// wall returns the instant at minute min after the local midnight of day
// (min may pass 1440, into the next day). time.Date normalises a wall time
// that an offset change skips.
func wall(day time.Time, min int) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, 0, min, 0, 0, day.Location())
}

// LoadZone returns the named time zone from the embedded database when the
// system has none; "" means DefaultZone. Errors are of kind Invalid.
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		name = DefaultZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, bot.Errorf("schedule.LoadZone", bot.Invalid, "time zone %q: %v", name, err)
	}
	return loc, nil
}
