package lint

import (
	"fmt"
	"io/fs"
	"maps"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	"gopkg.in/yaml.v3"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
)

// optionTexts returns the texts of a step's options (not their feedback,
// which is a message of its own).
func optionTexts(st *lesson.Step) []lesson.Text {
	var ts []lesson.Text
	for _, o := range st.Options {
		ts = append(ts, o.Text)
	}
	return ts
}

// checkGSM notes, in one message in lang made of texts, each character
// that alone makes it UCS-2, with its replacement, and returns the message
// with them replaced (or msg itself when something else keeps it UCS-2).
func checkGSM(r *Report, les *lesson.Lesson, st *lesson.Step, lang bot.Lang, msg string, src []byte, texts ...lesson.Text) string {
	if msg == "" || locale.Segments(msg).Encoding == locale.GSM7 {
		return msg
	}
	repl, ok := gsmOnly(msg)
	if !ok {
		return msg
	}
	before, after := locale.Segments(msg).Segments, locale.Segments(repl).Segments
	for _, t := range texts {
		v, has := t.ByLang[lang]
		if !has {
			continue
		}
		offs, runes := forcing(v)
		for k, off := range offs {
			line, col := locate(src, t.Spots[lang], v, off, off+utf8.RuneLen(runes[k]))
			f := Finding{File: les.File, Line: line, Col: col, Severity: Note, Rule: RuleGSM, Lesson: les.ID, Lang: lang,
				Message: fmt.Sprintf("%q alone makes this %s message UCS-2 (%d SMS segments, %d in GSM-7): %s",
					charName(runes[k]), lang, before, after, gsmAdvice(runes[k]))}
			if st != nil {
				f.Step = st.ID
			}
			r.add(f)
			r.countGSM(lang, charName(runes[k]), 1)
		}
	}
	return repl
}

// checkGlossary reports what the glossary finds in texts, at the line and
// column of each finding in file (src is the file's text, or nil).
func checkGlossary(r *Report, g *Glossary, file, lessonID string, st *lesson.Step, texts []lesson.Text, src []byte) {
	if g == nil {
		return
	}
	for _, t := range texts {
		for _, lang := range bot.Langs {
			v, ok := t.ByLang[lang]
			if !ok {
				continue
			}
			v = norm.NFC.String(v)
			for _, h := range g.check(lang, v) {
				line, col := locate(src, t.Spots[lang], v, h.off, h.end)
				f := Finding{File: file, Line: line, Col: col, Severity: Warning, Rule: RuleGlossary, Lesson: lessonID, Lang: lang, Message: h.msg}
				if st != nil {
					f.Step = st.ID
				}
				r.add(f)
			}
		}
	}
}

// checkVerified checks the date of each step's sources: a step with
// sources must say when they were last checked (an error), and a check over
// MaxVerifiedAge months before now is due again (a warning); both are
// listed in the report's Aged.
func checkVerified(r *Report, les *lesson.Lesson, now time.Time) {
	for _, st := range les.Steps {
		if len(st.Sources) == 0 {
			continue
		}
		if st.Verified == "" {
			r.add(at(les, st, st.SourcesPos, Error, RuleVerified, fmt.Sprintf(
				"step %q has sources but no verified: check them and add verified: %s (the month of the check)", st.ID, now.Format("2006-01"))))
			r.Aged = append(r.Aged, AgedStep{File: les.File, Line: st.Pos.Line, Lesson: les.ID, Step: st.ID})
			continue
		}
		v, err := time.Parse("2006-01", st.Verified)
		if err != nil {
			continue // the loader reported it
		}
		months := (now.Year()-v.Year())*12 + int(now.Month()) - int(v.Month())
		switch {
		case months > MaxVerifiedAge:
			r.add(at(les, st, st.VerifiedPos, Warning, RuleVerified, fmt.Sprintf(
				"step %q: its sources were verified in %s, %d months ago: check the facts again and set verified to the month of the check",
				st.ID, st.Verified, months)))
			r.Aged = append(r.Aged, AgedStep{File: les.File, Line: st.Pos.Line, Lesson: les.ID, Step: st.ID, Verified: st.Verified})
		case months < 0:
			r.add(at(les, st, st.VerifiedPos, Warning, RuleVerified, fmt.Sprintf(
				"step %q: verified %s is a month to come; give the month the sources were checked", st.ID, st.Verified)))
		}
	}
}

// amountAfter matches what follows a placeholder shown as an amount of
// money or a share: DH, dirhams or percent, in every script.
var amountAfter = regexp.MustCompile(`^[\s\x{00a0}\x{202f}\x{2066}-\x{2069}]*(?i:dhs?\b|mad\b|dirhams?|درهم|دراهم|ⴷⵔⵀⵎ|%)`)

var placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\|[^{}]*)?\}\}`)

// checkNegative reports a calc result that can be negative on the inputs
// allowed where a text shows it as an amount (followed by DH, درهم, ⴷⵔⵀⵎ
// or %): a learner would read "-300 DH" without a word of explanation.
// The interval analysis says which results may be negative; a search of
// the inputs' ranges (their bounds, example and round values) must then
// find inputs that make it negative, which the warning names. Interval
// arithmetic alone cannot see that order - order × pct / 100 stays
// positive.
func checkNegative(r *Report, les *lesson.Lesson, src []byte) {
	ranges, _ := calcRanges(les)
	calc := map[string]bool{}
	for _, st := range les.Steps {
		for _, f := range st.Formulas {
			calc[f.Var] = true
		}
	}
	var witnesses map[string]string // computed on the first need
	langs := append([]bot.Lang{bot.French}, slices.DeleteFunc(slices.Clone(bot.Langs), func(l bot.Lang) bool { return l == bot.French })...)
	for _, st := range les.Steps {
		done := map[string]bool{}
		for _, t := range stepTexts(st) {
			for _, lang := range langs {
				v := t.ByLang[lang]
				for _, m := range placeholderRE.FindAllStringSubmatchIndex(v, -1) {
					name := v[m[2]:m[3]]
					iv, ok := ranges[name]
					if !calc[name] || !ok || iv.lo >= 0 || done[name] || !amountAfter.MatchString(v[m[1]:]) {
						continue
					}
					done[name] = true
					if witnesses == nil {
						witnesses = negativeWitnesses(les)
					}
					w, found := witnesses[name]
					if !found {
						continue
					}
					line, col := locate(src, t.Spots[lang], v, m[0], m[1])
					r.add(Finding{File: les.File, Line: line, Col: col, Severity: Warning, Rule: RuleNegative, Lesson: les.ID, Step: st.ID, Lang: lang,
						Message: fmt.Sprintf("{{%s}} is shown as an amount, but the calc can make it negative (%s): guard the calc (max(0, …), or a condition) and say what the case means",
							name, w)})
				}
			}
		}
	}
}

// maxWitnessRuns bounds the runs of a lesson's calcs in the search for
// negative results.
const maxWitnessRuns = 20000

// negativeWitnesses runs a lesson's calcs over combinations of its number
// inputs' notable values and returns, for each calc result that came out
// negative, the first inputs that made it so and its value.
func negativeWitnesses(les *lesson.Lesson) map[string]string {
	type input struct {
		name string
		vals []float64
	}
	var inputs []input
	seen := map[string]bool{}
	for _, st := range les.Steps {
		if st.Kind != lesson.Input || st.InputKind != "number" || seen[st.Var] {
			continue
		}
		seen[st.Var] = true
		lo, hi := math.Inf(-1), math.Inf(1)
		if st.Min != nil {
			lo = *st.Min
		}
		if st.Max != nil {
			hi = *st.Max
		}
		cands := []float64{lo, hi}
		if x, err := strconv.ParseFloat(st.Example, 64); err == nil {
			cands = append(cands, x)
		}
		cands = append(cands, 0, 1, 2, 10, 100, 1000, 100000)
		var vals []float64
		for _, c := range cands {
			if !math.IsInf(c, 0) && c >= lo && c <= hi && !slices.Contains(vals, c) {
				vals = append(vals, c)
			}
		}
		inputs = append(inputs, input{st.Var, vals})
	}
	out := map[string]string{}
	idx := make([]int, len(inputs))
	vars := map[string]string{}
	for run := 0; run < maxWitnessRuns; run++ {
		for i, in := range inputs {
			if len(in.vals) > 0 {
				vars[in.name] = strconv.FormatFloat(in.vals[idx[i]], 'f', -1, 64)
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
			for _, f := range st.Formulas {
				x := vals[f.Var]
				vars[f.Var] = strconv.FormatFloat(x, 'f', -1, 64)
				if _, had := out[f.Var]; !had && x < 0 {
					var with []string
					for _, in := range inputs {
						with = append(with, in.name+"="+vars[in.name])
					}
					out[f.Var] = fmt.Sprintf("%s with %s", locale.FormatNumber(x), strings.Join(with, ", "))
				}
			}
		}
		// The next combination, as a mixed-radix counter.
		i := 0
		for ; i < len(inputs); i++ {
			if idx[i]+1 < len(inputs[i].vals) {
				idx[i]++
				break
			}
			idx[i] = 0
		}
		if i == len(inputs) {
			break
		}
	}
	return out
}

// lintLocales checks the bot's message files against the glossary and
// notes the characters that alone make a message UCS-2.
func lintLocales(r *Report, opts Options) {
	if opts.Locales == nil {
		return
	}
	for _, lang := range bot.Langs {
		name := string(lang) + ".yaml"
		data, err := fs.ReadFile(opts.Locales, name)
		if err != nil {
			continue // locale.Load and its tests require every file
		}
		file := path.Join(opts.LocalesPrefix, name)
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		root := doc.Content[0]
		for i := 0; i+1 < len(root.Content); i += 2 {
			id, v := root.Content[i].Value, root.Content[i+1]
			var scalars []*yaml.Node
			switch v.Kind {
			case yaml.ScalarNode:
				scalars = []*yaml.Node{v}
			case yaml.MappingNode: // plural forms, or {other: …}
				for j := 1; j < len(v.Content); j += 2 {
					if v.Content[j].Kind == yaml.ScalarNode {
						scalars = append(scalars, v.Content[j])
					}
				}
			}
			for _, sc := range scalars {
				lintLocaleText(r, opts.Glossary, file, id, lang, sc, data)
			}
		}
	}
}

// lintDashboard checks the coaches' dashboard's message files (dash/fr.yaml
// and dash/ar.yaml beside the bot's) as locale.LoadDashboard does: an
// error for a message one language lacks or adds, a placeholder French
// does not use or one it misses, a missing or extra plural form, a message
// that does not render; and a warning where a text uses a word the
// glossary's terms avoid. Neither the glossary's rules nor GSM-7 notes: they
// are for SMS, and the dashboard is read on a screen.
func lintDashboard(r *Report, opts Options) {
	if opts.Locales == nil {
		return
	}
	if _, err := fs.Stat(opts.Locales, path.Join(locale.DashboardDir, "fr.yaml")); err != nil {
		return
	}
	keys := map[string]map[string]*yaml.Node{} // file → id → its key
	docs := map[string][]byte{}
	for _, lang := range locale.DashboardLangs {
		name := path.Join(locale.DashboardDir, string(lang)+".yaml")
		data, err := fs.ReadFile(opts.Locales, name)
		if err != nil {
			continue // CheckDashboard reports it
		}
		docs[name] = data
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		keys[name] = map[string]*yaml.Node{}
		root := doc.Content[0]
		for i := 0; i+1 < len(root.Content); i += 2 {
			id, v := root.Content[i], root.Content[i+1]
			keys[name][id.Value] = id
			var scalars []*yaml.Node
			switch v.Kind {
			case yaml.ScalarNode:
				scalars = []*yaml.Node{v}
			case yaml.MappingNode:
				for j := 1; j < len(v.Content); j += 2 {
					if v.Content[j].Kind == yaml.ScalarNode {
						scalars = append(scalars, v.Content[j])
					}
				}
			}
			if opts.Glossary == nil {
				continue
			}
			for _, sc := range scalars {
				spot := lesson.Spot{Pos: lesson.Pos{Line: sc.Line, Col: sc.Column}, Style: scalarStyle(sc)}
				text := norm.NFC.String(sc.Value)
				for _, h := range opts.Glossary.check(lang, text) {
					if h.rule {
						continue // the rules are for SMS (quotes, units); the terms hold for coaches too
					}
					line, col := locate(data, spot, text, h.off, h.end)
					r.add(Finding{File: path.Join(opts.LocalesPrefix, name), Line: line, Col: col, Severity: Warning,
						Rule: RuleGlossary, Step: id.Value, Lang: lang, Message: h.msg})
				}
			}
		}
	}
	for _, p := range locale.CheckDashboard(opts.Locales) {
		f := Finding{File: path.Join(opts.LocalesPrefix, p.File), Line: 1, Col: 1, Severity: Error, Rule: RuleMessages,
			Step: p.ID, Message: strings.TrimPrefix(p.Error(), p.File+": ")}
		if p.File == "" {
			f.File = path.Join(opts.LocalesPrefix, locale.DashboardDir)
		}
		if k := keys[p.File][p.ID]; k != nil {
			f.Line, f.Col = k.Line, k.Column
		}
		r.add(f)
	}
}

func lintLocaleText(r *Report, g *Glossary, file, id string, lang bot.Lang, n *yaml.Node, src []byte) {
	spot := lesson.Spot{Pos: lesson.Pos{Line: n.Line, Col: n.Column}, Style: scalarStyle(n)}
	v := norm.NFC.String(n.Value)
	if g != nil {
		for _, h := range g.check(lang, v) {
			line, col := locate(src, spot, v, h.off, h.end)
			r.add(Finding{File: file, Line: line, Col: col, Severity: Warning, Rule: RuleGlossary, Step: id, Lang: lang, Message: h.msg})
		}
	}
	msg := locale.Directional(lang, v)
	if locale.Segments(msg).Encoding == locale.GSM7 {
		return
	}
	repl, ok := gsmOnly(msg)
	if !ok {
		return
	}
	before, after := locale.Segments(msg).Segments, locale.Segments(repl).Segments
	offs, runes := forcing(v)
	for k, off := range offs {
		line, col := locate(src, spot, v, off, off+utf8.RuneLen(runes[k]))
		r.add(Finding{File: file, Line: line, Col: col, Severity: Note, Rule: RuleGSM, Step: id, Lang: lang,
			Message: fmt.Sprintf("%q alone makes the %s message %s UCS-2 (%d SMS segments, %d in GSM-7): %s",
				charName(runes[k]), lang, id, before, after, gsmAdvice(runes[k]))})
		r.countGSM(lang, charName(runes[k]), 1)
	}
}

func scalarStyle(n *yaml.Node) lesson.Style {
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		return lesson.DoubleQuoted
	case n.Style&yaml.SingleQuotedStyle != 0:
		return lesson.SingleQuoted
	case n.Style&yaml.LiteralStyle != 0:
		return lesson.Literal
	case n.Style&yaml.FoldedStyle != 0:
		return lesson.Folded
	}
	return lesson.Plain
}

// lessonYAMLProblem turns a YAML syntax error into a problem at its line.
func lessonYAMLProblem(file string, err error) lesson.Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ":"); ok {
			if x, err := strconv.Atoi(n); err == nil {
				line, msg = x, strings.TrimSpace(after)
			}
		}
	}
	return lesson.Problem{File: file, Pos: lesson.Pos{Line: line, Col: 1}, Msg: "not valid YAML: " + msg}
}

// sortedCounts lists m's keys by count, then by key.
func sortedCounts(m map[string]int) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	return keys
}

// pluralProbes are counts that reach every plural category of the four
// languages' rules.
var pluralProbes = []float64{0, 1, 2, 3, 11, 100, 1000000}

// frNotNouns are French words ending in s or x that follow a number without
// being a noun in the plural.
var frNotNouns = map[string]bool{
	"dans": true, "sous": true, "vers": true, "plus": true, "moins": true, "mais": true, "puis": true, "alors": true,
	"après": true, "très": true, "tous": true, "sans": true, "pas": true, "fois": true, "mois": true, "prix": true,
	"dh": true, "dhs": true, "chez": true, "depuis": true, "jamais": true, "toujours": true, "ainsi": true,
}

var frNounAfter = regexp.MustCompile(`^ ([a-zàâäéèêëîïôöùûüç]{3,}[sx])\b`)

// checkPlurals checks the count words of a lesson's texts: a plural
// placeholder lacking the form of a category its variable can take (a
// warning: it falls back to other), and in French a number followed by a
// noun in the plural, which reads "1 semaines" (a note).
func checkPlurals(r *Report, les *lesson.Lesson, src []byte) {
	ranges, _ := calcRanges(les)
	numbers := map[string]bool{}
	for _, st := range les.Steps {
		if st.Kind == lesson.Input && st.InputKind == "number" {
			numbers[st.Var] = true
		}
		for _, f := range st.Formulas {
			numbers[f.Var] = true
		}
	}
	for _, st := range les.Steps {
		for _, t := range stepTexts(st) {
			for _, lang := range bot.Langs {
				v, ok := t.ByLang[lang]
				if !ok {
					continue
				}
				for _, p := range lesson.PluralPlaceholders(v) {
					iv, known := ranges[p.Var]
					if !known {
						iv = anything
					}
					has := map[string]bool{}
					for _, f := range p.Forms {
						has[f.Category] = true
					}
					var missing []string
					for _, c := range pluralProbes {
						if c < iv.lo || c > iv.hi {
							continue
						}
						if cat := locale.PluralCategory(lang, c); !has[cat] && !slices.Contains(missing, cat) {
							missing = append(missing, cat)
							line, col := locate(src, t.Spots[lang], v, p.Offset, p.Offset+2)
							r.add(Finding{File: les.File, Line: line, Col: col, Severity: Warning, Rule: RulePlural, Lesson: les.ID, Step: st.ID, Lang: lang,
								Message: fmt.Sprintf("{{%s|…}} has no %s: form, which %s takes in %s (%s can be %s): it reads as the other: form",
									p.Var, cat, locale.FormatNumber(c), lang, p.Var, iv)})
						}
					}
				}
				if lang != bot.French {
					continue
				}
				for _, m := range placeholderRE.FindAllStringSubmatchIndex(v, -1) {
					name := v[m[2]:m[3]]
					if m[4] >= 0 || !numbers[name] {
						continue
					}
					iv, known := ranges[name]
					if !known {
						iv = anything
					}
					w := frNounAfter.FindStringSubmatch(v[m[1]:])
					if w == nil || frNotNouns[w[1]] || iv.lo >= 2 {
						continue
					}
					line, col := locate(src, t.Spots[lang], v, m[0], m[1])
					sing := strings.TrimSuffix(strings.TrimSuffix(w[1], "s"), "x")
					r.add(Finding{File: les.File, Line: line, Col: col, Severity: Note, Rule: RulePlural, Lesson: les.ID, Step: st.ID, Lang: lang,
						Message: fmt.Sprintf("{{%s}} %s reads \"1 %s\" when %s is 0 or 1 (it can be %s): write {{%s|one:# %s|other:# %s}}",
							name, w[1], w[1], name, iv, name, sing, w[1])})
				}
			}
		}
	}
}
