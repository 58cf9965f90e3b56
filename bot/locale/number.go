package locale

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/darsi-ma/darsi/bot"
)

// Choice parses a numbered choice among n options: "2", "٢", "۲", "2️⃣",
// " 2. ", "2)", "(2)", "🔟" give the 1-based choice and true. Anything else,
// or a number outside 1…n, gives 0 and false.
func Choice(text string, n int) (int, bool) {
	s := Normalize(text)
	if s == "🔟" {
		s = "10"
	}
	s = strings.TrimPrefix(s, "(")
	s = strings.TrimRight(s, ".)-: ")
	if s == "" || len(s) > 3 || strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' }) {
		return 0, false
	}
	k, err := strconv.Atoi(s)
	if err != nil || k < 1 || k > n {
		return 0, false
	}
	return k, true
}

// units are the words allowed next to a number, once normalised: currency,
// percent, and a few units of quantity and time. They are ignored.
var units = func() []string {
	u := []string{
		// currency (dirham)
		"dh", "dhs", "mad", "dirham", "dirhams", "درهم", "دراهم", "د.م", "د.م.",
		"%",
		// quantity
		"kg", "kilo", "kilos", "g", "gr", "l", "litre", "litres", "كيلو", "لتر",
		"piece", "pieces", "pcs", "حبه", "حبات",
		// time
		"h", "heure", "heures", "min", "minutes", "j", "jour", "jours", "mois",
		"ساعه", "ساعات", "دقيقه", "دقايق", "يوم", "ايام", "شهر", "شهور",
	}
	// Longest first, so that "dhs" is tried before "dh" and "h".
	slices.SortStableFunc(u, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return u
}()

// ParseNumber reads an amount or a count the way learners type it:
// "1200", "1 200", "1.200" and "1,200" (a thousands separator: one
// separator followed by exactly three digits, after one to three digits
// not starting with 0), "1.200.000", "1 200,50", "1,200.50", "12,5" and
// "12.5" (a decimal separator), "0,250", "١٢٠٠" (Arabic-Indic digits and the
// Arabic separators ٫ ٬), "-5", and a number with a currency or unit before
// or after it, glued or not: "1200 DH", "1200dh", "1200 درهم", "15%",
// "3 kg". It returns false for text with no number, with another word, or
// with two numbers ("10 20", "10-20").
func ParseNumber(text string) (float64, bool) {
	s := Normalize(text)
	s = strings.NewReplacer("٫", ".", "٬", ",", "،", ",", "−", "-").Replace(s)
	s = strings.TrimRight(s, ".! ")
	s = stripUnit(s)
	if s == "" {
		return 0, false
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = strings.TrimLeft(s[1:], " ")
	case '+':
		s = strings.TrimLeft(s[1:], " ")
	}
	v, ok := parseUnsigned(s)
	if !ok {
		return 0, false
	}
	if neg && v != 0 {
		v = -v
	}
	return v, true
}

// stripUnit removes one unit before or after the number in s.
func stripUnit(s string) string {
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u); ok && rest != "" && endsNumber(rest) {
			return strings.TrimRight(rest, " ")
		}
	}
	for _, u := range units {
		if rest, ok := strings.CutPrefix(s, u); ok && rest != "" && startsNumber(rest) {
			return strings.TrimLeft(rest, " ")
		}
	}
	return s
}

func endsNumber(s string) bool {
	c := s[len(s)-1]
	return c == ' ' || isDigit(c)
}

func startsNumber(s string) bool {
	c := s[0]
	return c == ' ' || c == '-' || c == '+' || c == '.' || c == ',' || isDigit(c)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// parseUnsigned reads digits with grouping and decimal separators.
func parseUnsigned(s string) (float64, bool) {
	if s == "" || !isDigit(s[len(s)-1]) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isDigit(c) && c != ' ' && c != '.' && c != ',' {
			return 0, false
		}
	}
	dots, commas := strings.Count(s, "."), strings.Count(s, ",")
	var dec byte // the decimal separator, if any
	switch {
	case dots > 0 && commas > 0:
		dec = s[max(strings.LastIndexByte(s, '.'), strings.LastIndexByte(s, ','))]
		if strings.Count(s, string(dec)) != 1 {
			return 0, false
		}
	case dots+commas == 1:
		i := strings.IndexAny(s, ".,")
		intPart, frac := s[:i], s[i+1:]
		thousands := len(frac) == 3 && allDigits(frac) &&
			len(intPart) >= 1 && len(intPart) <= 3 && allDigits(intPart) && intPart[0] != '0'
		if !thousands {
			dec = s[i]
		}
	}
	intPart, frac := s, ""
	if dec != 0 {
		i := strings.IndexByte(s, dec)
		intPart, frac = s[:i], s[i+1:]
		if frac == "" || !allDigits(frac) {
			return 0, false
		}
	}
	digits, ok := ungroup(intPart)
	if !ok {
		return 0, false
	}
	if digits == "" {
		digits = "0"
	}
	if frac != "" {
		digits += "." + frac
	}
	v, err := strconv.ParseFloat(digits, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// ungroup removes the thousands separators of an integer part: one kind of
// separator (space, dot or comma), a first group of one to three digits and
// then groups of exactly three.
func ungroup(s string) (string, bool) {
	i := strings.IndexAny(s, " .,")
	if i < 0 {
		return s, true
	}
	groups := strings.Split(s, s[i:i+1])
	for k, g := range groups {
		if !allDigits(g) || g == "" || (k == 0 && len(g) > 3) || (k > 0 && len(g) != 3) {
			return "", false
		}
	}
	return strings.Join(groups, ""), true
}

// FormatNumber writes n with at most two decimals, rounded, without
// trailing zeros and without a thousands separator: "12.5", "1200", "0.33",
// "-5". It writes NaN and infinities as strconv does ("NaN", "+Inf").
func FormatNumber(n float64) string {
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return strconv.FormatFloat(n, 'f', -1, 64)
	}
	s := strconv.FormatFloat(n, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" {
		s = "0"
	}
	return s
}

// FormatNumberIn is FormatNumber as lang writes it: French takes a decimal
// comma ("21,5"); the others keep the point, as Moroccan receipts and
// phones show it.
func FormatNumberIn(lang bot.Lang, n float64) string {
	s := FormatNumber(n)
	if lang == bot.French {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}
