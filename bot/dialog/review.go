package dialog

import (
	"strings"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
)

// ReviewOf names a review question as Learner.Review keeps it.
func ReviewOf(lessonID, stepID string) string { return lessonID + "/" + stepID }

// FollowupOf names a follow-up survey's question as Learner.Review keeps
// it while the learner's answer is awaited.
func FollowupOf(lessonID, stepID string) string {
	return bot.FollowupPrefix + ReviewOf(lessonID, stepID)
}

// ReviewQuestion returns the question of a spaced review in lang (the
// question and its numbered options, without direction marks: the sender
// adds them to the whole message), or false when the lesson or the
// question is gone.
func ReviewQuestion(c *Content, lang bot.Lang, review string, vars map[string]string) (string, bool) {
	st := reviewStep(c, review)
	if st == nil {
		return "", false
	}
	return prompt(lang, st, vars), true
}

func reviewStep(c *Content, review string) *lesson.Step {
	review, followup := strings.CutPrefix(review, bot.FollowupPrefix)
	lessonID, stepID, ok := strings.Cut(review, "/")
	les := c.Lessons.Lesson(lessonID)
	if !ok || les == nil {
		return nil
	}
	st, _ := les.Step(stepID)
	if st == nil || (!followup && st.Kind != lesson.Question) || (followup && st.Kind != lesson.Survey) {
		return nil
	}
	return st
}

// answerReview grades the answer to a spaced review's question: the
// chosen option's feedback, the right answer after a wrong one (there is no
// second try: a review is a reminder, not a test), then the learner's usual
// prompt. It reports false, and says nothing, when text picks no option or
// the question is gone.
func (t *turn) answerReview(review, text string) bool {
	st := reviewStep(t.c, review)
	if st == nil {
		return false
	}
	n, ok := locale.Choice(text, len(st.Options))
	if !ok {
		n, ok = t.optionNamed(st, text)
	}
	if !ok {
		return false
	}
	o := st.Options[n-1]
	if st.Kind == lesson.Survey {
		t.answerFollowup(st, o)
		return true
	}
	t.emit(Event{Kind: ReviewAnswered, Review: review, Right: o.Correct})
	if o.Correct {
		t.feedback(o, "Correct")
	} else {
		t.feedback(o, "Wrong")
		t.say(t.tr("RightAnswer", map[string]any{"Answer": t.render(st.Options[st.Correct()].Text)}))
	}
	t.prompt()
	return true
}

// answerFollowup records the answer to a follow-up survey, dated, in
// place of an earlier answer to the same survey, thanks the learner and
// repeats where they stand. The answer given at the end of the course
// stays in Indicators: both are measured.
func (t *turn) answerFollowup(st *lesson.Step, o lesson.Option) {
	f := bot.FollowupAnswer{Survey: st.Survey, Value: o.Value, At: t.now.UTC()}
	kept := t.l.Followups[:0]
	for _, x := range t.l.Followups {
		if x.Survey != f.Survey {
			kept = append(kept, x)
		}
	}
	t.l.Followups = append(kept, f)
	t.emit(Event{Kind: FollowupAnswered, Survey: f.Survey, Value: f.Value})
	t.say(t.tr("FollowupThanks", nil))
	t.prompt()
}
