package coachweb

import (
	"cmp"
	"fmt"
	"html"
	"html/template"
	"strconv"
	"strings"
)

// Charts are drawn on the server as inline SVG: no script, and they scale
// to a phone's width (viewBox, width 100%). Colours come from attributes,
// not style, which the page's Content-Security-Policy forbids inline.

const (
	colorLight = "#a7d7c5"
	colorDark  = "#0b5d3b"
)

// hbar is one row of a horizontal bar chart: Total drawn light, Part
// drawn dark over it (Part ≤ Total); Part < 0 draws Total alone, dark.
// Figure is written beside the bar, in the page's language ("5 / 7",
// "5 من 7"); "" writes Total, or Part / Total.
type hbar struct {
	Label       string
	Total, Part int
	Figure      string
}

// axis places things along a chart's width: from the left, or, for a
// right-to-left page, mirrored from the right, where its text starts.
type axis struct {
	width float64
	rtl   bool
}

// x is where a box of width w starting at x (from the start side) sits.
func (a axis) x(x, w float64) float64 {
	if a.rtl {
		return a.width - x - w
	}
	return x
}

// dir is the svg's direction attribute.
func (a axis) dir() string {
	if a.rtl {
		return "rtl"
	}
	return "ltr"
}

// hbars draws rows of horizontal bars, a label above each bar, growing
// from the start side of the page's direction (the right in Arabic).
func hbars(title string, rows []hbar, legend string, rtl bool) template.HTML {
	const width, rowH, barH, left = 320.0, 30.0, 12.0, 4.0
	ax := axis{width: width, rtl: rtl}
	max := 1
	for _, r := range rows {
		max = maxInt(max, r.Total)
	}
	height := rowH*float64(len(rows)) + 6
	if legend != "" {
		height += 16
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" width="100%%" direction="%s" role="img" aria-label="%s">`,
		width, height, ax.dir(), html.EscapeString(title))
	fmt.Fprintf(&b, `<title>%s</title>`, html.EscapeString(title))
	span := width - left - 56
	for i, r := range rows {
		y := float64(i)*rowH + 4
		// Text starts at its x: the start side follows the direction.
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="9" fill="#222">%s</text>`, ax.x(left, 0), y+9, html.EscapeString(clip(r.Label, 60)))
		by := y + 12
		total := span * float64(r.Total) / float64(max)
		if r.Part < 0 {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%g" width="%.1f" height="%g" fill="%s"><title>%d</title></rect>`, ax.x(left, total), by, total, barH, colorDark, r.Total)
			fmt.Fprintf(&b, `<text x="%.1f" y="%g" font-size="9" fill="#222">%s</text>`, ax.x(left+total+3, 0), by+9, html.EscapeString(cmp.Or(r.Figure, strconv.Itoa(r.Total))))
			continue
		}
		part := span * float64(r.Part) / float64(max)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%g" width="%.1f" height="%g" fill="%s"/>`, ax.x(left, total), by, total, barH, colorLight)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%g" width="%.1f" height="%g" fill="%s"/>`, ax.x(left, part), by, part, barH, colorDark)
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" font-size="9" fill="#222">%s</text>`,
			ax.x(left+total+3, 0), by+9, html.EscapeString(cmp.Or(r.Figure, fmt.Sprintf("%d / %d", r.Part, r.Total))))
	}
	if legend != "" {
		y := height - 8
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="8" height="8" fill="%s"/>`, ax.x(left, 8), y-7, colorDark)
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="8" fill="#444">%s</text>`, ax.x(left+11, 0), y, html.EscapeString(legend))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// column is one column of a column chart.
type column struct {
	Label string
	N     int
}

// columns draws a column chart with a label under each column, the first
// column on the start side of the page's direction.
func columns(title string, cols []column, rtl bool) template.HTML {
	const width, height, base, top = 320.0, 150.0, 128.0, 14.0
	ax := axis{width: width, rtl: rtl}
	max := 1
	for _, c := range cols {
		max = maxInt(max, c.N)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" width="100%%" direction="%s" role="img" aria-label="%s">`,
		width, height, ax.dir(), html.EscapeString(title))
	fmt.Fprintf(&b, `<title>%s</title>`, html.EscapeString(title))
	fmt.Fprintf(&b, `<line x1="0" y1="%g" x2="%g" y2="%g" stroke="#888" stroke-width="0.5"/>`, base, width, base)
	slot := width / float64(maxInt(len(cols), 1))
	for i, c := range cols {
		h := (base - top) * float64(c.N) / float64(max)
		w := slot * 0.7
		x := ax.x(float64(i)*slot+slot*0.15, w)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d</title></rect>`,
			x, base-h, w, h, colorDark, html.EscapeString(c.Label), c.N)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="9" text-anchor="middle" fill="#222">%d</text>`, x+w/2, base-h-3, c.N)
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" font-size="8" text-anchor="middle" direction="ltr" fill="#444">%s</text>`, x+w/2, base+12, html.EscapeString(c.Label))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// clip shortens s to n characters.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
