package locale

import (
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/darsi-ma/darsi/bot"
)

// PluralForms returns the plural categories a count-bearing text must give
// in lang: those of the CLDR rule of lang's carrier tag (see the package
// comment), in CLDR order. Darija follows the Arabic rule (six forms),
// Tamazight go-i18n's rule for its carrier, one and other.
func PluralForms(lang bot.Lang) []string { return slices.Clone(pluralForms[lang]) }

// categories is a go-i18n bundle holding one message whose forms are the
// names of the plural categories: rendering it with a count gives the
// category go-i18n picks for a plural message of the same language, by
// the very rule the bot's messages use.
var categories = sync.OnceValue(func() map[bot.Lang]*i18n.Localizer {
	b := i18n.NewBundle(language.Und)
	out := map[bot.Lang]*i18n.Localizer{}
	for _, lang := range bot.Langs {
		tag := language.MustParse(carriers[lang])
		if err := b.AddMessages(tag, &i18n.Message{ID: "category",
			Zero: "zero", One: "one", Two: "two", Few: "few", Many: "many", Other: "other"}); err != nil {
			panic(fmt.Sprintf("locale: plural rule of %s: %v", lang, err))
		}
		out[lang] = i18n.NewLocalizer(b, carriers[lang])
	}
	return out
})

// PluralCategory returns the CLDR plural category (zero, one, two, few,
// many or other) of count n in lang, as the number is shown: with at most
// two decimals (FormatNumber), so that "1,5" is "one" in French and 2.5
// "other" everywhere else. An unknown language, or a number that is not
// finite, is "other".
func PluralCategory(lang bot.Lang, n float64) string {
	loc := categories()[lang]
	if loc == nil {
		return "other"
	}
	s := FormatNumber(n)
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return "other"
	}
	if s[0] == '-' {
		s = s[1:] // CLDR rules take the absolute value
	}
	cat, err := loc.Localize(&i18n.LocalizeConfig{MessageID: "category", PluralCount: s})
	if err != nil || !slices.Contains(pluralForms[lang], cat) {
		return "other"
	}
	return cat
}
