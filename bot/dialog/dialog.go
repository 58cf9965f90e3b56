// Package dialog is Darsi's conversation: a pure finite-state machine that
// takes a learner's state, one inbound message and the time, and returns the
// new state, the replies and the events (what happened: a lesson completed,
// a stop, a join). It does no I/O; the caller loads and saves, and reacts
// to the events.
package dialog

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
)

// Content is what the engine needs besides the learner: the lessons, the
// bot's own texts, and who is responsible for the learners' data.
type Content struct {
	Lessons *lesson.Catalog
	Text    *locale.Bundle
	// Controller names the organisation responsible for the learners'
	// data (DARSI_CONTROLLER), which the consent notice and the summary of
	// a learner's data name; "" when the operator named none, and then
	// they name nobody.
	Controller string
}

// Outcome is the result of one step of the conversation.
type Outcome struct {
	Learner bot.Learner
	Replies []bot.Reply
	// Events are what happened to the learner, in the order it happened.
	Events []Event
}

// Erased reports whether the learner confirmed that their data be deleted
// (an Erased event): the caller then deletes it, and Learner is not to be
// saved.
func (o Outcome) Erased() bool {
	return slices.ContainsFunc(o.Events, func(e Event) bool { return e.Kind == Erased })
}

// maxInput bounds how much of a message the engine reads. A learner's answer
// is a number, a choice or a few words; the rest of a pasted text only costs
// time.
const maxInput = 1000

// maxTries is how many wrong answers a question takes before the lesson
// shows the right one and goes on: a quiz is never a wall.
const maxTries = 2

// maxTextVar bounds a text the learner gives into a variable.
const maxTextVar = 200

// Step applies one inbound message to the learner's state. It never fails:
// whatever the input, the learner gets an answer and a way on. The outcome's
// events say what the message did beyond moving the learner along (a lesson
// completed, a stop, a join); most messages have none.
func Step(l bot.Learner, in bot.Inbound, now time.Time, c *Content) Outcome {
	l = clone(l)
	if l.ID == "" {
		l.ID = in.From
	}
	if l.Channel == "" {
		l.Channel = in.Channel
	}
	l.LastInboundAt = now
	l.UpdatedAt = now
	t := &turn{l: &l, c: c, now: now}
	t.handle(in)
	if !t.missed {
		l.Misses = 0
		l.Unclear = ""
	}
	// The name the learner shows on WhatsApp, once they agreed that their
	// data be kept (coaches see it).
	out := Outcome{Learner: l, Replies: t.finish(), Events: t.events}
	if l.Consent && !out.Erased() {
		if name := profileName(in.ProfileName); name != "" {
			out.Learner.Name = name
		}
	}
	return out
}

// Start puts the learner in the lesson lessonID at its first step, as
// choosing it from the menu does, and returns the replies: the lesson's
// title, then its messages up to the first step that waits for an answer
// (or to its end), and the events, as Step would (a LessonCompleted when no
// step waits). It is for callers that choose the lesson themselves, such as
// a preview; the learner is expected to have a language (else
// French is used). It fails with bot.NotFound when the catalog has no such
// lesson, and then returns the learner unchanged.
func Start(l bot.Learner, lessonID string, now time.Time, c *Content) (Outcome, error) {
	les := c.Lessons.Lesson(lessonID)
	if les == nil {
		return Outcome{Learner: l}, bot.Errorf("dialog.Start", bot.NotFound, "no lesson %q", lessonID)
	}
	l = clone(l)
	l.UpdatedAt = now
	// A detour (language, erase) left for the lesson is over.
	l.Resume = ""
	l.Misses = 0
	t := &turn{l: &l, c: c, now: now}
	t.startLesson(les)
	return Outcome{Learner: l, Replies: t.finish(), Events: t.events}, nil
}

// turn is one call of Step: the state being changed and the replies so far.
type turn struct {
	l       *bot.Learner
	c       *Content
	now     time.Time
	replies []bot.Reply
	events  []Event
	missed  bool   // the message was not understood
	text    string // the message, cleaned (cleanText)
	// neutral marks replies written in every language at once (the
	// language menu): they get no direction marks of one language.
	neutral map[int]bool
}

func (t *turn) lang() bot.Lang {
	if t.l.Lang.Valid() {
		return t.l.Lang
	}
	return bot.French
}

// say adds a reply in the learner's language.
func (t *turn) say(text string) {
	if strings.TrimSpace(text) != "" {
		t.replies = append(t.replies, bot.Reply{Text: text})
	}
}

func (t *turn) tr(id string, data map[string]any) string {
	return t.c.Text.T(t.lang(), id, data)
}

func (t *turn) finish() []bot.Reply {
	for i := range t.replies {
		if t.neutral[i] {
			continue
		}
		t.replies[i].Text = locale.Directional(t.lang(), t.replies[i].Text)
		if c := t.replies[i].Choice; c != nil {
			c.Body = locale.Directional(t.lang(), c.Body)
			for j := range c.Options {
				c.Options[j].Title = locale.Directional(t.lang(), c.Options[j].Title)
			}
		}
	}
	return t.replies
}

// scope names the question the learner is expected to answer now (see
// bot.Choice), "" when it is none with options to tap.
func (t *turn) scope() string {
	switch t.l.Phase {
	case bot.PhaseNew, bot.PhaseLanguage:
		return scopeLanguage
	case bot.PhaseMenu:
		return scopeMenu
	case bot.PhaseLesson:
		if st := t.currentStep(); st != nil && (st.Kind == lesson.Question || st.Kind == lesson.Survey) {
			return StepScope(t.l.Lesson, st.ID)
		}
	}
	return ""
}

// Scopes of the choices outside lessons.
const (
	scopeLanguage = "lang"
	scopeMenu     = "menu"
)

// StepScope is the scope of the choice of a lesson's step.
func StepScope(lessonID, stepID string) string { return lessonID + "/" + stepID }

// choice adds c to the last reply, with an option per title.
func (t *turn) choice(scope, body string, titles []string) {
	if len(t.replies) == 0 {
		return
	}
	c := &bot.Choice{Scope: scope, Body: strings.TrimSpace(body), Button: t.tr("ChoiceButton", nil)}
	if scope != scopeLanguage {
		c.Lang = t.lang()
	}
	for i, title := range titles {
		c.Options = append(c.Options, bot.ChoiceOption{ID: bot.ChoicePayload(scope, i+1), Title: strings.TrimSpace(title)})
	}
	t.replies[len(t.replies)-1].Choice = c
}

// maxName bounds a learner's profile name.
const maxName = 60

// profileName is a WhatsApp profile name made safe to keep and show: valid
// UTF-8, one line, no control characters, at most maxName characters.
func profileName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxName {
		s = string(r[:maxName])
	}
	return s
}

// cleanText makes any inbound text safe to read: valid UTF-8, no NUL bytes,
// bounded length.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	if utf8.RuneCountInString(s) > maxInput {
		r := []rune(s)
		s = string(r[:maxInput])
	}
	return strings.TrimSpace(s)
}

func (t *turn) handle(in bot.Inbound) {
	text := cleanText(in.Text)
	if p := cleanText(in.Payload); p != "" {
		if scope, n, ok := bot.ParseChoicePayload(p); ok {
			// A tap on one of our options answers by its number, whatever
			// the button said; a tap on an older question's button is
			// read as the words it carried (ButtonText, the Body).
			if scope == t.scope() {
				text = strconv.Itoa(n)
			}
		} else {
			text = p
		}
	}
	t.text = text
	b := t.c.Text
	intent := b.Intent(text)

	if in.JoinCohort != nil && t.join(in.JoinCohort) {
		return
	}

	if t.l.OptedOut {
		// A learner who stopped the bot keeps the rights of law 09-08: a
		// summary of their data, and its erasure, without opting in.
		switch {
		case t.l.Phase == bot.PhaseErase:
			// The answer to the erase question, below.
		case intent == locale.MyData:
			t.myData()
			t.say(t.tr("StillStopped", nil))
			return
		case intent == locale.Erase:
			t.detour(bot.PhaseErase)
			t.prompt()
			return
		case intent == locale.Start || intent == locale.Yes:
			t.l.OptedOut = false
			t.emit(Event{Kind: OptedIn})
			t.say(t.tr("Started", nil))
			t.prompt()
			return
		default:
			t.say(t.tr("StillStopped", nil))
			return
		}
	}

	if t.l.Phase == bot.PhaseNew {
		t.l.Phase = bot.PhaseLanguage
		if lang, ok := b.LanguageNamed(text); ok {
			t.chooseLanguage(lang)
			return
		}
		t.prompt()
		return
	}

	if text == "" {
		switch {
		case in.Latitude != "" || in.Longitude != "":
			t.miss("LocationThanks")
		case len(in.Media) > 0:
			t.miss("MediaUnreadable")
		default:
			t.miss("Unknown")
		}
		return
	}

	// The question a learner was asked for, unless they typed a keyword
	// instead (which leaves the question and does what it says).
	if t.l.Phase == bot.PhaseAsk {
		if intent == locale.NoIntent {
			if rest, ok := b.CoachWord(text); ok && rest != "" {
				text = rest
			}
			t.askCoach(text)
			return
		}
		t.l.Phase, t.l.Resume = t.l.Resume, ""
	}
	if rest, ok := b.CoachWord(text); ok {
		t.askCoach(rest)
		return
	}

	// A number typed at a number question is an answer, even "0", which is
	// otherwise the menu.
	if st := t.currentStep(); st != nil && st.Kind == lesson.Input && st.InputKind == "number" {
		if _, ok := locale.ParseNumber(text); ok {
			t.answerInput(st, text)
			return
		}
	}

	// The answer to a spaced review's question, which the outbox sent.
	// Anything else drops the review and is handled as usual.
	if review := t.l.Review; review != "" {
		t.l.Review = ""
		// A follow-up survey takes yes and no for its options too.
		followup := strings.HasPrefix(review, bot.FollowupPrefix) && (intent == locale.Yes || intent == locale.No)
		if t.l.Phase != bot.PhaseLesson && (intent == locale.NoIntent || followup) && t.answerReview(review, text) {
			return
		}
	}

	if t.global(intent, text) {
		return
	}

	switch t.l.Phase {
	case bot.PhaseLanguage:
		if n, ok := locale.Choice(text, len(bot.Langs)); ok {
			t.chooseLanguage(bot.Langs[n-1])
			return
		}
		if lang, ok := b.LanguageNamed(text); ok {
			t.chooseLanguage(lang)
			return
		}
	case bot.PhaseConsent:
		n, ok := locale.Choice(text, 2)
		switch {
		case (ok && n == 1) || intent == locale.Yes:
			if !t.l.Consent {
				t.emit(Event{Kind: ConsentGiven})
			}
			t.l.Consent = true
			t.say(t.tr("ConsentThanks", nil))
			t.l.Phase = bot.PhaseMenu
			t.prompt()
			return
		case (ok && n == 2) || intent == locale.No:
			t.say(t.tr("ConsentDeclined", nil))
			return
		}
	case bot.PhaseMenu:
		if n, ok := locale.Choice(text, len(t.c.Lessons.Courses)); ok {
			t.startCourse(t.c.Lessons.Courses[n-1])
			return
		}
		if course := t.courseNamed(text); course != nil {
			t.startCourse(course)
			return
		}
	case bot.PhaseLesson:
		if st := t.currentStep(); st != nil {
			t.answer(st, text, intent)
			return
		}
		t.resumeLesson()
		return
	case bot.PhaseDone:
		n, ok := locale.Choice(text, 1)
		if (ok && n == 1) || intent == locale.Yes {
			t.nextLesson()
			return
		}
	case bot.PhaseErase:
		n, ok := locale.Choice(text, 2)
		if (ok && n == 1) || intent == locale.Yes {
			t.emit(Event{Kind: Erased})
			t.say(t.tr("Erased", nil))
			return
		}
		t.say(t.tr("EraseCancelled", nil))
		t.l.Phase = t.l.Resume
		t.l.Resume = ""
		if t.l.OptedOut {
			t.say(t.tr("StillStopped", nil))
			return
		}
		t.prompt()
		return
	}
	t.unknown()
}

// global handles the keywords that work from any state. It reports whether
// the message was one.
func (t *turn) global(intent locale.Intent, text string) bool {
	if lang, ok := t.c.Text.LanguageNamed(text); ok && t.l.Phase != bot.PhaseLanguage {
		t.setLanguage(lang)
		return true
	}
	switch intent {
	case locale.Stop:
		// A learner already stopped reaches here only at the erase
		// question: stopping again is no new opt-out.
		if !t.l.OptedOut {
			t.emit(Event{Kind: OptedOut})
		}
		t.l.OptedOut = true
		t.say(t.tr("Stopped", nil))
	case locale.Language:
		t.detour(bot.PhaseLanguage)
		t.prompt()
	case locale.Help:
		t.say(t.tr("Help", nil))
		t.prompt()
	case locale.Repeat:
		t.prompt()
	case locale.Progress:
		done := t.completedCount()
		t.say(t.c.Text.N(t.lang(), "Progress", done, map[string]any{"Total": t.c.Lessons.Count()}))
		t.prompt()
	case locale.Erase:
		t.detour(bot.PhaseErase)
		t.prompt()
	case locale.MyData:
		t.myData()
		t.prompt()
	case locale.Menu:
		if !t.consented() {
			return true
		}
		t.l.Phase = bot.PhaseMenu
		t.prompt()
	case locale.Next, locale.Start:
		if !t.consented() {
			return true
		}
		switch t.l.Phase {
		case bot.PhaseLesson:
			if st := t.currentStep(); st != nil && intent == locale.Next {
				t.skip(st)
				return true
			}
			t.prompt()
		case bot.PhaseMenu, bot.PhaseDone:
			t.nextLesson()
		default:
			t.prompt()
		}
	default:
		return false
	}
	return true
}

// consented reports whether the learner may go on to lessons; if not, it
// asks again for consent (or a language first).
func (t *turn) consented() bool {
	if t.l.Consent && t.l.Lang.Valid() {
		return true
	}
	t.prompt()
	return false
}

// detour leaves the current phase for a question (language, erase) and
// remembers where to come back to.
func (t *turn) detour(p bot.Phase) {
	if t.l.Phase != p {
		t.l.Resume = t.l.Phase
	}
	t.l.Phase = p
}

func (t *turn) chooseLanguage(lang bot.Lang) {
	t.setLang(lang)
	t.say(t.tr("LanguageSet", nil))
	switch {
	case !t.l.Consent:
		t.l.Phase = bot.PhaseConsent
	case t.l.Resume != "" && t.l.Resume != bot.PhaseLanguage:
		t.l.Phase = t.l.Resume
	default:
		t.l.Phase = bot.PhaseMenu
	}
	t.l.Resume = ""
	t.prompt()
}

// setLanguage switches language from any phase and repeats where the
// learner stands, in the new language.
func (t *turn) setLanguage(lang bot.Lang) {
	if t.l.Phase == bot.PhaseNew || t.l.Phase == bot.PhaseLanguage {
		t.chooseLanguage(lang)
		return
	}
	t.setLang(lang)
	t.say(t.tr("LanguageSet", nil))
	t.prompt()
}

// setLang makes lang the learner's language. Choosing the language one
// already has changes nothing, so it is no event.
func (t *turn) setLang(lang bot.Lang) {
	if t.l.Lang != lang {
		t.emit(Event{Kind: LanguageChosen, Lang: lang})
	}
	t.l.Lang = lang
}

func (t *turn) unknown() { t.miss("Unknown") }

// missesBeforeHelp is how many messages in a row the bot may not understand
// before it explains, in full, how to answer.
const missesBeforeHelp = 3

// miss answers a message the bot could not use: a short hint, the full help
// after a few misses in a row, and the same question again.
func (t *turn) miss(hint string) {
	t.missed = true
	t.l.Misses++
	t.say(t.tr(hint, nil))
	if t.l.Misses == offerCoachAfter && t.l.Consent && t.text != "" {
		t.l.Unclear = cut(t.text, maxUnclear)
		t.say(t.tr("AskCoachOffer", nil))
	}
	if t.l.Misses >= missesBeforeHelp {
		t.say(t.tr("Help", nil))
		t.l.Misses = 0
	}
	t.prompt()
}

// prompt repeats the question the learner is expected to answer now.
func (t *turn) prompt() {
	switch t.l.Phase {
	case bot.PhaseNew, bot.PhaseLanguage:
		if t.neutral == nil {
			t.neutral = map[int]bool{}
		}
		t.neutral[len(t.replies)] = true
		t.replies = append(t.replies, bot.Reply{Text: t.languageMenu()})
		t.languageChoice()
	case bot.PhaseConsent:
		// The notice comes with every asking: the learner agrees to what
		// it says, in the language they read it in.
		t.say(t.consentNotice())
		t.say(t.tr("ConsentAsk", nil))
	case bot.PhaseMenu:
		t.say(t.menu())
		if courses := t.c.Lessons.Courses; len(courses) > 0 {
			titles := make([]string, len(courses))
			for i, c := range courses {
				titles[i] = c.Title.In(t.lang())
			}
			t.choice(scopeMenu, t.tr("MenuIntro", nil), titles)
		}
	case bot.PhaseLesson:
		if st := t.currentStep(); st != nil {
			t.ask(st)
			return
		}
		t.resumeLesson()
	case bot.PhaseDone:
		t.say(t.doneMenu())
	case bot.PhaseErase:
		t.say(t.tr("EraseAsk", nil))
	case bot.PhaseAsk:
		t.say(t.tr("AskCoachWhat", nil))
	}
}

// languageMenu is the first-contact menu: each language in its own script.
func (t *turn) languageMenu() string {
	var b strings.Builder
	for i, lang := range bot.Langs {
		if i > 0 {
			b.WriteString(" / ")
		}
		b.WriteString(t.c.Text.T(lang, "ChooseLanguage", nil))
	}
	for i, lang := range bot.Langs {
		b.WriteString("\n")
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString(" ")
		b.WriteString(t.c.Text.T(lang, "LanguageName", nil))
	}
	return b.String()
}

// languageChoice adds the language menu's options to the last reply: each
// language by its own name, under the question in every language.
func (t *turn) languageChoice() {
	var body, button []string
	titles := make([]string, len(bot.Langs))
	for i, lang := range bot.Langs {
		body = append(body, t.c.Text.T(lang, "ChooseLanguage", nil))
		titles[i] = t.c.Text.T(lang, "LanguageName", nil)
		if lang == bot.French || lang == bot.Arabic {
			button = append(button, t.c.Text.T(lang, "ChoiceButton", nil))
		}
	}
	t.choice(scopeLanguage, strings.Join(body, " / "), titles)
	c := t.replies[len(t.replies)-1].Choice
	c.Button = strings.Join(button, " / ")
	// A name in several scripts ("ⵜⴰⵎⴰⵣⵉⵖⵜ / Tamaziɣt / …") is too long
	// for a list's row: its first script is the row, the others are said
	// under it.
	for i, o := range c.Options {
		if first, rest, ok := strings.Cut(o.Title, " / "); ok && utf8.RuneCountInString(o.Title) > maxRow {
			c.Options[i].Title, c.Options[i].Description = first, rest
		}
	}
}

// maxRow is the most characters a row of WhatsApp's list shows.
const maxRow = 24

func (t *turn) menu() string {
	courses := t.c.Lessons.Courses
	if len(courses) == 0 {
		return t.tr("NoLessons", nil)
	}
	lines := []string{t.tr("MenuIntro", nil)}
	for i, c := range courses {
		done := 0
		for _, les := range c.Lessons {
			if t.l.Done(les.ID) {
				done++
			}
		}
		lines = append(lines, t.tr("MenuCourse", map[string]any{
			"N": i + 1, "Title": c.Title.In(t.lang()), "Done": done, "Total": len(c.Lessons),
		}))
	}
	lines = append(lines, t.tr("MenuFooter", nil))
	return strings.Join(lines, "\n")
}

func (t *turn) completedCount() int {
	n := 0
	for _, c := range t.l.Completed {
		if t.c.Lessons.Lesson(c.Lesson) != nil {
			n++
		}
	}
	return n
}

// courseNamed finds a course whose title the learner typed.
func (t *turn) courseNamed(text string) *lesson.Course {
	want := locale.Normalize(text)
	for _, c := range t.c.Lessons.Courses {
		if slices.Contains(c.Keys, want) {
			return c
		}
	}
	return nil
}

func clone(l bot.Learner) bot.Learner {
	l.Vars = cloneMap(l.Vars)
	l.Indicators = cloneMap(l.Indicators)
	l.Completed = append([]bot.Completion(nil), l.Completed...)
	l.Followups = append([]bot.FollowupAnswer(nil), l.Followups...)
	return l
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
