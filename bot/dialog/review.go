package dialog

import (
	"strings"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
)

// ReviewOf names a review question as Learner.Review keeps it.
func ReviewOf(lessonID, stepID string) string { return lessonID + "/" + stepID }

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
	lessonID, stepID, ok := strings.Cut(review, "/")
	les := c.Lessons.Lesson(lessonID)
	if !ok || les == nil {
		return nil
	}
	st, _ := les.Step(stepID)
	if st == nil || st.Kind != lesson.Question {
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
