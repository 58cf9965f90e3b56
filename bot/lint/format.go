package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/lesson"
)

// sortFindings puts findings in file order.
func (r *Report) sortFindings() {
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// WriteJSON writes the report as one JSON document, for tools.
func (r *Report) WriteJSON(w io.Writer) error {
	r.sortFindings()
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	if r.Lessons == nil {
		r.Lessons = []LessonReport{}
	}
	if r.Aged == nil {
		r.Aged = []AgedStep{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteFindings writes one "file:line:col: message" line per finding;
// notes only when notes is true.
func (r *Report) WriteFindings(w io.Writer, notes bool) error {
	r.sortFindings()
	for _, f := range r.Findings {
		if f.Severity == Note && !notes {
			continue
		}
		if _, err := fmt.Fprintln(w, f); err != nil {
			return err
		}
	}
	return nil
}

// WriteSummary writes the summary table: per lesson, minutes and SMS
// segments in each language, drafts and stale translations left; then the
// totals and the assumptions behind the minutes.
func (r *Report) WriteSummary(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	langs := bot.Langs
	head := []string{"lesson", "budget"}
	for _, l := range langs {
		head = append(head, "min "+string(l))
	}
	for _, l := range langs {
		head = append(head, "sms "+string(l))
	}
	head = append(head, "drafts", "stale")
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")

	totalMin := map[bot.Lang]float64{}
	totalSMS := map[bot.Lang]int{}
	drafts := map[bot.Lang]int{}
	stale := map[bot.Lang]int{}
	for _, les := range r.Lessons {
		row := []string{les.Lesson, fmt.Sprint(les.Budget)}
		for _, l := range langs {
			u := les.Langs[l]
			mark := ""
			for _, x := range les.TooLong {
				if x == l {
					mark = "!"
				}
			}
			row = append(row, fmt.Sprintf("%.1f%s", u.Minutes, mark))
			totalMin[l] += u.Minutes
		}
		for _, l := range langs {
			row = append(row, fmt.Sprint(les.Langs[l].Segments))
			totalSMS[l] += les.Langs[l].Segments
		}
		row = append(row, langList(les.Drafts))
		var st []bot.Lang
		for _, l := range langs {
			if les.Stale[l] > 0 {
				st = append(st, l)
				stale[l] += les.Stale[l]
			}
		}
		for _, l := range les.Drafts {
			drafts[l]++
		}
		row = append(row, langList(st))
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	if n := len(r.Lessons); n > 0 {
		row := []string{"total", ""}
		for _, l := range langs {
			row = append(row, fmt.Sprintf("%.1f", totalMin[l]))
		}
		for _, l := range langs {
			row = append(row, fmt.Sprint(totalSMS[l]))
		}
		row = append(row, "", "")
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
		row = []string{"average", ""}
		for _, l := range langs {
			row = append(row, fmt.Sprintf("%.1f", totalMin[l]/float64(n)))
		}
		for _, l := range langs {
			row = append(row, fmt.Sprintf("%.0f", float64(totalSMS[l])/float64(n)))
		}
		row = append(row, "", "")
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	a := r.Assumptions
	var speeds []string
	for _, l := range langs {
		speeds = append(speeds, fmt.Sprintf("%s %.0f", l, a.WordsPerMinute[l]))
	}
	fmt.Fprintf(w, "\n%d courses, %d lessons. Minutes: the longest way through a lesson, read at %s words a minute,\n",
		r.Courses, len(r.Lessons), strings.Join(speeds, ", "))
	fmt.Fprintf(w, "plus %.0f s a choice, %.0f s a number, %.0f s a text; \"!\" marks a lesson over its budget.\n",
		a.ChoiceSeconds, a.NumberSeconds, a.TextSeconds)
	fmt.Fprintln(w, "SMS: segments along that way, each message counted as sent (GSM-7 160/153, UCS-2 70/67).")
	fmt.Fprintf(w, "Drafts left: %s. Stale translations: %s.\n", countList(drafts, "lessons"), countList(stale, "texts"))
	r.writeGSM(w)
	if r.GlossaryFile == "" {
		fmt.Fprintf(w, "Glossary: none (%s at the top of the lesson folder).\n", lesson.GlossaryFile)
	} else {
		fmt.Fprintf(w, "Glossary warnings (%s): %s.\n", r.GlossaryFile, countList(r.Glossary, ""))
	}
	if len(r.Aged) == 0 {
		fmt.Fprintf(w, "Sources to check again (verified missing or over %d months ago): none.\n", MaxVerifiedAge)
	} else {
		fmt.Fprintf(w, "Sources to check again (verified missing or over %d months ago): %d steps\n", MaxVerifiedAge, len(r.Aged))
		for _, a := range r.Aged {
			v := a.Verified
			if v == "" {
				v = "never"
			}
			fmt.Fprintf(w, "  %s:%d: %s/%s (verified %s)\n", a.File, a.Line, a.Lesson, a.Step, v)
		}
	}
	fmt.Fprintf(w, "%d errors, %d warnings, %d notes (darsi lint --notes lists them).\n", r.Errors, r.Warnings, r.Notes)
	return nil
}

// writeGSM writes, per language, the SMS segments of every lesson along
// its longest way now and with the characters that alone make a message
// UCS-2 replaced, and those characters with their counts (lessons and the
// bot's messages).
func (r *Report) writeGSM(w io.Writer) {
	now, gsm := map[bot.Lang]int{}, map[bot.Lang]int{}
	for _, les := range r.Lessons {
		for _, l := range bot.Langs {
			if u := les.Langs[l]; u != nil {
				now[l] += u.Segments
				gsm[l] += u.SegmentsGSM
			}
		}
	}
	var parts []string
	for _, l := range bot.Langs {
		parts = append(parts, fmt.Sprintf("%s %d → %d", l, now[l], gsm[l]))
	}
	fmt.Fprintf(w, "SMS segments now → with lint's GSM-7 replacements: %s.\n", strings.Join(parts, ", "))
	parts = parts[:0]
	for _, l := range bot.Langs {
		if len(r.GSM[l]) == 0 {
			continue
		}
		var cs []string
		for _, c := range sortedCounts(r.GSM[l]) {
			cs = append(cs, fmt.Sprintf("%q %d", c, r.GSM[l][c]))
		}
		parts = append(parts, fmt.Sprintf("%s: %s", l, strings.Join(cs, ", ")))
	}
	if len(parts) == 0 {
		fmt.Fprintln(w, "Characters that alone make an SMS UCS-2: none.")
		return
	}
	fmt.Fprintf(w, "Characters that alone make an SMS UCS-2 (darsi lint --notes shows where): %s.\n", strings.Join(parts, "; "))
}

func langList(ls []bot.Lang) string {
	if len(ls) == 0 {
		return "-"
	}
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = string(l)
	}
	return strings.Join(s, " ")
}

func countList(m map[bot.Lang]int, what string) string {
	var parts []string
	for _, l := range bot.Langs {
		if m[l] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", l, m[l]))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	if what == "" {
		return strings.Join(parts, ", ")
	}
	return strings.Join(parts, ", ") + " " + what
}
