package cohort

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/darsi-ma/darsi/bot"
)

// Poster is what a printable join poster shows.
type Poster struct {
	Name string // the cohort's name, at the top
	Code string // the join code, in large letters under the QR code
	Link string // the wa.me link the QR code opens (WhatsAppLink)
	// Lines are the join instruction, one per language, in the order
	// given (see the CohortPoster message).
	Lines []PosterLine
}

// PosterLine is the join instruction in one language.
type PosterLine struct {
	Lang bot.Lang
	Text string
}

// Poster geometry, in millimetres on an A4 page.
const (
	pageWidth  = 210
	pageHeight = 297
	qrSize     = 120 // the QR code's side, quiet zone excluded
	qrTop      = 42
	// wrapAt is how many characters an instruction line holds at its size.
	wrapAt = 52
)

// WriteSVG writes the poster as an A4 SVG page: the cohort's name, a QR
// code of the link, the code in large letters, the link, and the join
// instruction in each language. It fails with Invalid when the link is
// empty or too long for a QR code.
func (p Poster) WriteSVG(w io.Writer) error {
	const op = "cohort.Poster.WriteSVG"
	if p.Link == "" {
		return bot.Errorf(op, bot.Invalid, "no link to encode (is TWILIO_WHATSAPP_FROM set?)")
	}
	qr, err := qrcode.New(p.Link, qrcode.Medium)
	if err != nil {
		return bot.E(op, bot.Invalid, err)
	}
	qr.DisableBorder = true
	bits := qr.Bitmap()
	n := len(bits)

	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%dmm" height="%dmm" viewBox="0 0 %d %d" font-family="'Noto Sans', 'Noto Sans Arabic', 'Noto Sans Tifinagh', 'DejaVu Sans', sans-serif">
<rect width="%d" height="%d" fill="#fff"/>
`, pageWidth, pageHeight, pageWidth, pageHeight, pageWidth, pageHeight)
	fmt.Fprintf(&b, `<text x="%d" y="26" font-size="12" font-weight="bold" text-anchor="middle">%s</text>
`, pageWidth/2, esc(p.Name))

	// The QR code: one path of unit squares, scaled to qrSize.
	scale := float64(qrSize) / float64(n)
	fmt.Fprintf(&b, `<g transform="translate(%d %d) scale(%.6f)" shape-rendering="crispEdges"><path fill="#000" d="`, (pageWidth-qrSize)/2, qrTop, scale)
	for y, row := range bits {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	b.WriteString("\"/></g>\n")

	y := qrTop + qrSize + 26
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="24" font-weight="bold" letter-spacing="3" text-anchor="middle" font-family="'DejaVu Sans Mono', monospace">%s</text>
`, pageWidth/2, y, esc(p.Code))
	y += 10
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="4" fill="#444" text-anchor="middle">%s</text>
`, pageWidth/2, y, esc(p.Link))
	y += 6
	for _, l := range p.Lines {
		dir := ""
		if l.Lang.RTL() {
			dir = ` direction="rtl" unicode-bidi="embed"`
		}
		for _, line := range wrap(l.Text, wrapAt) {
			y += 7
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="5.5" text-anchor="middle"%s lang="%s">%s</text>
`, pageWidth/2, y, dir, l.Lang, esc(line))
		}
		y += 2
	}
	b.WriteString("</svg>\n")
	_, err = w.Write(b.Bytes())
	return err
}

// wrap cuts text into lines of at most width characters, between words.
func wrap(text string, width int) []string {
	var lines []string
	var cur []string
	n := 0
	for _, w := range strings.Fields(text) {
		l := len([]rune(w))
		if n > 0 && n+1+l > width {
			lines = append(lines, strings.Join(cur, " "))
			cur, n = nil, 0
		}
		if n > 0 {
			n++
		}
		cur = append(cur, w)
		n += l
	}
	if len(cur) > 0 {
		lines = append(lines, strings.Join(cur, " "))
	}
	return lines
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
