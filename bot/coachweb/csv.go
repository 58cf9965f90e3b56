package coachweb

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"unicode"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
)

// utf8BOM starts every CSV file: without it, Excel reads UTF-8 as the
// machine's legacy code page, and Arabic, Tifinagh and accents come out
// garbled.
const utf8BOM = "\ufeff"

// formulaStarts are the characters that make a spreadsheet read a cell as
// a formula (= + - @), or let one start after them: a separator (; or ,),
// which a spreadsheet set to another locale than the file's splits on, a
// tab or a carriage return.
const formulaStarts = "=+-@;,\t\r"

// csvSeparator reads the separator a CSV download asks for with ?sep=:
// "comma" (the default) or "semicolon", which spreadsheets set to French
// (or any locale with a decimal comma) expect.
//
// Errors: Invalid for any other value.
func csvSeparator(r *http.Request) (byte, error) {
	switch sep := r.URL.Query().Get("sep"); sep {
	case "", "comma":
		return ',', nil
	case "semicolon":
		return ';', nil
	default:
		return 0, bot.Errorf("coachweb.csv", bot.Invalid, "sep=%q: want comma or semicolon", sep)
	}
}

// formulaLike reports whether a spreadsheet could read s as a formula: its
// first character past spaces is one of formulaStarts, or s opens with a
// quote or a line break. A cell opening with a quote, a line break or the
// other separator than the file's is the dangerous case when every cell
// is quoted: a spreadsheet reading with the other separator takes the
// cell's own opening quote for a closing one, and what follows (the rest
// of the cell, or of the line) for cells of their own, unquoted.
func formulaLike(s string) bool {
	if strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "\n") {
		return true
	}
	for _, r := range s {
		switch {
		case strings.ContainsRune(formulaStarts, r):
			return true
		case unicode.IsSpace(r):
			continue
		}
		return false
	}
	return false
}

// lineBreaks turns every line break (CRLF, or a CR alone) into the LF
// spreadsheets write inside a cell: a CR left in a cell could come out of
// a reader as another line end than the one written.
var lineBreaks = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// csvText is what writeCSV keeps of a cell: valid UTF-8, line breaks as
// LF (lineBreaks), and a ' before text that could be read as a formula,
// which shows it as text.
func csvText(cell string) string {
	cell = lineBreaks.Replace(strings.ToValidUTF8(cell, "\ufffd"))
	if formulaLike(cell) {
		return "'" + cell
	}
	return cell
}

// writeCSV writes records as a CSV file that every spreadsheet opens
// safely: a UTF-8 byte order mark, sep between cells, CRLF after each
// record, every cell in quotes (csvText of it, its quotes doubled). With
// every cell quoted, no separator or line break inside a cell splits it,
// whatever separator the spreadsheet assumes, and the first cell of a
// line never leaves the line unquoted to a reader that assumes another
// one. A record with no cells is written as one empty cell. It returns
// w's first error.
func writeCSV(w io.Writer, records [][]string, sep byte) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(utf8BOM)
	for _, rec := range records {
		if len(rec) == 0 {
			rec = []string{""}
		}
		for i, cell := range rec {
			if i > 0 {
				bw.WriteByte(sep)
			}
			bw.WriteByte('"')
			bw.WriteString(strings.ReplaceAll(csvText(cell), `"`, `""`))
			bw.WriteByte('"')
		}
		bw.WriteString("\r\n")
	}
	return bw.Flush()
}

// sendCSV sends records as the download filename, with the separator the
// request asks for (csvSeparator), and puts the export in the audit log.
// Every CSV the dashboard sends goes through it.
func (h *Handler) sendCSV(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort, filename string, records [][]string) {
	sep, err := csvSeparator(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	writeCSV(w, records, sep) // a client that went away gets no more
	h.cfg.Coaching.RecordExport(r.Context(), c, co.Code, filename)
}
