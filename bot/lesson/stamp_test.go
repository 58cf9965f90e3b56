package lesson

import (
	"strings"
	"testing"
	"testing/fstest"

	"gopkg.in/yaml.v3"

	"github.com/darsi-ma/darsi/bot"
)

const stampCourse = `course: t
title: {ary: "a", ar: "a", fr: "Cours", zgh: "a"}
lessons: [t-1]
`

// A lesson with a block text, a flow text, a media map and a comment.
const stampLesson = `# A comment the stamp keeps.
course: t
id: t-1
minutes: 5
title: {ary: "a", ar: "a", fr: "Leçon", zgh: "a"}
steps:
  - id: hi
    say:
      ary: "مرحبا"
      ar: "مرحبا"
      fr: "Bonjour"   # the source
      zgh: "ⴰⵣⵓⵍ"
    media: {ary: c/a.png, ar: c/a.png, fr: c/a.png, zgh: c/a.png}
  - id: q
    ask: {ary: "?", ar: "?", fr: "Quoi ?", zgh: "?"}
    options:
      - {text: {ary: "1", ar: "1", fr: "Un", zgh: "1"}, correct: true}
      - {text: {ary: "2", ar: "2", fr: "Deux", zgh: "2"}}
`

func loadStamped(t *testing.T, lesson string) *Lesson {
	t.Helper()
	cat, err := Load(fstest.MapFS{
		"t/course.yaml": {Data: []byte(stampCourse)},
		"t/t-1.yaml":    {Data: []byte(lesson)},
	}, "")
	if err != nil {
		t.Fatalf("the stamped file does not load: %v\n%s", err, lesson)
	}
	return cat.Lesson("t-1")
}

func TestStamp(t *testing.T) {
	out, n, err := Stamp([]byte(stampLesson), []bot.Lang{bot.Darija, bot.Arabic, bot.Tamazight})
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("stamped %d texts, want 5 (title, say, ask, two options)", n)
	}
	s := string(out)
	if !strings.Contains(s, "# A comment the stamp keeps.") || !strings.Contains(s, `fr: "Bonjour"   # the source`) {
		t.Errorf("the stamp lost the author's layout:\n%s", s)
	}
	if !strings.Contains(s, "    say:\n      from: \""+SourceHash("Bonjour")+"\"\n      ary:") {
		t.Errorf("block text not stamped on its own line:\n%s", s)
	}
	les := loadStamped(t, s)
	for _, text := range []Text{les.Title, les.Steps[0].Say, les.Steps[1].Ask, les.Steps[1].Options[0].Text} {
		want := SourceHash(text.In(bot.French))
		for _, l := range []bot.Lang{bot.Darija, bot.Arabic, bot.Tamazight} {
			if text.From[l] != want {
				t.Errorf("%q: from[%s] = %q, want %q", text.In(bot.French), l, text.From[l], want)
			}
		}
	}
	if len(les.Steps[0].Media) != 4 {
		t.Errorf("the media map was taken for a text: %v", les.Steps[0].Media)
	}

	// Stamping again changes nothing.
	again, n, err := Stamp(out, []bot.Lang{bot.Darija, bot.Arabic, bot.Tamazight})
	if err != nil || n != 0 || string(again) != s {
		t.Errorf("a second stamp changed %d texts (err %v)", n, err)
	}

	// The source changes and only the Darija translation is redone: the
	// others keep their old hash, so they show as stale.
	edited := strings.Replace(s, `fr: "Bonjour"`, `fr: "Bonsoir"`, 1)
	redone, n, err := Stamp([]byte(edited), []bot.Lang{bot.Darija})
	if err != nil || n != 1 {
		t.Fatalf("stamp after an edit: %d texts, err %v", n, err)
	}
	say := loadStamped(t, string(redone)).Steps[0].Say
	if say.From[bot.Darija] != SourceHash("Bonsoir") || say.From[bot.Arabic] != SourceHash("Bonjour") || say.From[bot.Tamazight] != SourceHash("Bonjour") {
		t.Errorf("from after stamping ary only: %v", say.From)
	}
	if !strings.Contains(string(redone), `from: {ary: "`+SourceHash("Bonsoir")+`", ar: "`) {
		t.Errorf("mixed hashes not written as a map:\n%s", redone)
	}
}

// FuzzStamp: on any file, Stamp does not panic; on a valid YAML file, what
// it writes is still valid YAML, and a second stamp changes nothing.
func FuzzStamp(f *testing.F) {
	f.Add(stampLesson)
	f.Add(stampCourse)
	f.Add("title: {fr: x, ary: y, from: 12345678}\n")
	f.Add("title:\n  fr: x\n  from: {ary: \"00000000\"}\n  ary: y\n")
	f.Fuzz(func(t *testing.T, in string) {
		var v any
		if yaml.Unmarshal([]byte(in), &v) != nil {
			return
		}
		langs := []bot.Lang{bot.Darija, bot.Tamazight}
		out, n, err := Stamp([]byte(in), langs)
		if err != nil || n == 0 {
			return
		}
		if err := yaml.Unmarshal(out, &v); err != nil {
			t.Fatalf("stamped file is not YAML: %v\nin:\n%s\nout:\n%s", err, in, out)
		}
		again, n2, err := Stamp(out, langs)
		if err != nil || n2 != 0 || string(again) != string(out) {
			t.Fatalf("second stamp changed %d texts (err %v)\nin:\n%s\nout:\n%s\nagain:\n%s", n2, err, in, out, again)
		}
	})
}
