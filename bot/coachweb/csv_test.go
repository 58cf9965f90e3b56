package coachweb

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"unicode"
)

func TestCSVCells(t *testing.T) {
	for _, tt := range []struct {
		cell, want string // want: the cell as written, quotes included
	}{
		{"", `""`},
		{"42", `"42"`},
		{"Couture Salé", `"Couture Salé"`},
		{"whatsapp:+2126******01", `"whatsapp:+2126******01"`},
		{"=1+1", `"'=1+1"`},
		{"+212600000001", `"'+212600000001"`},
		{"-5", `"'-5"`},
		{"@SUM(A1)", `"'@SUM(A1)"`},
		{";=1+1", `"';=1+1"`},
		{"\t=1+1", "\"'\t=1+1\""},
		{"\r=1+1", "\"'\n=1+1\""},
		{"a\rb\r\r\nc", "\"a\nb\n\nc\""},
		{"  =1+1", `"'  =1+1"`},
		{"\n=1+1", "\"'\n=1+1\""},
		{"\nabc", "\"'\nabc\""},
		{"\r\nabc", "\"'\nabc\""},
		{" \nabc", "\" \nabc\""},
		{"\u00a0=1+1", "\"'\u00a0=1+1\""},
		{`";=1+1`, `"'"";=1+1"`},
		{"a;=1+1", `"a;=1+1"`},
		{"a,=1+1", `"a,=1+1"`},
		{`dit "bonjour"`, `"dit ""bonjour"""`},
		{"ligne 1\r\nligne 2", "\"ligne 1\nligne 2\""},
		{"l'été", `"l'été"`},
		{"مرحبا", `"مرحبا"`},
		{",=1+1", `"',=1+1"`},
		{"\xff\xfe", "\"\ufffd\""},
	} {
		var buf bytes.Buffer
		if err := writeCSV(&buf, [][]string{{tt.cell}}, ','); err != nil {
			t.Fatal(err)
		}
		want := utf8BOM + tt.want + "\r\n"
		if got := buf.String(); got != want {
			t.Errorf("cell %q: got %q, want %q", tt.cell, got, want)
		}
	}
	var buf bytes.Buffer
	writeCSV(&buf, [][]string{{"a", "1"}, {}, {"", ""}}, ';')
	if got, want := buf.String(), utf8BOM+"\"a\";\"1\"\r\n\"\"\r\n\"\";\"\"\r\n"; got != want {
		t.Errorf("records with ';': got %q, want %q", got, want)
	}
}

// startsFormula reports whether a spreadsheet would read the cell as a
// formula: its first character past spaces is one of = + - @, or a
// character after which one may start (formulaStarts).
func startsFormula(cell string) bool {
	for _, r := range cell {
		if strings.ContainsRune(formulaStarts, r) {
			return true
		}
		if !unicode.IsSpace(r) {
			return false
		}
	}
	return false
}

// FuzzCSV writes records made of the input (cells split at \x1f, records
// at \x1e) and checks that the file reads back with encoding/csv to the
// same cells but for the neutralising ', with either separator; and that
// read with the other separator (as a spreadsheet set to another locale
// would, lazily), no cell starts a formula.
func FuzzCSV(f *testing.F) {
	for _, seed := range []string{
		"", "=1+1", ";=1+1\x1fok", "a\x1e\x1e;b", `"x"` + "\x1f" + `";=cmd|' /C calc'!A0`, "-2+3\x1f@SUM(1)\x1e\t=1",
		"\r\n=1\x1fa\rb", "\"\x1f\"\"\x1f,=1", "dit \"oui\";-1", "\xff=1", " \u00a0+1", "12\x1f\x1f", "a\"\x1f;=1",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, data string, semicolon bool) {
		var records [][]string
		for _, line := range strings.Split(data, "\x1e") {
			records = append(records, strings.Split(line, "\x1f"))
		}
		sep, other := ',', ';'
		if semicolon {
			sep, other = ';', ','
		}
		var buf bytes.Buffer
		if err := writeCSV(&buf, records, byte(sep)); err != nil {
			t.Fatal(err)
		}
		body, ok := strings.CutPrefix(buf.String(), utf8BOM)
		if !ok {
			t.Fatalf("no byte order mark: %q", buf.String())
		}

		rd := csv.NewReader(strings.NewReader(body))
		rd.Comma, rd.FieldsPerRecord = sep, -1
		got, err := rd.ReadAll()
		if err != nil {
			t.Fatalf("%q does not read back: %v", body, err)
		}
		if len(got) != len(records) {
			t.Fatalf("%q: got %d records, want %d", body, len(got), len(records))
		}
		for i, rec := range records {
			if len(got[i]) != len(rec) {
				t.Fatalf("%q: record %d has %d cells, want %d", body, i, len(got[i]), len(rec))
			}
			for j, cell := range rec {
				want := strings.ToValidUTF8(cell, "\ufffd")
				want = strings.ReplaceAll(strings.ReplaceAll(want, "\r\n", "\n"), "\r", "\n")
				read := got[i][j]
				if read != want && read != "'"+want {
					t.Errorf("cell %q reads back as %q", cell, read)
				}
				if formulaLike(read) {
					t.Errorf("cell %q reads back as %q, which starts a formula", cell, read)
				}
			}
		}

		lazy := csv.NewReader(strings.NewReader(body))
		lazy.Comma, lazy.FieldsPerRecord, lazy.LazyQuotes = other, -1, true
		for {
			rec, err := lazy.Read()
			if err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("%q read with %q: %v", body, other, err)
				}
				break
			}
			if i := slices.IndexFunc(rec, startsFormula); i >= 0 {
				t.Errorf("%q read with %q: the cell %q starts a formula", body, other, rec[i])
			}
		}
	})
}
