package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// printScaleTable prints what every size measured, a column per size,
// then how the figures that should stay flat moved from the smallest size
// to the largest.
func printScaleTable(w io.Writer, cols []scaleColumn) {
	type row struct {
		label string
		cell  func(c scaleColumn) string
	}
	perSecond := func(n int, d time.Duration) string {
		if d <= 0 {
			return "-"
		}
		return thousands(int(math.Round(float64(n) / d.Seconds())))
	}
	bytesPer := func(x float64) string {
		if math.IsNaN(x) {
			return "-"
		}
		return strconv.Itoa(int(math.Round(x))) + " B"
	}
	pair := func(a, b time.Duration) string { return millis(a) + " / " + millis(b) }
	rows := []row{
		{"learners in the store", func(c scaleColumn) string { return thousands(c.learners) }},
		{"cohorts in the store", func(c scaleColumn) string { return thousands(c.cohorts) }},
		{"keys in the database", func(c scaleColumn) string { return thousands(int(c.keys)) }},
		{"", nil},
		{"seed: learners added", func(c scaleColumn) string { return thousands(c.added) }},
		{"seed: time", func(c scaleColumn) string { return seconds(c.seed) }},
		{"seed: learners a second", func(c scaleColumn) string { return perSecond(c.added, c.seed) }},
		{"Redis used_memory after seeding", func(c scaleColumn) string { return bytesIEC(c.usedMemory) }},
		{"memory a learner (used_memory growth)", func(c scaleColumn) string { return bytesPer(c.memoryPerLearner) }},
		{"MEMORY USAGE of a learner's key (mean)", func(c scaleColumn) string { return bytesPer(c.learnerKey) }},
		{"  their entry in the due index", func(c scaleColumn) string { return bytesPer(c.dueEntry) }},
		{"  their entry in a cohort's members", func(c scaleColumn) string { return bytesPer(c.memberEntry) }},
		{"", nil},
		{"webhook: messages a second", func(c scaleColumn) string { return thousands(int(math.Round(c.webhook.rate()))) }},
		{"webhook: p50 / p99", func(c scaleColumn) string { return latency(c.webhook.pct(50)) + " / " + latency(c.webhook.pct(99)) }},
		{"30-member cohort page: median / p90", func(c scaleColumn) string {
			return pair(medianDuration(c.cohortPage), pctDuration(c.cohortPage, 90))
		}},
		{"30-member cohort API: median / p90", func(c scaleColumn) string {
			return pair(medianDuration(c.cohortAPI), pctDuration(c.cohortAPI, 90))
		}},
		{"cohort list page (coach's cohorts): median", func(c scaleColumn) string {
			return millis(medianDuration(c.listPage)) + " (" + strconv.Itoa(c.listed) + ")"
		}},
		{"cohort list API: median", func(c scaleColumn) string { return millis(medianDuration(c.listAPI)) }},
		{"  reading every cohort (store's Cohorts)", func(c scaleColumn) string { return millis(medianDuration(c.readCohorts)) }},
		{"", nil},
		{"darsi export learners: time", func(c scaleColumn) string { return seconds(c.export) }},
		{"darsi export learners: lines a second", func(c scaleColumn) string { return perSecond(c.exported, c.export) }},
		{"reminder, big cohort: time", func(c scaleColumn) string { return seconds(c.remind) }},
		{"reminder, big cohort: jobs queued", func(c scaleColumn) string { return thousands(c.queued) }},
		{"memory a job (used_memory growth)", func(c scaleColumn) string { return bytesPer(c.memoryPerJob) }},
		{"MEMORY USAGE of a job's key (mean)", func(c scaleColumn) string { return bytesPer(c.jobKey) }},
	}
	const labelWidth, cellWidth = 44, 19
	fmt.Fprintf(w, "%-*s", labelWidth, "")
	for _, c := range cols {
		fmt.Fprintf(w, "%*s", cellWidth, thousands(c.learners))
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		if r.cell == nil {
			fmt.Fprintln(w)
			continue
		}
		fmt.Fprintf(w, "%-*s", labelWidth, r.label)
		for _, c := range cols {
			fmt.Fprintf(w, "%*s", cellWidth, r.cell(c))
		}
		fmt.Fprintln(w)
	}

	if len(cols) < 2 {
		return
	}
	first, last := cols[0], cols[len(cols)-1]
	fmt.Fprintf(w, "\nfrom %s to %s learners (%.0f× the store):\n", thousands(first.learners), thousands(last.learners),
		float64(last.learners)/float64(first.learners))
	ratio := func(label string, a, b time.Duration, target string) {
		r := float64(b) / float64(a)
		fmt.Fprintf(w, "  %-40s %s → %s: %.2f×%s\n", label, millis(a), millis(b), r, target)
	}
	ratio("30-member cohort page, median", medianDuration(first.cohortPage), medianDuration(last.cohortPage), " (target ≤ 2×)")
	ratio("30-member cohort API, median", medianDuration(first.cohortAPI), medianDuration(last.cohortAPI), " (target ≤ 2×)")
	// The coach's list grows to its 50 cohorts with the first sizes: it
	// is compared from the first size that shows them all.
	for _, c := range cols[:len(cols)-1] {
		if c.listed == last.listed {
			ratio(fmt.Sprintf("cohort list API (%d cohorts), median", c.listed), medianDuration(c.listAPI), medianDuration(last.listAPI),
				fmt.Sprintf(" from %s learners", thousands(c.learners)))
			break
		}
	}
	ratio("webhook p50", secondsDuration(first.webhook.pct(50)), secondsDuration(last.webhook.pct(50)), "")
	fmt.Fprintf(w, "  %-40s %s → %s a second\n", "darsi export learners", perSecond(first.exported, first.export), perSecond(last.exported, last.export))
}

// secondsDuration is a number of seconds as a duration.
func secondsDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// thousands writes n with a comma every three digits: 1,000,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// joinInts writes numbers with thousands' commas, separated by sep.
func joinInts(ns []int, sep string) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = thousands(n)
	}
	return strings.Join(parts, sep)
}

// millis writes a short duration in milliseconds, with three significant
// digits: 0.412ms, 2.31ms, 45.2ms, 812ms, then seconds.
func millis(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case d >= time.Second:
		return seconds(d)
	case ms >= 100:
		return fmt.Sprintf("%.0fms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1fms", ms)
	case ms >= 1:
		return fmt.Sprintf("%.2fms", ms)
	}
	return fmt.Sprintf("%.3fms", ms)
}

// seconds writes a longer duration: 1.42s, 38.1s, 2m05s.
func seconds(d time.Duration) string {
	switch {
	case d < time.Second:
		return millis(d)
	case d < 10*time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

// bytesIEC writes a number of bytes in KiB, MiB or GiB.
func bytesIEC(n int64) string {
	x := float64(n)
	for _, unit := range []string{"B", "KiB", "MiB"} {
		if math.Abs(x) < 1024 {
			return fmt.Sprintf("%.1f %s", x, unit)
		}
		x /= 1024
	}
	return fmt.Sprintf("%.2f GiB", x)
}
