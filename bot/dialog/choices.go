package dialog

import (
	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/lesson"
)

// Question is one question with options, in one language, as the engine
// asks it.
type Question struct {
	Lang  bot.Lang // "" for the language menu, asked in every language
	Scope string   // see bot.Choice
	// Choice is what the learner may tap; nil when the question keeps its
	// numbered lines whatever the channel (it shows the learner's own
	// figures).
	Choice *bot.Choice
}

// Questions lists every question with options the engine may ask: the
// language menu, the course menu in each language, and each question and
// survey of every lesson in each language, with their choices as the
// engine builds them. darsi whatsapp sync makes their contents from it,
// and counts how each goes out.
func Questions(c *Content) []Question {
	out := []Question{}
	lang := &turn{l: &bot.Learner{Phase: bot.PhaseLanguage}, c: c}
	lang.prompt()
	out = append(out, Question{Scope: scopeLanguage, Choice: choiceOf(lang.finish())})
	for _, l := range bot.Langs {
		menu := &turn{l: &bot.Learner{Lang: l, Phase: bot.PhaseMenu}, c: c}
		menu.prompt()
		if len(c.Lessons.Courses) > 0 {
			out = append(out, Question{Lang: l, Scope: scopeMenu, Choice: choiceOf(menu.finish())})
		}
		for _, course := range c.Lessons.Courses {
			for _, les := range course.Lessons {
				for _, st := range les.Steps {
					if len(st.Options) == 0 || (st.Kind != lesson.Question && st.Kind != lesson.Survey) {
						continue
					}
					t := &turn{l: &bot.Learner{Lang: l, Phase: bot.PhaseLesson, Position: bot.Position{Course: course.ID, Lesson: les.ID, Step: st.ID}}, c: c}
					t.ask(st)
					out = append(out, Question{Lang: l, Scope: StepScope(les.ID, st.ID), Choice: choiceOf(t.finish())})
				}
			}
		}
	}
	return out
}

func choiceOf(rs []bot.Reply) *bot.Choice {
	for _, r := range rs {
		if r.Choice != nil {
			return r.Choice
		}
	}
	return nil
}
