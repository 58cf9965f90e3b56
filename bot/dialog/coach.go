package dialog

import "github.com/darsi-ma/darsi/bot"

// offerCoachAfter is how many messages in a row the bot may not understand
// before it offers to pass the last one on to the learner's coach.
const offerCoachAfter = 2

// maxUnclear bounds the message kept for that offer (Learner.Unclear).
const maxUnclear = 300

// MaxQuestion bounds a question to a coach, in characters.
const MaxQuestion = maxInput

// askCoach passes q on to the learner's coach (a CoachAsked event: the
// caller files it in the coach's inbox), tells the learner so, and repeats
// where they stand: a question never blocks a lesson. Without a question,
// the message the bot offered to pass on is passed on; without one either,
// the bot asks for the question, and the next message is it. A learner who
// has not agreed to the data terms is asked to first: nothing of theirs is
// kept before.
func (t *turn) askCoach(q string) {
	if !t.consented() {
		return
	}
	if q == "" {
		q = t.l.Unclear
	}
	if q == "" {
		t.detour(bot.PhaseAsk)
		t.say(t.tr("AskCoachWhat", nil))
		return
	}
	if t.l.Phase == bot.PhaseAsk {
		t.l.Phase, t.l.Resume = t.l.Resume, ""
	}
	t.l.Unclear = ""
	t.emit(Event{Kind: CoachAsked, Question: cut(q, MaxQuestion)})
	t.say(t.tr("AskCoachSent", nil))
	t.prompt()
}

// cut returns s cut to at most n characters.
func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
