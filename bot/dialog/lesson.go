package dialog

import (
	"slices"
	"strconv"
	"strings"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
)

// currentStep returns the step the learner must answer, or nil when the
// learner is not in a lesson or the lesson changed under them.
func (t *turn) currentStep() *lesson.Step {
	if t.l.Phase != bot.PhaseLesson {
		return nil
	}
	les := t.c.Lessons.Lesson(t.l.Lesson)
	if les == nil {
		return nil
	}
	st, _ := les.Step(t.l.Step)
	if st == nil || !st.Waits() {
		return nil
	}
	return st
}

// resumeLesson puts a learner whose lesson was edited under them back on
// their feet: at their step's nearest valid place, or at the menu when the
// lesson is gone.
func (t *turn) resumeLesson() {
	t.say(t.tr("LessonChanged", nil))
	les := t.c.Lessons.Lesson(t.l.Lesson)
	if les == nil {
		t.l.Position = bot.Position{}
		t.l.Phase = bot.PhaseMenu
		t.prompt()
		return
	}
	_, i := les.Step(t.l.Step)
	if i < 0 {
		i = min(max(t.l.Index, 0), len(les.Steps)-1)
	}
	t.runFrom(les, i)
}

func (t *turn) vars() map[string]string {
	if t.l.Vars == nil {
		t.l.Vars = map[string]string{}
	}
	return t.l.Vars
}

// render fills a lesson text with the learner's variables.
func (t *turn) render(text lesson.Text) string { return renderIn(t.lang(), text, t.l.Vars) }

func renderIn(lang bot.Lang, text lesson.Text, vars map[string]string) string {
	return lesson.RenderIn(lang, text.In(lang), vars, func(v string) string {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return locale.FormatNumberIn(lang, f)
		}
		return v
	})
}

// ask sends the step's question with its numbered options, and the
// options to tap when the step has some.
func (t *turn) ask(st *lesson.Step) {
	t.sayWith(prompt(t.lang(), st, t.l.Vars), st)
	if len(st.Options) == 0 || (st.Kind != lesson.Question && st.Kind != lesson.Survey) {
		return
	}
	// Options to tap are made once per text and shared by every learner:
	// a question that shows the learner's own figures keeps numbered lines.
	if strings.Contains(st.Ask.In(t.lang()), "{{") {
		return
	}
	for _, o := range st.Options {
		if strings.Contains(o.Text.In(t.lang()), "{{") {
			return
		}
	}
	titles := make([]string, len(st.Options))
	for i, o := range st.Options {
		titles[i] = t.render(o.Text)
	}
	t.choice(StepScope(t.l.Lesson, st.ID), t.render(st.Ask), titles)
}

// prompt is the message of a step that waits: its question and numbered
// options.
func prompt(lang bot.Lang, st *lesson.Step, vars map[string]string) string {
	lines := []string{renderIn(lang, st.Ask, vars)}
	for i, o := range st.Options {
		lines = append(lines, strconv.Itoa(i+1)+". "+renderIn(lang, o.Text, vars))
	}
	return strings.Join(lines, "\n")
}

// StepText returns the message the engine sends for step st in lang, with
// vars filled in and direction marks added, as the learner receives it:
// the say text of say and calc steps, the question with its numbered
// options for the others. Lint counts its SMS segments and characters.
func StepText(lang bot.Lang, st *lesson.Step, vars map[string]string) string {
	var text string
	if st.Waits() {
		text = prompt(lang, st, vars)
	} else {
		text = strings.TrimSpace(renderIn(lang, st.Say, vars))
	}
	return locale.Directional(lang, text)
}

// FeedbackText returns option o's feedback in lang as the learner receives
// it, or "" when the option has none.
func FeedbackText(lang bot.Lang, o lesson.Option, vars map[string]string) string {
	if o.Feedback.IsZero() {
		return ""
	}
	return locale.Directional(lang, strings.TrimSpace(renderIn(lang, o.Feedback, vars)))
}

// MediaPrefix is the URL path under which the lesson media folder is
// served; replies carry media links relative to the server's base URL.
const MediaPrefix = "/media/"

// sayWith adds a reply with the step's media in the learner's language,
// when the channel carries media (WhatsApp and the simulator: SMS in
// Morocco has no MMS).
func (t *turn) sayWith(text string, st *lesson.Step) {
	media := st.MediaIn(t.lang())
	if media == "" || t.l.Channel == bot.SMS {
		t.say(text)
		return
	}
	t.replies = append(t.replies, bot.Reply{Text: strings.TrimSpace(text), Media: MediaPrefix + media})
}

// runFrom plays the lesson from step i: say and calc steps go out at once,
// until a step waits for an answer or the lesson ends.
func (t *turn) runFrom(les *lesson.Lesson, i int) {
	t.l.Phase = bot.PhaseLesson
	for hops := 0; i >= 0 && i < len(les.Steps) && hops <= len(les.Steps); hops++ {
		st := les.Steps[i]
		t.l.Step, t.l.Index, t.l.Tries = st.ID, i, 0
		switch st.Kind {
		case lesson.Say:
			t.sayWith(t.render(st.Say), st)
		case lesson.Calc:
			vals, err := st.Eval(t.l.Vars)
			if err != nil {
				t.say(t.tr("CalcFailed", nil))
				break
			}
			for k, v := range vals {
				t.vars()[k] = strconv.FormatFloat(v, 'f', -1, 64)
			}
			if !st.Say.IsZero() {
				t.sayWith(t.render(st.Say), st)
			}
		default:
			t.ask(st)
			return
		}
		next := les.Next(i, "")
		if next == "" {
			break
		}
		_, i = les.Step(next)
	}
	t.finishLesson(les)
}

// advance moves on from an answered step, through gotoID if an option chose one.
func (t *turn) advance(st *lesson.Step, gotoID string) {
	les := t.c.Lessons.Lesson(t.l.Lesson)
	_, i := les.Step(st.ID)
	next := les.Next(i, gotoID)
	if next == "" {
		t.finishLesson(les)
		return
	}
	_, j := les.Step(next)
	t.runFrom(les, j)
}

// answer handles a message sent at a waiting step.
func (t *turn) answer(st *lesson.Step, text string, intent locale.Intent) {
	switch st.Kind {
	case lesson.Input:
		t.answerInput(st, text)
	case lesson.Question, lesson.Survey:
		n, ok := locale.Choice(text, len(st.Options))
		if !ok {
			n, ok = t.optionNamed(st, text)
		}
		if !ok {
			t.miss("ChoiceHint")
			return
		}
		if st.Kind == lesson.Survey {
			t.record(st, st.Options[n-1])
			return
		}
		t.grade(st, n-1)
	}
}

// optionNamed finds the option whose words the learner typed.
func (t *turn) optionNamed(st *lesson.Step, text string) (int, bool) {
	want := locale.Normalize(text)
	for i, o := range st.Options {
		if slices.Contains(o.Keys, want) {
			return i + 1, true
		}
	}
	return 0, false
}

func (t *turn) grade(st *lesson.Step, chosen int) {
	o := st.Options[chosen]
	if o.Correct {
		if t.l.Tries == 0 {
			t.l.Right++
		}
		t.l.Asked++
		t.feedback(o, "Correct")
		t.advance(st, o.Goto)
		return
	}
	t.l.Tries++
	t.feedback(o, "Wrong")
	if t.l.Tries < maxTries {
		t.say(t.tr("TryAgain", nil))
		return
	}
	t.l.Asked++
	right := st.Options[st.Correct()]
	t.say(t.tr("RightAnswer", map[string]any{"Answer": t.render(right.Text)}))
	t.advance(st, right.Goto)
}

func (t *turn) feedback(o lesson.Option, fallback string) {
	if !o.Feedback.IsZero() {
		t.say(t.render(o.Feedback))
		return
	}
	t.say(t.tr(fallback, nil))
}

// record keeps a survey answer as a program indicator.
func (t *turn) record(st *lesson.Step, o lesson.Option) {
	if t.l.Indicators == nil {
		t.l.Indicators = map[string]string{}
	}
	t.l.Indicators[st.Survey] = o.Value
	if !o.Feedback.IsZero() {
		t.say(t.render(o.Feedback))
	}
	t.advance(st, o.Goto)
}

func (t *turn) answerInput(st *lesson.Step, text string) {
	if st.InputKind == "text" {
		r := []rune(text)
		if len(r) > maxTextVar {
			r = r[:maxTextVar]
		}
		t.vars()[st.Var] = string(r)
		t.advance(st, "")
		return
	}
	f, ok := locale.ParseNumber(text)
	if !ok {
		t.miss("NumberHint")
		return
	}
	if msg := t.outOfRange(st, f); msg != "" {
		t.say(msg)
		t.ask(st)
		return
	}
	t.vars()[st.Var] = strconv.FormatFloat(f, 'f', -1, 64)
	t.advance(st, "")
}

func (t *turn) outOfRange(st *lesson.Step, f float64) string {
	lo, hi := st.Min, st.Max
	if (lo == nil || f >= *lo) && (hi == nil || f <= *hi) {
		return ""
	}
	data := map[string]any{}
	if lo != nil {
		data["Min"] = locale.FormatNumberIn(t.lang(), *lo)
	}
	if hi != nil {
		data["Max"] = locale.FormatNumberIn(t.lang(), *hi)
	}
	switch {
	case lo != nil && hi != nil:
		return t.tr("NumberRange", data)
	case lo != nil:
		return t.tr("NumberMin", data)
	}
	return t.tr("NumberMax", data)
}

// skip moves past a waiting step when the learner says "next".
func (t *turn) skip(st *lesson.Step) {
	if st.Kind == lesson.Question {
		t.l.Asked++
	}
	t.say(t.tr("Skipped", nil))
	t.advance(st, "")
}

func (t *turn) startCourse(c *lesson.Course) {
	if t.l.Course == c.ID && t.l.Step != "" {
		if les := t.c.Lessons.Lesson(t.l.Lesson); les != nil {
			t.l.Phase = bot.PhaseLesson
			t.prompt()
			return
		}
	}
	for _, les := range c.Lessons {
		if !t.l.Done(les.ID) {
			t.startLesson(les)
			return
		}
	}
	t.startLesson(c.Lessons[0])
}

func (t *turn) startLesson(les *lesson.Lesson) {
	t.l.Position = bot.Position{Course: les.Course, Lesson: les.ID}
	t.l.Vars = nil
	t.l.Asked, t.l.Right, t.l.Tries = 0, 0, 0
	t.say("📘 " + les.Title.In(t.lang()))
	t.runFrom(les, 0)
}

// upcoming returns the lesson to take next: the one after the last lesson,
// else the first one not done, else nil.
func (t *turn) upcoming() *lesson.Lesson {
	if t.l.Done(t.l.Lesson) {
		if next := t.c.Lessons.NextLesson(t.l.Lesson); next != nil {
			return next
		}
	}
	for _, c := range t.c.Lessons.Courses {
		for _, les := range c.Lessons {
			if !t.l.Done(les.ID) {
				return les
			}
		}
	}
	return nil
}

func (t *turn) nextLesson() {
	if les := t.upcoming(); les != nil {
		t.startLesson(les)
		return
	}
	t.say(t.tr("AllDone", nil))
	t.l.Phase = bot.PhaseMenu
	t.prompt()
}

func (t *turn) finishLesson(les *lesson.Lesson) {
	score := 100
	if t.l.Asked > 0 {
		score = t.l.Right * 100 / t.l.Asked
	}
	done := bot.Completion{Lesson: les.ID, Score: score, At: t.now}
	replaced := false
	for i, c := range t.l.Completed {
		if c.Lesson == les.ID {
			t.l.Completed[i], replaced = done, true
		}
	}
	if !replaced {
		t.l.Completed = append(t.l.Completed, done)
	}
	t.emit(Event{Kind: LessonCompleted, Lesson: les.ID, Score: score, Retake: replaced})
	t.l.Phase = bot.PhaseDone
	t.l.Step, t.l.Index, t.l.Tries = "", 0, 0
	lines := []string{t.tr("LessonDone", map[string]any{"Title": les.Title.In(t.lang())})}
	if t.l.Asked > 0 {
		lines = append(lines, t.c.Text.N(t.lang(), "LessonScore", t.l.Asked, map[string]any{"Right": t.l.Right}))
	}
	t.say(strings.Join(lines, "\n"))
	t.prompt()
}

// doneMenu offers the next lesson and the menu after a lesson.
func (t *turn) doneMenu() string {
	var lines []string
	if t.c.Lessons.NextLesson(t.l.Lesson) == nil {
		if c := t.c.Lessons.Course(t.l.Course); c != nil {
			lines = append(lines, t.tr("CourseDone", map[string]any{"Title": c.Title.In(t.lang())}))
		}
	}
	if next := t.upcoming(); next != nil {
		lines = append(lines, t.tr("NextLesson", map[string]any{"Title": next.Title.In(t.lang())}))
	} else {
		lines = append(lines, t.tr("AllDone", nil))
	}
	lines = append(lines, t.tr("BackToMenu", nil))
	return strings.Join(lines, "\n")
}
