package locale_test

import (
	"fmt"
	"io/fs"
	"math"
	"strings"
	"testing"
	"text/template"

	"gopkg.in/yaml.v3"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/locales"
)

// cldr is the category CLDR's cardinal rules give each probe count, by
// the carrier tag of each language (docs/languages.md): Arabic for ary and
// ar; French, where 0 and 1 are "one"; one and other for zgh.
var cldr = map[bot.Lang]map[int]string{
	bot.Darija:    {0: "zero", 1: "one", 2: "two", 3: "few", 11: "many", 100: "other"},
	bot.Arabic:    {0: "zero", 1: "one", 2: "two", 3: "few", 11: "many", 100: "other"},
	bot.French:    {0: "one", 1: "one", 2: "other", 3: "other", 11: "other", 100: "other"},
	bot.Tamazight: {0: "other", 1: "one", 2: "other", 3: "other", 11: "other", 100: "other"},
}

var counts = []int{0, 1, 2, 3, 11, 100}

func TestPluralCategory(t *testing.T) {
	for lang, want := range cldr {
		for _, n := range counts {
			if got := locale.PluralCategory(lang, float64(n)); got != want[n] {
				t.Errorf("PluralCategory(%s, %d) = %s, want %s", lang, n, got, want[n])
			}
		}
	}
	for _, tc := range []struct {
		lang bot.Lang
		n    float64
		want string
	}{
		{bot.French, 1.5, "one"},           // French: i = 0 or 1
		{bot.French, 1000000, "many"},      // exact millions
		{bot.French, 2.5, "other"},         //
		{bot.Arabic, 2.5, "other"},         // a fraction is other in Arabic
		{bot.Arabic, 103, "few"},           // n % 100 in 3..10
		{bot.Arabic, 111, "many"},          // n % 100 in 11..99
		{bot.Arabic, -2, "two"},            // the absolute value
		{bot.Darija, 1.004, "one"},         // as shown: 1
		{bot.Tamazight, 1, "one"},          //
		{bot.Lang("xx"), 1, "other"},       // an unknown language
		{bot.French, math.Inf(1), "other"}, // not finite
	} {
		if got := locale.PluralCategory(tc.lang, tc.n); got != tc.want {
			t.Errorf("PluralCategory(%s, %v) = %s, want %s", tc.lang, tc.n, got, tc.want)
		}
	}
	if got := locale.PluralForms(bot.Arabic); strings.Join(got, " ") != "zero one two few many other" {
		t.Errorf("PluralForms(ar) = %v", got)
	}
}

// messageFile reads a message file as plain YAML: each message's text, or
// its plural forms.
func messageFile(t *testing.T, lang bot.Lang) map[string]any {
	t.Helper()
	data, err := fs.ReadFile(locales.FS, string(lang)+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCountMessages renders every message that carries a count, in every
// language, for the counts 0, 1, 2, 3, 11 and 100, and checks that each
// gets the form of its CLDR category, read from the file itself. Every
// French message with {{.Count}} must be a plural message.
func TestCountMessages(t *testing.T) {
	b := bundle(t)
	fr := messageFile(t, bot.French)
	var counted []string
	for id, v := range fr {
		switch v := v.(type) {
		case string:
			if strings.Contains(v, ".Count") {
				t.Errorf("fr.yaml: %s shows {{.Count}} but has no plural forms: give it one and other (and the other languages their forms)", id)
			}
		case map[string]any:
			counted = append(counted, id)
		}
	}
	if len(counted) < 3 {
		t.Fatalf("only %d count-bearing messages: %v", len(counted), counted)
	}
	for _, lang := range bot.Langs {
		file := messageFile(t, lang)
		for _, id := range counted {
			forms, ok := file[id].(map[string]any)
			if !ok {
				t.Errorf("%s.yaml: %s has no plural forms", lang, id)
				continue
			}
			for _, n := range counts {
				cat := cldr[lang][n]
				src, ok := forms[cat].(string)
				if !ok {
					t.Errorf("%s.yaml: %s has no %s form, which %d takes", lang, id, cat, n)
					continue
				}
				data := map[string]any{"Right": 1, "Total": 30}
				want := execute(t, src, data, n)
				if got := b.N(lang, id, n, data); got != want {
					t.Errorf("%s %s with %d (%s): got %q, want %q", lang, id, n, cat, got, want)
				}
			}
		}
	}
	// The forms say different things where the language does: in French
	// 1 and 2, in Arabic 1, 2, 3 and 100.
	for _, id := range counted {
		for _, c := range []struct {
			lang bot.Lang
			a, b int
		}{{bot.French, 1, 2}, {bot.Arabic, 1, 100}, {bot.Arabic, 2, 100}, {bot.Arabic, 3, 100}} {
			if x, y := b.N(c.lang, id, c.a, nil), b.N(c.lang, id, c.b, nil); x == y {
				t.Errorf("%s %s: %d and %d give the same text %q", c.lang, id, c.a, c.b, x)
			}
		}
	}
}

func execute(t *testing.T, src string, data map[string]any, n int) string {
	t.Helper()
	d := map[string]any{"Count": n}
	for k, v := range data {
		d[k] = v
	}
	tmpl, err := template.New("").Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := tmpl.Execute(&sb, d); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(sb.String())
}
