package lint

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	"gopkg.in/yaml.v3"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
)

// Glossary is lessons/glossary.yaml: per language the preferred word of
// each key term and its forbidden variants, the form of address and rules
// (regular expressions that must not match); and the cast, the recurring
// characters with their name in every script. Lint warns on a forbidden
// variant, a rule's match, a known misspelling of a cast name and a word
// one or two letters away from a cast name.
type Glossary struct {
	File   string
	Drafts []bot.Lang
	Langs  map[bot.Lang]*GlossaryLang
	Cast   []CastMember

	// words holds, per language, every word the glossary names (preferred
	// words, variants, cast names and misspellings), normalised: a word
	// near a cast name that is one of them is not a misspelling.
	words map[bot.Lang]map[string]bool
}

// GlossaryLang is one language's part of the glossary.
type GlossaryLang struct {
	Address string // singular or plural
	Terms   []Term
	Rules   []GlossaryRule
}

// Term is a key term: the word to use and the variants to avoid.
type Term struct {
	Key   string
	Use   string
	Avoid []string
	Note  string

	avoid [][]string // each variant's normalised words
}

// GlossaryRule is a regular expression (RE2) that must not match a text.
type GlossaryRule struct {
	Key   string
	Avoid *regexp.Regexp
	Say   string
}

// CastMember is a recurring character of the lessons.
type CastMember struct {
	Key   string
	Trade string
	City  string
	Names map[bot.Lang]string
	Avoid map[bot.Lang][]string

	names map[bot.Lang][]string   // each word of the name, normalised
	avoid map[bot.Lang][][]string // each misspelling's normalised words
}

// glossaryKeys are the keys of each mapping of the glossary.
var glossaryKeys = map[string][]string{
	"glossary": {"drafts", "languages", "cast"},
	"language": {"address", "terms", "rules"},
	"term":     {"key", "use", "avoid", "note"},
	"rule":     {"key", "avoid", "say"},
	"cast":     {"key", "trade", "city", "names", "avoid"},
}

// glossaryDecoder decodes the glossary's YAML, recording problems at their
// place in the file.
type glossaryDecoder struct {
	file  string
	probs []Finding
}

func (d *glossaryDecoder) errorf(n *yaml.Node, format string, args ...any) {
	line, col := 1, 1
	if n != nil && n.Line > 0 {
		line, col = n.Line, n.Column
	}
	d.probs = append(d.probs, Finding{File: d.file, Line: line, Col: col, Severity: Error, Rule: RuleGlossary,
		Message: "glossary: " + fmt.Sprintf(format, args...)})
}

// fields calls each key's handler, reporting unknown, duplicate and
// missing keys.
func (d *glossaryDecoder) fields(n *yaml.Node, what string, required []string, handlers map[string]func(v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping of %s", what, strings.Join(glossaryKeys[what], ", "))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case seen[k.Value]:
			d.errorf(k, "duplicate key %q in %s", k.Value, what)
		case handlers[k.Value] == nil:
			d.errorf(k, "unknown key %q in %s (want %s)", k.Value, what, strings.Join(glossaryKeys[what], ", "))
		default:
			handlers[k.Value](v)
		}
		seen[k.Value] = true
	}
	for _, r := range required {
		if !seen[r] {
			d.errorf(n, "%s has no %s", what, r)
		}
	}
}

func (d *glossaryDecoder) str(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || strings.TrimSpace(n.Value) == "" {
		d.errorf(n, "%s must be a text", what)
		return ""
	}
	return n.Value
}

func (d *glossaryDecoder) strs(n *yaml.Node, what string) []string {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s must be a list of texts", what)
		return nil
	}
	var out []string
	for _, e := range n.Content {
		if s := d.str(e, what); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (d *glossaryDecoder) lang(n *yaml.Node) (bot.Lang, bool) {
	l := bot.Lang(n.Value)
	if !l.Valid() {
		d.errorf(n, "unknown language %q (want one of ary, ar, fr, zgh)", n.Value)
		return "", false
	}
	return l, true
}

// ParseGlossary reads a glossary file (name is how findings name it). A
// glossary with mistakes gives a nil Glossary and one error finding per
// mistake, at its line and column.
func ParseGlossary(data []byte, name string) (*Glossary, []Finding) {
	d := &glossaryDecoder{file: name}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p := lessonYAMLProblem(name, err)
		return nil, []Finding{{File: name, Line: p.Line, Col: p.Col, Severity: Error, Rule: RuleGlossary, Message: "glossary: " + p.Msg}}
	}
	if len(doc.Content) == 0 {
		d.errorf(&doc, "empty file")
		return nil, d.probs
	}
	g := &Glossary{File: name, Langs: map[bot.Lang]*GlossaryLang{}}
	d.fields(doc.Content[0], "glossary", []string{"languages"}, map[string]func(v *yaml.Node){
		"drafts": func(v *yaml.Node) {
			if v.Kind != yaml.SequenceNode {
				d.errorf(v, "drafts must be a list of language codes")
				return
			}
			for _, e := range v.Content {
				if l, ok := d.lang(e); ok {
					g.Drafts = append(g.Drafts, l)
				}
			}
		},
		"languages": func(v *yaml.Node) {
			if v.Kind != yaml.MappingNode {
				d.errorf(v, "languages must map each language (ary, ar, fr, zgh) to its terms")
				return
			}
			for i := 0; i+1 < len(v.Content); i += 2 {
				k, lv := v.Content[i], v.Content[i+1]
				l, ok := d.lang(k)
				if !ok {
					continue
				}
				if g.Langs[l] != nil {
					d.errorf(k, "language %s is given twice", l)
					continue
				}
				g.Langs[l] = d.language(lv, l)
			}
		},
		"cast": func(v *yaml.Node) {
			if v.Kind != yaml.SequenceNode {
				d.errorf(v, "cast must be a list of characters")
				return
			}
			seen := map[string]bool{}
			for _, e := range v.Content {
				c := d.castMember(e)
				if c.Key != "" && seen[c.Key] {
					d.errorf(e, "cast member %q is given twice", c.Key)
				}
				seen[c.Key] = true
				g.Cast = append(g.Cast, c)
			}
		},
	})
	if len(d.probs) > 0 {
		return nil, d.probs
	}
	g.index()
	return g, nil
}

func (d *glossaryDecoder) language(n *yaml.Node, lang bot.Lang) *GlossaryLang {
	gl := &GlossaryLang{}
	d.fields(n, "language", nil, map[string]func(v *yaml.Node){
		"address": func(v *yaml.Node) {
			gl.Address = d.str(v, "address")
			if gl.Address != "" && gl.Address != "singular" && gl.Address != "plural" {
				d.errorf(v, "address %q: want singular or plural", gl.Address)
			}
		},
		"terms": func(v *yaml.Node) {
			if v.Kind != yaml.SequenceNode {
				d.errorf(v, "terms must be a list")
				return
			}
			seen := map[string]bool{}
			for _, e := range v.Content {
				t := Term{}
				d.fields(e, "term", []string{"key", "use"}, map[string]func(v *yaml.Node){
					"key":   func(v *yaml.Node) { t.Key = d.str(v, "key") },
					"use":   func(v *yaml.Node) { t.Use = d.str(v, "use") },
					"avoid": func(v *yaml.Node) { t.Avoid = d.strs(v, "avoid") },
					"note":  func(v *yaml.Node) { t.Note = d.str(v, "note") },
				})
				if t.Key != "" && seen[t.Key] {
					d.errorf(e, "term %q is given twice in %s", t.Key, lang)
				}
				seen[t.Key] = true
				for _, a := range t.Avoid {
					if normWords(a) == nil {
						d.errorf(e, "term %q: the variant %q has no word to look for", t.Key, a)
					}
					if slices.Equal(normWords(a), normWords(t.Use)) {
						d.errorf(e, "term %q: the variant %q is the preferred word itself once normalised", t.Key, a)
					}
				}
				gl.Terms = append(gl.Terms, t)
			}
		},
		"rules": func(v *yaml.Node) {
			if v.Kind != yaml.SequenceNode {
				d.errorf(v, "rules must be a list")
				return
			}
			for _, e := range v.Content {
				r := GlossaryRule{}
				var avoid *yaml.Node
				d.fields(e, "rule", []string{"key", "avoid", "say"}, map[string]func(v *yaml.Node){
					"key":   func(v *yaml.Node) { r.Key = d.str(v, "key") },
					"avoid": func(v *yaml.Node) { avoid = v },
					"say":   func(v *yaml.Node) { r.Say = d.str(v, "say") },
				})
				if avoid != nil {
					src := d.str(avoid, "avoid")
					re, err := regexp.Compile(src)
					switch {
					case err != nil:
						d.errorf(avoid, "rule %q: avoid is not a regular expression (RE2): %v", r.Key, err)
					case re.MatchString(""):
						d.errorf(avoid, "rule %q: avoid matches an empty text, so it would match everywhere", r.Key)
					default:
						r.Avoid = re
					}
				}
				gl.Rules = append(gl.Rules, r)
			}
		},
	})
	return gl
}

func (d *glossaryDecoder) castMember(n *yaml.Node) CastMember {
	c := CastMember{Names: map[bot.Lang]string{}, Avoid: map[bot.Lang][]string{}}
	var namesNode *yaml.Node
	d.fields(n, "cast", []string{"key", "names"}, map[string]func(v *yaml.Node){
		"key":   func(v *yaml.Node) { c.Key = d.str(v, "key") },
		"trade": func(v *yaml.Node) { c.Trade = d.str(v, "trade") },
		"city":  func(v *yaml.Node) { c.City = d.str(v, "city") },
		"names": func(v *yaml.Node) {
			namesNode = v
			d.perLang(v, "names", func(l bot.Lang, e *yaml.Node) {
				c.Names[l] = d.str(e, "name")
			})
		},
		"avoid": func(v *yaml.Node) {
			d.perLang(v, "avoid", func(l bot.Lang, e *yaml.Node) {
				c.Avoid[l] = d.strs(e, "avoid")
			})
		},
	})
	if namesNode != nil && namesNode.Kind == yaml.MappingNode {
		for _, l := range bot.Langs {
			if c.Names[l] == "" {
				d.errorf(namesNode, "cast member %q has no name in %s", c.Key, l)
			}
		}
	}
	return c
}

func (d *glossaryDecoder) perLang(n *yaml.Node, what string, each func(l bot.Lang, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must map languages (ary, ar, fr, zgh) to values", what)
		return
	}
	seen := map[bot.Lang]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		l, ok := d.lang(n.Content[i])
		if !ok {
			continue
		}
		if seen[l] {
			d.errorf(n.Content[i], "language %s is given twice in %s", l, what)
			continue
		}
		seen[l] = true
		each(l, n.Content[i+1])
	}
}

// index normalises the words the checks compare.
func (g *Glossary) index() {
	g.words = map[bot.Lang]map[string]bool{}
	add := func(l bot.Lang, s string) {
		if g.words[l] == nil {
			g.words[l] = map[string]bool{}
		}
		for _, w := range normWords(s) {
			g.words[l][w] = true
		}
	}
	for l, gl := range g.Langs {
		for i := range gl.Terms {
			t := &gl.Terms[i]
			add(l, t.Use)
			for _, a := range t.Avoid {
				t.avoid = append(t.avoid, normWords(a))
				add(l, a)
			}
		}
	}
	for i := range g.Cast {
		c := &g.Cast[i]
		c.names, c.avoid = map[bot.Lang][]string{}, map[bot.Lang][][]string{}
		for l, name := range c.Names {
			c.names[l] = normWords(name)
			add(l, name)
		}
		for l, as := range c.Avoid {
			for _, a := range as {
				c.avoid[l] = append(c.avoid[l], normWords(a))
				add(l, a)
			}
		}
	}
}

// word is one word of a text: where it is (bytes), and its normalised form.
type word struct {
	start, end int
	norm       string
}

// isWordRune reports whether r belongs to a word: letters, marks, digits
// and the invisible format characters that may sit inside one (ZWJ, RLM).
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r) || unicode.Is(unicode.Cf, r)
}

// splitWords cuts s into words, each normalised as learners' input is
// (locale.Normalize): a glossary word matches whatever its accents,
// tashkeel, tatweel, letter variants or case.
func splitWords(s string) []word {
	var out []word
	start := -1
	flush := func(end int) {
		if start >= 0 {
			if n := locale.Normalize(s[start:end]); n != "" {
				out = append(out, word{start, end, n})
			}
			start = -1
		}
	}
	for i, r := range s {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		flush(i)
	}
	flush(len(s))
	return out
}

// normWords returns the normalised words of s.
func normWords(s string) []string {
	var out []string
	for _, w := range splitWords(s) {
		out = append(out, w.norm)
	}
	return out
}

// hit is a glossary finding inside one text, at byte offset off.
type hit struct {
	off, end int
	msg      string
	rule     bool // a rule's match (typography, units), not a word
}

// check returns what the glossary finds in text, in lang.
func (g *Glossary) check(lang bot.Lang, text string) []hit {
	if g == nil {
		return nil
	}
	text = maskPlaceholders(norm.NFC.String(text))
	words := splitWords(text)
	var hits []hit
	seq := func(want []string, each func(i int)) {
		if len(want) == 0 {
			return
		}
		for i := 0; i+len(want) <= len(words); i++ {
			ok := true
			for j, w := range want {
				if words[i+j].norm != w {
					ok = false
					break
				}
			}
			if ok {
				each(i)
			}
		}
	}
	var flagged = map[int]bool{} // words already reported
	if gl := g.Langs[lang]; gl != nil {
		for _, t := range gl.Terms {
			for k, a := range t.avoid {
				seq(a, func(i int) {
					last := words[i+len(a)-1]
					msg := fmt.Sprintf("glossary (%s, %s): write %q, not %q", lang, t.Key, t.Use, t.Avoid[k])
					if t.Note != "" {
						msg += " (" + t.Note + ")"
					}
					hits = append(hits, hit{words[i].start, last.end, msg, false})
					for j := range a {
						flagged[i+j] = true
					}
				})
			}
		}
		for _, r := range gl.Rules {
			if r.Avoid == nil {
				continue
			}
			for _, m := range r.Avoid.FindAllStringIndex(text, -1) {
				hits = append(hits, hit{m[0], m[1], fmt.Sprintf("glossary (%s, rule %s): %q: %s", lang, r.Key, text[m[0]:m[1]], r.Say), true})
			}
		}
	}
	for _, c := range g.Cast {
		for k, a := range c.avoid[lang] {
			seq(a, func(i int) {
				hits = append(hits, hit{words[i].start, words[i+len(a)-1].end, fmt.Sprintf(
					"glossary (%s, cast %s): write the name %q, not %q", lang, c.Key, c.Names[lang], c.Avoid[lang][k]), false})
				for j := range a {
					flagged[i+j] = true
				}
			})
		}
	}
	for i, w := range words {
		if flagged[i] || g.words[lang][w.norm] {
			continue
		}
		if c, _ := g.nearName(lang, w.norm); c != nil && capitalised(text[w.start:w.end]) {
			hits = append(hits, hit{w.start, w.end, fmt.Sprintf(
				"glossary (%s, cast %s): %q looks like a misspelling of the name %q: write %q, or add the word to the glossary",
				lang, c.Key, text[w.start:w.end], c.Names[lang], c.Names[lang]), false})
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return a.off - b.off })
	return hits
}

// templateAction matches a go-i18n template action ({{.Count}}) of the
// bot's messages.
var templateAction = regexp.MustCompile(`\{\{-?\s*[.$][^{}]*\}\}`)

// maskPlaceholders blanks out, byte for byte, what a learner never reads
// in a text: the variable names and categories of lesson placeholders
// ({{end_cash}}, {{weeks|one:…}}) and the template actions of the bot's
// messages, keeping the forms of plural placeholders, which learners read.
// Offsets into the result are offsets into text.
func maskPlaceholders(text string) string {
	if !strings.Contains(text, "{{") {
		return text
	}
	b := []byte(text)
	blank := func(from, to int) {
		for i := from; i < to; i++ {
			b[i] = ' '
		}
	}
	for _, m := range templateAction.FindAllStringIndex(text, -1) {
		blank(m[0], m[1])
	}
	for _, m := range placeholderRE.FindAllStringSubmatchIndex(text, -1) {
		if m[4] < 0 {
			blank(m[0], m[1])
			continue
		}
		blank(m[0], m[4]+1) // "{{name|"
		blank(m[1]-2, m[1]) // "}}"
		forms := text[m[4]+1 : m[1]-2]
		off := m[4] + 1
		for _, f := range strings.Split(forms, "|") {
			if i := strings.IndexByte(f, ':'); i >= 0 {
				blank(off, off+i+1) // "category:"
			}
			if off+len(f) < m[1]-2 {
				blank(off+len(f), off+len(f)+1) // the "|" after it
			}
			off += len(f) + 1
		}
	}
	return string(b)
}

// capitalised reports whether a word could be a name: in a script with
// case it starts with a capital; Arabic and Tifinagh have no case.
func capitalised(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	return !unicode.IsLower(r)
}

// minNearName is the length of the shortest name, and of the shortest
// word, compared for near misses: too many ordinary words are one letter
// away from a name of three letters (حسن, "good"), which only its listed
// misspellings catch.
const minNearName = 4

// proclitics are the Arabic letters that attach to the front of a word
// (and, so, with, to, like): "لسعيد" is "to Said", not a misspelling.
const proclitics = "وفبلك"

// nearName returns the cast member with a name word close to w, and that
// word: a word of at least 4 letters that starts with the same letter, at
// edit distance 1 from a name of up to 5 letters, 2 from a longer one, and
// not the name itself (in Arabic script, nor the name behind one or two
// proclitics). Misspellings keep the first letter far more often than
// ordinary words do: بعيد ("far") is not سعيد.
func (g *Glossary) nearName(lang bot.Lang, w string) (*CastMember, string) {
	wr := []rune(w)
	if len(wr) < minNearName {
		return nil, ""
	}
	arabic := lang == bot.Darija || lang == bot.Arabic
	for i := range g.Cast {
		c := &g.Cast[i]
		for _, n := range c.names[lang] {
			nr := []rune(n)
			if arabic {
				if rest, ok := strings.CutSuffix(w, n); ok && len([]rune(rest)) <= 2 && strings.Trim(rest, proclitics) == "" {
					return nil, "" // the name itself, with its proclitics
				}
			}
			limit := 1
			if len(nr) > 5 {
				limit = 2
			}
			if len(nr) < minNearName || nr[0] != wr[0] || abs(len(nr)-len(wr)) > limit {
				continue
			}
			if d := editDistance(wr, nr, limit); d > 0 && d <= limit {
				return c, n
			}
		}
	}
	return nil, ""
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// editDistance is the Levenshtein distance between a and b, or limit+1
// once it is sure to exceed limit.
func editDistance(a, b []rune, limit int) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			best = min(best, cur[j])
		}
		if best > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// locate returns the line and column in the file of the byte offset off
// of value, a YAML scalar that starts at spot. With the file's source, it
// finds the same text in the source at or after the scalar's start (so
// escapes, block scalars and long lines are accounted for); without it, or
// when the text is not found there, it counts runes on the scalar's line.
func locate(src []byte, spot lesson.Spot, value string, off, end int) (int, int) {
	frag := value[off:end]
	if src != nil && frag != "" {
		start := offsetOf(src, spot.Line, spot.Col)
		if start >= 0 {
			// The fragment's occurrences before off in the value come
			// first in the source too.
			nth := strings.Count(value[:off], frag)
			rest := src[start:]
			pos := -1
			for k, from := 0, 0; k <= nth; k++ {
				i := bytes.Index(rest[from:], []byte(frag))
				if i < 0 {
					pos = -1
					break
				}
				pos = from + i
				from = pos + len(frag)
			}
			if pos >= 0 {
				return lineCol(src, start+pos)
			}
		}
	}
	col := spot.Col + utf8.RuneCountInString(value[:off])
	if spot.Style == lesson.SingleQuoted || spot.Style == lesson.DoubleQuoted {
		col++
	}
	if strings.Contains(value[:off], "\n") || spot.Style == lesson.Literal || spot.Style == lesson.Folded {
		return spot.Line, spot.Col
	}
	return spot.Line, col
}

// offsetOf returns the byte offset of line:col (col in runes) in src, or -1.
func offsetOf(src []byte, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(src[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	for c := 1; c < col; c++ {
		if off >= len(src) || src[off] == '\n' {
			return -1
		}
		_, n := utf8.DecodeRune(src[off:])
		off += n
	}
	return off
}

// lineCol turns a byte offset of src into a line and a column in runes.
func lineCol(src []byte, off int) (int, int) {
	line := 1 + bytes.Count(src[:off], []byte{'\n'})
	lineStart := bytes.LastIndexByte(src[:off], '\n') + 1
	return line, 1 + utf8.RuneCount(src[lineStart:off])
}
