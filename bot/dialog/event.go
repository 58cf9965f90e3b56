package dialog

import (
	"strconv"
	"strings"

	"github.com/darsi-ma/darsi/bot"
)

// EventKind names what happened to a learner in a step of the
// conversation. Its values are stable: metrics use them as label values.
type EventKind string

// The kinds of event, each emitted by the engine where the change happens.
const (
	// LessonCompleted: the learner reached the end of Lesson with Score.
	// Retake is set when they had completed it before (the new score
	// replaces the old one).
	LessonCompleted EventKind = "lesson_completed"
	// OptedOut: the learner sent a stop keyword and gets nothing more
	// until they opt in again.
	OptedOut EventKind = "opted_out"
	// OptedIn: a learner who had opted out said start (or yes).
	OptedIn EventKind = "opted_in"
	// CohortJoined: the learner joined Cohort; MovedFrom is the cohort
	// they left for it, "" when they were in none.
	CohortJoined EventKind = "cohort_joined"
	// Erased: the learner confirmed that their data be deleted.
	Erased EventKind = "erased"
	// ReviewAnswered: the learner answered the spaced review Review (as
	// ReviewOf names it), rightly or not.
	ReviewAnswered EventKind = "review_answered"
	// ConsentGiven: the learner accepted that Darsi keeps their answers.
	ConsentGiven EventKind = "consent_given"
	// LanguageChosen: the learner's language became Lang.
	LanguageChosen EventKind = "language_chosen"
	// DataRequested: the learner asked what Darsi keeps about them and
	// got the summary.
	DataRequested EventKind = "data_requested"
	// CoachAsked: the learner passed Question on to their coach (the
	// caller files it in the coach's inbox).
	CoachAsked EventKind = "coach_asked"
	// FollowupAnswered: the learner answered the follow-up survey of
	// indicator Survey with Value, weeks after the course.
	FollowupAnswered EventKind = "followup_answered"
)

// EventKinds lists every kind of event, so that a metric can show each one
// before it first happens.
var EventKinds = []EventKind{
	LessonCompleted, OptedOut, OptedIn, CohortJoined, Erased, ReviewAnswered, ConsentGiven, LanguageChosen,
	DataRequested, CoachAsked, FollowupAnswered,
}

// Event is one thing that happened to the learner in a step, for the
// caller to react to (queue reviews, count) without comparing states. Only
// the fields its Kind documents are set.
type Event struct {
	Kind EventKind
	// Lesson and Score (percent of questions right at the first try, as
	// bot.Completion keeps it) and Retake: LessonCompleted.
	Lesson string
	Score  int
	Retake bool
	// Cohort and MovedFrom (join codes): CohortJoined.
	Cohort    string
	MovedFrom string
	// Review and Right: ReviewAnswered.
	Review string
	Right  bool
	// Lang: LanguageChosen.
	Lang bot.Lang
	// Question: CoachAsked, as the learner wrote it.
	Question string
	// Survey and Value: FollowupAnswered.
	Survey, Value string
}

// String returns the event on one line, its kind then its fields as
// key=value, as golden transcripts and logs show it.
func (e Event) String() string {
	parts := []string{string(e.Kind)}
	add := func(key, value string) { parts = append(parts, key+"="+value) }
	switch e.Kind {
	case LessonCompleted:
		add("lesson", e.Lesson)
		add("score", strconv.Itoa(e.Score))
		if e.Retake {
			add("retake", "true")
		}
	case CohortJoined:
		add("cohort", e.Cohort)
		if e.MovedFrom != "" {
			add("moved_from", e.MovedFrom)
		}
	case ReviewAnswered:
		add("review", e.Review)
		add("right", strconv.FormatBool(e.Right))
	case LanguageChosen:
		add("lang", string(e.Lang))
	case CoachAsked:
		add("question", strconv.Quote(e.Question))
	case FollowupAnswered:
		add("survey", e.Survey)
		add("value", e.Value)
	}
	return strings.Join(parts, " ")
}

// emit records that ev happened in this turn.
func (t *turn) emit(ev Event) { t.events = append(t.events, ev) }
