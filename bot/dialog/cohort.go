package dialog

import (
	"strings"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/lesson"
)

// join applies a join code the caller looked up (bot.Inbound.JoinCohort)
// and reports whether the message was handled. A learner belongs to one
// cohort at most: joining another one moves them, and they are told so. An
// unknown code changes nothing but gets an answer. Either way the learner
// is then asked the question they were at, or the language menu when they
// have not chosen a language yet (the cohort is kept meanwhile).
func (t *turn) join(j *bot.JoinCohort) bool {
	if !j.Found && !j.Explicit {
		// A word of code shape that no cohort has, typed at a question that
		// takes free text, is an answer.
		if st := t.currentStep(); st != nil && st.Kind == lesson.Input {
			return false
		}
	}
	old := t.l.Cohort
	if j.Found {
		t.l.Cohort = j.Code
		// Sending one's own cohort's code again joins nothing.
		if !strings.EqualFold(old, j.Code) {
			t.emit(Event{Kind: CohortJoined, Cohort: j.Code, MovedFrom: old})
		}
	}
	switch {
	case !t.l.Lang.Valid():
		t.sayNeutral(t.joinedEverywhere(j, old))
	case !j.Found && j.Code == "":
		t.say(t.tr("CohortNoCode", map[string]any{"Example": "K7M2QX"}))
	case !j.Found:
		t.say(t.tr("CohortUnknown", map[string]any{"Code": j.Code}))
	case strings.EqualFold(old, j.Code):
		t.say(t.tr("CohortAlready", map[string]any{"Name": j.Name}))
	case old != "":
		t.say(t.tr("CohortMoved", map[string]any{"Name": j.Name, "Old": old}))
	default:
		t.say(t.tr("CohortJoined", map[string]any{"Name": j.Name}))
	}
	if t.l.OptedOut {
		t.say(t.tr("StillStopped", nil))
		return true
	}
	if t.l.Phase == bot.PhaseNew {
		t.l.Phase = bot.PhaseLanguage
	}
	t.prompt()
	return true
}

// joinedEverywhere answers a join before a language is chosen: the cohort
// (or the unknown code) and a short line in each language, as the language
// menu that follows is written.
func (t *turn) joinedEverywhere(j *bot.JoinCohort, old string) string {
	var head, id string
	switch {
	case !j.Found:
		head, id = strings.TrimSpace("❓ "+j.Code), "CohortUnknownShort"
	case old != "" && !strings.EqualFold(old, j.Code):
		head, id = "✅ "+j.Name+" ("+old+" → "+j.Code+")", "CohortJoinedShort"
	default:
		head, id = "✅ "+j.Name, "CohortJoinedShort"
	}
	lines := make([]string, len(bot.Langs))
	for i, lang := range bot.Langs {
		lines[i] = t.c.Text.T(lang, id, nil)
	}
	return head + "\n" + strings.Join(lines, " / ")
}

// sayNeutral adds a reply written in every language at once: it gets no
// direction marks of one language.
func (t *turn) sayNeutral(text string) {
	if t.neutral == nil {
		t.neutral = map[int]bool{}
	}
	t.neutral[len(t.replies)] = true
	t.replies = append(t.replies, bot.Reply{Text: text})
}
