// Package lint checks lessons against the medium they travel on, beyond
// what the loader already refuses: the 5-minute budget of reading and
// answering, SMS segments and WhatsApp limits, stale translations,
// unreachable steps and dead ends, calcs that can divide by zero on the
// inputs allowed, media files, and the curriculum's own rules. It reports
// findings with file:line:col and a summary of every lesson per language.
package lint

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
)

// Severity says whether a finding blocks publishing.
type Severity string

// Severities: an error fails lint (and a reload); a warning is shown and
// counted but lets the lessons go live; a note is counted, and listed on
// demand (darsi lint --notes).
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Note    Severity = "note"
)

// Rules name what a finding is about, for tools that filter them.
const (
	RuleLoad        = "load"        // the loader refused the file
	RuleBudget      = "budget"      // reading and answering time over the lesson's minutes
	RuleBody        = "body"        // a message over WhatsApp's and SMS's 1,600 characters
	RuleButton      = "button"      // an option longer than a WhatsApp button title
	RuleStale       = "stale"       // a translation made from an older source text
	RuleUnreachable = "unreachable" // a step no path reaches
	RuleDeadEnd     = "dead-end"    // a step from which the lesson cannot end
	RuleDivZero     = "div-zero"    // a calc that can divide by zero
	RuleMedia       = "media"       // a missing, unsupported or oversized media file
	RuleCurriculum  = "curriculum"  // a lesson without a question, practice or closing survey
	RuleGlossary    = "glossary"    // a forbidden variant, a rule's match, a misspelt cast name; or a bad glossary
	RuleVerified    = "verified"    // sources without verified, or verified over 12 months ago
	RuleGSM         = "gsm"         // a character that alone makes an SMS UCS-2
	RuleNegative    = "negative"    // a calc result that can be negative, shown as an amount
	RulePlural      = "plural"      // a count shown without the plural form its number takes
	RuleMessages    = "messages"    // a dashboard message missing in a language, or with other placeholders or plural forms
)

// MaxVerifiedAge is how many months after verified a step's sources are
// due for a new check.
const MaxVerifiedAge = 12

// Finding is one thing lint has to say about a lesson file.
type Finding struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Severity Severity `json:"severity"`
	Rule     string   `json:"rule"`
	Lesson   string   `json:"lesson,omitempty"`
	Step     string   `json:"step,omitempty"`
	Lang     bot.Lang `json:"lang,omitempty"`
	Message  string   `json:"message"`
}

func (f Finding) String() string {
	if f.Severity != Error {
		return fmt.Sprintf("%s:%d:%d: %s: %s", f.File, f.Line, f.Col, f.Severity, f.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s", f.File, f.Line, f.Col, f.Message)
}

// Assumptions are the reading and answering speeds the budget is checked
// against.
type Assumptions struct {
	// WordsPerMinute is the reading speed per language. Learners read on
	// a phone, many with little schooling: the speeds are well below
	// those of practised readers, and lower for Darija and Tamazight,
	// which most learners rarely read written down.
	WordsPerMinute map[bot.Lang]float64 `json:"words_per_minute"`
	// Seconds to answer a question or survey, to type a number, to type a
	// text.
	ChoiceSeconds float64 `json:"choice_seconds"`
	NumberSeconds float64 `json:"number_seconds"`
	TextSeconds   float64 `json:"text_seconds"`
}

// DefaultAssumptions are the speeds lint uses unless told otherwise.
func DefaultAssumptions() Assumptions {
	return Assumptions{
		WordsPerMinute: map[bot.Lang]float64{bot.Darija: 90, bot.Arabic: 100, bot.French: 120, bot.Tamazight: 90},
		ChoiceSeconds:  10,
		NumberSeconds:  15,
		TextSeconds:    30,
	}
}

// WhatsApp's limits; a message body's is bot.MaxBody.
const (
	MaxButtonTitle = 20 // characters in a quick-reply button title
	MaxImageBytes  = 5 << 20
	MaxMediaBytes  = 16 << 20 // audio, video and documents
)

// mediaTypes are the file types WhatsApp takes, by extension, with their
// size limit.
var mediaTypes = map[string]int64{
	".jpg": MaxImageBytes, ".jpeg": MaxImageBytes, ".png": MaxImageBytes,
	".mp3": MaxMediaBytes, ".ogg": MaxMediaBytes, ".opus": MaxMediaBytes, ".amr": MaxMediaBytes,
	".aac": MaxMediaBytes, ".m4a": MaxMediaBytes,
	".mp4": MaxMediaBytes, ".3gp": MaxMediaBytes,
	".pdf": MaxMediaBytes,
}

// Options configure a run.
type Options struct {
	// Media is the media folder that steps' media paths are relative to;
	// nil means there is none, so any media is missing.
	Media fs.FS
	// MediaPrefix is how the media folder is named in findings.
	MediaPrefix string
	Assumptions Assumptions
	// Glossary is checked against every text; Load reads the folder's
	// glossary.yaml when it is nil.
	Glossary *Glossary
	// Locales is the folder of the bot's message files (ary.yaml, ar.yaml,
	// fr.yaml, zgh.yaml), checked against the glossary and for GSM-7 too,
	// and of the dashboard's (dash/fr.yaml, dash/ar.yaml), checked as
	// locale.LoadDashboard loads them and against the glossary; nil for
	// none. LocalesPrefix is how it is named in findings.
	Locales       fs.FS
	LocalesPrefix string
	// Now is the date lint runs (time.Now when nil): verified months are
	// measured from it.
	Now func() time.Time

	// src is the lesson folder, for positions inside texts; srcPrefix is
	// how files are named in findings.
	src       fs.FS
	srcPrefix string
}

// Usage is what a lesson costs in one language, along its longest path
// (every question answered once, its longest feedback read).
type Usage struct {
	Minutes  float64 `json:"minutes"`
	Words    int     `json:"words"`
	Messages int     `json:"messages"`
	Segments int     `json:"segments"`
	Chars    int     `json:"chars"`
	// SegmentsGSM is Segments once the characters that alone make a
	// message UCS-2 are replaced as lint suggests (rule gsm).
	SegmentsGSM int `json:"segments_gsm"`
}

// StepUsage is what one step's message costs in one language.
type StepUsage struct {
	// Chars is the message's length as Twilio counts it against
	// bot.MaxBody (bot.BodyLen): an emoji counts two.
	Chars    int             `json:"chars"`
	Segments int             `json:"segments"`
	Encoding locale.Encoding `json:"encoding"`
}

// StepReport is one step's messages.
type StepReport struct {
	ID    string                  `json:"id"`
	Line  int                     `json:"line"`
	Kind  string                  `json:"kind"`
	Langs map[bot.Lang]*StepUsage `json:"langs"`
}

// LessonReport sums a lesson up per language.
type LessonReport struct {
	Course  string              `json:"course"`
	Lesson  string              `json:"lesson"`
	File    string              `json:"file"`
	Budget  int                 `json:"budget_minutes"`
	Drafts  []bot.Lang          `json:"drafts"`
	Stale   map[bot.Lang]int    `json:"stale"`
	Langs   map[bot.Lang]*Usage `json:"langs"`
	Steps   []StepReport        `json:"steps"`
	TooLong []bot.Lang          `json:"over_budget,omitempty"`
}

// Report is the result of a lint run.
type Report struct {
	Courses     int            `json:"courses"`
	Lessons     []LessonReport `json:"lessons"`
	Findings    []Finding      `json:"findings"`
	Errors      int            `json:"errors"`
	Warnings    int            `json:"warnings"`
	Notes       int            `json:"notes"`
	Assumptions Assumptions    `json:"assumptions"`
	// GlossaryFile names the glossary checked, "" for none; Glossary
	// counts its warnings per language.
	GlossaryFile string           `json:"glossary_file"`
	Glossary     map[bot.Lang]int `json:"glossary"`
	// GSM counts, per language, the characters that alone made a message
	// UCS-2 (lessons and the bot's messages).
	GSM map[bot.Lang]map[string]int `json:"gsm"`
	// Aged lists the steps whose sources were verified over
	// MaxVerifiedAge months ago (or not at all).
	Aged []AgedStep `json:"aged_sources"`
}

// AgedStep is a step whose facts are due for a new check.
type AgedStep struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Lesson   string `json:"lesson"`
	Step     string `json:"step"`
	Verified string `json:"verified"` // "" when missing
}

func (r *Report) add(f Finding) {
	if f.Rule == RuleGlossary && f.Severity == Warning && f.Lang != "" {
		if r.Glossary == nil {
			r.Glossary = map[bot.Lang]int{}
		}
		r.Glossary[f.Lang]++
	}
	r.Findings = append(r.Findings, f)
	switch f.Severity {
	case Error:
		r.Errors++
	case Warning:
		r.Warnings++
	default:
		r.Notes++
	}
}

// Load loads the lessons in fsys (see lesson.Load) and lints them. When the
// loader refuses them, the report lists its problems as errors.
//
// The folder's glossary.yaml (lesson.GlossaryFile), when it has one and
// opts.Glossary is nil, is checked against every text; a glossary with
// mistakes is reported as errors.
func Load(fsys fs.FS, prefix string, opts Options) (*lesson.Catalog, *Report, error) {
	var gprobs []Finding
	if opts.Glossary == nil {
		if data, err := fs.ReadFile(fsys, lesson.GlossaryFile); err == nil {
			opts.Glossary, gprobs = ParseGlossary(data, path.Join(prefix, lesson.GlossaryFile))
		}
	}
	opts.src, opts.srcPrefix = fsys, prefix
	cat, err := lesson.Load(fsys, prefix)
	var probs lesson.Problems
	switch {
	case errors.As(err, &probs):
		r := &Report{Assumptions: opts.assumptions()}
		for _, p := range probs {
			r.add(Finding{File: p.File, Line: p.Line, Col: p.Col, Severity: Error, Rule: RuleLoad, Message: p.Msg})
		}
		for _, f := range gprobs {
			r.add(f)
		}
		return nil, r, nil
	case err != nil:
		return nil, nil, err
	}
	r := Run(cat, opts)
	for _, f := range gprobs {
		r.add(f)
	}
	return cat, r, nil
}

// source returns the text of a lesson file named as in findings, or nil.
func (o Options) source(file string) []byte {
	if o.src == nil {
		return nil
	}
	name := file
	if o.srcPrefix != "" {
		var ok bool
		if name, ok = strings.CutPrefix(file, o.srcPrefix+"/"); !ok {
			return nil
		}
	}
	data, err := fs.ReadFile(o.src, name)
	if err != nil {
		return nil
	}
	return data
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) assumptions() Assumptions {
	if o.Assumptions.WordsPerMinute == nil {
		return DefaultAssumptions()
	}
	return o.Assumptions
}

// Run lints a loaded catalog. Lessons are linted in parallel, one per
// processor; the report lists them in catalog order.
func Run(cat *lesson.Catalog, opts Options) *Report {
	r := &Report{Courses: len(cat.Courses), Assumptions: opts.assumptions()}
	if opts.Glossary != nil {
		r.GlossaryFile = opts.Glossary.File
	}
	var all []*lesson.Lesson
	for _, c := range cat.Courses {
		all = append(all, c.Lessons...)
	}
	type result struct {
		rep   LessonReport
		finds Report
	}
	results := make([]result, len(all))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(all)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(all) {
					return
				}
				results[i].rep = lintLesson(&results[i].finds, all[i], opts)
			}
		})
	}
	wg.Wait()
	for _, c := range cat.Courses {
		checkTexts(r, c.File, "", c.Source, []lesson.Text{c.Title}, nil)
		checkCourse(r, c)
		checkGlossary(r, opts.Glossary, c.File, "", nil, []lesson.Text{c.Title}, opts.source(c.File))
	}
	for _, res := range results {
		r.Lessons = append(r.Lessons, res.rep)
		for _, f := range res.finds.Findings {
			r.add(f)
		}
		r.Aged = append(r.Aged, res.finds.Aged...)
		for l, m := range res.finds.GSM {
			for c, n := range m {
				r.countGSM(l, c, n)
			}
		}
	}
	lintLocales(r, opts)
	lintDashboard(r, opts)
	return r
}

func (r *Report) countGSM(l bot.Lang, c string, n int) {
	if r.GSM == nil {
		r.GSM = map[bot.Lang]map[string]int{}
	}
	if r.GSM[l] == nil {
		r.GSM[l] = map[string]int{}
	}
	r.GSM[l][c] += n
}

// at makes a finding at pos in les.
func at(les *lesson.Lesson, st *lesson.Step, pos lesson.Pos, sev Severity, rule, msg string) Finding {
	f := Finding{File: les.File, Line: pos.Line, Col: pos.Col, Severity: sev, Rule: rule, Lesson: les.ID, Message: msg}
	if st != nil {
		f.Step = st.ID
	}
	return f
}

func lintLesson(r *Report, les *lesson.Lesson, opts Options) LessonReport {
	rep := LessonReport{
		Course: les.Course, Lesson: les.ID, File: les.File, Budget: les.Minutes,
		Drafts: les.Drafts, Stale: map[bot.Lang]int{}, Langs: map[bot.Lang]*Usage{},
	}
	if rep.Drafts == nil {
		rep.Drafts = []bot.Lang{}
	}
	checkFlow(r, les)
	checkDivisions(r, les)
	checkVerified(r, les, opts.now())
	src := opts.source(les.File)
	vars := sampleVars(les)
	// gsm[i][lang]: step i's message with the characters that alone make
	// it UCS-2 replaced; gsmFbs the same for its longest feedback.
	gsm := make([]map[bot.Lang]string, len(les.Steps))
	gsmFbs := make([]map[bot.Lang]string, len(les.Steps))
	// msgs[i][lang] is step i's message as sent; fbs[i][lang] its longest
	// feedback.
	msgs := make([]map[bot.Lang]string, len(les.Steps))
	fbs := make([]map[bot.Lang]string, len(les.Steps))
	for i, st := range les.Steps {
		msgs[i], fbs[i] = map[bot.Lang]string{}, map[bot.Lang]string{}
		gsm[i], gsmFbs[i] = map[bot.Lang]string{}, map[bot.Lang]string{}
		sr := StepReport{ID: st.ID, Line: st.Pos.Line, Kind: st.Kind.String(), Langs: map[bot.Lang]*StepUsage{}}
		for _, lang := range bot.Langs {
			text := dialog.StepText(lang, st, vars)
			msgs[i][lang] = text
			gsm[i][lang] = checkGSM(r, les, st, lang, text, src, append([]lesson.Text{st.Say, st.Ask}, optionTexts(st)...)...)
			sms := locale.Segments(text)
			n := bot.BodyLen(text)
			sr.Langs[lang] = &StepUsage{Chars: n, Segments: sms.Segments, Encoding: sms.Encoding}
			if n > bot.MaxBody {
				r.add(at(les, st, st.Pos, Error, RuleBody, fmt.Sprintf(
					"step %q is %d characters in %s; a WhatsApp or SMS message takes at most %d: split it into two steps",
					st.ID, n, lang, bot.MaxBody)))
			}
			for _, o := range st.Options {
				fb := dialog.FeedbackText(lang, o, vars)
				m := bot.BodyLen(fb)
				if m > bot.MaxBody {
					r.add(at(les, st, o.Feedback.Pos, Error, RuleBody, fmt.Sprintf(
						"feedback is %d characters in %s; a message takes at most %d", m, lang, bot.MaxBody)))
				}
				g := checkGSM(r, les, st, lang, fb, src, o.Feedback)
				if m > bot.BodyLen(fbs[i][lang]) {
					fbs[i][lang], gsmFbs[i][lang] = fb, g
				}
			}
		}
		checkButtons(r, les, st)
		checkMedia(r, les, st, opts)
		rep.Steps = append(rep.Steps, sr)
	}
	texts := []lesson.Text{les.Title}
	for _, st := range les.Steps {
		texts = append(texts, stepTexts(st)...)
	}
	checkTexts(r, les.File, les.ID, les.Source, texts, rep.Stale)
	checkCurriculum(r, les)
	for _, st := range les.Steps {
		checkGlossary(r, opts.Glossary, les.File, les.ID, st, stepTexts(st), src)
	}
	checkGlossary(r, opts.Glossary, les.File, les.ID, nil, []lesson.Text{les.Title}, src)
	checkNegative(r, les, src)
	checkPlurals(r, les, src)

	as := opts.assumptions()
	path := longestPath(les, as)
	for _, lang := range bot.Langs {
		u := &Usage{}
		seconds := 0.0
		for _, i := range path {
			u.add(msgs[i][lang])
			u.add(fbs[i][lang])
			u.SegmentsGSM += locale.Segments(gsm[i][lang]).Segments + locale.Segments(gsmFbs[i][lang]).Segments
			seconds += answerSeconds(les.Steps[i], as)
		}
		seconds += float64(u.Words) / as.WordsPerMinute[lang] * 60
		u.Minutes = math.Round(seconds/60*10) / 10
		rep.Langs[lang] = u
		if les.Minutes > 0 && seconds > float64(les.Minutes)*60 {
			rep.TooLong = append(rep.TooLong, lang)
			r.add(at(les, nil, les.MinutesPos, Error, RuleBudget, fmt.Sprintf(
				"lesson %q takes about %.1f minutes to read and answer in %s, over its budget of %d: shorten it or split it",
				les.ID, seconds/60, lang, les.Minutes)))
		}
	}
	return rep
}

func (u *Usage) add(text string) {
	if text == "" {
		return
	}
	u.Messages++
	u.Words += countWords(text)
	u.Chars += utf8.RuneCountInString(text)
	u.Segments += locale.Segments(text).Segments
}

// countWords counts runs of non-space characters, as strings.Fields
// would, without building them.
func countWords(s string) int {
	n, in := 0, false
	for _, r := range s {
		space := unicode.IsSpace(r)
		if !space && !in {
			n++
		}
		in = !space
	}
	return n
}

func answerSeconds(st *lesson.Step, as Assumptions) float64 {
	switch {
	case st.Kind == lesson.Question || st.Kind == lesson.Survey:
		return as.ChoiceSeconds
	case st.Kind == lesson.Input && st.InputKind == "number":
		return as.NumberSeconds
	case st.Kind == lesson.Input:
		return as.TextSeconds
	}
	return 0
}

// stepCost weighs a step for the longest path: its French words and its
// answering time; the path is the same in every language.
func stepCost(st *lesson.Step, as Assumptions) float64 {
	words := 0
	for _, t := range stepTexts(st) {
		words += len(strings.Fields(t.In(bot.French)))
	}
	return float64(words)/as.WordsPerMinute[bot.French]*60 + answerSeconds(st, as)
}

// longestPath returns the steps of the costliest way through the lesson
// from its first step to its end, each step once.
func longestPath(les *lesson.Lesson, as Assumptions) []int {
	n := len(les.Steps)
	best := make([]float64, n)
	next := make([]int, n)
	state := make([]int8, n) // 0 unseen, 1 on the stack, 2 done
	var visit func(i int) float64
	visit = func(i int) float64 {
		if i >= n {
			return 0
		}
		switch state[i] {
		case 1:
			return math.Inf(-1) // a loop back: not a way to the end
		case 2:
			return best[i]
		}
		state[i] = 1
		best[i], next[i] = math.Inf(-1), -1
		for _, j := range les.Successors(i) {
			if c := visit(j); c > best[i] || next[i] < 0 {
				best[i], next[i] = c, j
			}
		}
		best[i] += stepCost(les.Steps[i], as)
		state[i] = 2
		return best[i]
	}
	visit(0)
	var path []int
	for i, hops := 0, 0; i >= 0 && i < n && hops <= n; hops++ {
		path = append(path, i)
		i = next[i]
	}
	return path
}

// sampleVars gives each variable a typical value, so that texts are
// measured as a learner sees them: inputs take their example (or their
// min, or 1000), calcs are run on those.
func sampleVars(les *lesson.Lesson) map[string]string {
	vars := map[string]string{}
	for _, st := range les.Steps {
		if st.Kind != lesson.Input {
			continue
		}
		switch {
		case st.Example != "":
			if f, err := strconv.ParseFloat(st.Example, 64); err == nil && st.InputKind == "number" {
				vars[st.Var] = strconv.FormatFloat(f, 'f', -1, 64)
			} else {
				vars[st.Var] = st.Example
			}
		case st.InputKind == "number" && st.Min != nil && *st.Min > 0:
			vars[st.Var] = strconv.FormatFloat(*st.Min, 'f', -1, 64)
		case st.InputKind == "number":
			vars[st.Var] = "1000"
		default:
			vars[st.Var] = "xxxxxxxxxxxx"
		}
	}
	for _, st := range les.Steps {
		if st.Kind != lesson.Calc {
			continue
		}
		vals, err := st.Eval(vars)
		if err != nil {
			continue
		}
		for k, v := range vals {
			vars[k] = strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return vars
}

func stepTexts(st *lesson.Step) []lesson.Text {
	ts := []lesson.Text{st.Say, st.Ask}
	for _, o := range st.Options {
		ts = append(ts, o.Text, o.Feedback)
	}
	return ts
}

// checkTexts reports translations made from an older source text. stale
// counts them per language.
func checkTexts(r *Report, file, lessonID string, source bot.Lang, texts []lesson.Text, stale map[bot.Lang]int) {
	for _, t := range texts {
		if t.IsZero() || len(t.From) == 0 {
			continue
		}
		want := lesson.SourceHash(t.In(source))
		var redo []string
		for _, lang := range bot.Langs {
			if lang == source {
				continue
			}
			if h, ok := t.From[lang]; ok && h != want {
				redo = append(redo, string(lang))
				if stale != nil {
					stale[lang]++
				}
			}
		}
		if len(redo) > 0 {
			pos := t.FromPos
			r.add(Finding{File: file, Line: pos.Line, Col: pos.Col, Severity: Warning, Rule: RuleStale, Lesson: lessonID,
				Message: fmt.Sprintf("the %s text changed since the %s translation was made: redo it, then set from: %s (darsi stamp does it)",
					source, strings.Join(redo, ", "), want)})
		}
	}
}

// checkFlow reports steps no path reaches and steps from which the lesson
// cannot end.
func checkFlow(r *Report, les *lesson.Lesson) {
	n := len(les.Steps)
	reached := make([]bool, n+1)
	stack := []int{0}
	reached[0] = true
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if i >= n {
			continue
		}
		for _, j := range les.Successors(i) {
			if !reached[j] {
				reached[j] = true
				stack = append(stack, j)
			}
		}
	}
	// ends[i]: the end of the lesson can be reached from step i.
	ends := make([]bool, n+1)
	ends[n] = true
	for changed := true; changed; {
		changed = false
		for i := range les.Steps {
			if ends[i] {
				continue
			}
			for _, j := range les.Successors(i) {
				if ends[j] {
					ends[i], changed = true, true
					break
				}
			}
		}
	}
	for i, st := range les.Steps {
		switch {
		case !reached[i]:
			// Learners lose nothing, but the step was written and
			// translated for no one: a warning.
			r.add(at(les, st, st.Pos, Warning, RuleUnreachable, fmt.Sprintf(
				"step %q is never reached: no step goes to it", st.ID)))
		case !ends[i] && onCycle(les, i, ends):
			// Every step before a trap cannot end either; the trap's
			// own steps, which loop among themselves, are the ones to
			// fix.
			r.add(at(les, st, st.Pos, Error, RuleDeadEnd, fmt.Sprintf(
				"step %q is a dead end: every way on from it loops back, so the lesson never ends", st.ID)))
		}
	}
}

// onCycle reports whether step i can come back to itself through steps
// that cannot end the lesson.
func onCycle(les *lesson.Lesson, i int, ends []bool) bool {
	seen := make([]bool, len(les.Steps))
	stack := []int{i}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, j := range les.Successors(k) {
			if j == i {
				return true
			}
			if j < len(les.Steps) && !ends[j] && !seen[j] {
				seen[j] = true
				stack = append(stack, j)
			}
		}
	}
	return false
}

// checkDivisions reports calcs that can divide by zero on the inputs
// allowed.
func checkDivisions(r *Report, les *lesson.Lesson) {
	ranges, risks := calcRanges(les)
	for _, st := range les.Steps {
		for i := range st.Formulas {
			f := &st.Formulas[i]
			for _, z := range risks[f] {
				why := "its value is not bounded"
				if iv, ok := ranges[z.divisor]; ok {
					why = fmt.Sprintf("%s can be %s", z.divisor, iv)
				} else if !math.IsInf(z.can.lo, 0) || !math.IsInf(z.can.hi, 0) {
					why = fmt.Sprintf("it can be %s", z.can)
				}
				r.add(at(les, st, f.Pos, Error, RuleDivZero, fmt.Sprintf(
					"calc %s can divide by zero: it divides by %s, and %s on the inputs allowed; raise the input's min above 0 or divide by max(%s, 1)",
					f.Var, z.divisor, why, z.divisor)))
			}
		}
	}
}

// checkButtons notes options too long to become WhatsApp quick-reply
// buttons: they are sent as numbered lines, which always works.
func checkButtons(r *Report, les *lesson.Lesson, st *lesson.Step) {
	for _, o := range st.Options {
		var long []string
		for _, lang := range bot.Langs {
			if m := len([]rune(strings.TrimSpace(o.Text.In(lang)))); m > MaxButtonTitle {
				long = append(long, fmt.Sprintf("%s %d", lang, m))
			}
		}
		if len(long) > 0 {
			r.add(at(les, st, o.Text.Pos, Note, RuleButton, fmt.Sprintf(
				"option is longer than a WhatsApp button title (%d characters) in %s: it is sent as a numbered line",
				MaxButtonTitle, strings.Join(long, ", "))))
		}
	}
}

// checkMedia checks that a step's media exist and fit WhatsApp.
func checkMedia(r *Report, les *lesson.Lesson, st *lesson.Step, opts Options) {
	seen := map[string]bool{}
	for _, lang := range bot.Langs {
		p := st.MediaIn(lang)
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		name := path.Join(opts.MediaPrefix, p)
		limit, ok := mediaTypes[strings.ToLower(path.Ext(p))]
		if !ok {
			r.add(at(les, st, st.MediaPos, Error, RuleMedia, fmt.Sprintf(
				"media %s: WhatsApp does not take %q files; use jpg or png for images, mp3, ogg, m4a or amr for voice",
				name, path.Ext(p))))
			continue
		}
		if opts.Media == nil {
			r.add(at(les, st, st.MediaPos, Error, RuleMedia, fmt.Sprintf("media %s: there is no media folder", name)))
			continue
		}
		info, err := fs.Stat(opts.Media, p)
		switch {
		case err != nil:
			r.add(at(les, st, st.MediaPos, Error, RuleMedia, fmt.Sprintf("media %s does not exist", name)))
		case info.IsDir():
			r.add(at(les, st, st.MediaPos, Error, RuleMedia, fmt.Sprintf("media %s is a folder, not a file", name)))
		case info.Size() > limit:
			r.add(at(les, st, st.MediaPos, Error, RuleMedia, fmt.Sprintf(
				"media %s is %.1f MB; WhatsApp takes at most %d MB for this type", name, float64(info.Size())/(1<<20), limit>>20)))
		case info.Size() == 0:
			r.add(at(les, st, st.MediaPos, Error, RuleMedia, fmt.Sprintf("media %s is empty", name)))
		}
	}
}

// checkCurriculum checks what every lesson of the curriculum has: a
// question with feedback, and a step where learners work on their own
// numbers or business.
func checkCurriculum(r *Report, les *lesson.Lesson) {
	question, practice := false, false
	for _, st := range les.Steps {
		if st.Kind == lesson.Question && slices.ContainsFunc(st.Options, func(o lesson.Option) bool { return !o.Feedback.IsZero() }) {
			question = true
		}
		if st.Kind == lesson.Input {
			practice = true
		}
	}
	if !question {
		r.add(at(les, nil, les.Steps[0].Pos, Warning, RuleCurriculum, fmt.Sprintf(
			"lesson %q has no question with feedback: learners remember what they were asked", les.ID)))
	}
	if !practice {
		r.add(at(les, nil, les.Steps[0].Pos, Warning, RuleCurriculum, fmt.Sprintf(
			"lesson %q has no input step: let learners work with their own numbers or their own business", les.ID)))
	}
}

// checkCourse checks that a course ends with a survey, so that program
// managers see what changed.
func checkCourse(r *Report, c *lesson.Course) {
	if len(c.Lessons) == 0 {
		return
	}
	last := c.Lessons[len(c.Lessons)-1]
	if !slices.ContainsFunc(last.Steps, func(st *lesson.Step) bool { return st.Kind == lesson.Survey }) {
		r.add(Finding{File: last.File, Line: 1, Col: 1, Severity: Warning, Rule: RuleCurriculum, Lesson: last.ID,
			Message: fmt.Sprintf("course %q does not end with a survey: its last lesson %q should ask what changed (an indicator)", c.ID, last.ID)})
	}
}
