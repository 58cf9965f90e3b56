package dialog

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
)

// maxLabel bounds, in characters, a question quoted in the summary of a
// learner's data: the summary names what an answer was to, it does not
// repeat the lesson.
const maxLabel = 80

// consentNotice is what the learner reads before agreeing: what Darsi
// keeps, who sees what, for how long, how to get a copy and how to erase,
// and who is responsible when the operator named someone.
func (t *turn) consentNotice() string {
	notice := t.tr("ConsentNotice", nil)
	if t.c.Controller != "" {
		notice += "\n" + t.tr("ConsentController", map[string]any{"Controller": t.c.Controller})
	}
	return notice
}

// myData answers the learner's right of access: everything Darsi keeps
// about them, in their language, in as many replies as WhatsApp's and
// SMS's limit on a message body needs. It changes nothing but the event it
// emits.
func (t *turn) myData() {
	t.emit(Event{Kind: DataRequested})
	lang := t.lang()

	about := []string{t.tr("MyDataIntro", nil), t.tr("MyDataNumber", nil)}
	about = append(about, t.line("MyDataLanguage", t.tr("LanguageName", nil)))
	consent := t.tr("No", nil)
	if t.l.Consent {
		consent = t.tr("Yes", nil)
	}
	about = append(about, t.line("MyDataConsent", consent))
	cohort := t.tr("MyDataNoCohort", nil)
	if t.l.Cohort != "" {
		cohort = t.l.Cohort
	}
	about = append(about, t.line("MyDataCohort", cohort))
	current := t.tr("MyDataNoLesson", nil)
	if t.l.Lesson != "" && t.l.Step != "" {
		current = t.lessonTitle(t.l.Lesson)
	}
	about = append(about, t.line("MyDataLesson", current))
	if t.l.OptedOut {
		about = append(about, t.tr("MyDataStopped", nil))
	}
	t.sayLines(about)

	done := []string{t.c.Text.N(lang, "MyDataCompleted", len(t.l.Completed), nil)}
	for _, c := range t.l.Completed {
		score := t.tr("MyDataScore", map[string]any{"Score": locale.FormatNumberIn(lang, float64(c.Score))})
		done = append(done, t.line2(t.lessonTitle(c.Lesson), score))
	}
	t.sayLines(done)

	t.sayLines(t.figures())
	t.sayLines(t.surveys())

	last := []string{t.tr("MyDataShared", nil), t.tr("MyDataErase", nil)}
	if t.c.Controller != "" {
		last = append(last, t.tr("ConsentController", map[string]any{"Controller": t.c.Controller}))
	}
	t.sayLines(last)
}

// line is one "- label: value" line of the summary, its label the message
// labelID.
func (t *turn) line(labelID, value string) string { return t.line2(t.tr(labelID, nil), value) }

// line2 is one "- label: value" line of the summary, on one line whatever
// the label and value hold.
func (t *turn) line2(label, value string) string {
	return t.tr("MyDataLine", map[string]any{"Label": oneLine(label, maxLabel), "Value": oneLine(value, maxTextVar)})
}

// answerLine is one "- question — answer" line of the summary.
func (t *turn) answerLine(question, answer string) string {
	return t.tr("MyDataAnswer", map[string]any{"Question": oneLine(question, maxLabel), "Answer": oneLine(answer, maxTextVar)})
}

// oneLine puts s on one line and cuts it to max characters, an ellipsis
// marking a cut.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = strings.TrimSpace(string(r[:max-1])) + "…"
	}
	return s
}

// lessonTitle is the title of lesson id in the learner's language, or the
// id when the lesson is gone from the catalog.
func (t *turn) lessonTitle(id string) string {
	if les := t.c.Lessons.Lesson(id); les != nil {
		return les.Title.In(t.lang())
	}
	return id
}

// figures lists what the learner typed in their last lesson (Darsi keeps
// only that lesson's), each with the question it answered, then what Darsi
// calculated from it.
func (t *turn) figures() []string {
	if len(t.l.Vars) == 0 {
		return []string{t.tr("MyDataNoFigures", nil)}
	}
	lines := []string{t.tr("MyDataFigures", map[string]any{"Title": t.lessonTitle(t.l.Lesson)})}
	shown := map[string]bool{}
	show := func(name string, line func(value string) string) {
		v, ok := t.l.Vars[name]
		if !ok || shown[name] {
			return
		}
		shown[name] = true
		lines = append(lines, line(t.formatVar(v)))
	}
	byName := func(name string) func(string) string {
		return func(v string) string { return t.line2(name, v) }
	}
	if les := t.c.Lessons.Lesson(t.l.Lesson); les != nil {
		for _, st := range les.Steps {
			switch {
			case st.Kind == lesson.Input && st.Var != "":
				show(st.Var, func(v string) string { return t.answerLine(t.question(st.Ask), v) })
			case st.Kind == lesson.Calc:
				for _, f := range st.Formulas {
					show(f.Var, byName(t.tr("MyDataComputed", map[string]any{"Name": f.Var})))
				}
			}
		}
	}
	// Values of steps an edit removed are kept all the same: shown by name.
	for _, name := range slices.Sorted(maps.Keys(t.l.Vars)) {
		show(name, byName(name))
	}
	return lines
}

// surveys lists the learner's answers to the lessons' closing surveys,
// each with its question and the option chosen, in the learner's language.
func (t *turn) surveys() []string {
	if len(t.l.Indicators) == 0 && len(t.l.Followups) == 0 {
		return []string{t.tr("MyDataNoSurveys", nil)}
	}
	lines := []string{t.tr("MyDataSurveys", nil)}
	for _, key := range slices.Sorted(maps.Keys(t.l.Indicators)) {
		value := t.l.Indicators[key]
		st, o := t.surveyOption(key, value)
		if st == nil {
			// A survey an edit removed: its answer all the same, by name.
			lines = append(lines, t.line2(key, value))
			continue
		}
		answer := value
		if o != nil {
			answer = t.render(o.Text)
		}
		lines = append(lines, t.answerLine(t.question(st.Ask), answer))
	}
	// The answers to follow-up surveys, weeks after a course, dated.
	for _, f := range t.l.Followups {
		question, answer := f.Survey, f.Value
		if st, o := t.surveyOption(f.Survey, f.Value); st != nil {
			question = t.question(st.Ask)
			if o != nil {
				answer = t.render(o.Text)
			}
		}
		lines = append(lines, t.tr("MyDataFollowup", map[string]any{"Question": question, "Answer": answer,
			"Date": f.At.UTC().Format("02/01/2006")}))
	}
	return lines
}

// surveyOption finds a survey step that records indicator key, and its
// option of that value (nil when no option has it).
func (t *turn) surveyOption(key, value string) (*lesson.Step, *lesson.Option) {
	var found *lesson.Step
	for _, c := range t.c.Lessons.Courses {
		for _, les := range c.Lessons {
			for _, st := range les.Steps {
				if st.Kind != lesson.Survey || st.Survey != key {
					continue
				}
				for i := range st.Options {
					if st.Options[i].Value == value {
						return st, &st.Options[i]
					}
				}
				if found == nil {
					found = st
				}
			}
		}
	}
	return found, nil
}

// question is the question a lesson text asks, filled with the learner's
// variables: of its first line, the first sentence that ends with a
// question mark ("À toi ! Quel produit veux-tu calculer ? Écris son nom."
// gives "Quel produit veux-tu calculer ?"), else the whole line.
func (t *turn) question(text lesson.Text) string {
	first, _, _ := strings.Cut(strings.TrimSpace(t.render(text)), "\n")
	for _, s := range sentences(first) {
		if strings.ContainsAny(s, "?؟") {
			return s
		}
	}
	return first
}

// sentences cuts a line after each ".", "!", "?" or "؟" that a space
// follows, keeping the marks, and trims each piece.
func sentences(line string) []string {
	var out []string
	start := 0
	rs := []rune(line)
	for i, r := range rs {
		if strings.ContainsRune(".!?؟", r) && (i+1 == len(rs) || rs[i+1] == ' ') {
			if s := strings.TrimSpace(string(rs[start : i+1])); s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(string(rs[start:])); s != "" {
		out = append(out, s)
	}
	return out
}

// formatVar shows a variable as the lessons do: numbers in the learner's
// language, text as typed.
func (t *turn) formatVar(v string) string {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return locale.FormatNumberIn(t.lang(), f)
	}
	return v
}

// sayLines sends lines as few replies as fit: each reply's body, direction
// marks included, stays within bot.MaxBody.
func (t *turn) sayLines(lines []string) {
	var cur []string
	for _, l := range lines {
		next := append(slices.Clone(cur), l)
		if len(cur) > 0 && bot.BodyLen(locale.Directional(t.lang(), strings.Join(next, "\n"))) > bot.MaxBody {
			t.say(strings.Join(cur, "\n"))
			next = []string{l}
		}
		cur = next
	}
	if len(cur) > 0 {
		t.say(strings.Join(cur, "\n"))
	}
}
