// Package preview plays a lesson through the dialogue engine as a learner
// takes it on a phone, and writes the conversation as text: each message
// with the step it comes from and what it costs as SMS, right-to-left
// messages aligned to the right. It is what "darsi preview" prints and what
// the golden transcripts under lessons/transcripts hold, so that authors
// and translators read a lesson, and review its changes, as learners get it.
package preview

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
)

// Width is the column that right-to-left messages are aligned to, about
// the width of a phone's chat bubble in a terminal.
const Width = 64

// Transcript is one lesson played through the engine.
type Transcript struct {
	Lesson   *lesson.Lesson
	Lang     bot.Lang
	Messages []Message
	// Unused are the answers given that the lesson did not take, because
	// it ended (or the learner left it) first.
	Unused []string
}

// Message is one message of the conversation, from the bot or the learner.
type Message struct {
	FromLearner bool
	// Step is the id of the step the message comes from or answers, or ""
	// when it comes from the engine itself (a hint, the end of the lesson).
	Step string
	// Note says more: "title" and "feedback" on bot messages; on the
	// learner's, why a default answer was chosen ("right answer",
	// "example", …), or "" for an answer that was given.
	Note  string
	Text  string
	Media string     // a link relative to the server, on bot messages
	SMS   locale.SMS // what the message costs as SMS (bot messages only)
}

// learnerID is the preview's learner; nothing is stored under it.
const learnerID = "whatsapp:+212600000000"

// maxTurns bounds a preview: a lesson is a few steps, and a question takes
// two tries at most, so a lesson that has not ended by then never will.
const maxTurns = 200

// start is the preview's clock: fixed, so that transcripts never change
// with the day they are made.
var start = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// Play takes lesson lessonID in lang, as a learner who has chosen lang and
// consented, on WhatsApp. It starts the lesson with dialog.Start, then
// answers each step that waits with the next of answers, typed as a
// learner would ("2", "150", "ma boutique"); when answers run out it answers
// right: a question's correct option, a survey's first, an input's Example
// (else a number within its bounds, or a short text). Play stops when the
// learner leaves the lesson, at its end or by a keyword among the answers.
// It fails with bot.NotFound for an unknown lesson, bot.Invalid for an
// unknown language or a lesson that never ends.
func Play(c *dialog.Content, lessonID string, lang bot.Lang, answers []string) (*Transcript, error) {
	const op = "preview.Play"
	if !lang.Valid() {
		return nil, bot.Errorf(op, bot.Invalid, "unknown language %q (want one of %s)", lang, langList())
	}
	les := c.Lessons.Lesson(lessonID)
	if les == nil {
		return nil, bot.Errorf(op, bot.NotFound, "no lesson %q", lessonID)
	}
	tr := &Transcript{Lesson: les, Lang: lang}
	now := start
	l := bot.Learner{ID: learnerID, Channel: bot.WhatsApp, Lang: lang, Consent: true, Phase: bot.PhaseMenu}
	out, err := dialog.Start(l, lessonID, now, c)
	if err != nil {
		return nil, err
	}
	tr.add(c, out, nil)
	l = out.Learner
	next := 0
	for turns := 0; l.Phase == bot.PhaseLesson; turns++ {
		if turns == maxTurns {
			return nil, bot.Errorf(op, bot.Invalid, "lesson %s in %s has not ended after %d answers", lessonID, lang, maxTurns)
		}
		st, _ := les.Step(l.Step)
		if st == nil {
			return nil, bot.Errorf(op, bot.Internal, "lesson %s: the learner waits at unknown step %q", lessonID, l.Step)
		}
		msg := Message{FromLearner: true, Step: st.ID}
		if next < len(answers) {
			msg.Text = answers[next]
			next++
		} else {
			msg.Text, msg.Note = defaultAnswer(lang, st)
		}
		tr.Messages = append(tr.Messages, msg)
		now = now.Add(time.Minute)
		out = dialog.Step(l, bot.Inbound{From: learnerID, Channel: bot.WhatsApp, Text: msg.Text}, now, c)
		tr.add(c, out, st)
		l = out.Learner
	}
	tr.Unused = answers[next:]
	return tr, nil
}

// add appends the replies of one turn, each with the step it comes from:
// a step's own message, or the feedback of an option of answered, the step
// the learner answered (nil when the lesson starts).
func (tr *Transcript) add(c *dialog.Content, out dialog.Outcome, answered *lesson.Step) {
	vars := out.Learner.Vars
	for i, r := range out.Replies {
		m := Message{Text: r.Text, Media: r.Media, SMS: locale.Segments(r.Text)}
		text := strings.TrimSpace(r.Text)
		switch {
		case answered == nil && i == 0:
			m.Note = "title"
		case answered != nil && isFeedback(tr.Lang, answered, vars, text):
			m.Step, m.Note = answered.ID, "feedback"
		default:
			m.Step = tr.stepSaying(vars, text)
		}
		tr.Messages = append(tr.Messages, m)
	}
}

// stepSaying returns the id of the lesson step whose message is text, or "".
func (tr *Transcript) stepSaying(vars map[string]string, text string) string {
	for _, st := range tr.Lesson.Steps {
		if strings.TrimSpace(dialog.StepText(tr.Lang, st, vars)) == text {
			return st.ID
		}
	}
	return ""
}

func isFeedback(lang bot.Lang, st *lesson.Step, vars map[string]string, text string) bool {
	for _, o := range st.Options {
		if f := dialog.FeedbackText(lang, o, vars); f != "" && strings.TrimSpace(f) == text {
			return true
		}
	}
	return false
}

// shortText is what a text input gets when it has no example: a product,
// in the learner's script.
var shortText = map[bot.Lang]string{
	bot.Darija:    "طاجين",
	bot.Arabic:    "طاجين",
	bot.French:    "tajine",
	bot.Tamazight: "ⵜⴰⵊⵉⵏ",
}

// defaultAnswer is the right answer to st, and why it is the one chosen.
func defaultAnswer(lang bot.Lang, st *lesson.Step) (answer, why string) {
	switch st.Kind {
	case lesson.Question:
		if i := st.Correct(); i >= 0 {
			return strconv.Itoa(i + 1), "right answer"
		}
		return "1", "first option"
	case lesson.Survey:
		return "1", "first option"
	case lesson.Input:
		switch {
		case st.Example != "":
			return st.Example, "example"
		case st.InputKind == "text":
			return shortText[lang], "a short text"
		}
		f := 40.0
		if st.Max != nil && f > *st.Max {
			f = *st.Max
		}
		if st.Min != nil && f < *st.Min {
			f = *st.Min
		}
		return strconv.FormatFloat(f, 'f', -1, 64), "a number in range"
	}
	return "1", ""
}

func langList() string {
	names := make([]string, len(bot.Langs))
	for i, l := range bot.Langs {
		names[i] = string(l)
	}
	return strings.Join(names, ", ")
}

// String returns the transcript as WriteTo writes it.
func (tr *Transcript) String() string {
	var b strings.Builder
	tr.write(&b)
	return b.String()
}

// WriteTo writes the transcript as text: a header line, then each message
// under a "──" line naming its sender, step and SMS cost, and a last line
// with the totals and the answers taken.
func (tr *Transcript) WriteTo(w io.Writer) (int64, error) {
	n, err := io.WriteString(w, tr.String())
	return int64(n), err
}

func (tr *Transcript) write(b *strings.Builder) {
	les := tr.Lesson
	head := []string{les.ID, les.Title.In(tr.Lang), string(tr.Lang), fmt.Sprintf("%d min", les.Minutes)}
	for _, d := range les.Drafts {
		if d == tr.Lang {
			head = append(head, "draft translation")
		}
	}
	b.WriteString(strings.Join(head, " · ") + "\n")

	bubbles, segments := 0, 0
	var taken []string
	for _, m := range tr.Messages {
		b.WriteString("\n── ")
		if m.FromLearner {
			taken = append(taken, m.Text)
			b.WriteString(join("learner", m.Step, m.Note) + "\n")
			b.WriteString(m.Text + "\n")
			continue
		}
		bubbles++
		segments += m.SMS.Segments
		b.WriteString(join("darsi", m.Step, m.Note, smsCost(m.SMS)) + "\n")
		for _, line := range strings.Split(strings.TrimRight(m.Text, "\n"), "\n") {
			if tr.Lang.RTL() {
				line = alignRight(line, Width)
			}
			b.WriteString(line + "\n")
		}
		if m.Media != "" {
			b.WriteString("[media: " + m.Media + "]\n")
		}
	}
	b.WriteString("\n── " + plural(bubbles, "message") + " from darsi, " + plural(segments, "SMS segment") +
		"; " + plural(len(taken), "answer"))
	if len(taken) > 0 {
		b.WriteString(": " + strings.Join(taken, ","))
	}
	b.WriteString("\n")
	if len(tr.Unused) > 0 {
		b.WriteString("── not used: " + strings.Join(tr.Unused, ",") + "\n")
	}
}

// join joins the parts of a message's header line that are not empty.
func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " · ")
}

func smsCost(s locale.SMS) string {
	return fmt.Sprintf("%s (%s, %d chars)", plural(s.Segments, "SMS segment"), s.Encoding, s.Units)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// alignRight pads line on the left so that it ends at column width, as a
// right-to-left message stands on a phone. A line as wide as width or wider
// is left as it is.
func alignRight(line string, width int) string {
	n := columns(line)
	if n == 0 || n >= width {
		return line
	}
	return strings.Repeat(" ", width-n) + line
}

// columns counts the runes of s that take a column: direction marks and
// isolates (format characters) and combining marks (Arabic vowel signs)
// take none.
func columns(s string) int {
	n := 0
	for _, r := range s {
		if !unicode.In(r, unicode.Cf, unicode.Mn, unicode.Me) {
			n++
		}
	}
	return n
}
