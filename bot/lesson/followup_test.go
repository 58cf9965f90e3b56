package lesson

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestShippedFollowups: every shipped course asks its survey again six
// weeks after it was completed.
func TestShippedFollowups(t *testing.T) {
	cat, err := Load(os.DirFS("../../lessons"), "lessons")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cat.Courses {
		if len(c.Followups) != 1 {
			t.Errorf("course %s has %d follow-ups, want 1", c.ID, len(c.Followups))
			continue
		}
		f := c.Followups[0]
		st, _ := cat.Lesson(f.Lesson).Step(f.Step)
		if f.After != 6*7*24*time.Hour || st == nil || st.Kind != Survey || st.Survey != f.Survey {
			t.Errorf("course %s: follow-up %+v, want the course's survey after 6 weeks", c.ID, f)
		}
	}
}

func TestFollowupProblems(t *testing.T) {
	good, err := os.ReadFile("testdata/good/demo/course.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for followup, want := range map[string]string{
		"followup:\n  - {weeks: 6, survey: nope}\n":    `followup survey "nope": no survey step of course "demo" asks it`,
		"followup:\n  - {weeks: 0, survey: revenue}\n": "followup weeks \"0\": want a whole number of weeks from 1 to 104",
		"followup:\n  - {weeks: 6}\n":                  "a followup needs weeks and survey",
		"followup:\n  - {weeks: 6, survey: x, y: 1}\n": "y",
		"followup: 6\n": "followup must be a list",
	} {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS("testdata/good")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir+"/demo/course.yaml", append(append([]byte{}, good...), followup...), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(os.DirFS(dir), "good")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: Load error %v, want %q", followup, err, want)
		}
	}
}
