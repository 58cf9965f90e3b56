package lint

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"gopkg.in/yaml.v3"
)

// generated returns a folder of courses×lessons lessons shaped like the
// curriculum's: nine steps in four languages, a question with feedback on
// three options, two number inputs, a calc, a text with variables and a
// survey.
func generated(courses, lessons int) fstest.MapFS {
	text := func(seed string) string {
		fr := strings.Repeat("Fatima vend ses tagines au souk chaque semaine, "+seed+" ", 3)
		ar := strings.Repeat("تبيع فاطمة طواجنها في السوق كل أسبوع، "+seed+" ", 3)
		zgh := strings.Repeat("ⵜⵣⵣⵏⵣ ⴼⴰⵟⵉⵎⴰ ⵜⵉⵊⵉⵏⵉⵏ ⵏⵏⵙ ⴳ ⵙⵙⵓⵇ, "+seed+" ", 3)
		return fmt.Sprintf("{ary: %q, ar: %q, fr: %q, zgh: %q}", ar, ar, fr, zgh)
	}
	fsys := fstest.MapFS{}
	for c := range courses {
		cid := fmt.Sprintf("c%d", c)
		var ids []string
		for l := range lessons {
			id := fmt.Sprintf("%s-%d", cid, l)
			ids = append(ids, id)
			var b strings.Builder
			fmt.Fprintf(&b, "course: %s\nid: %s\nminutes: 5\ntitle: %s\ndrafts: [ary, ar, zgh]\nsteps:\n", cid, id, text("titre"))
			fmt.Fprintf(&b, "  - id: intro\n    say: %s\n", text("intro"))
			fmt.Fprintf(&b, "  - id: q\n    ask: %s\n    options:\n", text("question"))
			for o := range 3 {
				fmt.Fprintf(&b, "      - text: {ary: \"%d\", ar: \"%d\", fr: \"%d DH\", zgh: \"%d\"}\n        feedback: %s\n", o, o, o, o, text("retour"))
				if o == 1 {
					b.WriteString("        correct: true\n")
				}
			}
			fmt.Fprintf(&b, "  - id: cost\n    input: number\n    var: cost\n    min: 0\n    max: 100000\n    example: \"300\"\n    ask: %s\n", text("coût"))
			fmt.Fprintf(&b, "  - id: units\n    input: number\n    var: units\n    min: 1\n    max: 10000\n    example: \"20\"\n    ask: %s\n", text("pièces"))
			fmt.Fprintf(&b, "  - id: calc\n    calc: {unit: \"cost / units\", price: \"round(cost / units * 1.3)\"}\n    say: %s\n", text("{{unit}} {{price}}"))
			fmt.Fprintf(&b, "  - id: more\n    say: %s\n", text("suite"))
			fmt.Fprintf(&b, "  - id: note\n    input: text\n    var: note\n    example: \"tagines\"\n    ask: %s\n", text("produit"))
			fmt.Fprintf(&b, "  - id: echo\n    say: %s\n", text("{{note}}"))
			fmt.Fprintf(&b, "  - id: s\n    survey: revenue_stable\n    ask: %s\n    options:\n", text("enquête"))
			fmt.Fprintf(&b, "      - {value: \"yes\", text: {ary: \"1\", ar: \"1\", fr: \"Oui\", zgh: \"1\"}}\n      - {value: \"no\", text: {ary: \"2\", ar: \"2\", fr: \"Non\", zgh: \"2\"}}\n")
			fsys[cid+"/"+id+".yaml"] = &fstest.MapFile{Data: []byte(b.String())}
		}
		fsys[cid+"/course.yaml"] = &fstest.MapFile{Data: []byte(fmt.Sprintf(
			"course: %s\ntitle: %s\nlessons: [%s]\n", cid, text("cours"), strings.Join(ids, ", ")))}
	}
	return fsys
}

func TestGeneratedLessonsAreClean(t *testing.T) {
	_, rep, err := Load(generated(2, 3), "gen", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors+rep.Warnings != 0 || len(rep.Lessons) != 6 {
		t.Fatalf("the benchmark's lessons are not clean: %d lessons, findings %v", len(rep.Lessons), rep.Findings)
	}
}

// BenchmarkLint1000 loads and lints 1,000 generated lessons (100 courses
// of 10), as darsi lint does on a folder.
func BenchmarkLint1000(b *testing.B) {
	fsys := generated(100, 10)
	size := 0
	for _, f := range fsys {
		size += len(f.Data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		_, rep, err := Load(fsys, "gen", Options{})
		if err != nil || rep.Errors > 0 || len(rep.Lessons) != 1000 {
			b.Fatalf("err %v, %d errors, %d lessons", err, rep.Errors, len(rep.Lessons))
		}
	}
}

// BenchmarkYAMLOnly1000 is the baseline for BenchmarkLint1000: only
// parsing the same files with yaml.v3, one after the other.
func BenchmarkYAMLOnly1000(b *testing.B) {
	fsys := generated(100, 10)
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range fsys {
			var doc yaml.Node
			if err := yaml.Unmarshal(f.Data, &doc); err != nil {
				b.Fatal(err)
			}
		}
	}
}
