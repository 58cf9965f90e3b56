package lesson

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/darsi-ma/darsi/bot"
)

// Stamp records, on every text of a lesson or course file, that its
// translations in langs were made from the current source text: it sets
// each text's "from" key to the source's SourceHash for those languages,
// keeping the hashes of the other languages. It edits the file's lines in
// place, so comments and layout stay as the author wrote them, and returns
// the new file and how many texts changed. Run it after translating; lint
// then flags a translation as stale when its source text changes.
func Stamp(data []byte, langs []bot.Lang) ([]byte, int, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, 0, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return data, 0, nil
	}
	root := doc.Content[0]
	source := bot.French
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "source" && bot.Lang(root.Content[i+1].Value).Valid() {
			source = bot.Lang(root.Content[i+1].Value)
		}
	}
	var texts []*yaml.Node
	collectTexts(root, source, &texts)

	lines := strings.SplitAfter(string(data), "\n")
	var edits []edit
	for _, t := range texts {
		if e, ok, err := stampText(t, source, langs); err != nil {
			return nil, 0, err
		} else if ok {
			edits = append(edits, e)
		}
	}
	// Apply from the end of the file, so that earlier positions hold.
	sort.Slice(edits, func(i, j int) bool {
		if edits[i].line != edits[j].line {
			return edits[i].line > edits[j].line
		}
		return edits[i].col > edits[j].col
	})
	for _, e := range edits {
		line := []rune(lines[e.line-1])
		if e.col-1+e.cut > len(line) {
			return nil, 0, fmt.Errorf("line %d: cannot place from", e.line)
		}
		out := string(line[:e.col-1]) + e.text + string(line[e.col-1+e.cut:])
		lines[e.line-1] = out
	}
	return []byte(strings.Join(lines, "")), len(edits), nil
}

// edit replaces cut runes at line:col with text.
type edit struct {
	line, col, cut int
	text           string
}

// collectTexts finds the texts under n: mappings of languages (and from)
// that hold the source language. Media maps also have language keys but
// are not texts.
func collectTexts(n *yaml.Node, source bot.Lang, out *[]*yaml.Node) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			collectTexts(c, source, out)
		}
	case yaml.MappingNode:
		if isText(n, source) {
			*out = append(*out, n)
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i].Value; k == "media" || k == FromKey {
				continue
			}
			collectTexts(n.Content[i+1], source, out)
		}
	}
}

func isText(n *yaml.Node, source bot.Lang) bool {
	hasSource := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		switch {
		case k == FromKey:
		case bot.Lang(k).Valid():
			hasSource = hasSource || bot.Lang(k) == source
		default:
			return false
		}
	}
	return hasSource
}

// stampText works out the edit that gives text t its new from key.
func stampText(t *yaml.Node, source bot.Lang, langs []bot.Lang) (edit, bool, error) {
	var src string
	present := map[bot.Lang]bool{}
	var fromKey, fromVal *yaml.Node
	old := map[bot.Lang]string{}
	for i := 0; i+1 < len(t.Content); i += 2 {
		k, v := t.Content[i], t.Content[i+1]
		switch {
		case k.Value == FromKey:
			fromKey, fromVal = k, v
			if v.Kind == yaml.ScalarNode {
				for _, l := range bot.Langs {
					old[l] = v.Value
				}
			}
			for j := 0; v.Kind == yaml.MappingNode && j+1 < len(v.Content); j += 2 {
				old[bot.Lang(v.Content[j].Value)] = v.Content[j+1].Value
			}
		case bot.Lang(k.Value) == source:
			src = v.Value
		default:
			present[bot.Lang(k.Value)] = true
		}
	}
	hash := SourceHash(src)
	want := map[bot.Lang]string{}
	changed := false
	for _, l := range bot.Langs {
		if l == source || !present[l] {
			continue
		}
		h, had := old[l]
		if slices.Contains(langs, l) {
			changed = changed || h != hash
			h, had = hash, true
		}
		if had {
			want[l] = h
		}
	}
	if !changed || len(want) == 0 {
		return edit{}, false, nil
	}
	text := "from: " + formatFrom(want, present)
	if fromKey == nil {
		first := t.Content[0]
		if t.Style&yaml.FlowStyle != 0 {
			return edit{line: first.Line, col: first.Column, text: text + ", "}, true, nil
		}
		return edit{line: first.Line, col: 1, text: strings.Repeat(" ", first.Column-1) + text + "\n"}, true, nil
	}
	// Replace the old "from: …", which stamp always writes on one line.
	end := 0
	switch {
	case fromVal.Kind == yaml.ScalarNode && fromVal.Line == fromKey.Line:
		end = fromVal.Column - 1 + scalarWidth(fromVal)
	case fromVal.Kind == yaml.MappingNode && fromVal.Style&yaml.FlowStyle != 0 && fromVal.Line == fromKey.Line:
		last := fromVal.Content[len(fromVal.Content)-1]
		end = last.Column - 1 + scalarWidth(last) + 1 // and the closing brace
	default:
		return edit{}, false, fmt.Errorf("line %d: write from on one line (from: HASH or from: {ary: HASH, …}) to stamp it", fromKey.Line)
	}
	return edit{line: fromKey.Line, col: fromKey.Column, cut: end - (fromKey.Column - 1), text: text}, true, nil
}

// scalarWidth is how many characters a one-line hash takes in the file.
func scalarWidth(n *yaml.Node) int {
	w := len([]rune(n.Value))
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		w += 2
	}
	return w
}

// formatFrom writes one hash when every translation has the same one, or
// a flow map of language to hash.
func formatFrom(want map[bot.Lang]string, present map[bot.Lang]bool) string {
	var one string
	same := true
	for _, l := range bot.Langs {
		h, ok := want[l]
		switch {
		case present[l] && !ok:
			same = false
		case ok && one == "":
			one = h
		case ok && h != one:
			same = false
		}
	}
	// Hashes are quoted: 8 hex digits may read as a number in YAML.
	if same {
		return strconvQuote(one)
	}
	var parts []string
	for _, l := range bot.Langs {
		if h, ok := want[l]; ok {
			parts = append(parts, string(l)+": "+strconvQuote(h))
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func strconvQuote(h string) string { return `"` + h + `"` }
