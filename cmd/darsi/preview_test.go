package main

import (
	"strings"
	"testing"
)

// previewLessons is the preview package's small test course (shop/shop-1).
const previewLessons = "../../bot/preview/testdata/lessons"

func TestPreviewUnknownLesson(t *testing.T) {
	for _, target := range []string{"shop-9", "other/shop-1"} {
		code, out, errOut := darsi(t, "", "preview", target, "--lessons", previewLessons)
		if code != 1 {
			t.Errorf("preview %s: exit %d, want 1", target, code)
		}
		if out != "" {
			t.Errorf("preview %s printed %q, want nothing on stdout", target, out)
		}
		if !strings.Contains(errOut, `no lesson "`+target+`"`) || !strings.Contains(errOut, "shop/shop-1") {
			t.Errorf("preview %s: stderr %q, want the lesson named and the lessons listed", target, errOut)
		}
	}
}

func TestPreviewBadLang(t *testing.T) {
	code, out, errOut := darsi(t, "", "preview", "shop/shop-1", "--lang", "en", "--lessons", previewLessons)
	if code != 1 || out != "" {
		t.Errorf("exit %d with output %q, want 1 and nothing", code, out)
	}
	if !strings.Contains(errOut, `--lang "en"`) || !strings.Contains(errOut, "ary, ar, fr, zgh") {
		t.Errorf("stderr %q, want the bad language and the good ones", errOut)
	}
}

// TestPreviewWrongAnswer plays a wrong answer, then the right one: the
// wrong option's feedback shows, then the lesson goes on to its end.
func TestPreviewWrongAnswer(t *testing.T) {
	code, out, errOut := darsi(t, "", "preview", "shop/shop-1", "--lessons", previewLessons, "--answers", "1, 2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"shop-1 · Le prix · fr · 3 min\n",
		"── learner · quiz\n1\n\n── darsi · quiz · feedback · 1 SMS segment (GSM-7, 21 chars)\nNon, ton temps aussi.\n",
		"── learner · quiz\n2\n\n── darsi · quiz · feedback · 1 SMS segment (GSM-7, 4 chars)\nOui.\n",
		"── learner · materials · example\n120\n",
		"answers: 1,2,120,50,tajine,1\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestPreviewRightToLeft takes flags before the lesson, in Darija: bot
// lines end at the same column.
func TestPreviewRightToLeft(t *testing.T) {
	code, out, errOut := darsi(t, "", "preview", "--lang", "ary", "--lessons", previewLessons, "shop-1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "\n── darsi · hello · 1 SMS segment (UCS-2, 20 chars)\n"+strings.Repeat(" ", 45)+"\u200fسلام! اليوم: الثمن.\n") {
		t.Errorf("the hello is not right-aligned:\n%s", out)
	}
}

func TestPreviewUsage(t *testing.T) {
	code, _, errOut := darsi(t, "", "preview")
	if code != 1 || !strings.Contains(errOut, "usage: darsi preview") {
		t.Errorf("no lesson: exit %d, stderr %q; want 1 and the usage", code, errOut)
	}
	code, _, errOut = darsi(t, "", "preview", "shop-1", "extra", "--lessons", previewLessons)
	if code != 1 || !strings.Contains(errOut, "usage: darsi preview") {
		t.Errorf("two lessons: exit %d, stderr %q; want 1 and the usage", code, errOut)
	}
}
