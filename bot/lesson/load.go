package lesson

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/locale"
)

// Problem is one mistake in a lesson file.
type Problem struct {
	File string
	Pos
	Msg string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
}

// Problems is the error Load returns: every mistake found, in file order.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// CourseFile is the name of the file that describes a course.
const CourseFile = "course.yaml"

// GlossaryFile, at the top of a lesson folder, holds the terms, forms of
// address and cast of every language; darsi lint reads it (package lint),
// the loader leaves it alone.
const GlossaryFile = "glossary.yaml"

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
var indicatorPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
var varPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
var verifiedPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// Load reads every course.yaml and lesson file (*.yaml) under fsys, validates
// them together and returns the catalog. Names in problems are paths inside
// fsys, prefixed with prefix (so that "darsi lint lessons/" points at real
// files). On any problem it returns a nil catalog and an error of type
// Problems listing all of them.
func Load(fsys fs.FS, prefix string) (*Catalog, error) {
	l := &loader{prefix: prefix}
	var files []parsed
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" || p == GlossaryFile {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files = append(files, parsed{name: p, data: data})
		return nil
	})
	if err != nil {
		return nil, bot.E("lesson.Load", bot.Invalid, err)
	}
	parseAll(files)
	for i := range files {
		l.file(files[i].name, &files[i])
	}
	cat := l.link()
	if len(l.probs) > 0 {
		sort.SliceStable(l.probs, func(i, j int) bool {
			a, b := l.probs[i], l.probs[j]
			if a.File != b.File {
				return a.File < b.File
			}
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Col < b.Col
		})
		return nil, l.probs
	}
	return cat, nil
}

type loader struct {
	prefix  string
	probs   Problems
	courses []*courseFile
	lessons []*Lesson
}

type courseFile struct {
	Course
	ids    []string
	idsPos []Pos
	pos    Pos
	// followups as written: resolved to their steps once the lessons
	// are loaded.
	followups []followupFile
}

type followupFile struct {
	weeks  int
	survey string
	pos    Pos
}

// maxFollowupWeeks bounds how long after a course a follow-up may come.
const maxFollowupWeeks = 104

// fileDecoder decodes one file's nodes, recording problems with positions.
type fileDecoder struct {
	l    *loader
	name string
}

func (d *fileDecoder) errorf(n *yaml.Node, format string, args ...any) {
	p := Pos{1, 1}
	if n != nil {
		p = Pos{n.Line, n.Column}
	}
	d.l.probs = append(d.l.probs, Problem{File: d.name, Pos: p, Msg: fmt.Sprintf(format, args...)})
}

func pos(n *yaml.Node) Pos { return Pos{n.Line, n.Column} }

// keys lists the keys each object of a lesson file accepts ("text" is a
// text's languages and FromKey). It is declared apart from the handlers so
// that a test can hold the JSON Schemas in lessons/schema, which give
// editors completion, to exactly these keys; fields holds the handlers to it.
var keys = map[string][]string{
	"course":   {"course", "title", "drafts", "source", "order", "lessons", "followup"},
	"followup": {"weeks", "survey"},
	"lesson":   {"course", "id", "minutes", "title", "drafts", "source", "steps"},
	"step":     {"id", "say", "ask", "options", "input", "var", "min", "max", "calc", "survey", "goto", "example", "media", "sources", "verified", "review"},
	"option":   {"text", "feedback", "correct", "value", "goto"},
	"text":     {"ary", "ar", "fr", "zgh", FromKey},
}

// fields walks a mapping node, calling each key's handler; unknown keys are
// reported. It panics if the handlers for what are not exactly keys[what]:
// that is a mistake in this file, which every test that loads a lesson
// catches.
func (d *fileDecoder) fields(n *yaml.Node, what string, handlers map[string]func(k, v *yaml.Node)) {
	if !declared(handlers, keys[what]) {
		panic(fmt.Sprintf("lesson: the %s handlers and keys[%q] differ: declare every key in keys and in lessons/schema", what, what))
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping", what)
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			d.errorf(k, "duplicate key %q in %s", k.Value, what)
			continue
		}
		seen[k.Value] = true
		h, ok := handlers[k.Value]
		if !ok {
			d.errorf(k, "unknown key %q in %s", k.Value, what)
			continue
		}
		h(k, v)
	}
}

// declared reports whether handlers has a handler for each key in want and
// no other (want holds no key twice).
func declared(handlers map[string]func(k, v *yaml.Node), want []string) bool {
	if len(handlers) != len(want) {
		return false
	}
	for _, k := range want {
		if _, ok := handlers[k]; !ok {
			return false
		}
	}
	return true
}

func (d *fileDecoder) str(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s must be a string", what)
		return ""
	}
	return n.Value
}

func (d *fileDecoder) id(n *yaml.Node, what string) string {
	s := d.str(n, what)
	if s != "" && !idPattern.MatchString(s) {
		d.errorf(n, "%s %q: use lower-case letters, digits and dashes", what, s)
	}
	return s
}

func (d *fileDecoder) number(n *yaml.Node, what string) *float64 {
	f, err := strconv.ParseFloat(d.str(n, what), 64)
	if err != nil {
		d.errorf(n, "%s must be a number", what)
		return nil
	}
	return &f
}

func (d *fileDecoder) langs(n *yaml.Node) []bot.Lang {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "drafts must be a list of language codes")
		return nil
	}
	var out []bot.Lang
	for _, c := range n.Content {
		lang := bot.Lang(c.Value)
		if !lang.Valid() {
			d.errorf(c, "unknown language %q (want one of ary, ar, fr, zgh)", c.Value)
			continue
		}
		out = append(out, lang)
	}
	return out
}

// text decodes a text given in every language.
func (d *fileDecoder) text(n *yaml.Node, what string) Text {
	t := Text{ByLang: map[bot.Lang]string{}, Pos: pos(n), Spots: map[bot.Lang]Spot{}}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must map each language (ary, ar, fr, zgh) to a text", what)
		return t
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == FromKey {
			t.From, t.FromPos = d.from(v, what), pos(k)
			continue
		}
		lang := bot.Lang(k.Value)
		if !lang.Valid() {
			d.errorf(k, "unknown language %q in %s (want one of ary, ar, fr, zgh)", k.Value, what)
			continue
		}
		if _, dup := t.ByLang[lang]; dup {
			d.errorf(k, "duplicate language %q in %s", k.Value, what)
			continue
		}
		s := d.str(v, what)
		if strings.TrimSpace(s) == "" {
			d.errorf(v, "empty %s text in %s", what, lang)
			continue
		}
		t.ByLang[lang] = s
		t.Spots[lang] = Spot{Pos: pos(v), Style: styleOf(v)}
		d.checkPlurals(v, lang, s)
	}
	for _, lang := range bot.Langs {
		if _, ok := t.ByLang[lang]; !ok {
			d.errorf(n, "missing translation: %s has no %s text", what, lang)
		}
	}
	return t
}

func styleOf(n *yaml.Node) Style {
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		return DoubleQuoted
	case n.Style&yaml.SingleQuotedStyle != 0:
		return SingleQuoted
	case n.Style&yaml.LiteralStyle != 0:
		return Literal
	case n.Style&yaml.FoldedStyle != 0:
		return Folded
	}
	return Plain
}

// checkPlurals checks the plural placeholders of a text in lang: each form
// is "category:text" with a category of lang's plural rule, given once,
// and "other" is among them.
func (d *fileDecoder) checkPlurals(n *yaml.Node, lang bot.Lang, s string) {
	for _, p := range PluralPlaceholders(s) {
		cats := locale.PluralForms(lang)
		seen := map[string]bool{}
		for _, f := range p.Forms {
			switch {
			case f.Category == "":
				d.errorf(n, "plural {{%s|…}} in %s: write each form as category:text, such as other:# semaines", p.Var, lang)
			case !slices.Contains(cats, f.Category):
				d.errorf(n, "plural {{%s|…}} in %s: %q is not a plural category of %s (%s)", p.Var, lang, f.Category, lang, strings.Join(cats, ", "))
			case seen[f.Category]:
				d.errorf(n, "plural {{%s|…}} in %s: the form %q is given twice", p.Var, lang, f.Category)
			}
			seen[f.Category] = true
		}
		if !seen["other"] {
			d.errorf(n, "plural {{%s|…}} in %s has no other: form, which every count falls back to", p.Var, lang)
		}
	}
}

// FromKey is the key of a text that records the source hash its
// translations were made from: one hash for every translation, or a map
// of language to hash.
const FromKey = "from"

var hashPattern = regexp.MustCompile(`^[0-9a-f]{8}$`)

func (d *fileDecoder) from(n *yaml.Node, what string) map[bot.Lang]string {
	return d.perLang(n, "from", "from in "+what+" must be a source hash, or a map of language to hash", func(v *yaml.Node) (string, bool) {
		h := d.str(v, "from")
		if !hashPattern.MatchString(h) {
			d.errorf(v, "from in %s must be a source hash of 8 hex digits (darsi lint prints it)", what)
			return "", false
		}
		return h, true
	})
}

// perLang decodes a value given once for every language or as a map of
// language to value (from, media); one decodes and checks each value, and
// wrong is the problem when n is neither.
func (d *fileDecoder) perLang(n *yaml.Node, key, wrong string, one func(v *yaml.Node) (string, bool)) map[bot.Lang]string {
	out := map[bot.Lang]string{}
	switch n.Kind {
	case yaml.ScalarNode:
		if v, ok := one(n); ok {
			for _, lang := range bot.Langs {
				out[lang] = v
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			lang := bot.Lang(k.Value)
			if !lang.Valid() {
				d.errorf(k, "unknown language %q in %s (want one of ary, ar, fr, zgh)", k.Value, key)
				continue
			}
			if x, ok := one(v); ok {
				out[lang] = x
			}
		}
	default:
		d.errorf(n, "%s", wrong)
	}
	return out
}

// sources decodes the references a step's facts come from: a list of
// texts, each naming a law, decree or official page.
func (d *fileDecoder) sources(n *yaml.Node) []string {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		d.errorf(n, "sources must be a list of references (law, decree, official page)")
		return nil
	}
	var out []string
	for _, e := range n.Content {
		if s := strings.TrimSpace(d.str(e, "source reference")); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// verified decodes the month a step's facts were last checked: YYYY-MM.
func (d *fileDecoder) verified(n *yaml.Node) string {
	s := d.str(n, "verified")
	if !verifiedPattern.MatchString(s) {
		d.errorf(n, "verified %q: give the month the sources were checked, as YYYY-MM", s)
		return ""
	}
	return s
}

// source decodes the language a file is written in first.
func (d *fileDecoder) source(n *yaml.Node) bot.Lang {
	lang := bot.Lang(d.str(n, "source"))
	if !lang.Valid() {
		d.errorf(n, "unknown source language %q (want one of ary, ar, fr, zgh)", n.Value)
		return bot.French
	}
	return lang
}

// media decodes a step's media: one file for every language, or a map of
// language to file. Paths are relative to the media folder.
func (d *fileDecoder) media(n *yaml.Node) map[bot.Lang]string {
	return d.perLang(n, "media", "media must be a file path, or a map of language to file path", func(v *yaml.Node) (string, bool) {
		p := d.str(v, "media")
		if p == "" || path.IsAbs(p) || !fs.ValidPath(p) || strings.HasPrefix(p, "media/") {
			d.errorf(v, "media %q: give a path inside the media folder, such as costing/fatima.jpg", p)
			return "", false
		}
		return p, true
	})
}

// parsed is one lesson file and its YAML tree.
type parsed struct {
	name string
	data []byte
	doc  yaml.Node
	err  error
}

// parseAll parses the files' YAML, one file at a time per processor:
// parsing is most of the time it takes to load a large folder.
func parseAll(files []parsed) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(files) {
					return
				}
				f := &files[i]
				f.err = yaml.Unmarshal(f.data, &f.doc)
			}
		})
	}
	wg.Wait()
}

func (l *loader) file(name string, f *parsed) {
	d := &fileDecoder{l: l, name: path.Join(l.prefix, name)}
	if f.err != nil {
		l.probs = append(l.probs, yamlProblem(d.name, f.err))
		return
	}
	doc := f.doc
	if len(doc.Content) == 0 {
		d.errorf(&doc, "empty file")
		return
	}
	root := doc.Content[0]
	if path.Base(name) == CourseFile {
		l.courses = append(l.courses, d.course(root))
		return
	}
	l.lessons = append(l.lessons, d.lesson(root))
}

// yamlProblem turns a YAML syntax error into a problem at its line.
func yamlProblem(file string, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ":"); ok {
			if x, err := strconv.Atoi(n); err == nil {
				line, msg = x, strings.TrimSpace(after)
			}
		}
	}
	return Problem{File: file, Pos: Pos{line, 1}, Msg: "not valid YAML: " + msg}
}

func (d *fileDecoder) course(n *yaml.Node) *courseFile {
	c := &courseFile{pos: pos(n)}
	c.File = d.name
	c.Source = bot.French
	d.fields(n, "course", map[string]func(k, v *yaml.Node){
		"course": func(_, v *yaml.Node) { c.ID = d.id(v, "course id") },
		"title":  func(_, v *yaml.Node) { c.Title = d.text(v, "title") },
		"drafts": func(_, v *yaml.Node) { c.Drafts = d.langs(v) },
		"source": func(_, v *yaml.Node) { c.Source = d.source(v) },
		"order": func(_, v *yaml.Node) {
			if o := d.number(v, "order"); o != nil {
				c.Order = *o
			}
		},
		"followup": func(_, v *yaml.Node) {
			if v.Kind != yaml.SequenceNode {
				d.errorf(v, "followup must be a list of {weeks, survey}")
				return
			}
			for _, e := range v.Content {
				f := followupFile{pos: pos(e)}
				d.fields(e, "followup", map[string]func(k, v *yaml.Node){
					"weeks": func(_, v *yaml.Node) {
						w, err := strconv.Atoi(v.Value)
						if v.Kind != yaml.ScalarNode || err != nil || w < 1 || w > maxFollowupWeeks {
							d.errorf(v, "followup weeks %q: want a whole number of weeks from 1 to %d", v.Value, maxFollowupWeeks)
							return
						}
						f.weeks = w
					},
					"survey": func(_, v *yaml.Node) { f.survey = d.str(v, "followup survey") },
				})
				if f.weeks == 0 || f.survey == "" {
					d.errorf(e, "a followup needs weeks and survey (the indicator of a survey step of the course)")
					continue
				}
				c.followups = append(c.followups, f)
			}
		},
		"lessons": func(_, v *yaml.Node) {
			if v.Kind != yaml.SequenceNode {
				d.errorf(v, "lessons must be a list of lesson ids")
				return
			}
			for _, e := range v.Content {
				c.ids = append(c.ids, d.str(e, "lesson id"))
				c.idsPos = append(c.idsPos, pos(e))
			}
		},
	})
	if c.ID == "" {
		d.errorf(n, "course has no id (course: …)")
	}
	if c.Title.IsZero() {
		d.errorf(n, "course has no title")
	}
	c.Keys = c.Title.Keys()
	if len(c.ids) == 0 {
		d.errorf(n, "course lists no lessons (lessons: [...])")
	}
	return c
}

func (d *fileDecoder) lesson(n *yaml.Node) *Lesson {
	les := &Lesson{File: d.name, index: map[string]int{}, Source: bot.French}
	var stepsNode *yaml.Node
	d.fields(n, "lesson", map[string]func(k, v *yaml.Node){
		"course": func(_, v *yaml.Node) { les.Course = d.id(v, "course id") },
		"id":     func(_, v *yaml.Node) { les.ID = d.id(v, "lesson id") },
		"minutes": func(_, v *yaml.Node) {
			m, err := strconv.Atoi(v.Value)
			if err != nil || m <= 0 {
				d.errorf(v, "minutes must be a whole number above 0")
			}
			les.Minutes, les.MinutesPos = m, pos(v)
		},
		"title":  func(_, v *yaml.Node) { les.Title = d.text(v, "title") },
		"drafts": func(_, v *yaml.Node) { les.Drafts = d.langs(v) },
		"source": func(_, v *yaml.Node) { les.Source = d.source(v) },
		"steps": func(_, v *yaml.Node) {
			stepsNode = v
			if v.Kind != yaml.SequenceNode {
				d.errorf(v, "steps must be a list")
				return
			}
			for _, sn := range v.Content {
				s := d.step(sn)
				if s.ID == "" {
					continue
				}
				if _, dup := les.index[s.ID]; dup {
					d.errorf(sn, "duplicate step id %q", s.ID)
					continue
				}
				les.index[s.ID] = len(les.Steps)
				les.Steps = append(les.Steps, s)
			}
		},
	})
	for _, missing := range []struct {
		ok   bool
		what string
	}{{les.ID != "", "id (id: …)"}, {les.Course != "", "course (course: …)"}, {!les.Title.IsZero(), "title"}} {
		if !missing.ok {
			d.errorf(n, "lesson has no %s", missing.what)
		}
	}
	if stepsNode == nil || len(les.Steps) == 0 {
		d.errorf(n, "lesson has no steps")
		return les
	}
	d.checkFlow(les)
	return les
}

// stepKeys are the keys that decide a step's kind.
var stepKinds = []struct {
	key  string
	kind Kind
}{{"survey", Survey}, {"input", Input}, {"calc", Calc}, {"options", Question}, {"say", Say}}

func (d *fileDecoder) step(n *yaml.Node) *Step {
	s := &Step{Pos: pos(n)}
	var optionsNode, calcNode, exampleNode *yaml.Node
	d.fields(n, "step", map[string]func(k, v *yaml.Node){
		"id":      func(_, v *yaml.Node) { s.ID = d.id(v, "step id") },
		"say":     func(_, v *yaml.Node) { s.Say = d.text(v, "say") },
		"ask":     func(_, v *yaml.Node) { s.Ask = d.text(v, "ask") },
		"options": func(_, v *yaml.Node) { optionsNode = v },
		"input": func(_, v *yaml.Node) {
			s.InputKind = d.str(v, "input")
			if s.InputKind != "number" && s.InputKind != "text" {
				d.errorf(v, "input must be number or text, not %q", s.InputKind)
			}
		},
		"var": func(_, v *yaml.Node) {
			s.Var = d.str(v, "var")
			if !varPattern.MatchString(s.Var) {
				d.errorf(v, "variable name %q: use letters, digits and _", s.Var)
			}
		},
		"min":  func(_, v *yaml.Node) { s.Min = d.number(v, "min") },
		"max":  func(_, v *yaml.Node) { s.Max = d.number(v, "max") },
		"calc": func(_, v *yaml.Node) { calcNode = v },
		"survey": func(_, v *yaml.Node) {
			s.Survey = d.str(v, "survey")
			if !indicatorPattern.MatchString(s.Survey) {
				d.errorf(v, "survey indicator %q: use lower-case letters, digits and _", s.Survey)
			}
		},
		"goto":     func(_, v *yaml.Node) { s.Goto = d.str(v, "goto") },
		"example":  func(_, v *yaml.Node) { s.Example = d.str(v, "example"); exampleNode = v },
		"media":    func(k, v *yaml.Node) { s.Media, s.MediaPos = d.media(v), pos(v) },
		"sources":  func(_, v *yaml.Node) { s.Sources, s.SourcesPos = d.sources(v), pos(v) },
		"verified": func(_, v *yaml.Node) { s.Verified, s.VerifiedPos = d.verified(v), pos(v) },
		"review": func(_, v *yaml.Node) {
			b, err := strconv.ParseBool(v.Value)
			if err != nil || v.Kind != yaml.ScalarNode {
				d.errorf(v, "review must be true or false")
			}
			s.Review = b
		},
	})
	if n.Kind != yaml.MappingNode {
		return s
	}
	if s.ID == "" {
		d.errorf(n, "step has no id")
	}
	if s.Verified != "" && len(s.Sources) == 0 {
		d.errorf(n, "step %q has verified but no sources: verified dates the check of its sources", s.ID)
	}
	present := map[string]bool{}
	for i := 0; i < len(n.Content); i += 2 {
		present[n.Content[i].Value] = true
	}
	for _, k := range stepKinds {
		if present[k.key] {
			s.Kind = k.kind
			break
		}
	}
	switch s.Kind {
	case 0:
		d.errorf(n, "step %q has no kind: give it say, ask with options, input, calc or survey", s.ID)
	case Say:
		d.only(n, present, s, "say", "media", "goto")
	case Question, Survey:
		if s.Ask.IsZero() {
			d.errorf(n, "%s step %q has no ask text", s.Kind, s.ID)
		}
		if optionsNode == nil {
			d.errorf(n, "%s step %q has no options", s.Kind, s.ID)
		} else {
			s.Options = d.options(optionsNode, s)
		}
		if s.Kind == Question {
			d.only(n, present, s, "ask", "options", "review", "media", "goto")
		} else {
			d.only(n, present, s, "ask", "options", "survey", "media", "goto")
		}
	case Input:
		if s.Ask.IsZero() {
			d.errorf(n, "input step %q has no ask text", s.ID)
		}
		if s.Var == "" {
			d.errorf(n, "input step %q has no var to keep the answer in", s.ID)
		}
		if s.InputKind == "text" && (s.Min != nil || s.Max != nil) {
			d.errorf(n, "text input step %q cannot have min or max", s.ID)
		}
		if s.Min != nil && s.Max != nil && *s.Min > *s.Max {
			d.errorf(n, "input step %q has min above max", s.ID)
		}
		if exampleNode != nil && s.InputKind == "number" {
			if f := d.number(exampleNode, "example"); f != nil &&
				((s.Min != nil && *f < *s.Min) || (s.Max != nil && *f > *s.Max)) {
				d.errorf(exampleNode, "example %s is outside min and max", s.Example)
			}
		}
		d.only(n, present, s, "input", "var", "ask", "min", "max", "example", "media", "goto")
	case Calc:
		s.Formulas = d.formulas(calcNode)
		d.only(n, present, s, "calc", "say", "media", "goto")
	}
	return s
}

// only reports keys that do not belong to the step's kind.
func (d *fileDecoder) only(n *yaml.Node, present map[string]bool, s *Step, allowed ...string) {
	ok := map[string]bool{"id": true, "sources": true, "verified": true}
	for _, a := range allowed {
		ok[a] = true
	}
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i]
		if present[k.Value] && !ok[k.Value] {
			d.errorf(k, "a %s step cannot have %q", s.Kind, k.Value)
		}
	}
}

func (d *fileDecoder) options(n *yaml.Node, s *Step) []Option {
	if n.Kind != yaml.SequenceNode || len(n.Content) < 2 {
		d.errorf(n, "options must be a list of at least two options")
		if n.Kind != yaml.SequenceNode {
			return nil
		}
	}
	var opts []Option
	for _, on := range n.Content {
		o := Option{Pos: pos(on)}
		d.fields(on, "option", map[string]func(k, v *yaml.Node){
			"text":     func(_, v *yaml.Node) { o.Text = d.text(v, "option text") },
			"feedback": func(_, v *yaml.Node) { o.Feedback = d.text(v, "feedback") },
			"correct": func(_, v *yaml.Node) {
				b, err := strconv.ParseBool(v.Value)
				if err != nil {
					d.errorf(v, "correct must be true or false")
				}
				o.Correct = b
			},
			"value": func(_, v *yaml.Node) { o.Value = d.str(v, "value") },
			"goto":  func(_, v *yaml.Node) { o.Goto = d.str(v, "goto") },
		})
		if o.Text.IsZero() {
			d.errorf(on, "option has no text")
		}
		o.Keys = o.Text.Keys()
		if s.Kind == Survey {
			if o.Value == "" {
				d.errorf(on, "survey option has no value")
			}
			if o.Correct {
				d.errorf(on, "a survey has no correct option")
			}
		}
		opts = append(opts, o)
	}
	if s.Kind == Question {
		correct := 0
		for _, o := range opts {
			if o.Correct {
				correct++
			}
		}
		switch {
		case correct == 0:
			d.errorf(n, "question %q has no correct option (correct: true)", s.ID)
		case correct > 1:
			d.errorf(n, "question %q has %d correct options; mark exactly one", s.ID, correct)
		}
	}
	return opts
}

func (d *fileDecoder) formulas(n *yaml.Node) []Formula {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		d.errorf(n, "calc must map variable names to expressions")
		return nil
	}
	var fs []Formula
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !varPattern.MatchString(k.Value) {
			d.errorf(k, "variable name %q: use letters, digits and _", k.Value)
			continue
		}
		fs = append(fs, Formula{Var: k.Value, Source: d.str(v, "calc expression"), Pos: pos(v)})
	}
	return fs
}

// link joins lessons to their courses and checks what spans files.
func (l *loader) link() *Catalog {
	cat := &Catalog{lessons: map[string]*Lesson{}, courses: map[string]*Course{}}
	lessonAt := map[string]*Lesson{}
	for _, les := range l.lessons {
		if les.ID == "" {
			continue
		}
		if prev, dup := lessonAt[les.ID]; dup {
			l.probs = append(l.probs, Problem{File: les.File, Pos: Pos{1, 1},
				Msg: fmt.Sprintf("duplicate lesson id %q (also in %s)", les.ID, prev.File)})
			continue
		}
		lessonAt[les.ID] = les
	}
	listed := map[string]bool{}
	for _, cf := range l.courses {
		if cf.ID == "" {
			continue
		}
		if prev, dup := cat.courses[cf.ID]; dup {
			l.probs = append(l.probs, Problem{File: cf.File, Pos: cf.pos,
				Msg: fmt.Sprintf("duplicate course id %q (also in %s)", cf.ID, prev.File)})
			continue
		}
		c := cf.Course
		for i, id := range cf.ids {
			les, ok := lessonAt[id]
			switch {
			case !ok:
				l.probs = append(l.probs, Problem{File: cf.File, Pos: cf.idsPos[i],
					Msg: fmt.Sprintf("course %q lists lesson %q, which does not exist", cf.ID, id)})
			case les.Course != cf.ID:
				l.probs = append(l.probs, Problem{File: cf.File, Pos: cf.idsPos[i],
					Msg: fmt.Sprintf("lesson %q belongs to course %q, not %q", id, les.Course, cf.ID)})
			case listed[id]:
				l.probs = append(l.probs, Problem{File: cf.File, Pos: cf.idsPos[i],
					Msg: fmt.Sprintf("lesson %q is listed twice", id)})
			default:
				listed[id] = true
				c.Lessons = append(c.Lessons, les)
				cat.lessons[id] = les
			}
		}
		for _, f := range cf.followups {
			var found *Step
			var in *Lesson
			for _, les := range c.Lessons {
				for _, st := range les.Steps {
					if st.Kind == Survey && st.Survey == f.survey && found == nil {
						found, in = st, les
					}
				}
			}
			if found == nil {
				l.probs = append(l.probs, Problem{File: cf.File, Pos: f.pos,
					Msg: fmt.Sprintf("followup survey %q: no survey step of course %q asks it", f.survey, cf.ID)})
				continue
			}
			c.Followups = append(c.Followups, Followup{After: time.Duration(f.weeks) * 7 * 24 * time.Hour,
				Lesson: in.ID, Step: found.ID, Survey: f.survey})
		}
		cat.courses[c.ID] = &c
		cat.Courses = append(cat.Courses, &c)
	}
	for _, les := range l.lessons {
		if les.ID != "" && les.Course != "" && !listed[les.ID] && lessonAt[les.ID] == les {
			msg := fmt.Sprintf("lesson %q is not listed in course %q", les.ID, les.Course)
			if cat.courses[les.Course] == nil {
				msg = fmt.Sprintf("course %q has no %s", les.Course, CourseFile)
			}
			l.probs = append(l.probs, Problem{File: les.File, Pos: Pos{1, 1}, Msg: msg})
		}
	}
	sort.SliceStable(cat.Courses, func(i, j int) bool {
		a, b := cat.Courses[i], cat.Courses[j]
		if a.Order != b.Order {
			return a.Order < b.Order
		}
		return a.ID < b.ID
	})
	return cat
}
