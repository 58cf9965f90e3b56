package dialog

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/lessons"
	"github.com/darsi-ma/darsi/locales"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata/transcripts")

// A transcript is a conversation kept in testdata/transcripts/*.txt. Lines:
//
//	# a comment, kept as is
//	> what the learner sends (or a directive, below)
//	< the first line of a bot reply
//	| a further line of the same reply
//	* an event of the message (Event.String), in the order it happened
//	= the learner's state after the message (JSON, a few fields)
//
// Directives: "> !voice" (a voice note), "> !image", "> !location",
// "> !lessons NAME" (swap the lessons for testdata/lessons/NAME, as an
// author's edit would), "> !wait DURATION", "> !cohort CODE NAME" (a cohort
// exists: messages that join it find it, as bot/app's lookup would),
// "> !review LESSON/STEP" (the outbox sent a spaced review's question),
// "> !controller NAME" (the operator names who is responsible for the
// learners' data, as DARSI_CONTROLLER does).
//
// The test plays the "> " lines and compares the whole file; with -update it
// writes what the engine said, to be read as a diff in review. Invisible
// direction marks are shown as {RLM}, {LRI} and {PDI}.

var marks = strings.NewReplacer("\u200f", "{RLM}", "\u2066", "{LRI}", "\u2069", "{PDI}", "\u200e", "{LRM}")

func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts found: %v", err)
	}
	base := testContent(t, lessons.FS)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := play(t, base, string(data))
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(string(data), got); diff != "" {
				t.Errorf("transcript differs (-file +engine); run go test ./bot/dialog -update and read the diff:\n%s", diff)
			}
		})
	}
}

// play runs the inputs of a transcript and returns the transcript the
// engine produces.
func play(t *testing.T, base *Content, script string) string {
	t.Helper()
	content := base
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	l := bot.Learner{}
	cohorts := map[string]string{} // code → name
	var out strings.Builder
	sc := bufio.NewScanner(strings.NewReader(script))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || (line == "" && out.Len() == 0) {
			out.WriteString(line + "\n")
			continue
		}
		input, ok := strings.CutPrefix(line, "> ")
		if !ok {
			continue
		}
		out.WriteString(line + "\n")
		in := bot.Inbound{ID: fmt.Sprint(now.Unix()), From: "whatsapp:+212600000001", Channel: bot.WhatsApp}
		switch {
		case input == "!voice":
			in.Media = []bot.Media{{URL: "https://example.org/voice.ogg", ContentType: "audio/ogg"}}
		case input == "!image":
			in.Media = []bot.Media{{URL: "https://example.org/photo.jpg", ContentType: "image/jpeg"}}
		case input == "!location":
			in.Latitude, in.Longitude = "33.5731", "-7.5898"
		case strings.HasPrefix(input, "!lessons "):
			dir := filepath.Join("testdata/lessons", strings.TrimPrefix(input, "!lessons "))
			content = testContent(t, os.DirFS(dir))
			continue
		case strings.HasPrefix(input, "!controller "):
			c := *content
			c.Controller = strings.TrimPrefix(input, "!controller ")
			content = &c
			continue
		case strings.HasPrefix(input, "!cohort "):
			code, name, _ := strings.Cut(strings.TrimPrefix(input, "!cohort "), " ")
			cohorts[code] = name
			continue
		case strings.HasPrefix(input, "!review "):
			// The outbox sends a spaced review's question.
			l.Review = strings.TrimPrefix(input, "!review ")
			q, ok := ReviewQuestion(content, l.Lang, l.Review, l.Vars)
			if !ok {
				t.Fatalf("%q: no such review question", line)
			}
			for i, rl := range strings.Split(marks.Replace(locale.Directional(l.Lang, q)), "\n") {
				if i == 0 {
					out.WriteString("< " + rl + "\n")
				} else {
					out.WriteString("| " + rl + "\n")
				}
			}
			out.WriteString("= " + summary(l) + "\n")
			continue
		case strings.HasPrefix(input, "!wait "):
			d, err := time.ParseDuration(strings.TrimPrefix(input, "!wait "))
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			now = now.Add(d)
			continue
		default:
			in.Text = input
			if code, explicit, ok := cohort.JoinCandidate(input, content.Text); ok {
				name, found := cohorts[code]
				in.JoinCohort = &bot.JoinCohort{Code: code, Name: name, Found: found, Explicit: explicit}
			}
		}
		now = now.Add(time.Minute)
		res := Step(l, in, now, content)
		l = res.Learner
		for _, r := range res.Replies {
			for i, rl := range strings.Split(marks.Replace(r.Text), "\n") {
				if i == 0 {
					out.WriteString("< " + rl + "\n")
				} else {
					out.WriteString("| " + rl + "\n")
				}
			}
		}
		for _, e := range res.Events {
			out.WriteString("* " + e.String() + "\n")
		}
		if res.Erased() {
			l = bot.Learner{}
			out.WriteString("= erased\n")
			continue
		}
		out.WriteString("= " + summary(l) + "\n")
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// summary is the part of the state a transcript shows.
func summary(l bot.Learner) string {
	s := struct {
		Phase     bot.Phase         `json:"phase"`
		Lang      bot.Lang          `json:"lang,omitempty"`
		Consent   bool              `json:"consent,omitempty"`
		OptedOut  bool              `json:"opted_out,omitempty"`
		Cohort    string            `json:"cohort,omitempty"`
		Review    string            `json:"review,omitempty"`
		Lesson    string            `json:"lesson,omitempty"`
		Step      string            `json:"step,omitempty"`
		Vars      map[string]string `json:"vars,omitempty"`
		Ind       map[string]string `json:"indicators,omitempty"`
		Completed []string          `json:"completed,omitempty"`
	}{l.Phase, l.Lang, l.Consent, l.OptedOut, l.Cohort, l.Review, l.Lesson, l.Step, l.Vars, l.Indicators, nil}
	if s.Phase == bot.PhaseNew {
		s.Phase = "new"
	}
	for _, c := range l.Completed {
		s.Completed = append(s.Completed, fmt.Sprintf("%s:%d", c.Lesson, c.Score))
	}
	sort.Strings(s.Completed)
	b, _ := json.Marshal(s)
	return string(b)
}

func testContent(tb testing.TB, lessonFS fs.FS) *Content {
	tb.Helper()
	text, err := locale.Load(locales.FS)
	if err != nil {
		tb.Fatalf("locale.Load: %v", err)
	}
	cat, err := lesson.Load(lessonFS, "")
	if err != nil {
		tb.Fatalf("lesson.Load: %v", err)
	}
	return &Content{Lessons: cat, Text: text}
}
