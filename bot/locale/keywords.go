package locale

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/darsi-ma/darsi/bot"
)

// Intent is what a learner asks for with a keyword, whatever the state of
// the conversation.
type Intent string

// The intents. NoIntent means the message is no keyword.
const (
	NoIntent Intent = ""
	Yes      Intent = "yes"
	No       Intent = "no"
	Menu     Intent = "menu"
	Help     Intent = "help"
	Stop     Intent = "stop"
	Start    Intent = "start"
	Next     Intent = "next"
	Repeat   Intent = "repeat"
	Language Intent = "language"
	Progress Intent = "progress"
	Erase    Intent = "erase"
	// MyData asks for a summary of what Darsi keeps about the learner.
	MyData Intent = "my_data"
)

// intents lists every intent but NoIntent; keywords.yaml must give each
// of them at least one keyword.
var intents = []Intent{Yes, No, Menu, Help, Stop, Start, Next, Repeat, Language, Progress, Erase, MyData}

// keywordGroups are the keys allowed under an intent in keywords.yaml.
var keywordGroups = []string{"ary", "ary-Latn", "ar", "fr", "zgh", "zgh-Latn", "en", "sms", "any"}

// fuzzyMinLetters is the length from which a keyword, and a message, may
// match with one typo. Shorter words are too close to one another ("la",
// "lala", "ah", "eh").
const fuzzyMinLetters = 5

// Intent returns the intent of a whole message, or NoIntent.
//
// The message and the keywords of every language are compared after
// Normalize, with punctuation and symbols trimmed from each word and a word
// repeated in a row counted once ("Stop !", "oui oui", "👍👍"). Every
// language's keywords count, whatever the learner's language, because
// languages are mixed in everyday messages. A message of 5 or more letters
// (Arabizi digits count as letters) also matches a keyword of 5 or more
// letters at an edit distance of 1 (one letter wrong, missing, extra, or two
// neighbours swapped), when that gives one intent only and the message is
// not listed in keywords.yaml's not_typos. A keyword never matches part of a
// message: "la" is No only when it is the whole message.
func (b *Bundle) Intent(text string) Intent {
	in, _ := b.intents.match(matchKey(text))
	return in
}

// LanguageNamed returns the language a message names ("français", "darija",
// "ⵜⴰⵎⴰⵣⵉⵖⵜ", "العربية", the first-contact menu line "الدارجة / Darija"…),
// if the whole message is a language name, matched as Intent matches
// keywords.
func (b *Bundle) LanguageNamed(text string) (bot.Lang, bool) {
	return b.names.match(matchKey(text))
}

// matchKey turns a message or a keyword into the form they are compared in.
func matchKey(s string) string {
	words := strings.Fields(Normalize(s))
	out := words[:0]
	for _, w := range words {
		w = strings.TrimFunc(w, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) })
		if w == "" || (len(out) > 0 && out[len(out)-1] == w) {
			continue
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// matcher finds the value of a whole normalised message.
type matcher[V comparable] struct {
	exact    map[string]V
	fuzzy    []fuzzyKey[V] // the keys of fuzzyMinLetters or more
	notTypos map[string]bool
}

type fuzzyKey[V comparable] struct {
	key []rune
	val V
}

func newMatcher[V comparable]() *matcher[V] {
	return &matcher[V]{exact: map[string]V{}, notTypos: map[string]bool{}}
}

// add records key (already a matchKey) for v, and reports the value it
// already had if that is another one.
func (m *matcher[V]) add(key string, v V) (V, bool) {
	if old, ok := m.exact[key]; ok {
		return old, old != v
	}
	m.exact[key] = v
	if letters(key) >= fuzzyMinLetters {
		m.fuzzy = append(m.fuzzy, fuzzyKey[V]{key: []rune(key), val: v})
	}
	var zero V
	return zero, false
}

func (m *matcher[V]) match(key string) (V, bool) {
	var zero V
	if key == "" {
		return zero, false
	}
	if v, ok := m.exact[key]; ok {
		return v, true
	}
	if m.notTypos[key] || letters(key) < fuzzyMinLetters || !strings.ContainsFunc(key, unicode.IsLetter) {
		return zero, false
	}
	rs := []rune(key)
	found, got := false, zero
	for _, k := range m.fuzzy {
		if !withinOneEdit(rs, k.key) {
			continue
		}
		if found && got != k.val {
			return zero, false // ambiguous
		}
		found, got = true, k.val
	}
	return got, found
}

// letters counts the letters and digits of s: in Arabizi a digit is a
// letter ("3awni").
func letters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			n++
		}
	}
	return n
}

// withinOneEdit reports whether a and b differ by at most one substitution,
// insertion, deletion, or transposition of two neighbours (optimal string
// alignment distance ≤ 1).
func withinOneEdit(a, b []rune) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if i == len(a) {
		return true
	}
	if len(a) == len(b) {
		if slices.Equal(a[i+1:], b[i+1:]) {
			return true
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && slices.Equal(a[i+2:], b[i+2:])
	}
	return slices.Equal(a[i:], b[i+1:])
}

// JoinWord reports whether a message starts with a join word ("join",
// "rejoindre", "انضم", and the Darija and Tamazight words of keywords.yaml's
// join list), and returns the rest of the message in normalised form (as
// Intent compares words: lower case, punctuation trimmed). A join word
// matches as a keyword does: whole words, after Normalize, with one typo
// allowed from 5 letters on. "join K7M2QX" gives "k7m2qx"; "join" alone
// gives "" and true.
func (b *Bundle) JoinWord(text string) (rest string, ok bool) {
	if b.joins == nil {
		return "", false
	}
	// Only the first words can be a join word: normalise them alone, so
	// that the sentences learners send cost little.
	raw := strings.Fields(text)
	head := min(maxJoinWords, len(raw))
	words := strings.Fields(matchKey(strings.Join(raw[:head], " ")))
	for n := len(words); n >= 1; n-- {
		if _, ok := b.joins.match(strings.Join(words[:n], " ")); ok {
			rest := append(words[n:], strings.Fields(matchKey(strings.Join(raw[head:], " ")))...)
			return strings.Join(rest, " "), true
		}
	}
	return "", false
}

// maxJoinWords bounds the words of a join phrase ("je rejoins").
const maxJoinWords = 3

// CoachWord reports whether a message starts with a coach word ("coach",
// "mon coach", "المدرب", and the Darija and Tamazight words of
// keywords.yaml's coach list), and returns the rest of the message as the
// learner typed it (line breaks kept), without the punctuation that joins
// it to the word: "Coach : combien ?" gives "combien ?". A coach word
// matches as a join word does: whole words, after Normalize, with one typo
// allowed from 5 letters on. "coach" alone gives "" and true.
func (b *Bundle) CoachWord(text string) (rest string, ok bool) {
	if b.coaches == nil {
		return "", false
	}
	// The byte offsets where each of the first words ends.
	var ends []int
	inWord := false
	for i, r := range text {
		space := unicode.IsSpace(r)
		if inWord && space {
			ends = append(ends, i)
			if len(ends) == maxJoinWords {
				break
			}
		}
		inWord = !space
	}
	if inWord && len(ends) < maxJoinWords {
		ends = append(ends, len(text))
	}
	for n := len(ends); n >= 1; n-- {
		key := matchKey(text[:ends[n-1]])
		if len(strings.Fields(key)) != n {
			continue // a word was only punctuation
		}
		if _, ok := b.coaches.match(key); ok {
			rest = strings.TrimLeftFunc(text[ends[n-1]:], func(r rune) bool {
				return unicode.IsSpace(r) || strings.ContainsRune(":,;.-–—،؛!", r)
			})
			return strings.TrimSpace(rest), true
		}
	}
	return "", false
}

// keywordFile is the shape of keywords.yaml.
type keywordFile struct {
	Intents   map[string]map[string][]string `yaml:"intents"`
	Languages map[string][]string            `yaml:"languages"`
	NotTypos  []string                       `yaml:"not_typos"`
	// Join lists, by group, the words a join code may follow.
	Join map[string][]string `yaml:"join"`
	// Coach lists, by group, the words that pass a message on to the
	// learner's coach.
	Coach map[string][]string `yaml:"coach"`
}

// loadKeywords reads keywords.yaml into b, adding names, the languages'
// own names from their LanguageName message. It returns every problem found.
func (b *Bundle) loadKeywords(data []byte, names map[bot.Lang]string) []error {
	const file = "keywords.yaml"
	var problems []error
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf(file+": "+format, args...))
	}
	var kf keywordFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&kf); err != nil {
		return []error{fmt.Errorf("%s: %w", file, err)}
	}

	b.intents = newMatcher[Intent]()
	for _, name := range sortedKeys(kf.Intents) {
		in := Intent(name)
		if !slices.Contains(intents, in) {
			add("unknown intent %q (want one of %v)", name, intents)
			continue
		}
		groups := kf.Intents[name]
		for _, g := range sortedKeys(groups) {
			if !slices.Contains(keywordGroups, g) {
				add("%s: unknown group %q (want one of %v)", name, g, keywordGroups)
				continue
			}
			for _, kw := range groups[g] {
				key := matchKey(kw)
				if key == "" {
					add("%s: %s: keyword %q is empty once normalised", name, g, kw)
					continue
				}
				if old, clash := b.intents.add(key, in); clash {
					add("%s: %s: keyword %q is also a keyword of %s", name, g, kw, old)
				}
			}
		}
	}
	for _, in := range intents {
		if len(kf.Intents[string(in)]) == 0 {
			add("intent %s has no keywords", in)
		}
	}

	b.names = newMatcher[bot.Lang]()
	addName := func(lang bot.Lang, name, where string) {
		key := matchKey(name)
		if key == "" {
			add("%s: language name %q is empty once normalised", where, name)
			return
		}
		if in, ok := b.intents.exact[key]; ok {
			add("%s: language name %q is also a keyword of %s", where, name, in)
			return
		}
		if old, clash := b.names.add(key, lang); clash {
			add("%s: language name %q also names %s", where, name, old)
		}
	}
	for _, code := range sortedKeys(kf.Languages) {
		lang := bot.Lang(code)
		if !lang.Valid() {
			add("languages: unknown language %q (want one of %v)", code, bot.Langs)
			continue
		}
		for _, name := range kf.Languages[code] {
			addName(lang, name, "languages: "+code)
		}
	}
	for _, lang := range bot.Langs {
		if len(kf.Languages[string(lang)]) == 0 {
			add("languages: %s has no names", lang)
		}
		// The first-contact menu shows LanguageName; a learner may type it
		// back whole or either side of its " / ".
		if name := names[lang]; name != "" {
			where := "LanguageName of " + string(lang)
			if _, ok := b.names.exact[matchKey(name)]; !ok {
				addName(lang, name, where)
			}
			if parts := strings.Split(name, "/"); len(parts) > 1 {
				for _, p := range parts {
					if _, ok := b.names.exact[matchKey(p)]; !ok {
						addName(lang, p, where)
					}
				}
			}
		}
	}

	b.joins = newMatcher[bool]()
	for _, g := range sortedKeys(kf.Join) {
		if !slices.Contains(keywordGroups, g) {
			add("join: unknown group %q (want one of %v)", g, keywordGroups)
			continue
		}
		for _, w := range kf.Join[g] {
			key := matchKey(w)
			switch {
			case key == "":
				add("join: %s: %q is empty once normalised", g, w)
			case len(strings.Fields(key)) > maxJoinWords:
				add("join: %s: %q has more than %d words", g, w, maxJoinWords)
			default:
				if in, ok := b.intents.exact[key]; ok {
					add("join: %s: %q is also a keyword of %s", g, w, in)
				} else if lang, ok := b.names.exact[key]; ok {
					add("join: %s: %q is also a name of %s", g, w, lang)
				} else {
					b.joins.add(key, true)
				}
			}
		}
	}
	if len(kf.Join) == 0 {
		add("join: no join words")
	}

	b.coaches = newMatcher[bool]()
	for _, g := range sortedKeys(kf.Coach) {
		if !slices.Contains(keywordGroups, g) {
			add("coach: unknown group %q (want one of %v)", g, keywordGroups)
			continue
		}
		for _, w := range kf.Coach[g] {
			key := matchKey(w)
			switch {
			case key == "":
				add("coach: %s: %q is empty once normalised", g, w)
			case len(strings.Fields(key)) > maxJoinWords:
				add("coach: %s: %q has more than %d words", g, w, maxJoinWords)
			default:
				if in, ok := b.intents.exact[key]; ok {
					add("coach: %s: %q is also a keyword of %s", g, w, in)
				} else if lang, ok := b.names.exact[key]; ok {
					add("coach: %s: %q is also a name of %s", g, w, lang)
				} else if _, ok := b.joins.exact[key]; ok {
					add("coach: %s: %q is also a join word", g, w)
				} else {
					b.coaches.add(key, true)
				}
			}
		}
	}
	if len(kf.Coach) == 0 {
		add("coach: no coach words")
	}

	for _, w := range kf.NotTypos {
		key := matchKey(w)
		if key == "" {
			add("not_typos: %q is empty once normalised", w)
			continue
		}
		b.intents.notTypos[key] = true
		b.names.notTypos[key] = true
	}
	return problems
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
