package coachweb

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"net/url"
	"slices"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
)

// joinLinkWithoutNumber opens WhatsApp with the join text typed in and
// lets the learner pick the chat.
func joinLinkWithoutNumber(code string) string {
	return "https://wa.me/?text=" + strings.ReplaceAll(url.QueryEscape(cohort.JoinText(code)), "+", "%20")
}

// qrSVG draws the QR code of content as an SVG element of the given size
// (pixels; 0 leaves the size to CSS), one path of dark modules.
func qrSVG(content string, size int) (template.HTML, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return "", bot.E("coachweb.qr", bot.Invalid, err)
	}
	bm := q.Bitmap() // with its quiet zone
	n := len(bm)
	var b strings.Builder
	dims := ""
	if size > 0 {
		dims = fmt.Sprintf(` width="%d" height="%d"`, size, size)
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="qr" viewBox="0 0 %d %d"%s role="img" aria-label="QR code: %s" shape-rendering="crispEdges">`,
		n, n, dims, html.EscapeString(content))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range bm {
		for x := 0; x < len(row); x++ {
			if !row[x] {
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, run, run)
			x += run - 1
		}
	}
	b.WriteString(`"/></svg>`)
	return template.HTML(b.String()), nil
}

// posterSVG is the cohort's printable A4 poster (cohort.Poster), with the
// join instruction in every language.
func (h *Handler) posterSVG(co cohort.Cohort) ([]byte, error) {
	p := cohort.Poster{Name: co.Name, Code: co.Code, Link: h.link(co.Code)}
	if words := h.cfg.Coaching.Content().Text; words != nil && slices.Contains(words.IDs(), msgPoster) {
		for _, lang := range bot.Langs {
			p.Lines = append(p.Lines, cohort.PosterLine{Lang: lang, Text: words.T(lang, msgPoster, map[string]any{"Code": co.Code})})
		}
	}
	var b bytes.Buffer
	if err := p.WriteSVG(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// msgPoster is the poster's join instruction in locales/*.yaml.
const msgPoster = "CohortPoster"
