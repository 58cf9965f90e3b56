package app

import (
	"cmp"
	"slices"
	"sort"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// Progress is one learner as a coach sees them: where they stand, how they
// do, the phone number masked.
type Progress struct {
	Learner string `json:"learner"` // masked
	// Name is the WhatsApp profile name the learner shared by consenting.
	Name      string    `json:"name,omitempty"`
	Channel   string    `json:"channel"`
	Lang      bot.Lang  `json:"lang"`
	Phase     string    `json:"phase"`
	Course    string    `json:"course"`
	Lesson    string    `json:"lesson"`
	LessonT   string    `json:"lesson_title"`
	Step      int       `json:"step"`  // 1-based place in the lesson; 0 outside one
	Steps     int       `json:"steps"` // the lesson's steps
	Completed int       `json:"completed"`
	LastSeen  time.Time `json:"last_activity,omitzero"`
	// QuizAvg is the mean score of completed lessons that have questions;
	// -1 when there are none.
	QuizAvg  int  `json:"quiz_average"`
	Stuck    bool `json:"stuck"`
	OptedOut bool `json:"opted_out"`
}

// lastSeen is the learner's last activity: their last message, or the
// last change saved to their record.
func lastSeen(l bot.Learner) time.Time {
	if !l.LastInboundAt.IsZero() {
		return l.LastInboundAt
	}
	return l.UpdatedAt
}

// quizAverage is the mean score of the completed lessons that have
// questions (a lesson without questions scores 100 and says nothing), or
// -1. Lessons no longer in the catalog count.
func quizAverage(l bot.Learner, cat *lesson.Catalog) int {
	sum, n := 0, 0
	for _, c := range l.Completed {
		if les := cat.Lesson(c.Lesson); les != nil && les.Questions() == 0 {
			continue
		}
		sum += c.Score
		n++
	}
	if n == 0 {
		return -1
	}
	return (sum + n/2) / n
}

// progress is a learner's Progress, at now.
func (c *Coaching) progress(l bot.Learner, content *dialog.Content, now time.Time) Progress {
	cat := content.Lessons
	r := Progress{
		Learner: bot.Mask(l.ID), Name: l.Name, Channel: string(l.Channel), Lang: l.Lang, Phase: string(l.Phase),
		Course: l.Course, Lesson: l.Lesson, Completed: len(l.Completed), LastSeen: lastSeen(l),
		QuizAvg: quizAverage(l, cat), OptedOut: l.OptedOut,
	}
	if r.Phase == "" {
		r.Phase = "new"
	}
	if les := cat.Lesson(l.Lesson); les != nil {
		r.LessonT = les.Title.In(schedule.LangOf(l))
		if r.LessonT == "" {
			r.LessonT = les.Title.In(bot.French)
		}
		r.Steps = len(les.Steps)
		if l.Phase == bot.PhaseLesson {
			r.Step = l.Index + 1
			if _, i := les.Step(l.Step); i >= 0 {
				r.Step = i + 1
			}
		}
	}
	r.Stuck = l.Phase == bot.PhaseLesson && !l.OptedOut && now.Sub(r.LastSeen) >= c.StuckAfterOrDefault()
	return r
}

// Progress returns each member's Progress, in the order given.
func (c *Coaching) Progress(members []bot.Learner) []Progress {
	content, now := c.Content(), c.now()
	out := make([]Progress, len(members))
	for i, l := range members {
		out[i] = c.progress(l, content, now)
	}
	return out
}

// Indicators are a cohort's numbers for the indicators page.
type Indicators struct {
	Members, Consented, Started, Finished, Stuck, OptedOut int
	Funnel                                                 []FunnelStep
	Weeks                                                  []WeekCount
	Scores                                                 [5]int // quiz scores in 0–19, 20–39, 40–59, 60–79, 80–100
	Outcomes                                               []Outcome
}

// FunnelStep is one lesson: how many members started it and finished it.
type FunnelStep struct {
	Lesson, Title     string
	Started, Finished int
}

// WeekCount is how many members were active in the week starting Start.
type WeekCount struct {
	Start  time.Time
	Active int
}

// Outcome counts the answers to one self-reported indicator.
type Outcome struct {
	Key    string
	Values []ValueCount
}

// ValueCount is one answer and how many gave it.
type ValueCount struct {
	Value string
	N     int
}

// weeks is how many weeks the activity chart shows.
const weeks = 8

// Indicators computes a cohort's numbers from its members: the completion
// funnel in the catalog's order, learners active in each of the last weeks
// (Monday to Sunday in the programme's zone), quiz scores, and the answers
// to self-reported outcomes.
func (c *Coaching) Indicators(members []bot.Learner) Indicators {
	content, now, loc := c.Content(), c.now(), c.location()
	ind := Indicators{Members: len(members)}
	started := map[string]int{}
	finished := map[string]int{}
	outcomes := map[string]map[string]int{}

	// Weeks start on Monday, in the program's time zone.
	today := now.In(loc)
	monday := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)
	monday = monday.AddDate(0, 0, -((int(monday.Weekday()) + 6) % 7))
	first := monday.AddDate(0, 0, -7*(weeks-1))
	ind.Weeks = make([]WeekCount, weeks)
	for i := range ind.Weeks {
		ind.Weeks[i].Start = first.AddDate(0, 0, 7*i)
	}
	week := func(t time.Time) int {
		if t.IsZero() || t.Before(first) {
			return -1
		}
		for i := weeks - 1; i >= 0; i-- {
			if !t.Before(ind.Weeks[i].Start) {
				return i
			}
		}
		return -1
	}

	for _, l := range members {
		if l.Consent {
			ind.Consented++
		}
		if l.OptedOut {
			ind.OptedOut++
		}
		if c.progress(l, content, now).Stuck {
			ind.Stuck++
		}
		seen := map[string]bool{}
		for _, done := range l.Completed {
			seen[done.Lesson] = true
			finished[done.Lesson]++
			if les := content.Lessons.Lesson(done.Lesson); les == nil || les.Questions() > 0 {
				b := min(done.Score/20, 4)
				ind.Scores[max(b, 0)]++
			}
		}
		if l.Lesson != "" && !seen[l.Lesson] && l.Phase == bot.PhaseLesson {
			seen[l.Lesson] = true
		}
		for id := range seen {
			started[id]++
		}
		if len(seen) > 0 {
			ind.Started++
		}
		if len(l.Completed) > 0 {
			ind.Finished++
		}
		// Active in a week: wrote then, or finished a lesson then.
		active := map[int]bool{}
		if w := week(l.LastInboundAt); w >= 0 {
			active[w] = true
		}
		for _, done := range l.Completed {
			if w := week(done.At); w >= 0 {
				active[w] = true
			}
		}
		for w := range active {
			ind.Weeks[w].Active++
		}
		for k, v := range l.Indicators {
			if outcomes[k] == nil {
				outcomes[k] = map[string]int{}
			}
			outcomes[k][v]++
		}
	}

	// The funnel follows the catalog's order; lessons no member touched
	// are left out, lessons no longer in the catalog come last.
	listed := map[string]bool{}
	for _, course := range content.Lessons.Courses {
		for _, les := range course.Lessons {
			listed[les.ID] = true
			if started[les.ID] == 0 {
				continue
			}
			title := les.Title.In(bot.French)
			ind.Funnel = append(ind.Funnel, FunnelStep{Lesson: les.ID, Title: title, Started: started[les.ID], Finished: finished[les.ID]})
		}
	}
	var gone []string
	for id := range started {
		if !listed[id] {
			gone = append(gone, id)
		}
	}
	sort.Strings(gone)
	for _, id := range gone {
		ind.Funnel = append(ind.Funnel, FunnelStep{Lesson: id, Title: id, Started: started[id], Finished: finished[id]})
	}

	keys := make([]string, 0, len(outcomes))
	for k := range outcomes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o := Outcome{Key: k}
		for v, n := range outcomes[k] {
			o.Values = append(o.Values, ValueCount{Value: v, N: n})
		}
		slices.SortFunc(o.Values, func(a, b ValueCount) int {
			if a.N != b.N {
				return b.N - a.N
			}
			return cmp.Compare(a.Value, b.Value)
		})
		ind.Outcomes = append(ind.Outcomes, o)
	}
	return ind
}
