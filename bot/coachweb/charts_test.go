package coachweb

import (
	"regexp"
	"strconv"
	"testing"
)

// rects reads the x and width of a chart's bars.
var rects = regexp.MustCompile(`<rect x="([0-9.]+)" y="[0-9.]+" width="([0-9.]+)"`)

// TestChartsMirror: on an Arabic page the bars grow from the right edge,
// where the French ones start at the left, with the same widths; the svg
// says its direction.
func TestChartsMirror(t *testing.T) {
	rows := []hbar{{Label: "a", Total: 7, Part: 5}, {Label: "b", Total: 4, Part: -1}}
	ltr, rtl := string(hbars("t", rows, "", false)), string(hbars("t", rows, "", true))
	l, r := rects.FindAllStringSubmatch(ltr, -1), rects.FindAllStringSubmatch(rtl, -1)
	if len(l) != 3 || len(r) != 3 {
		t.Fatalf("bars: %d and %d, want 3", len(l), len(r))
	}
	num := func(s string) float64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	for i := range l {
		lx, lw, rx, rw := num(l[i][1]), num(l[i][2]), num(r[i][1]), num(r[i][2])
		if lw != rw {
			t.Errorf("bar %d: width %g left to right, %g right to left", i, lw, rw)
		}
		if lx != 4 {
			t.Errorf("bar %d starts at %g left to right, want 4", i, lx)
		}
		if end := rx + rw; end < 315.9 || end > 316.1 {
			t.Errorf("bar %d ends at %g right to left, want 316 (the right edge less the margin)", i, end)
		}
	}
	if !regexp.MustCompile(`<svg [^>]*direction="rtl"`).MatchString(rtl) || !regexp.MustCompile(`<svg [^>]*direction="ltr"`).MatchString(ltr) {
		t.Errorf("the charts do not say their direction")
	}
	// Columns: the first on the right in Arabic.
	cl, cr := string(columns("t", []column{{"a", 1}, {"b", 2}}, false)), string(columns("t", []column{{"a", 1}, {"b", 2}}, true))
	first := func(s string) float64 { return num(rects.FindStringSubmatch(s)[1]) }
	if first(cl) > 160 || first(cr) < 160 {
		t.Errorf("first column at %g left to right and %g right to left", first(cl), first(cr))
	}
}
