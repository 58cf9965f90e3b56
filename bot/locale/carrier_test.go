package locale

import (
	"bytes"
	"io/fs"
	"testing"
	"text/template"

	"gopkg.in/yaml.v3"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/locales"
)

// sample holds a value for every placeholder the messages use.
var sample = map[string]any{
	"N": 3, "Title": "Costing", "Done": 1, "Total": 4, "Min": "10", "Max": "500",
	"Answer": "B", "Right": 2,
}

// ownFile parses lang's message file with yaml.v3 alone, bypassing go-i18n.
func ownFile(tb testing.TB, lang bot.Lang) map[string]any {
	tb.Helper()
	data, err := fs.ReadFile(locales.FS, string(lang)+".yaml")
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		tb.Fatalf("%s.yaml: %v", lang, err)
	}
	return m
}

func execute(tb testing.TB, src string, data map[string]any) string {
	tb.Helper()
	t, err := template.New("").Parse(src)
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		tb.Fatal(err)
	}
	return buf.String()
}

// wantForm gives, per language, counts and the plural form CLDR picks for
// them.
var wantForm = map[bot.Lang]map[int]string{
	bot.Darija:    {0: "zero", 1: "one", 2: "two", 3: "few", 10: "few", 11: "many", 99: "many", 100: "other", 102: "other", 111: "many"},
	bot.Arabic:    {0: "zero", 1: "one", 2: "two", 3: "few", 10: "few", 11: "many", 99: "many", 100: "other", 102: "other", 111: "many"},
	bot.French:    {0: "one", 1: "one", 2: "other", 11: "other", 1000000: "many", 2000000: "many"},
	bot.Tamazight: {0: "other", 1: "one", 2: "other", 11: "other"},
}

// TestNoSilentFallback renders every message in every language, every
// plural form included, and checks that the text is the one in that
// language's own file and that go-i18n answered in the carrier asked for.
func TestNoSilentFallback(t *testing.T) {
	b, err := Load(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range bot.Langs {
		own := ownFile(t, lang)
		if got, want := len(own), len(b.IDs()); got != want {
			t.Errorf("%s.yaml has %d messages, want %d", lang, got, want)
		}
		for _, id := range b.IDs() {
			switch v := own[id].(type) {
			case string:
				want := execute(t, v, sample)
				got, tag, err := b.localizeWithTag(lang, id, nil, sample)
				if err != nil {
					t.Errorf("%s %s: %v", lang, id, err)
				}
				if tag.String() != carriers[lang] {
					t.Errorf("%s %s: tag %s, want %s", lang, id, tag, carriers[lang])
				}
				if got != want {
					t.Errorf("%s %s: got %q, want %q", lang, id, got, want)
				}
				if got := b.T(lang, id, sample); got != want {
					t.Errorf("T(%s, %s) = %q, want %q", lang, id, got, want)
				}
			case map[string]any:
				for count, form := range wantForm[lang] {
					src, ok := v[form].(string)
					if !ok {
						t.Errorf("%s %s: no form %q in the file", lang, id, form)
						continue
					}
					data := map[string]any{"Count": count}
					for k, x := range sample {
						data[k] = x
					}
					want := execute(t, src, data)
					got, tag, err := b.localizeWithTag(lang, id, &count, data)
					if err != nil {
						t.Errorf("%s %s %d: %v", lang, id, count, err)
					}
					if tag.String() != carriers[lang] {
						t.Errorf("%s %s %d: tag %s, want %s", lang, id, count, tag, carriers[lang])
					}
					if got != want {
						t.Errorf("%s %s %d: got %q, want %q", lang, id, count, got, want)
					}
					if got := b.N(lang, id, count, sample); got != want {
						t.Errorf("N(%s, %s, %d) = %q, want %q", lang, id, count, got, want)
					}
				}
			default:
				t.Errorf("%s %s: got %T in the file, want a string or plural forms", lang, id, own[id])
			}
		}
	}
}

// TestCarrierTags checks the carrier tags themselves: go-i18n must know a
// plural rule for each (it refuses "ary" and "zgh"), and a Localizer for a
// carrier must answer in that carrier, not in a neighbour.
func TestCarrierTags(t *testing.T) {
	b, err := Load(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bot.Lang{}
	for _, lang := range bot.Langs {
		c := carriers[lang]
		if other, dup := seen[c]; dup {
			t.Errorf("%s and %s share the carrier %s", lang, other, c)
		}
		seen[c] = lang
		_, tag, err := b.localizeWithTag(lang, "LanguageName", nil, nil)
		if err != nil || tag.String() != c {
			t.Errorf("%s: got tag %s, %v; want %s, nil", lang, tag, err, c)
		}
	}
}
