package locale_test

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/locale"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		// The examples of docs/languages.md.
		{"ÉTAPE Suivante", "etape suivante"},
		{"مُسَاعَدَة", "مساعده"},
		{"نعم ١٢٣ ۴۵۶", "نعم 123 456"},
		{"1️⃣", "1"},
		{"stop\u200b", "stop"},
		// Tatweel, bidi marks and isolates, BOM.
		{"مســـاعدة", "مساعده"},
		{"\u200fنعم\u200e", "نعم"},
		{"\u2066250\u2069 درهم", "250 درهم"},
		{"\ufeffoui", "oui"},
		{"\u061cلا", "لا"},
		// Ligatures and compatibility forms.
		{"ﻻ", "لا"},
		{"ﻷ", "لا"},
		{"ﬁn", "fin"},
		{"ＳＴＯＰ", "stop"},
		{"１２３", "123"},
		{"①", "1"},
		// Arabic letter variants and hamza.
		{"إيقاف", "ايقاف"},
		{"آخر", "اخر"},
		{"ٱلله", "الله"},
		{"بلى", "بلي"},
		{"ی", "ي"},
		{"ڭلس", "كلس"},
		{"ڤيديو", "فيديو"},
		{"مسؤول", "مسوول"},
		// Latin: accents, case, ß, dotless and dotted i, dot below.
		{"Français", "francais"},
		{"Straße", "strasse"},
		{"İstanbul", "istanbul"},
		{"ḥbs", "hbs"},
		{"Tamaziɣt", "tamaziɣt"},
		// Apostrophes.
		{"d’accord", "d'accord"},
		{"D‘ACCORD", "d'accord"},
		// Emoji, skin tones and keycaps.
		{"👍", "yes"},
		{"👍🏽", "yes"},
		{"👌🏿", "yes"},
		{"✅", "yes"},
		{"ok👍", "ok yes"},
		{"👎", "no"},
		{"❌", "no"},
		{"🙏🏾", "🙏"},
		{"2️⃣", "2"},
		{"#️⃣", "#"},
		// White space.
		{"  la   suite \t\n", "la suite"},
		{"1\u00a0200", "1 200"},
		{"1\u202f200", "1 200"},
		{"", ""},
		{"   ", ""},
		// Tifinagh passes through.
		{"ⵜⴰⵎⴰⵣⵉⵖⵜ", "ⵜⴰⵎⴰⵣⵉⵖⵜ"},
		// Invalid UTF-8.
		{"a\xffb", "a\ufffdb"},
	}
	for _, tt := range tests {
		if got := locale.Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIntent(t *testing.T) {
	b := bundle(t)
	tests := []struct {
		in   string
		want locale.Intent
	}{
		// French.
		{"Oui", locale.Yes},
		{"ouais", locale.Yes},
		{"D'accord", locale.Yes},
		{"d’accord !", locale.Yes},
		{"NON", locale.No},
		{"Menu", locale.Menu},
		{"aide", locale.Help},
		{"Aide-moi", locale.Help},
		{"STOP", locale.Stop},
		{"Arrêt", locale.Stop},
		{"arret", locale.Stop},
		{"suivant", locale.Next},
		{"Suite", locale.Next},
		{"la suite", locale.Next},
		{"répéter", locale.Repeat},
		{"encore", locale.Repeat},
		{"Langue", locale.Language},
		{"progression", locale.Progress},
		{"Supprimer mes données", locale.Erase},
		{"effacer mes donnees", locale.Erase},
		{"commencer", locale.Start},
		// Darija, Arabic script.
		{"واخا", locale.Yes},
		{"وخا", locale.Yes},
		{"إيه", locale.Yes},
		{"لا", locale.No},
		{"لالا", locale.No},
		{"المينو", locale.Menu},
		{"عاوني", locale.Help},
		{"حبس", locale.Stop},
		{"زيد", locale.Next},
		{"كملي", locale.Next},
		{"عاود", locale.Repeat},
		{"عاودي", locale.Repeat},
		{"مرة خرى", locale.Repeat},
		{"بدل اللغة", locale.Language},
		{"فين وصلت", locale.Progress},
		{"مسح المعلومات ديالي", locale.Erase},
		{"بدا", locale.Start},
		// Darija, Arabizi.
		{"3awni", locale.Help},
		{"wakha", locale.Yes},
		{"Wa5a", locale.Yes},
		{"iyeh", locale.Yes},
		{"7bes", locale.Stop},
		{"w9ef", locale.Stop},
		{"la2", locale.No},
		{"walo", locale.No},
		{"zid", locale.Next},
		{"tab3", locale.Next},
		{"3awed", locale.Repeat},
		{"logha", locale.Language},
		{"7ayed les donnees dyali", locale.Erase},
		// Arabic, with and without tashkeel and hamza.
		{"نعم", locale.Yes},
		{"نَعَمْ", locale.Yes},
		{"أجل", locale.Yes},
		{"اجل", locale.Yes},
		{"بلى", locale.Yes},
		{"كلا", locale.No},
		{"القائمة", locale.Menu},
		{"القائمه", locale.Menu},
		{"القائمة الرئيسية", locale.Menu},
		{"مُسَاعَدَة", locale.Help},
		{"ساعدني", locale.Help},
		{"توقف", locale.Stop},
		{"إلغاء الاشتراك", locale.Stop},
		{"التالي", locale.Next},
		{"التالى", locale.Next},
		{"استمر", locale.Next},
		{"أعد", locale.Repeat},
		{"إعادة", locale.Repeat},
		{"تغيير اللغة", locale.Language},
		{"تقدمي", locale.Progress},
		{"احذف بياناتي", locale.Erase},
		{"ابدأ", locale.Start},
		{"الـــتالي", locale.Next},
		{"\u200fنعم", locale.Yes},
		// Tamazight, Tifinagh and Latin.
		{"ⵉⵀ", locale.Yes},
		{"ⵓⵀⵓ", locale.No},
		{"ⵓⵎⵓⵖ", locale.Menu},
		{"ⵜⴰⵡⵉⵙⵉ", locale.Help},
		{"ⵃⴱⵙ", locale.Stop},
		{"ⴽⵎⵎⵍ", locale.Next},
		{"ⴰⵍⵙ", locale.Repeat},
		{"ⵜⵓⵜⵍⴰⵢⵜ", locale.Language},
		{"ⴱⴷⵓ", locale.Start},
		{"ⴽⴽⵙ ⵉⵙⴼⴽⴰ ⵉⵏⵓ", locale.Erase},
		{"ih", locale.Yes},
		{"waxxa", locale.Yes},
		{"uhu", locale.No},
		{"umuɣ", locale.Menu},
		{"tawisi", locale.Help},
		{"ḥbs", locale.Stop},
		{"hbs", locale.Stop},
		{"tutlayt", locale.Language},
		// SMS carrier words and English.
		{"UNSUBSCRIBE", locale.Stop},
		{"stopall", locale.Stop},
		{"Cancel", locale.Stop},
		{"END", locale.Stop},
		{"QUIT", locale.Stop},
		{"REVOKE", locale.Stop},
		{"OPTOUT", locale.Stop},
		{"START", locale.Start},
		{"unstop", locale.Start},
		{"help", locale.Help},
		{"yes", locale.Yes},
		// Emoji and keycaps.
		{"👍", locale.Yes},
		{"👍🏽", locale.Yes},
		{"👍👍", locale.Yes},
		{"✅", locale.Yes},
		{"👎", locale.No},
		{"❌", locale.No},
		{"0️⃣", locale.Menu},
		{"0", locale.Menu},
		// Punctuation and repetition.
		{"Stop!!!", locale.Stop},
		{"menu ?", locale.Menu},
		{"مساعدة؟", locale.Help},
		{"oui oui", locale.Yes},
		{"لا لا", locale.No},
		{"«aide»", locale.Help},
		// Typos: one edit in words of 5+ letters.
		{"suivnt", locale.Next},
		{"siuvant", locale.Next},
		{"suivantt", locale.Next},
		{"continur", locale.Next},
		{"progresion", locale.Progress},
		{"langeu", locale.Language},
		{"3awnni", locale.Help},
		{"wakah", locale.Yes},
		{"مساعدت", locale.Help},
		{"ⵜⴰⵡⵉⵙ", locale.Help},
		{"UNSUBSCRIB", locale.Stop},
		// … but not in shorter words, nor two edits, nor real words.
		{"aid", locale.NoIntent},
		{"aidee", locale.NoIntent},
		{"stp", locale.NoIntent},
		{"stopp", locale.NoIntent},
		{"mnu", locale.NoIntent},
		{"nno", locale.NoIntent},
		{"svnt", locale.NoIntent},
		{"suivre", locale.NoIntent},
		{"التاني", locale.NoIntent},
		{"12345", locale.NoIntent},
		// "la" is no only alone.
		{"la", locale.No},
		{"La", locale.No},
		{"la réponse", locale.NoIntent},
		{"la 2", locale.NoIntent},
		{"لا أعرف", locale.NoIntent},
		// Not keywords.
		{"", locale.NoIntent},
		{"   ", locale.NoIntent},
		{"!!!", locale.NoIntent},
		{"1", locale.NoIntent},
		{"2️⃣", locale.NoIntent},
		{"bonjour", locale.NoIntent},
		{"oui mais non", locale.NoIntent},
		{"je veux le menu", locale.NoIntent},
		{"السلام عليكم", locale.NoIntent},
		{"français", locale.NoIntent},
	}
	for _, tt := range tests {
		if got := b.Intent(tt.in); got != tt.want {
			t.Errorf("Intent(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLanguageNamed(t *testing.T) {
	b := bundle(t)
	tests := []struct {
		in     string
		want   bot.Lang
		wantOK bool
	}{
		{"darija", bot.Darija, true},
		{"Darija", bot.Darija, true},
		{"الدارجة", bot.Darija, true},
		{"الدارجه", bot.Darija, true},
		{"الدارجة / Darija", bot.Darija, true},
		{"ddarija", bot.Darija, true},
		{"العربية", bot.Arabic, true},
		{"العربيه", bot.Arabic, true},
		{"3arbiya", bot.Arabic, true},
		{"Français", bot.French, true},
		{"francais", bot.French, true},
		{"FRANCAIS", bot.French, true},
		{"fransawiya", bot.French, true},
		{"الفرنسية", bot.French, true},
		{"francias", bot.French, true},
		{"ⵜⴰⵎⴰⵣⵉⵖⵜ", bot.Tamazight, true},
		{"ⵜⴰⵎⴰⵣⵉⵖⵜ / Tamaziɣt / تامازيغت", bot.Tamazight, true}, {"تامازيغت", bot.Tamazight, true},
		{"Tamaziɣt", bot.Tamazight, true},
		{"tamazight", bot.Tamazight, true},
		{"tmazight", bot.Tamazight, true},
		{"chelha", bot.Tamazight, true},
		{"الأمازيغية", bot.Tamazight, true},
		{"je parle français", "", false},
		{"langue", "", false},
		{"", "", false},
		{"1", "", false},
	}
	for _, tt := range tests {
		got, ok := b.LanguageNamed(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("LanguageNamed(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestChoice(t *testing.T) {
	tests := []struct {
		in     string
		n      int
		want   int
		wantOK bool
	}{
		{"2", 3, 2, true},
		{"٢", 3, 2, true},
		{"۲", 3, 2, true},
		{"2️⃣", 3, 2, true},
		{"2⃣", 3, 2, true},
		{" 2. ", 3, 2, true},
		{"2)", 3, 2, true},
		{"(2)", 3, 2, true},
		{"2 .", 3, 2, true},
		{"２", 3, 2, true},
		{"②", 3, 2, true},
		{"\u200f٢", 3, 2, true},
		{"1", 1, 1, true},
		{"10", 12, 10, true},
		{"١٠", 12, 10, true},
		{"🔟", 12, 10, true},
		{"02", 3, 2, true},
		{"0", 3, 0, false},
		{"4", 3, 0, false},
		{"-1", 3, 0, false},
		{"", 3, 0, false},
		{"deux", 3, 0, false},
		{"2 3", 3, 0, false},
		{"2.5", 3, 0, false},
		{"option 2", 3, 0, false},
		{"1000", 3, 0, false},
		{"99999999999999999999", 3, 0, false},
		{"1", 0, 0, false},
	}
	for _, tt := range tests {
		got, ok := locale.Choice(tt.in, tt.n)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Choice(%q, %d) = %d, %v; want %d, %v", tt.in, tt.n, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in     string
		want   float64
		wantOK bool
	}{
		{"1200", 1200, true},
		{"1 200", 1200, true},
		{"1\u00a0200", 1200, true},
		{"1\u202f200", 1200, true},
		{"1.200", 1200, true},
		{"1,200", 1200, true},
		{"12,500", 12500, true},
		{"1.200.000", 1200000, true},
		{"1 200 000", 1200000, true},
		{"12,5", 12.5, true},
		{"12.5", 12.5, true},
		{"0,5", 0.5, true},
		{"0.250", 0.25, true},
		{"1234.567", 1234.567, true},
		{"1 200,50", 1200.5, true},
		{"1.200,50", 1200.5, true},
		{"1,200.50", 1200.5, true},
		{",5", 0.5, true},
		{"١٢٠٠", 1200, true},
		{"۱۲۰۰", 1200, true},
		{"١٢٫٥", 12.5, true},
		{"١٬٢٠٠", 1200, true},
		{"١٢،٥", 12.5, true},
		{"１２００", 1200, true},
		{"1200 DH", 1200, true},
		{"1200dh", 1200, true},
		{"1200 Dhs", 1200, true},
		{"1200 MAD", 1200, true},
		{"DH 1200", 1200, true},
		{"1 200 dirhams", 1200, true},
		{"1200 درهم", 1200, true},
		{"١٢٠٠ درهم", 1200, true},
		{"1200درهم", 1200, true},
		{"250 دراهم", 250, true},
		{"1200 د.م.", 1200, true},
		{"15%", 15, true},
		{"15 %", 15, true},
		{"3 kg", 3, true},
		{"2 jours", 2, true},
		{"8h", 8, true},
		{"-5", -5, true},
		{"−5", -5, true},
		{"+5", 5, true},
		{"-0", 0, true},
		{"- 5 DH", -5, true},
		{"1200.", 1200, true},
		{" 250 ", 250, true},
		{"\u2066250\u2069", 250, true},
		{"0", 0, true},
		{"", 0, false},
		{"DH", 0, false},
		{"abc", 0, false},
		{"1200 DH merci", 0, false},
		{"environ 1200", 0, false},
		{"10 20", 0, false},
		{"10-20", 0, false},
		{"12 5", 0, false},
		{"1 2000", 0, false},
		{"1.2.3", 0, false},
		{"1..2", 0, false},
		{"1,", 0, false},
		{"1.200 000", 0, false},
		{"1.200,000.5", 0, false},
		{"--5", 0, false},
		{"5-", 0, false},
		{"1e5", 0, false},
		{"0x10", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"1200 DH DH", 0, false},
		{strings.Repeat("9", 400), 0, false},
	}
	for _, tt := range tests {
		got, ok := locale.ParseNumber(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseNumber(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
		if ok && math.Signbit(got) && got == 0 {
			t.Errorf("ParseNumber(%q) = -0, want 0", tt.in)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{12.5, "12.5"},
		{1200, "1200"},
		{1.0 / 3, "0.33"},
		{2.0 / 3, "0.67"},
		{0.1 + 0.2, "0.3"},
		{12.499, "12.5"},
		{-5, "-5"},
		{-0.001, "0"},
		{math.Copysign(0, -1), "0"},
		{0, "0"},
		{1234567.891, "1234567.89"},
		{1e21, "1000000000000000000000"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "+Inf"},
	}
	for _, tt := range tests {
		if got := locale.FormatNumber(tt.in); got != tt.want {
			t.Errorf("FormatNumber(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

const (
	rlm = "\u200f"
	lri = "\u2066"
	pdi = "\u2069"
)

func TestDirectional(t *testing.T) {
	tests := []struct {
		lang     bot.Lang
		in, want string
	}{
		{bot.Arabic, "مرحبا", rlm + "مرحبا"},
		{bot.Darija, "سطر\nسطر", rlm + "سطر\n" + rlm + "سطر"},
		{bot.Darija, "سطر\n\nسطر", rlm + "سطر\n\n" + rlm + "سطر"},
		{bot.Darija, "1 الدرس الجاي: Costing", rlm + lri + "1" + pdi + " الدرس الجاي: " + lri + "Costing" + pdi},
		{bot.Arabic, "الثمن 1200 DH فقط", rlm + "الثمن " + lri + "1200 DH" + pdi + " فقط"},
		{bot.Arabic, "السعر 12.5% اليوم", rlm + "السعر " + lri + "12.5%" + pdi + " اليوم"},
		{bot.Arabic, "اتصل ب +212 600-000001 الآن", rlm + "اتصل ب " + lri + "+212 600-000001" + pdi + " الآن"},
		{bot.Arabic, "زوروا https://darsi.ma/fr?x=1 اليوم", rlm + "زوروا " + lri + "https://darsi.ma/fr?x=1" + pdi + " اليوم"},
		{bot.Arabic, "الربح: -50 درهم", rlm + "الربح: " + lri + "-50" + pdi + " درهم"},
		{bot.Arabic, "(0/3)", rlm + "(" + lri + "0/3" + pdi + ")"},
		{bot.Arabic, "القانون 09-08.", rlm + "القانون " + lri + "09-08" + pdi + "."},
		{bot.Arabic, "Darsi، STOP؟", rlm + lri + "Darsi" + pdi + "، " + lri + "STOP" + pdi + "؟"},
		{bot.Arabic, "Café au lait", rlm + lri + "Café au lait" + pdi},
		{bot.Arabic, "Cafe\u0301!", rlm + lri + "Cafe\u0301" + pdi + "!"},
		{bot.Arabic, "أرقام ١٢٣ عربية", rlm + "أرقام ١٢٣ عربية"},
		{bot.Arabic, "ok 👍 مزيان", rlm + lri + "ok" + pdi + " 👍 مزيان"},
		{bot.Arabic, "", ""},
		{bot.Arabic, "\n", "\n"},
		// Marks already there are replaced, not doubled.
		{bot.Arabic, rlm + "نعم " + lri + "250" + pdi, rlm + "نعم " + lri + "250" + pdi},
		{bot.Arabic, rlm + rlm + "نعم", rlm + "نعم"},
		{bot.Arabic, lri + rlm + "نعم", rlm + "نعم"},
		// Left-to-right languages are untouched.
		{bot.French, "Tu as 1200 DH.\nالسلام", "Tu as 1200 DH.\nالسلام"},
		{bot.Tamazight, "ⴰⵣⵓⵍ 250", "ⴰⵣⵓⵍ 250"},
		{"", "مرحبا 1", "مرحبا 1"},
	}
	for _, tt := range tests {
		got := locale.Directional(tt.lang, tt.in)
		if got != tt.want {
			t.Errorf("Directional(%s, %q) = %q, want %q", tt.lang, tt.in, got, tt.want)
		}
		if again := locale.Directional(tt.lang, got); again != got {
			t.Errorf("Directional(%s, Directional(%q)) = %q, want %q (idempotent)", tt.lang, tt.in, again, got)
		}
	}
}

// TestDirectionalMessages runs every Arabic-script message through
// Directional: each line starts with RLM and no Latin letter or ASCII digit
// is left outside an isolate.
func TestDirectionalMessages(t *testing.T) {
	b := bundle(t)
	data := map[string]any{"N": 1, "Title": "Costing", "Done": 0, "Total": 3, "Min": "10", "Max": "12.5", "Answer": "B", "Right": 2}
	for _, lang := range []bot.Lang{bot.Darija, bot.Arabic} {
		for _, id := range b.IDs() {
			out := locale.Directional(lang, b.N(lang, id, 3, data))
			if out == "" {
				t.Errorf("%s %s: empty", lang, id)
			}
			for _, line := range strings.Split(out, "\n") {
				if line != "" && !strings.HasPrefix(line, rlm) {
					t.Errorf("%s %s: line %q does not start with RLM", lang, id, line)
				}
				depth := 0
				for _, r := range line {
					switch {
					case r == '\u2066':
						depth++
					case r == '\u2069':
						depth--
					case depth == 0 && (r < 0x80 && (r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')):
						t.Errorf("%s %s: %q outside an isolate in %q", lang, id, r, line)
					}
					if depth < 0 || depth > 1 {
						t.Errorf("%s %s: isolates unbalanced in %q", lang, id, line)
					}
				}
			}
		}
	}
}

// TestNormalizeEveryRune checks that Normalize is idempotent on every code
// point alone; FuzzNormalize tries combinations.
func TestNormalizeEveryRune(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		n := locale.Normalize(string(r))
		if again := locale.Normalize(n); again != n {
			t.Errorf("Normalize(%q) = %q, but Normalize(%q) = %q (%U)", string(r), n, n, again, r)
		}
	}
}

func TestFormatNumberIn(t *testing.T) {
	for _, tc := range []struct {
		lang bot.Lang
		n    float64
		want string
	}{
		{bot.French, 21.5, "21,5"},
		{bot.French, 1200, "1200"},
		{bot.Arabic, 21.5, "21.5"},
		{bot.Darija, 0.333, "0.33"},
		{bot.Tamazight, 21.5, "21.5"},
	} {
		if got := locale.FormatNumberIn(tc.lang, tc.n); got != tc.want {
			t.Errorf("FormatNumberIn(%s, %v): got %q, want %q", tc.lang, tc.n, got, tc.want)
		}
	}
}
