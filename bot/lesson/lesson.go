// Package lesson loads and validates the YAML lessons that content authors
// write (see lessons/README.md), and gives the dialogue engine a read-only
// catalog of courses, lessons and steps.
package lesson

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/locale"
)

// End is the goto target that ends a lesson.
const End = "end"

// Pos is a place in a lesson file, 1-based.
type Pos struct {
	Line, Col int
}

// Text is one text in every language.
type Text struct {
	ByLang map[bot.Lang]string
	Pos    Pos
	// From records, for each translation, the SourceHash of the source
	// text it was made from (the "from" key). A translation whose hash no
	// longer matches its source is stale.
	From    map[bot.Lang]string
	FromPos Pos
	// Spots are where each language's text starts in the file, and how
	// it is written there, so that a finding inside a text can point at
	// its line and column.
	Spots map[bot.Lang]Spot
}

// Spot is where a text in one language starts in its file: the position
// of its YAML scalar and the scalar's style.
type Spot struct {
	Pos
	Style Style
}

// Style is how a YAML scalar is written.
type Style int

// Scalar styles: plain, 'single-quoted', "double-quoted", a literal block
// (|) and a folded block (>).
const (
	Plain Style = iota
	SingleQuoted
	DoubleQuoted
	Literal
	Folded
)

// SourceHash is the short hash a translation records of the source text it
// was made from: eight hex digits of the SHA-256 of the trimmed text.
func SourceHash(s string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(s)))
	return hex.EncodeToString(sum[:4])
}

// In returns the text in lang.
func (t Text) In(lang bot.Lang) string { return t.ByLang[lang] }

// Keys returns the text in every language, normalised for matching what
// learners type, without repeats.
func (t Text) Keys() []string {
	var keys []string
	for _, lang := range bot.Langs {
		if s, ok := t.ByLang[lang]; ok {
			if k := locale.Normalize(s); k != "" && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// IsZero reports whether the text was not given at all.
func (t Text) IsZero() bool { return len(t.ByLang) == 0 }

// Kind is the kind of a step.
type Kind int

// Step kinds.
const (
	Say Kind = iota + 1
	Question
	Input
	Calc
	Survey
)

func (k Kind) String() string {
	switch k {
	case Say:
		return "say"
	case Question:
		return "question"
	case Input:
		return "input"
	case Calc:
		return "calc"
	case Survey:
		return "survey"
	}
	return "unknown"
}

// Option is one answer of a question or a survey.
type Option struct {
	Text     Text
	Feedback Text
	Correct  bool
	Value    string // the indicator value a survey records
	Goto     string
	Pos      Pos
	// Keys are the option's texts, normalised for matching what a learner
	// types (see locale.Normalize), in every language.
	Keys []string
}

// Formula computes one variable.
type Formula struct {
	Var     string
	Source  string
	Program *vm.Program
	Pos     Pos
}

// Followup is a survey of a course asked again After the learner
// completed the course: the survey step Step of lesson Lesson, which sets
// the indicator Survey.
type Followup struct {
	After  time.Duration
	Lesson string
	Step   string
	Survey string
}

// Step is one message of a lesson.
type Step struct {
	ID   string
	Kind Kind
	Pos  Pos

	Say     Text // say and calc steps
	Ask     Text // question, input and survey steps
	Options []Option

	InputKind string // "number" or "text"
	Var       string
	Min, Max  *float64

	// Example is a typical answer to an input step: previews, golden
	// transcripts and lint play it.
	Example string

	// Media is a file under the media folder (lessons/media/) sent with
	// the step's message, per language.
	Media    map[bot.Lang]string
	MediaPos Pos

	// Sources name where the step's facts about law, tax or public
	// schemes come from.
	Sources    []string
	SourcesPos Pos
	// Verified is the month ("2026-03") the facts were last checked
	// against their sources; every step with sources has one.
	Verified    string
	VerifiedPos Pos

	// Review marks a question as one of the lesson's key questions, which
	// come back as spaced reviews.
	Review bool

	Formulas []Formula
	Survey   string // the indicator a survey step records
	Goto     string
}

// MediaIn returns the path of the step's media in lang under the media
// folder, or "".
func (s *Step) MediaIn(lang bot.Lang) string { return s.Media[lang] }

// Waits reports whether the step waits for the learner's answer.
func (s *Step) Waits() bool { return s.Kind == Question || s.Kind == Input || s.Kind == Survey }

// Correct returns the index of the correct option, or -1.
func (s *Step) Correct() int {
	for i, o := range s.Options {
		if o.Correct {
			return i
		}
	}
	return -1
}

// Lesson is a few steps that fit five minutes.
type Lesson struct {
	ID         string
	Course     string
	Minutes    int
	MinutesPos Pos
	Title      Text
	Drafts     []bot.Lang
	Steps      []*Step
	File       string
	// Source is the language the lesson is written in first; the other
	// languages are translations of it (default French).
	Source bot.Lang

	index map[string]int
}

// Step returns the step with the given id and its index, or nil and -1.
func (l *Lesson) Step(id string) (*Step, int) {
	i, ok := l.index[id]
	if !ok {
		return nil, -1
	}
	return l.Steps[i], i
}

// KeyQuestions returns the questions that come back as spaced reviews:
// those marked review, else the lesson's first question.
func (l *Lesson) KeyQuestions() []*Step {
	var keys []*Step
	var first *Step
	for _, s := range l.Steps {
		if s.Kind != Question {
			continue
		}
		if first == nil {
			first = s
		}
		if s.Review {
			keys = append(keys, s)
		}
	}
	if len(keys) == 0 && first != nil {
		keys = []*Step{first}
	}
	return keys
}

// Questions counts the lesson's questions (surveys have no right answer).
func (l *Lesson) Questions() int {
	n := 0
	for _, s := range l.Steps {
		if s.Kind == Question {
			n++
		}
	}
	return n
}

// Course is an ordered list of lessons.
type Course struct {
	ID      string
	Title   Text
	Lessons []*Lesson
	// Followups are the surveys asked again weeks after a learner
	// completed the course, so that an outcome is measured when it can
	// have changed (course.yaml's followup).
	Followups []Followup
	Drafts    []bot.Lang
	Order     float64 // courses are listed by order, then id
	File      string
	Source    bot.Lang // see Lesson.Source
	// Keys are the course's titles, normalised for matching.
	Keys []string
}

// Catalog is a validated, read-only set of courses. It is safe for
// concurrent use.
type Catalog struct {
	Courses []*Course
	lessons map[string]*Lesson
	courses map[string]*Course
}

// Lesson returns the lesson with the given id, or nil.
func (c *Catalog) Lesson(id string) *Lesson {
	if c == nil {
		return nil
	}
	return c.lessons[id]
}

// Course returns the course with the given id, or nil.
func (c *Catalog) Course(id string) *Course {
	if c == nil {
		return nil
	}
	return c.courses[id]
}

// NextLesson returns the lesson after id in its course, or nil.
func (c *Catalog) NextLesson(id string) *Lesson {
	l := c.Lesson(id)
	if l == nil {
		return nil
	}
	lessons := c.Course(l.Course).Lessons
	for i, x := range lessons {
		if x.ID == id && i+1 < len(lessons) {
			return lessons[i+1]
		}
	}
	return nil
}

// Count returns the number of lessons in the catalog.
func (c *Catalog) Count() int {
	if c == nil {
		return 0
	}
	return len(c.lessons)
}

// placeholder matches {{name}} and the plural form {{name|one:# semaine|other:# semaines}}.
var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\|[^{}]*)?\}\}`)

// Placeholders returns the variable names that text uses, in order.
func Placeholders(text string) []string {
	var names []string
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		names = append(names, m[1])
	}
	return names
}

// PluralForm is one form of a plural placeholder: its CLDR category and its
// text, in which # stands for the number.
type PluralForm struct {
	Category string
	Text     string
}

// PluralPlaceholder is a {{name|category:text|…}} in a text.
type PluralPlaceholder struct {
	Var   string
	Forms []PluralForm
	// Offset is where the placeholder starts in the text, in bytes.
	Offset int
}

// PluralPlaceholders returns the plural placeholders of text, in order.
// Each form is "category:text"; a form that is not is returned with an
// empty category, for the loader to report.
func PluralPlaceholders(text string) []PluralPlaceholder {
	var out []PluralPlaceholder
	for _, m := range placeholder.FindAllStringSubmatchIndex(text, -1) {
		if m[4] < 0 {
			continue
		}
		p := PluralPlaceholder{Var: text[m[2]:m[3]], Offset: m[0]}
		for _, f := range strings.Split(text[m[4]+1:m[5]], "|") {
			cat, form, ok := strings.Cut(f, ":")
			if !ok {
				cat, form = "", f
			}
			p.Forms = append(p.Forms, PluralForm{Category: strings.TrimSpace(cat), Text: strings.TrimSpace(form)})
		}
		out = append(out, p)
	}
	return out
}

// Render replaces each {{name}} in text with the learner's variable,
// through format for numbers. An unknown variable renders as "…", so that a
// learner never sees template syntax. A plural placeholder takes its
// "other" form: use RenderIn, which knows the language.
func Render(text string, vars map[string]string, format func(string) string) string {
	return RenderIn("", text, vars, format)
}

// RenderIn is Render in lang: a plural placeholder,
// {{weeks|one:# semaine|other:# semaines}}, takes the form of the CLDR
// category of the number in lang (locale.PluralCategory), or its "other"
// form when it has none for that category, with # replaced by the number.
func RenderIn(lang bot.Lang, text string, vars map[string]string, format func(string) string) string {
	if !strings.Contains(text, "{{") {
		return text
	}
	return placeholder.ReplaceAllStringFunc(text, func(m string) string {
		sub := placeholder.FindStringSubmatch(m)
		name := sub[1]
		v, ok := vars[name]
		if !ok {
			return "…"
		}
		shown := v
		if format != nil {
			shown = format(v)
		}
		if sub[2] == "" {
			return shown
		}
		forms := PluralPlaceholders(m)[0].Forms
		cat := "other"
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			cat = locale.PluralCategory(lang, f)
		}
		pick := ""
		for _, f := range forms {
			if f.Category == cat {
				pick = f.Text
				break
			}
			if f.Category == "other" {
				pick = f.Text
			}
		}
		return strings.ReplaceAll(pick, "#", shown)
	})
}

// Eval runs the step's formulas over vars and returns the computed values.
// Number variables are parsed from their stored form. It fails when a value
// is missing, not a number, or the result is not finite (a division by zero).
func (s *Step) Eval(vars map[string]string) (map[string]float64, error) {
	env := make(map[string]any, len(vars)+len(s.Formulas))
	for k, v := range vars {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			env[k] = f
		}
	}
	out := make(map[string]float64, len(s.Formulas))
	for _, f := range s.Formulas {
		res, err := vm.Run(f.Program, env)
		if err != nil {
			return nil, fmt.Errorf("calc %s: %w", f.Var, err)
		}
		x, ok := toFloat(res)
		if !ok || math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, fmt.Errorf("calc %s: result %v is not a finite number", f.Var, res)
		}
		env[f.Var] = x
		out[f.Var] = x
	}
	return out, nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}
