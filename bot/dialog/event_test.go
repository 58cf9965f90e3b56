package dialog

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/darsi-ma/darsi/bot"
)

// eventTurn is one message of an event test and the events it must
// produce, exactly.
type eventTurn struct {
	send string
	// review is a spaced review's question the outbox sent before send.
	review string
	// join is what the host's cohort lookup found for send.
	join *bot.JoinCohort
	want []Event
}

// TestEvents plays short conversations in French on the demo course (its
// one lesson has a question, two number inputs, a calc and a survey) and
// wants each turn to report exactly the events listed for it: each event
// once, at the turn that does the thing, and none on a plain answer.
func TestEvents(t *testing.T) {
	c := testContent(t, os.DirFS("../lesson/testdata/good"))
	// takeLesson starts the demo lesson from the menu and answers it
	// through, the question rightly at the first try when right is set.
	takeLesson := func(right bool, last []Event) []eventTurn {
		turns := []eventTurn{{send: "1"}}
		if !right {
			turns = append(turns, eventTurn{send: "1"})
		}
		return append(turns, eventTurn{send: "2"}, eventTurn{send: "3"}, eventTurn{send: "10"}, eventTurn{send: "1", want: last})
	}
	retake := takeLesson(true, []Event{{Kind: LessonCompleted, Lesson: "demo-1", Score: 100}})
	retake = append(retake, eventTurn{send: "1"}) // every lesson done: back to the menu
	retake = append(retake, takeLesson(false, []Event{{Kind: LessonCompleted, Lesson: "demo-1", Score: 0, Retake: true}})...)
	safi := &bot.JoinCohort{Code: "K7M2QX", Name: "Couture Safi", Found: true}
	tiznit := &bot.JoinCohort{Code: "P4X9RT", Name: "Tissage Tiznit", Found: true}
	cases := []struct {
		name string
		// onboard takes the learner to the menu in French first.
		onboard bool
		turns   []eventTurn
	}{
		{name: "onboarding", turns: []eventTurn{
			{send: "salam"},
			{send: "3", want: []Event{{Kind: LanguageChosen, Lang: bot.French}}},
			{send: "1", want: []Event{{Kind: ConsentGiven}}},
		}},
		{name: "plain answers and keywords", onboard: true, turns: []eventTurn{
			{send: "1"}, {send: "1"}, {send: "2"}, {send: "3"}, {send: "aide"}, {send: "n'importe quoi"}, {send: "menu"},
		}},
		{name: "completing a lesson", onboard: true,
			turns: takeLesson(true, []Event{{Kind: LessonCompleted, Lesson: "demo-1", Score: 100}}),
		},
		{name: "retaking a lesson", onboard: true, turns: retake},
		{name: "stop and start", onboard: true, turns: []eventTurn{
			{send: "stop", want: []Event{{Kind: OptedOut}}},
			{send: "stop"},
			{send: "bonjour"},
			{send: "start", want: []Event{{Kind: OptedIn}}},
			{send: "start"},
		}},
		{name: "yes after stop", onboard: true, turns: []eventTurn{
			{send: "stop", want: []Event{{Kind: OptedOut}}},
			{send: "oui", want: []Event{{Kind: OptedIn}}},
		}},
		{name: "joining cohorts", onboard: true, turns: []eventTurn{
			{send: "K7M2QX", join: safi, want: []Event{{Kind: CohortJoined, Cohort: "K7M2QX"}}},
			{send: "rejoindre k7m2qx", join: safi},
			{send: "ZZ9ZZ9", join: &bot.JoinCohort{Code: "ZZ9ZZ9"}},
			{send: "P4X9RT", join: tiznit, want: []Event{{Kind: CohortJoined, Cohort: "P4X9RT", MovedFrom: "K7M2QX"}}},
		}},
		{name: "joining before a language", turns: []eventTurn{
			{send: "K7M2QX", join: safi, want: []Event{{Kind: CohortJoined, Cohort: "K7M2QX"}}},
			{send: "3", want: []Event{{Kind: LanguageChosen, Lang: bot.French}}},
		}},
		{name: "erase cancelled then confirmed", onboard: true, turns: []eventTurn{
			{send: "effacer mes données"},
			{send: "2"},
			{send: "effacer mes données"},
			{send: "1", want: []Event{{Kind: Erased}}},
		}},
		{name: "asking for my data", onboard: true, turns: []eventTurn{
			{send: "mes données", want: []Event{{Kind: DataRequested}}},
			{send: "1"},
			{send: "my data", want: []Event{{Kind: DataRequested}}},
		}},
		{name: "my data and erasing after stop", onboard: true, turns: []eventTurn{
			{send: "stop", want: []Event{{Kind: OptedOut}}},
			{send: "mes données", want: []Event{{Kind: DataRequested}}},
			{send: "effacer mes données"},
			{send: "2"},
			{send: "effacer mes données"},
			{send: "stop"}, // stopped already: no second opt-out
			{send: "effacer mes données"},
			{send: "oui", want: []Event{{Kind: Erased}}},
		}},
		{name: "answering reviews", onboard: true, turns: []eventTurn{
			{review: "demo-1/quiz", send: "2", want: []Event{{Kind: ReviewAnswered, Review: "demo-1/quiz", Right: true}}},
			{review: "demo-1/quiz", send: "A", want: []Event{{Kind: ReviewAnswered, Review: "demo-1/quiz", Right: false}}},
			{review: "demo-1/quiz", send: "menu"}, // drops the review
			{send: "2"},
		}},
		{name: "changing language", onboard: true, turns: []eventTurn{
			{send: "langue"},
			{send: "3"}, // French again
			{send: "langue"},
			{send: "2", want: []Event{{Kind: LanguageChosen, Lang: bot.Arabic}}},
			{send: "français", want: []Event{{Kind: LanguageChosen, Lang: bot.French}}},
			{send: "français"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch := newChatter(t, c)
			if tc.onboard {
				ch.onboard(bot.French)
			}
			for i, turn := range tc.turns {
				ch.l.Review = turn.review
				out := ch.step(bot.Inbound{From: "whatsapp:+212600000009", Channel: bot.WhatsApp, Text: turn.send, JoinCohort: turn.join})
				if diff := cmp.Diff(turn.want, out.Events); diff != "" {
					t.Errorf("turn %d %q: events differ (-want +got):\n%s", i+1, turn.send, diff)
				}
				for _, e := range out.Events {
					if bad := eventBelied(e, out.Learner); bad != "" {
						t.Errorf("turn %d %q: event %s, but %s", i+1, turn.send, e, bad)
					}
				}
				if got, want := out.Erased(), len(turn.want) == 1 && turn.want[0].Kind == Erased; got != want {
					t.Errorf("turn %d %q: Erased() got %v, want %v", i+1, turn.send, got, want)
				}
			}
		})
	}
}

func TestEventString(t *testing.T) {
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Event{Kind: LessonCompleted, Lesson: "costing-1", Score: 50}, "lesson_completed lesson=costing-1 score=50"},
		{Event{Kind: LessonCompleted, Lesson: "costing-1", Score: 0, Retake: true}, "lesson_completed lesson=costing-1 score=0 retake=true"},
		{Event{Kind: OptedOut}, "opted_out"},
		{Event{Kind: CohortJoined, Cohort: "P4X9RT", MovedFrom: "K7M2QX"}, "cohort_joined cohort=P4X9RT moved_from=K7M2QX"},
		{Event{Kind: ReviewAnswered, Review: "costing-1/what-counts", Right: false}, "review_answered review=costing-1/what-counts right=false"},
		{Event{Kind: LanguageChosen, Lang: bot.Tamazight}, "language_chosen lang=zgh"},
		{Event{Kind: DataRequested}, "data_requested"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
