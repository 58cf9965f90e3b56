package lint

import (
	"os"
	"testing"
	"unicode/utf8"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/lesson"
)

// FuzzGlossary feeds ParseGlossary any file and, when it takes it, checks
// any text against it: no panic, and every finding lies inside the text,
// on rune boundaries, at a line and column of the file.
func FuzzGlossary(f *testing.F) {
	data, err := os.ReadFile("testdata/glossary.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data, "ثمنه 30 درهما عند فاطمة في القسم", "x: \"ثمنه 30 درهما\"\n")
	f.Add(data, "Fatma et Fatiima notent dans le cahier. Vous payez.", "fr: |-\n  Fatma\n  cahier\n")
	f.Add([]byte("languages: {fr: {terms: [{key: a, use: b, avoid: [c d]}]}}\ncast: [{key: k, names: {ary: سعيد, ar: سعيد, fr: Saïd, zgh: ⵙⴰⵄⵉⴷ}}]\n"), "c d Saïdd", "")
	f.Fuzz(func(t *testing.T, glossary []byte, text, src string) {
		g, probs := ParseGlossary(glossary, "g.yaml")
		for _, p := range probs {
			if p.Line < 1 || p.Col < 1 || p.Severity != Error {
				t.Fatalf("problem %v", p)
			}
		}
		if g == nil {
			return
		}
		for _, lang := range bot.Langs {
			for _, h := range g.check(lang, text) {
				if h.off < 0 || h.end > len(text) || h.off > h.end {
					t.Fatalf("hit %d..%d outside %q", h.off, h.end, text)
				}
				if utf8.ValidString(text) && (!utf8.RuneStart(text[h.off]) || (h.end < len(text) && !utf8.RuneStart(text[h.end]))) {
					t.Fatalf("hit %d..%d cuts a character of %q", h.off, h.end, text)
				}
				line, col := locate([]byte(src), lesson.Spot{Pos: lesson.Pos{Line: 1, Col: 1}}, text, h.off, h.end)
				if line < 1 || col < 1 {
					t.Fatalf("locate gave %d:%d", line, col)
				}
			}
		}
	})
}
