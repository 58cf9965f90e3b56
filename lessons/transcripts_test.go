package lessons_test

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/bot/preview"
	"github.com/darsi-ma/darsi/lessons"
	"github.com/darsi-ma/darsi/locales"
)

var update = flag.Bool("update", false, "rewrite the lesson transcripts in transcripts/")

// transcripts is the folder of golden transcripts: LESSON.LANG.txt, each
// what "darsi preview COURSE/LESSON --lang LANG" prints.
const transcripts = "transcripts"

// marks shows the invisible direction marks in a diff, where go-cmp would
// otherwise quote the whole text byte by byte.
var marks = strings.NewReplacer("\u200f", "{RLM}", "\u2066", "{LRI}", "\u2069", "{PDI}", "\u200e", "{LRM}")

// TestTranscripts plays every lesson in every language with right answers
// and compares the conversation with transcripts/LESSON.LANG.txt, so that a
// change to a lesson, a translation or the engine shows in review as a diff
// of what learners get. It fails when a lesson has no transcript or a
// transcript has no lesson; go test ./lessons -update rewrites them all.
func TestTranscripts(t *testing.T) {
	text, err := locale.Load(locales.FS)
	if err != nil {
		t.Fatalf("locale.Load: %v", err)
	}
	cat, err := lesson.Load(lessons.FS, "lessons")
	if err != nil {
		t.Fatalf("lesson.Load:\n%v", err)
	}
	content := &dialog.Content{Lessons: cat, Text: text}

	want := map[string]string{} // file name: transcript
	var names []string
	for _, course := range cat.Courses {
		for _, les := range course.Lessons {
			for _, lang := range bot.Langs {
				name := les.ID + "." + string(lang) + ".txt"
				tr, err := preview.Play(content, les.ID, lang, nil)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				want[name] = tr.String()
				names = append(names, name)
			}
		}
	}
	files, err := filepath.Glob(filepath.Join(transcripts, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)

	if *update {
		if err := os.MkdirAll(transcripts, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, text := range want {
			if err := os.WriteFile(filepath.Join(transcripts, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range files {
			if _, ok := want[filepath.Base(f)]; !ok {
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
			}
		}
		return
	}

	for _, name := range names {
		t.Run(strings.TrimSuffix(name, ".txt"), func(t *testing.T) {
			file := filepath.Join(transcripts, name)
			got, err := os.ReadFile(file)
			if os.IsNotExist(err) {
				t.Fatalf("%s: the lesson has no transcript; run go test ./lessons -update (or make transcripts) and read it", file)
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(marks.Replace(string(got)), marks.Replace(want[name])); diff != "" {
				t.Errorf("%s differs (-file +engine); run go test ./lessons -update and read the diff:\n%s", file, diff)
			}
		})
	}
	for _, f := range files {
		if _, ok := want[filepath.Base(f)]; !ok {
			t.Errorf("%s: a transcript of no lesson (or language); run go test ./lessons -update to remove it", f)
		}
	}
}
