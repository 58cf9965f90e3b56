package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/preview"
)

const previewUsage = "usage: darsi preview COURSE/LESSON (or LESSON) [--lang fr] [--answers 2,150,…] [--lessons DIR]"

// previewCmd prints a lesson as a learner takes it on a phone, played
// through the engine: each message with its step and SMS cost, and the
// answers it took (those of --answers, then right ones).
func previewCmd(cfg Config, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("preview", flag.ContinueOnError)
	flags.SetOutput(stderr)
	lang := flags.String("lang", string(bot.French), "the learner's language: ary, ar, fr or zgh")
	answers := flags.String("answers", "", "what the learner types at each step that waits, comma-separated (a decimal takes a point: 12.5); after them, right answers")
	flags.StringVar(&cfg.Lessons, "lessons", cfg.Lessons, "lesson folder; empty for the built-in lessons (env DARSI_LESSONS)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, previewUsage)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() == 0 {
		return errors.New(previewUsage)
	}
	target := flags.Arg(0)
	// Flags may also follow the lesson.
	if err := flags.Parse(flags.Args()[1:]); err != nil {
		return err
	}
	if flags.NArg() != 0 {
		return errors.New(previewUsage)
	}
	if !bot.Lang(*lang).Valid() {
		return fmt.Errorf("--lang %q: want one of ary, ar, fr, zgh", *lang)
	}

	content, err := loadContent(cfg.Lessons)
	if err != nil {
		return err
	}
	courseID, lessonID, inCourse := strings.Cut(target, "/")
	if !inCourse {
		lessonID, courseID = courseID, ""
	}
	les := content.Lessons.Lesson(lessonID)
	if les == nil || (inCourse && les.Course != courseID) {
		var ids []string
		for _, c := range content.Lessons.Courses {
			for _, l := range c.Lessons {
				ids = append(ids, c.ID+"/"+l.ID)
			}
		}
		return fmt.Errorf("no lesson %q; the lessons are: %s", target, strings.Join(ids, ", "))
	}
	tr, err := preview.Play(content, les.ID, bot.Lang(*lang), splitAnswers(*answers))
	if err != nil {
		return err
	}
	_, err = tr.WriteTo(stdout)
	return err
}

// splitAnswers splits --answers at its commas. An empty flag is no answer;
// an empty answer between two commas is an empty message.
func splitAnswers(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	answers := strings.Split(s, ",")
	for i, a := range answers {
		answers[i] = strings.TrimSpace(a)
	}
	return answers
}
