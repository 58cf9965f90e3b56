package schedule

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/darsi-ma/darsi/bot"
)

// Template is an approved WhatsApp template for one kind of message in one
// language: what the outbox sends to a learner outside the 24-hour window.
type Template struct {
	Kind string
	Lang bot.Lang
	// SID is the template's Content SID ("HX" and 32 hex digits).
	SID string
	// Vars maps each of the template's variables ("1", "2", …) to what
	// fills it: one of the Sources.
	Vars map[string]string
}

// Sources are what may fill a template variable.
//
//	text    the coach's words (reminders, broadcasts); for nudges and
//	        reviews, the bot's text in the learner's language
//	body    the whole message as it would be sent inside the window
//	name    the learner's name (their WhatsApp profile name, or what they
//	        typed as Vars["name"]), or "-" when unknown
//	lesson  the job's lesson, or the learner's current one
//	cohort  the job's cohort code
//	coach   who created the job
var Sources = []string{"text", "body", "name", "lesson", "cohort", "coach"}

// Templates holds the templates of a YAML file, by kind and language. The
// zero Templates (and a nil *Templates) has none. It is read-only once
// loaded, so safe for concurrent use.
type Templates struct {
	byKey map[string]Template // kind + "/" + lang
}

var (
	contentSID = regexp.MustCompile(`^HX[0-9a-fA-F]{32}$`)
	kindName   = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	varName    = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
)

// ValidTemplateKind reports whether s may name a kind of template: a
// lower-case letter, then up to 39 lower-case letters, digits, _ and -.
func ValidTemplateKind(s string) bool { return len(s) <= 40 && kindName.MatchString(s) }

// LoadTemplates reads a templates file (see ParseTemplates).
func LoadTemplates(path string) (*Templates, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		kind := bot.Unavailable
		if errors.Is(err, os.ErrNotExist) {
			kind = bot.NotFound
		}
		return nil, bot.E("schedule.LoadTemplates", kind, err)
	}
	return ParseTemplates(path, data)
}

// ParseTemplates reads templates in YAML: a mapping from kind (reminder,
// broadcast, nudge, review, or another name a job's Template gives) to a
// mapping from language (ary, ar, fr, zgh) to the template's Content SID
// and variables:
//
//	reminder:
//	  fr: {sid: HX0123…, vars: {"1": text}}
//	  ary:
//	    sid: HX4567…
//	    vars: {"1": name, "2": text}
//
// A kind may leave languages out: a learner in such a language gets no
// message outside the window. The error is of kind Invalid and lists every
// problem, one a line, as "name:line:column: message".
func ParseTemplates(name string, data []byte) (*Templates, error) {
	const op = "schedule.ParseTemplates"
	var problems []error
	add := func(n *yaml.Node, format string, args ...any) {
		problems = append(problems, fmt.Errorf("%s:%d:%d: %s", name, n.Line, n.Column, fmt.Sprintf(format, args...)))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, bot.Errorf(op, bot.Invalid, "%s: %v", name, err)
	}
	t := &Templates{byKey: map[string]Template{}}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return t, nil // an empty file: no templates
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		add(root, "want a mapping from message kind to languages")
		return nil, bot.E(op, bot.Invalid, errors.Join(problems...))
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		kn, langs := root.Content[i], root.Content[i+1]
		kind := kn.Value
		if !ValidTemplateKind(kind) {
			add(kn, "kind %q: want a lower-case letter, then up to 39 lower-case letters, digits, - or _", kind)
			continue
		}
		if langs.Kind != yaml.MappingNode {
			add(langs, "%s: want a mapping from language (ary, ar, fr, zgh) to a template", kind)
			continue
		}
		for j := 0; j+1 < len(langs.Content); j += 2 {
			ln, tn := langs.Content[j], langs.Content[j+1]
			lang := bot.Lang(ln.Value)
			if !lang.Valid() {
				add(ln, "%s: unknown language %q (want ary, ar, fr or zgh)", kind, ln.Value)
				continue
			}
			tp, ok := parseTemplate(kind, lang, tn, add)
			if !ok {
				continue
			}
			key := kind + "/" + string(lang)
			if _, dup := t.byKey[key]; dup {
				add(ln, "%s.%s: defined twice", kind, lang)
				continue
			}
			t.byKey[key] = tp
		}
	}
	if len(problems) > 0 {
		return nil, bot.E(op, bot.Invalid, errors.Join(problems...))
	}
	return t, nil
}

func parseTemplate(kind string, lang bot.Lang, n *yaml.Node, add func(*yaml.Node, string, ...any)) (Template, bool) {
	where := kind + "." + string(lang)
	tp := Template{Kind: kind, Lang: lang, Vars: map[string]string{}}
	if n.Kind != yaml.MappingNode {
		add(n, "%s: want {sid: HX…, vars: {…}}", where)
		return tp, false
	}
	ok := true
	var sidNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "sid":
			sidNode = v
			if v.Kind != yaml.ScalarNode || !contentSID.MatchString(v.Value) {
				add(v, "%s: sid %q is not a Content SID (HX and 32 hex digits)", where, v.Value)
				ok = false
			}
			tp.SID = v.Value
		case "vars":
			if v.Kind != yaml.MappingNode {
				add(v, "%s: vars: want a mapping such as {\"1\": text}", where)
				ok = false
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				vk, vv := v.Content[j], v.Content[j+1]
				switch {
				case !varName.MatchString(vk.Value):
					add(vk, "%s: variable %q: want a name such as \"1\"", where, vk.Value)
					ok = false
				case vv.Kind != yaml.ScalarNode || !slices.Contains(Sources, vv.Value):
					add(vv, "%s: variable %s: unknown source %q (want one of %s)", where, vk.Value, vv.Value, strings.Join(Sources, ", "))
					ok = false
				case tp.Vars[vk.Value] != "":
					add(vk, "%s: variable %s defined twice", where, vk.Value)
					ok = false
				default:
					tp.Vars[vk.Value] = vv.Value
				}
			}
		default:
			add(k, "%s: unknown field %q (want sid and vars)", where, k.Value)
			ok = false
		}
	}
	if sidNode == nil {
		add(n, "%s: no sid", where)
		ok = false
	}
	return tp, ok
}

// Lookup returns the template for a kind of message in a language.
func (t *Templates) Lookup(kind string, lang bot.Lang) (Template, bool) {
	if t == nil {
		return Template{}, false
	}
	tp, ok := t.byKey[kind+"/"+string(lang)]
	return tp, ok
}

// Len returns how many templates there are.
func (t *Templates) Len() int {
	if t == nil {
		return 0
	}
	return len(t.byKey)
}

// Kinds returns, by kind of message, the languages it has a template in,
// kinds and languages sorted.
func (t *Templates) Kinds() map[string][]bot.Lang {
	out := map[string][]bot.Lang{}
	if t == nil {
		return out
	}
	for _, tp := range t.byKey {
		out[tp.Kind] = append(out[tp.Kind], tp.Lang)
	}
	for k := range out {
		slices.Sort(out[k])
	}
	return out
}
