package app

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// Progress is one learner as a coach sees them: where they stand, how they
// do, the phone number masked.
type Progress struct {
	Learner string `json:"learner"` // masked
	// Name is the WhatsApp profile name the learner shared by consenting.
	Name    string   `json:"name,omitempty"`
	Channel string   `json:"channel"`
	Lang    bot.Lang `json:"lang"`
	Phase   string   `json:"phase"`
	Course  string   `json:"course"`
	Lesson  string   `json:"lesson"`
	// LessonT is the lesson's title in French, the dashboard's language;
	// LessonOwn its title in the learner's language, when that is
	// another.
	LessonT   string    `json:"lesson_title"`
	LessonOwn string    `json:"lesson_title_own,omitempty"`
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
		r.LessonT = les.Title.In(bot.French)
		if own := les.Title.In(schedule.LangOf(l)); own != r.LessonT {
			r.LessonOwn = own
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

// Outcome counts the answers to one self-reported indicator: at the end
// of the course (the baseline) and to its follow-up survey, weeks later.
type Outcome struct {
	Key string `json:"indicator"`
	// Question is the survey's question in French, "" when no lesson asks
	// it any more.
	Question string `json:"question"`
	// Baseline and Followup count the answers of each kind.
	Baseline int          `json:"baseline"`
	Followup int          `json:"followup"`
	Values   []ValueCount `json:"values"`
}

// ValueCount is one answer and how many gave it: N at the end of the
// course, Followup to the follow-up survey.
type ValueCount struct {
	Value    string `json:"value"`
	Label    string `json:"label"` // the option's text in French
	N        int    `json:"baseline"`
	Followup int    `json:"followup"`
}

// outcomes turns answer counts (baseline and follow-up, by indicator and
// value) into Outcomes, sorted by indicator, values by baseline count,
// with the survey's words in French.
func outcomes(cat *lesson.Catalog, base, follow map[string]map[string]int) []Outcome {
	keys := map[string]bool{}
	for k := range base {
		keys[k] = true
	}
	for k := range follow {
		keys[k] = true
	}
	var out []Outcome
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		o := Outcome{Key: k}
		st := surveyStep(cat, k)
		if st != nil {
			o.Question = st.Ask.In(bot.French)
		}
		values := map[string]bool{}
		for v := range base[k] {
			values[v] = true
		}
		for v := range follow[k] {
			values[v] = true
		}
		for v := range values {
			vc := ValueCount{Value: v, Label: v, N: base[k][v], Followup: follow[k][v]}
			if st != nil {
				for _, opt := range st.Options {
					if opt.Value == v {
						vc.Label = opt.Text.In(bot.French)
					}
				}
			}
			o.Baseline += vc.N
			o.Followup += vc.Followup
			o.Values = append(o.Values, vc)
		}
		slices.SortFunc(o.Values, func(a, b ValueCount) int {
			if a.N != b.N {
				return b.N - a.N
			}
			return cmp.Compare(a.Value, b.Value)
		})
		out = append(out, o)
	}
	return out
}

// surveyStep is the first survey step of the catalog that sets the
// indicator.
func surveyStep(cat *lesson.Catalog, indicator string) *lesson.Step {
	for _, c := range cat.Courses {
		for _, les := range c.Lessons {
			for _, st := range les.Steps {
				if st.Kind == lesson.Survey && st.Survey == indicator {
					return st
				}
			}
		}
	}
	return nil
}

// Outcomes counts the answers to self-reported indicators, at the end of
// the course and weeks later, in the cohort code, or in every cohort actor
// sees when code is "": from the stores' counters, one read per cohort.
//
// Errors: NotFound for a cohort actor may not see, and the stores'.
func (c *Coaching) Outcomes(ctx context.Context, actor cohort.Coach, code string) ([]Outcome, error) {
	var codes []string
	if code != "" {
		co, err := c.Cohort(ctx, actor, code)
		if err != nil {
			return nil, err
		}
		codes = []string{co.Code}
	} else {
		cs, err := c.ListCohorts(ctx, actor, "")
		if err != nil {
			return nil, err
		}
		for _, co := range cs {
			codes = append(codes, co.Code)
		}
	}
	base, follow := map[string]map[string]int{}, map[string]map[string]int{}
	for _, code := range codes {
		counts, err := c.Members.CohortCounts(ctx, code)
		if err != nil {
			return nil, err
		}
		for name, n := range counts {
			into := base
			rest, ok := strings.CutPrefix(name, CountAnswer)
			if !ok {
				if rest, ok = strings.CutPrefix(name, CountFollowup); !ok {
					continue
				}
				into = follow
			}
			k, v, ok := strings.Cut(rest, "=")
			if !ok || n <= 0 {
				continue
			}
			if into[k] == nil {
				into[k] = map[string]int{}
			}
			into[k][v] += int(n)
		}
	}
	return outcomes(c.Content().Lessons, base, follow), nil
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
	answers, followups := map[string]map[string]int{}, map[string]map[string]int{}

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
			if answers[k] == nil {
				answers[k] = map[string]int{}
			}
			answers[k][v]++
		}
		for _, f := range l.Followups {
			if followups[f.Survey] == nil {
				followups[f.Survey] = map[string]int{}
			}
			followups[f.Survey][f.Value]++
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

	ind.Outcomes = outcomes(content.Lessons, answers, followups)
	return ind
}

// OutcomesIn returns os with each survey's question and answers in lang,
// for a dashboard in that language (Outcomes says them in French); an
// indicator no lesson asks any more keeps its words.
func (c *Coaching) OutcomesIn(os []Outcome, lang bot.Lang) []Outcome {
	cat := c.Content().Lessons
	out := make([]Outcome, len(os))
	for i, o := range os {
		o.Values = slices.Clone(o.Values)
		if st := surveyStep(cat, o.Key); st != nil {
			o.Question = cmp.Or(st.Ask.In(lang), o.Question)
			for j, vc := range o.Values {
				for _, opt := range st.Options {
					if opt.Value == vc.Value {
						o.Values[j].Label = cmp.Or(opt.Text.In(lang), vc.Label)
					}
				}
			}
		}
		out[i] = o
	}
	return out
}
