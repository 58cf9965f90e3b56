// Package locale holds what Darsi says and how it reads what learners type,
// in its four languages: the go-i18n message bundle, keywords and language
// names, input normalisation, numbers, and writing direction.
//
// go-i18n cannot carry Darsi's own language codes: it has no plural rule for
// "ary" or "zgh" and refuses their files, and its language matcher would
// serve "ar" to a Localizer asking for "ary". So each language is given a
// carrier tag that has a plural rule and that no other file uses:
//
//	ary → ar-MA      (Arabic plural rule: zero, one, two, few, many, other)
//	ar  → ar
//	fr  → fr         (one, many, other)
//	zgh → art-x-zgh  (go-i18n gives "art" the English rule: one, other)
//
// Callers only ever see bot.Lang. The bundle has no default language (its
// default is und, which holds no message), every lookup checks that the
// message came from the carrier asked for, and Load renders every message in
// every language once, so no language can silently fall back to another.
package locale

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"

	"github.com/darsi-ma/darsi/bot"
)

// carriers maps Darsi's languages to the go-i18n tags that carry them.
var carriers = map[bot.Lang]string{
	bot.Darija:    "ar-MA",
	bot.Arabic:    "ar",
	bot.French:    "fr",
	bot.Tamazight: "art-x-zgh",
}

// pluralForms lists, for each language, the plural forms a plural message
// must have: exactly those of the carrier's CLDR rule.
var pluralForms = map[bot.Lang][]string{
	bot.Darija:    {"zero", "one", "two", "few", "many", "other"},
	bot.Arabic:    {"zero", "one", "two", "few", "many", "other"},
	bot.French:    {"one", "many", "other"},
	bot.Tamazight: {"one", "other"},
}

// probeCounts reach every plural form of the four languages' rules: Arabic
// 0 zero, 1 one, 2 two, 3 few, 11 many, 100 other; French 1 one,
// 1000000 many, 2 other; English 1 one, 0 other.
var probeCounts = []int{0, 1, 2, 3, 11, 100, 1000000}

// reference is the language every other file is compared with.
const reference = bot.French

// Bundle holds the bot's messages in the four languages and the keywords.
// It is safe for concurrent use once loaded.
type Bundle struct {
	langs   []bot.Lang // the languages it holds: bot.Langs, or DashboardLangs
	tongues map[bot.Lang]*tongue
	plural  map[string]bool // every message ID; true for plural messages
	ids     []string
	intents *matcher[Intent]
	names   *matcher[bot.Lang]
	joins   *matcher[bool] // join words (JoinWord)
	coaches *matcher[bool] // coach words (CoachWord)
	// static holds, by language, the messages with neither placeholders
	// nor plural forms, rendered once at Load: most of what a turn says,
	// so that a message does not run go-i18n's templates for them.
	static map[bot.Lang]map[string]string
}

// tongue is one language in go-i18n.
type tongue struct {
	carrier   string
	localizer *i18n.Localizer
}

// Load reads the four message files (ary.yaml, ar.yaml, fr.yaml, zgh.yaml)
// and keywords.yaml from fsys (locales.FS in production).
//
// It fails if a file is missing or does not parse, if a language lacks any
// message that French has or has extra ones, if a plural message lacks or
// adds a plural form of its language, if a message uses a placeholder that
// French's does not use or misses one it uses, if any message fails to
// render, or if keywords.yaml is wrong (unknown intent, group or language, a
// keyword of two intents). The error is a *bot.Error of kind bot.Invalid that
// lists every problem, one a line.
func Load(fsys fs.FS) (*Bundle, error) {
	const op = "locale.Load"
	b, files, problems := loadMessages(fsys, "", bot.Langs)
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if b == nil {
		return nil, bot.E(op, bot.Invalid, errors.Join(problems...))
	}

	names := map[bot.Lang]string{}
	for lang, msgs := range files {
		if m := msgs["LanguageName"]; m != nil {
			names[lang] = m.Other
		}
	}
	if data, err := fs.ReadFile(fsys, "keywords.yaml"); err != nil {
		add("keywords.yaml: %w", err)
	} else {
		problems = append(problems, b.loadKeywords(data, names)...)
	}

	if len(problems) > 0 {
		return nil, bot.E(op, bot.Invalid, errors.Join(problems...))
	}
	return b, nil
}

// DashboardDir is the folder, inside the locales, of the coaches'
// dashboard's message files: dash/fr.yaml and dash/ar.yaml.
const DashboardDir = "dash"

// DashboardLangs are the languages of the coaches' dashboard, French (the
// reference and the default) first.
var DashboardLangs = []bot.Lang{bot.French, bot.Arabic}

// LoadDashboard reads the dashboard's message files, dash/fr.yaml and
// dash/ar.yaml, from fsys (locales.FS in production), with the checks of
// Load: the same message IDs and placeholders as French, exactly the
// plural forms of each language's CLDR rule (six for Arabic), every
// message rendered once. The bundle it returns answers T and N in
// DashboardLangs only; it has no keywords.
func LoadDashboard(fsys fs.FS) (*Bundle, error) {
	b, _, problems := loadMessages(fsys, DashboardDir, DashboardLangs)
	if len(problems) > 0 {
		return nil, bot.E("locale.LoadDashboard", bot.Invalid, errors.Join(problems...))
	}
	return b, nil
}

// A Problem is what is wrong with a message file: File names it ("ar.yaml",
// "dash/ar.yaml"), ID is the message it is about, "" for the whole file.
// LoadDashboard's and Load's errors wrap them; CheckDashboard lists them.
type Problem struct {
	File, ID string
	Err      error
}

func (p *Problem) Error() string { return p.Err.Error() }
func (p *Problem) Unwrap() error { return p.Err }

// CheckDashboard returns what LoadDashboard would refuse in the dashboard's
// message files of fsys, one Problem each; none when they load.
func CheckDashboard(fsys fs.FS) []*Problem {
	_, _, errs := loadMessages(fsys, DashboardDir, DashboardLangs)
	var out []*Problem
	for _, err := range errs {
		p, ok := err.(*Problem)
		if !ok {
			p = &Problem{Err: err}
			if name, _, found := strings.Cut(err.Error(), ": "); found && strings.HasSuffix(name, ".yaml") {
				p.File = name
			}
		}
		out = append(out, p)
	}
	return out
}

// loadMessages reads the message files of langs in folder dir of fsys ("" for
// its root) and checks them against French's. It returns the bundle, nil
// when French's file is missing, and each language's messages.
func loadMessages(fsys fs.FS, dir string, langs []bot.Lang) (*Bundle, map[bot.Lang]map[string]*i18n.Message, []error) {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	fileName := func(lang bot.Lang) string { return path.Join(dir, string(lang)+".yaml") }

	ib := i18n.NewBundle(language.Und)
	ib.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	files := map[bot.Lang]map[string]*i18n.Message{}
	for _, lang := range langs {
		name := fileName(lang)
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			add("%s: %w", name, err)
			continue
		}
		mf, err := ib.ParseMessageFileBytes(data, carriers[lang]+".yaml")
		if err != nil {
			add("%s: %w", name, err)
			continue
		}
		if got := mf.Tag.String(); got != carriers[lang] {
			add("%s: go-i18n read the tag %s, want %s", name, got, carriers[lang])
			continue
		}
		msgs := map[string]*i18n.Message{}
		for _, m := range mf.Messages {
			msgs[m.ID] = m
		}
		files[lang] = msgs
	}
	ref := files[reference]
	if ref == nil {
		return nil, files, problems
	}

	b := &Bundle{langs: slices.Clone(langs), tongues: map[bot.Lang]*tongue{}, plural: map[string]bool{}}
	fields := map[string][]string{} // placeholders of each message in French
	for id, m := range ref {
		b.plural[id] = isPlural(m)
		fields[id], _ = placeholders(m) // checkFile reports the error
	}
	b.ids = slices.Sorted(maps.Keys(ref))

	for _, lang := range langs {
		msgs := files[lang]
		if msgs == nil {
			continue
		}
		problems = append(problems, checkFile(fileName(lang), lang, msgs, b.plural, fields)...)
	}

	if len(problems) == 0 {
		for _, lang := range langs {
			b.tongues[lang] = &tongue{carrier: carriers[lang], localizer: i18n.NewLocalizer(ib, carriers[lang])}
		}
		problems = append(problems, b.precheck(fileName, fields)...)
	}
	if len(problems) == 0 {
		b.static = map[bot.Lang]map[string]string{}
		for _, lang := range langs {
			b.static[lang] = map[string]string{}
			for _, id := range b.ids {
				if b.plural[id] || len(fields[id]) > 0 {
					continue
				}
				s, err := b.localize(lang, id, nil, nil)
				if err != nil {
					add("%s: %s: %w", lang, id, err)
					continue
				}
				b.static[lang][id] = s
			}
		}
	}
	return b, files, problems
}

// checkFile compares one language's messages with French's.
func checkFile(name string, lang bot.Lang, msgs map[string]*i18n.Message, plural map[string]bool, fields map[string][]string) []error {
	var problems []error
	add := func(id, format string, args ...any) {
		problems = append(problems, &Problem{File: name, ID: id, Err: fmt.Errorf(name+": "+format, args...)})
	}
	for _, id := range slices.Sorted(maps.Keys(plural)) {
		m := msgs[id]
		if m == nil {
			add(id, "missing message %s", id)
			continue
		}
		forms := formsOf(m)
		switch {
		case plural[id]:
			want := pluralForms[lang]
			for _, f := range want {
				if !slices.Contains(forms, f) {
					add(id, "%s: missing plural form %q (%s needs %s)", id, f, lang, strings.Join(want, ", "))
				}
			}
			for _, f := range forms {
				if !slices.Contains(want, f) {
					add(id, "%s: plural form %q is not one of %s's (%s)", id, f, lang, strings.Join(want, ", "))
				}
			}
		case len(forms) == 0:
			add(id, "%s: empty message", id)
		case !slices.Equal(forms, []string{"other"}):
			add(id, "%s: has plural forms %v but is not a plural message in %s.yaml", id, forms, reference)
		}
		got, err := placeholders(m)
		if err != nil {
			add(id, "%s: %w", id, err)
			continue
		}
		for _, f := range fields[id] {
			if !slices.Contains(got, f) {
				add(id, "%s: lacks the placeholder {{.%s}}", id, f)
			}
		}
		for _, f := range got {
			if !slices.Contains(fields[id], f) {
				add(id, "%s: uses {{.%s}}, which %s.yaml does not", id, f, reference)
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(msgs)) {
		if _, ok := plural[id]; !ok {
			add(id, "message %s is not in %s.yaml", id, reference)
		}
	}
	return problems
}

// precheck renders every message in every language, every plural form
// included, so that a fallback or a template error cannot happen at run
// time.
func (b *Bundle) precheck(fileName func(bot.Lang) string, fields map[string][]string) []error {
	var problems []error
	for _, lang := range b.langs {
		for _, id := range b.ids {
			data := map[string]any{}
			for _, f := range fields[id] {
				data[f] = "x"
			}
			counts := []*int{nil}
			if b.plural[id] {
				counts = counts[:0]
				for _, c := range probeCounts {
					counts = append(counts, &c)
				}
			}
			for _, c := range counts {
				s, err := b.localize(lang, id, c, data)
				if err == nil && strings.Contains(s, "<no value>") {
					err = errors.New("renders <no value>")
				}
				if err != nil {
					problems = append(problems, &Problem{File: fileName(lang), ID: id, Err: fmt.Errorf("%s: %s: %w", fileName(lang), id, err)})
					break
				}
			}
		}
	}
	return problems
}

// localize renders message id in lang, with count selecting the plural form
// when it is not nil. It fails unless the text comes from lang's own file.
func (b *Bundle) localize(lang bot.Lang, id string, count *int, data map[string]any) (string, error) {
	s, tag, err := b.localizeWithTag(lang, id, count, data)
	if err != nil {
		return "", err
	}
	if want := b.tongues[lang].carrier; tag.String() != want {
		return "", fmt.Errorf("go-i18n answered in %s, want %s", tag, want)
	}
	return s, nil
}

// localizeWithTag is localize without the check of the tag go-i18n answers
// in, which it returns.
func (b *Bundle) localizeWithTag(lang bot.Lang, id string, count *int, data map[string]any) (string, language.Tag, error) {
	t := b.tongues[lang]
	if t == nil {
		return "", language.Und, fmt.Errorf("unknown language %q", lang)
	}
	lc := &i18n.LocalizeConfig{MessageID: id, TemplateData: data}
	if count != nil {
		lc.PluralCount = *count
	}
	return t.localizer.LocalizeWithTag(lc)
}

// T returns message id in lang, its template executed with data (which may
// be nil). A placeholder missing from data renders as "<no value>".
//
// Message IDs are constants of the code, and Load checked that every
// language has every message: an unknown id is a programming error, and T
// panics on it. An unknown lang is a programming error too, but it may come
// from stored data: T returns "" for it. A plural message rendered with T
// takes its "other" form; use N.
func (b *Bundle) T(lang bot.Lang, id string, data map[string]any) string {
	return b.render(lang, id, nil, data)
}

// N is T for a plural message: count selects the plural form of lang and is
// also available to the template as {{.Count}} (data is not modified). For
// a message that is not plural, count is only {{.Count}}.
func (b *Bundle) N(lang bot.Lang, id string, count int, data map[string]any) string {
	d := make(map[string]any, len(data)+1)
	maps.Copy(d, data)
	d["Count"] = count
	return b.render(lang, id, &count, d)
}

func (b *Bundle) render(lang bot.Lang, id string, count *int, data map[string]any) string {
	plural, ok := b.plural[id]
	if !ok {
		panic(fmt.Sprintf("locale: unknown message id %q", id))
	}
	if !plural {
		if s, ok := b.static[lang][id]; ok {
			return s
		}
		count = nil // go-i18n would look for the count's form, which only "other" has
	}
	s, err := b.localize(lang, id, count, data)
	if err != nil {
		return ""
	}
	return s
}

// Has reports whether id is one of the bundle's messages.
func (b *Bundle) Has(id string) bool {
	_, ok := b.plural[id]
	return ok
}

// Plural reports whether id is a plural message, to be rendered with N.
func (b *Bundle) Plural(id string) bool { return b.plural[id] }

// IDs returns the message IDs, sorted. It is meant for tests.
func (b *Bundle) IDs() []string { return slices.Clone(b.ids) }

// isPlural reports whether m has any plural form besides "other".
func isPlural(m *i18n.Message) bool {
	return m.Zero != "" || m.One != "" || m.Two != "" || m.Few != "" || m.Many != ""
}

// formsOf lists the plural forms m defines, in CLDR order.
func formsOf(m *i18n.Message) []string {
	var forms []string
	for _, f := range []struct {
		name, text string
	}{{"zero", m.Zero}, {"one", m.One}, {"two", m.Two}, {"few", m.Few}, {"many", m.Many}, {"other", m.Other}} {
		if f.text != "" {
			forms = append(forms, f.name)
		}
	}
	return forms
}

// placeholders returns the sorted field names ({{.Title}} → "Title") that
// the forms of m use, or the first template that does not parse.
func placeholders(m *i18n.Message) ([]string, error) {
	set := map[string]bool{}
	for _, src := range []string{m.Zero, m.One, m.Two, m.Few, m.Many, m.Other} {
		if src == "" {
			continue
		}
		t, err := template.New("").Parse(src)
		if err != nil {
			return nil, err
		}
		if t.Tree != nil {
			collectFields(t.Tree.Root, set)
		}
	}
	return slices.Sorted(maps.Keys(set)), nil
}

func collectFields(n parse.Node, set map[string]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil {
			for _, c := range n.Nodes {
				collectFields(c, set)
			}
		}
	case *parse.ActionNode:
		collectFields(n.Pipe, set)
	case *parse.PipeNode:
		if n != nil {
			for _, c := range n.Cmds {
				collectFields(c, set)
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			collectFields(a, set)
		}
	case *parse.FieldNode:
		set[n.Ident[0]] = true
	case *parse.ChainNode:
		collectFields(n.Node, set)
	case *parse.IfNode:
		collectBranch(&n.BranchNode, set)
	case *parse.RangeNode:
		collectBranch(&n.BranchNode, set)
	case *parse.WithNode:
		collectBranch(&n.BranchNode, set)
	case *parse.TemplateNode:
		collectFields(n.Pipe, set)
	}
}

func collectBranch(n *parse.BranchNode, set map[string]bool) {
	collectFields(n.Pipe, set)
	collectFields(n.List, set)
	if n.ElseList != nil {
		collectFields(n.ElseList, set)
	}
}
