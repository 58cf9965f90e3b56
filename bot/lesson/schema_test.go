package lesson

import (
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/darsi-ma/darsi/bot"
)

// The JSON Schemas in lessons/schema give authors completion and checking
// in their editors. These tests hold them to the loader: the same keys, the
// same patterns, the same step kinds, and every shipped file accepted.

const (
	lessonsDir = "../../lessons"
	schemaDir  = "../../lessons/schema"
)

// schemas is the compiled lesson and course schemas, and their JSON.
type schemas struct {
	lesson, course       *jsonschema.Schema
	glossary             *jsonschema.Schema
	lessonDoc, courseDoc map[string]any
}

func loadSchemas(tb testing.TB) *schemas {
	tb.Helper()
	s := &schemas{}
	c := jsonschema.NewCompiler()
	for _, x := range []struct {
		file string
		sch  **jsonschema.Schema
		doc  *map[string]any
	}{
		{"lesson.schema.json", &s.lesson, &s.lessonDoc},
		{"course.schema.json", &s.course, &s.courseDoc},
		{"glossary.schema.json", &s.glossary, new(map[string]any)},
	} {
		name := filepath.Join(schemaDir, x.file)
		data, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		if err := json.Unmarshal(data, x.doc); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		if *x.sch, err = c.Compile(name); err != nil {
			tb.Fatalf("compile %s: %v", name, err)
		}
	}
	return s
}

// validate checks one lesson or course file against its schema.
func (s *schemas) validate(name string, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	sch := s.lesson
	switch {
	case path.Base(name) == CourseFile:
		sch = s.course
	case name == GlossaryFile:
		sch = s.glossary
	}
	return sch.Validate(jsonValue(&doc))
}

// jsonValue turns a YAML node into the values JSON would give, typing
// scalars as a YAML 1.2 editor does: 5 is a number, "5" and five strings.
func jsonValue(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return jsonValue(n.Content[0])
	case yaml.AliasNode:
		return jsonValue(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = jsonValue(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		a := make([]any, len(n.Content))
		for i, e := range n.Content {
			a[i] = jsonValue(e)
		}
		return a
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return n.Value
	}
	switch v.(type) {
	case nil, bool, int, int64, uint64, float64, string:
		return v
	}
	return n.Value // timestamps and other tags stay text, as in JSON
}

// TestSchemaShippedFiles validates every lesson and course file under
// lessons/, whichever courses exist when the test runs, and the loader's
// good test course.
func TestSchemaShippedFiles(t *testing.T) {
	s := loadSchemas(t)
	n := 0
	for _, dir := range []string{lessonsDir, "testdata/good"} {
		fsys := os.DirFS(dir)
		// Walk as Load does: skip dot folders, read .yaml and .yml files.
		err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != "." && strings.HasPrefix(d.Name(), ".") {
					return fs.SkipDir
				}
				return nil
			}
			if ext := path.Ext(p); (ext != ".yaml" && ext != ".yml") || p == GlossaryFile {
				return nil
			}
			data, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			n++
			if err := s.validate(p, data); err != nil {
				t.Errorf("%s: %v", path.Join(dir, p), err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n < 2 {
		t.Fatalf("validated %d files, want the shipped courses", n)
	}
}

// TestSchemaKeys checks that the schemas accept exactly the keys the
// loader's handlers accept (keys, which fields holds the handlers to), and
// use the loader's languages and patterns.
func TestSchemaKeys(t *testing.T) {
	s := loadSchemas(t)
	lessonDefs := schemaObject(t, s.lessonDoc, "$defs")

	var langs []string
	for _, l := range bot.Langs {
		langs = append(langs, string(l))
	}
	objects := slices.Sorted(maps.Keys(keys))
	if want := []string{"course", "followup", "lesson", "option", "step", "text"}; !slices.Equal(objects, want) {
		t.Errorf("keys declares objects %q, want %q", objects, want)
	}
	for what, ks := range keys {
		if sorted := slices.Sorted(slices.Values(ks)); len(slices.Compact(sorted)) != len(ks) {
			t.Errorf("keys[%q] names a key twice: %q", what, ks)
		}
	}
	// text takes its keys from the languages and FromKey, not from fields.
	if diff := cmp.Diff(sortedCopy(append(slices.Clone(langs), FromKey)), sortedCopy(keys["text"])); diff != "" {
		t.Errorf("keys[text] against bot.Langs and FromKey (-want +got):\n%s", diff)
	}

	for _, c := range []struct {
		what   string
		schema map[string]any
	}{
		{"course", s.courseDoc},
		{"followup", schemaObject(t, schemaObject(t, schemaObject(t, s.courseDoc, "properties"), "followup"), "items")},
		{"lesson", s.lessonDoc},
		{"step", schemaObject(t, lessonDefs, "step")},
		{"option", schemaObject(t, lessonDefs, "option")},
		{"text", schemaObject(t, lessonDefs, "text")},
		{"text", schemaObject(t, schemaObject(t, s.courseDoc, "$defs"), "text")},
	} {
		if diff := cmp.Diff(sortedCopy(keys[c.what]), propertyNames(t, c.schema)); diff != "" {
			t.Errorf("%s keys: loader (-) and schema (+) disagree; add the key to both, or to neither:\n%s", c.what, diff)
		}
		if c.schema["additionalProperties"] != false {
			t.Errorf("%s schema: got additionalProperties %v, want false", c.what, c.schema["additionalProperties"])
		}
		for name, p := range schemaObject(t, c.schema, "properties") {
			if d, _ := p.(map[string]any)["description"].(string); d == "" {
				t.Errorf("%s schema: property %q has no description", c.what, name)
			}
		}
	}

	// Languages: the language enum, and the language maps of media and from.
	if diff := cmp.Diff(langs, stringList(t, schemaObject(t, lessonDefs, "lang")["enum"])); diff != "" {
		t.Errorf("$defs/lang against bot.Langs (-want +got):\n%s", diff)
	}
	for _, def := range []string{"media", "from"} {
		var langMaps int
		alts, _ := schemaObject(t, lessonDefs, def)["anyOf"].([]any)
		for _, alt := range alts {
			if _, ok := alt.(map[string]any)["properties"]; ok {
				langMaps++
				if diff := cmp.Diff(sortedCopy(langs), propertyNames(t, alt.(map[string]any))); diff != "" {
					t.Errorf("$defs/%s map keys against bot.Langs (-want +got):\n%s", def, diff)
				}
			}
		}
		if langMaps != 1 {
			t.Errorf("$defs/%s: got %d language maps, want 1", def, langMaps)
		}
	}

	// Patterns: the schema's must be the loader's.
	step := schemaObject(t, schemaObject(t, lessonDefs, "step"), "properties")
	for _, p := range []struct {
		where  string
		schema map[string]any
		want   string
	}{
		{"$defs/id", schemaObject(t, lessonDefs, "id"), idPattern.String()},
		{"$defs/var", schemaObject(t, lessonDefs, "var"), varPattern.String()},
		{"$defs/hash", schemaObject(t, lessonDefs, "hash"), hashPattern.String()},
		{"step survey", schemaObject(t, step, "survey"), indicatorPattern.String()},
	} {
		if got := p.schema["pattern"]; got != p.want {
			t.Errorf("%s pattern: got %v, want the loader's %q", p.where, got, p.want)
		}
	}

	// The two files are read alone by editors, so each carries the
	// definitions they share; they must not drift apart.
	for name, def := range schemaObject(t, s.courseDoc, "$defs") {
		if diff := cmp.Diff(lessonDefs[name], def); diff != "" {
			t.Errorf("$defs/%s differs between lesson and course schema (-lesson +course):\n%s", name, diff)
		}
	}
}

// TestSchemaStepKinds adds each step key to a valid step of each kind and
// checks that the loader and the schema agree on whether the step is
// allowed: the schema's oneOf of step kinds is the loader's stepKinds and
// only.
func TestSchemaStepKinds(t *testing.T) {
	s := loadSchemas(t)
	samples := map[string]string{
		"say":      "    say: $T\n",
		"ask":      "    ask: $T\n",
		"options":  "    options:\n      - {text: $T, correct: true}\n      - {text: $T}\n",
		"input":    "    input: number\n",
		"var":      "    var: x\n",
		"min":      "    min: 0\n",
		"max":      "    max: 9\n",
		"example":  "    example: 3\n",
		"calc":     "    calc: {y: \"1 + 1\"}\n",
		"survey":   "    survey: ind\n",
		"goto":     "    goto: end\n",
		"media":    "    media: a/b.jpg\n",
		"sources":  "    sources: [\"Loi 15-95\"]\n",
		"review":   "    review: true\n",
		"verified": "    verified: \"2026-01\"\n",
	}
	for _, k := range keys["step"] {
		if _, ok := samples[k]; !ok && k != "id" {
			t.Errorf("step key %q has no sample value here: add one", k)
		}
	}
	kinds := []struct {
		kind string
		keys []string
		yaml string
	}{
		{"say", []string{"say"}, samples["say"]},
		{"question", []string{"ask", "options"}, samples["ask"] + samples["options"]},
		{"input", []string{"input", "var", "ask"}, samples["input"] + samples["var"] + samples["ask"]},
		{"calc", []string{"calc"}, samples["calc"]},
		{"survey", []string{"survey", "ask", "options"}, samples["survey"] + samples["ask"] +
			"    options:\n      - {text: $T, value: a}\n      - {text: $T, value: b}\n"},
	}
	for _, kind := range kinds {
		t.Run(kind.kind, func(t *testing.T) {
			base := "  - id: s\n" + kind.yaml
			loaderErr, schemaErr := judge(t, s, fixtureCourse, fixtureHead+base)
			if loaderErr != nil || schemaErr != nil {
				t.Fatalf("%s step alone: loader says %v; schema says %v; want both to accept", kind.kind, loaderErr, schemaErr)
			}
			for _, k := range keys["step"] {
				if k == "id" || slices.Contains(kind.keys, k) {
					continue
				}
				loaderErr, schemaErr := judge(t, s, fixtureCourse, fixtureHead+base+samples[k])
				if (loaderErr == nil) != (schemaErr == nil) {
					t.Errorf("%s step with %s: loader says %v; schema says %v; want them to agree", kind.kind, k, loaderErr, schemaErr)
				}
			}
		})
	}
}

const (
	fixtureText     = "{ary: a, ar: b, fr: c, zgh: d}"
	fixtureCourse   = "course: c\ntitle: $T\nlessons: [l]\n"
	fixtureHead     = "course: c\nid: l\ntitle: $T\nsteps:\n"
	fixtureSay      = "  - id: s\n    say: $T\n"
	fixtureQuestion = "  - id: q\n    ask: $T\n    options:\n      - {text: $T, correct: true}\n      - {text: $T}\n"
	fixtureInput    = "  - id: n\n    input: number\n    var: n\n    ask: $T\n"
)

// judge loads a course and its one lesson l, and validates both against
// the schemas. $T in either stands for a text in every language.
func judge(tb testing.TB, s *schemas, courseYAML, lessonYAML string) (loaderErr, schemaErr error) {
	tb.Helper()
	expand := strings.NewReplacer("$T", fixtureText).Replace
	files := map[string]string{"c/course.yaml": expand(courseYAML), "c/l.yaml": expand(lessonYAML)}
	fsys := fstest.MapFS{}
	for name, data := range files {
		if err := yaml.Unmarshal([]byte(data), new(yaml.Node)); err != nil {
			tb.Fatalf("fixture %s is not YAML, so it tests nothing: %v\n%s", name, err, data)
		}
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
		if err := s.validate(name, []byte(data)); err != nil && schemaErr == nil {
			schemaErr = err
		}
	}
	_, loaderErr = Load(fsys, "")
	return loaderErr, schemaErr
}

// TestSchemaRejects shows, one small file at a time, that the schema
// rejects what the loader rejects, and lists what only the loader can
// check.
func TestSchemaRejects(t *testing.T) {
	s := loadSchemas(t)
	for _, tc := range []struct {
		name           string
		course, lesson string
		// loaderOnly marks a mistake a JSON Schema cannot see: it spans
		// steps or files, or compares two values.
		loaderOnly bool
	}{
		{name: "unknown key in course", course: fixtureCourse + "level: 2\n"},
		{name: "unknown key in lesson", lesson: "level: 2\n" + fixtureHead + fixtureSay},
		{name: "unknown key in step", lesson: fixtureHead + fixtureSay + "    play: x.mp4\n"},
		{name: "unknown key in option", lesson: fixtureHead + "  - id: q\n    ask: $T\n    options:\n      - text: $T\n        correct: true\n        hint: $T\n      - {text: $T}\n"},
		{name: "unknown key in text", lesson: fixtureHead + "  - id: s\n    say: {ary: a, ar: b, fr: c, zgh: d, en: e}\n"},
		{name: "question with no correct option", lesson: fixtureHead + strings.Replace(fixtureQuestion, ", correct: true", "", 1)},
		{name: "question with two correct options", lesson: fixtureHead + strings.Replace(fixtureQuestion, "{text: $T}", "{text: $T, correct: true}", 1)},
		{name: "question with one option", lesson: fixtureHead + "  - id: q\n    ask: $T\n    options:\n      - {text: $T, correct: true}\n"},
		{name: "option without text", lesson: fixtureHead + strings.Replace(fixtureQuestion, "{text: $T}", "{feedback: $T}", 1)},
		{name: "correct not a boolean", lesson: fixtureHead + strings.Replace(fixtureQuestion, "correct: true", "correct: yes", 1)},
		{name: "survey with a correct option", lesson: fixtureHead + "  - id: v\n    survey: ind\n    ask: $T\n    options:\n      - {text: $T, value: a, correct: true}\n      - {text: $T, value: b}\n"},
		{name: "survey option without value", lesson: fixtureHead + "  - id: v\n    survey: ind\n    ask: $T\n    options:\n      - {text: $T, value: a}\n      - {text: $T}\n"},
		{name: "survey indicator upper case", lesson: fixtureHead + "  - id: v\n    survey: Ind\n    ask: $T\n    options:\n      - {text: $T, value: a}\n      - {text: $T, value: b}\n"},
		{name: "input kind date", lesson: fixtureHead + strings.Replace(fixtureInput, "number", "date", 1)},
		{name: "input without var", lesson: fixtureHead + strings.Replace(fixtureInput, "    var: n\n", "", 1)},
		{name: "text input with min", lesson: fixtureHead + strings.Replace(fixtureInput, "number", "text", 1) + "    min: 1\n"},
		{name: "number input with a word as example", lesson: fixtureHead + fixtureInput + "    example: many\n"},
		{name: "variable name with a dash", lesson: fixtureHead + strings.Replace(fixtureInput, "var: n", "var: unit-cost", 1)},
		{name: "calc with no formula", lesson: fixtureHead + "  - id: k\n    calc: {}\n"},
		{name: "calc variable starting with a digit", lesson: fixtureHead + "  - id: k\n    calc: {1x: \"2\"}\n"},
		{name: "step without kind", lesson: fixtureHead + "  - id: s\n    ask: $T\n"},
		{name: "say step with ask", lesson: fixtureHead + fixtureSay + "    ask: $T\n"},
		{name: "step without id", lesson: fixtureHead + "  - say: $T\n"},
		{name: "step id upper case", lesson: fixtureHead + strings.Replace(fixtureSay, "id: s", "id: Hook", 1)},
		{name: "lesson without steps", lesson: fixtureHead + "  []\n"},
		{name: "lesson without title", lesson: strings.Replace(fixtureHead, "title: $T\n", "", 1) + fixtureSay},
		{name: "minutes zero", lesson: "minutes: 0\n" + fixtureHead + fixtureSay},
		{name: "missing translation", lesson: fixtureHead + "  - id: s\n    say: {ary: a, ar: b, fr: c}\n"},
		{name: "empty translation", lesson: fixtureHead + "  - id: s\n    say: {ary: a, ar: b, fr: \" \", zgh: d}\n"},
		{name: "bad language in drafts", lesson: "drafts: [en]\n" + fixtureHead + fixtureSay},
		{name: "bad source language", lesson: "source: en\n" + fixtureHead + fixtureSay},
		{name: "from not a hash", lesson: fixtureHead + "  - id: s\n    say: {ary: a, ar: b, fr: c, zgh: d, from: abc}\n"},
		{name: "from with a bad language", lesson: fixtureHead + "  - id: s\n    say: {ary: a, ar: b, fr: c, zgh: d, from: {en: \"0a1b2c3d\"}}\n"},
		{name: "media absolute", lesson: fixtureHead + fixtureSay + "    media: /tmp/a.jpg\n"},
		{name: "media under media/", lesson: fixtureHead + fixtureSay + "    media: media/c/a.jpg\n"},
		{name: "media outside the folder", lesson: fixtureHead + fixtureSay + "    media: ../a.jpg\n"},
		{name: "media with a bad language", lesson: fixtureHead + fixtureSay + "    media: {en: c/a.jpg}\n"},
		{name: "sources empty", lesson: fixtureHead + fixtureSay + "    sources: []\n"},
		{name: "course id with underscore", course: strings.Replace(fixtureCourse, "course: c", "course: c_1", 1)},
		{name: "course without lessons", course: strings.Replace(fixtureCourse, "[l]", "[]", 1)},
		{name: "course listing a lesson twice", course: strings.Replace(fixtureCourse, "[l]", "[l, l]", 1)},

		{name: "goto to no step", lesson: fixtureHead + fixtureSay + "    goto: nowhere\n", loaderOnly: true},
		{name: "goto loop", lesson: fixtureHead + fixtureSay + "    goto: s\n", loaderOnly: true},
		{name: "duplicate step id", lesson: fixtureHead + fixtureSay + fixtureSay, loaderOnly: true},
		{name: "calc that does not compile", lesson: fixtureHead + "  - id: k\n    calc: {y: \"1 +\"}\n", loaderOnly: true},
		{name: "variable used before it is set", lesson: fixtureHead + "  - id: k\n    calc: {y: \"n * 2\"}\n" + fixtureInput, loaderOnly: true},
		{name: "min above max", lesson: fixtureHead + fixtureInput + "    min: 5\n    max: 1\n", loaderOnly: true},
		{name: "example outside min and max", lesson: fixtureHead + fixtureInput + "    min: 1\n    example: 0\n", loaderOnly: true},
		{name: "course listing a missing lesson", course: strings.Replace(fixtureCourse, "[l]", "[l, m]", 1), loaderOnly: true},
		{name: "lesson of another course", lesson: strings.Replace(fixtureHead, "course: c", "course: d", 1) + fixtureSay, loaderOnly: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, l := tc.course, tc.lesson
			if c == "" {
				c = fixtureCourse
			}
			if l == "" {
				l = fixtureHead + fixtureSay
			}
			loaderErr, schemaErr := judge(t, s, c, l)
			if loaderErr == nil {
				t.Fatal("loader: got no error, want this file rejected")
			}
			switch {
			case tc.loaderOnly && schemaErr != nil:
				t.Errorf("schema: got %v, want it to accept what only the loader checks (if the schema now checks this, drop loaderOnly)", schemaErr)
			case !tc.loaderOnly && schemaErr == nil:
				t.Errorf("schema: got no error, want it to reject what the loader rejects:\n%v", loaderErr)
			}
		})
	}
}

// TestSchemaAccepts checks that the schema takes every optional key the
// loader takes, in each of its forms.
func TestSchemaAccepts(t *testing.T) {
	s := loadSchemas(t)
	lesson := "minutes: 5\ndrafts: [ary, zgh]\nsource: ar\n" + fixtureHead +
		"  - id: s\n    say: {ary: a, ar: b, fr: c, zgh: d, from: \"0a1b2c3d\"}\n    media: c/a.jpg\n    sources: [\"Loi 15-95, art. 3\"]\n" +
		"  - id: q\n    ask: {ary: a, ar: b, fr: c, zgh: d, from: {ary: \"0a1b2c3d\", zgh: \"ffffffff\"}}\n    media: {fr: c/a-fr.jpg, ar: .c/a.jpg}\n" +
		"    options:\n      - {text: $T, correct: false, value: x, goto: n}\n      - {text: $T, feedback: $T, correct: true}\n" +
		fixtureInput + "    min: 1\n    max: 10\n    example: 4\n    goto: t\n" +
		"  - id: t\n    input: text\n    var: name\n    ask: $T\n    example: Amina\n" +
		"  - id: k\n    calc: {double: \"n * 2\", half: \"double / 4\"}\n    say: $T\n" +
		"  - id: v\n    survey: revenue_stable\n    ask: $T\n    options:\n      - {text: $T, value: \"yes\", goto: end}\n      - {text: $T, value: 0, correct: false}\n"
	loaderErr, schemaErr := judge(t, s, "order: 2.5\ndrafts: []\nsource: fr\n"+fixtureCourse, lesson)
	if loaderErr != nil || schemaErr != nil {
		t.Errorf("loader says %v; schema says %v; want both to accept", loaderErr, schemaErr)
	}
}

func TestDeclared(t *testing.T) {
	h := func(k, v *yaml.Node) {}
	for _, tc := range []struct {
		handlers map[string]func(k, v *yaml.Node)
		keys     []string
		want     bool
	}{
		{map[string]func(k, v *yaml.Node){"a": h, "b": h}, []string{"b", "a"}, true},
		{map[string]func(k, v *yaml.Node){"a": h, "b": h}, []string{"a"}, false},
		{map[string]func(k, v *yaml.Node){"a": h}, []string{"a", "b"}, false},
		{map[string]func(k, v *yaml.Node){"a": h, "c": h}, []string{"a", "b"}, false},
	} {
		if got := declared(tc.handlers, tc.keys); got != tc.want {
			t.Errorf("declared(%v, %q): got %v, want %v", slices.Sorted(maps.Keys(tc.handlers)), tc.keys, got, tc.want)
		}
	}
}

func schemaObject(tb testing.TB, m map[string]any, key string) map[string]any {
	tb.Helper()
	o, ok := m[key].(map[string]any)
	if !ok {
		tb.Fatalf("schema has no object %q", key)
	}
	return o
}

func propertyNames(tb testing.TB, schema map[string]any) []string {
	tb.Helper()
	return slices.Sorted(maps.Keys(schemaObject(tb, schema, "properties")))
}

func stringList(tb testing.TB, v any) []string {
	tb.Helper()
	a, ok := v.([]any)
	if !ok {
		tb.Fatalf("got %v, want a list of strings", v)
	}
	var out []string
	for _, e := range a {
		out = append(out, e.(string))
	}
	return out
}

func sortedCopy(s []string) []string { return slices.Sorted(slices.Values(s)) }
