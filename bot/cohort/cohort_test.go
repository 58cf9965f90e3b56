package cohort_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/locales"
)

// fakeStore keeps cohorts in memory; it stands in for the real stores in
// these tests. taken makes the next CreateCohort calls conflict.
type fakeStore struct {
	cohort.Store // the methods these tests do not use
	mu           sync.Mutex
	cohorts      map[string]cohort.Cohort
	taken        int
	calls        int
}

func (s *fakeStore) CreateCohort(ctx context.Context, c cohort.Cohort) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.taken > 0 {
		s.taken--
		return bot.Errorf("fake.CreateCohort", bot.Conflict, "code %s taken", c.Code)
	}
	if _, ok := s.cohorts[c.Code]; ok {
		return bot.Errorf("fake.CreateCohort", bot.Conflict, "code %s taken", c.Code)
	}
	if s.cohorts == nil {
		s.cohorts = map[string]cohort.Cohort{}
	}
	s.cohorts[c.Code] = c
	return nil
}

func words(tb testing.TB) *locale.Bundle {
	tb.Helper()
	b, err := locale.Load(locales.FS)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestNewCode(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		c := cohort.NewCode()
		if !cohort.ValidCode(c) {
			t.Fatalf("NewCode() = %q: not a valid code", c)
		}
		if strings.ContainsAny(c, "01OIL") {
			t.Fatalf("NewCode() = %q: has an ambiguous character", c)
		}
		if !strings.ContainsAny(c, "23456789") || strings.Trim(c, "23456789") == "" {
			t.Fatalf("NewCode() = %q: want letters and digits mixed", c)
		}
		seen[c] = true
	}
	if len(seen) < 9990 {
		t.Errorf("10000 codes, %d distinct: too many collisions", len(seen))
	}
}

func TestCreateRetriesOnConflict(t *testing.T) {
	b := words(t)
	s := &fakeStore{taken: 3}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	c, err := cohort.Create(context.Background(), s, b, "  Couture Safi ", "amina", now)
	if err != nil {
		t.Fatal(err)
	}
	if s.calls != 4 {
		t.Errorf("CreateCohort called %d times, want 4 (3 conflicts, then a free code)", s.calls)
	}
	if c.Name != "Couture Safi" || c.Coach != "amina" || !c.CreatedAt.Equal(now) || s.cohorts[c.Code] != c {
		t.Errorf("got %+v, stored %+v", c, s.cohorts[c.Code])
	}
	if got, explicit, ok := cohort.JoinCandidate(c.Code, b); !ok || explicit || got != c.Code {
		t.Errorf("JoinCandidate(%q) = %q, %v, %v: a created code must be read back alone", c.Code, got, explicit, ok)
	}

	s = &fakeStore{taken: 1000}
	if _, err := cohort.Create(context.Background(), s, b, "x", "", now); bot.KindOf(err) != bot.Conflict {
		t.Errorf("every code taken: got %v, want a Conflict", err)
	}
	if _, err := cohort.Create(context.Background(), s, b, " ", "", now); bot.KindOf(err) != bot.Invalid {
		t.Errorf("empty name: got %v, want Invalid", err)
	}
}

func TestJoinCandidate(t *testing.T) {
	b := words(t)
	tests := []struct {
		text     string
		code     string
		explicit bool
		ok       bool
	}{
		{"K7M2QX", "K7M2QX", false, true},
		{"k7m2qx", "K7M2QX", false, true},
		{" K7M2QX. ", "K7M2QX", false, true},
		{"Ｋ７Ｍ２ＱＸ", "K7M2QX", false, true}, // full-width
		{"K٧M٢QX", "K7M2QX", false, true}, // Arabic-Indic digits
		{"join K7M2QX", "K7M2QX", true, true},
		{"Rejoindre k7m2qx", "K7M2QX", true, true},
		{"انضم K7M2QX", "K7M2QX", true, true},
		{"نضم k7m2qx", "K7M2QX", true, true},
		{"ndkhol K7M2QX", "K7M2QX", true, true},
		{"ⴽⵛⵎ K7M2QX", "K7M2QX", true, true},
		{"kcem K7M2QX", "K7M2QX", true, true},
		{"join K7M 2QX", "K7M2QX", true, true},
		{"join NOPE", "NOPE", true, true}, // explicit: answered even if no code
		{"join", "", true, true},
		{"m3awna", "", false, false}, // a keyword (help) of code shape
		{"BARAKA", "", false, false}, // a keyword, letters only
		{"KMMLZZ", "", false, false}, // letters only: never a generated code
		{"234567", "", false, false}, // digits only
		{"2345DH", "", false, false}, // a number with its unit
		{"K7M2Q0", "", false, false}, // 0 is not in codes
		{"K7M2QX please", "", false, false},
		{"salam", "", false, false},
		{"", "", false, false},
	}
	for _, tt := range tests {
		code, explicit, ok := cohort.JoinCandidate(tt.text, b)
		if code != tt.code || explicit != tt.explicit || ok != tt.ok {
			t.Errorf("JoinCandidate(%q) = %q, %v, %v; want %q, %v, %v", tt.text, code, explicit, ok, tt.code, tt.explicit, tt.ok)
		}
	}
}

func TestWhatsAppLink(t *testing.T) {
	for _, from := range []string{"whatsapp:+212600000001", "+212 600-000001", "212600000001"} {
		link, err := cohort.WhatsAppLink(from, "K7M2QX")
		if err != nil {
			t.Fatal(err)
		}
		if want := "https://wa.me/212600000001?text=join%20K7M2QX"; link != want {
			t.Errorf("WhatsAppLink(%q) = %q, want %q", from, link, want)
		}
		u, _ := url.Parse(link)
		if got := u.Query().Get("text"); got != "join K7M2QX" {
			t.Errorf("text parameter %q, want %q", got, "join K7M2QX")
		}
	}
	for _, from := range []string{"", "whatsapp:", "sms:+212600000001"} {
		if _, err := cohort.WhatsAppLink(from, "K7M2QX"); bot.KindOf(err) != bot.Invalid {
			t.Errorf("WhatsAppLink(%q): got %v, want Invalid", from, err)
		}
	}
}

func TestPosterSVG(t *testing.T) {
	b := words(t)
	link, _ := cohort.WhatsAppLink("whatsapp:+212600000001", "K7M2QX")
	p := cohort.Poster{Name: "Couture & Safi", Code: "K7M2QX", Link: link}
	for _, lang := range bot.Langs {
		p.Lines = append(p.Lines, cohort.PosterLine{Lang: lang, Text: b.T(lang, "CohortPoster", map[string]any{"Code": "K7M2QX"})})
	}
	var buf bytes.Buffer
	if err := p.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	// It is well-formed XML, and its texts are there.
	var texts []string
	var path string
	dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	var inText bool
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			inText = tok.Name.Local == "text"
			if tok.Name.Local == "path" {
				for _, a := range tok.Attr {
					if a.Name.Local == "d" {
						path = a.Value
					}
				}
			}
		case xml.CharData:
			if inText {
				texts = append(texts, string(tok))
			}
		case xml.EndElement:
			inText = false
		}
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"Couture & Safi", "K7M2QX", link, "rejoindre le groupe", "للانضمام", "ⵜⴰⵔⴰⴱⴱⵓⵜ"} {
		if !strings.Contains(all, want) {
			t.Errorf("poster texts lack %q:\n%s", want, all)
		}
	}
	// The QR code is the link's: one unit square per dark module.
	qr, err := qrcode.New(link, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	qr.DisableBorder = true
	var want strings.Builder
	for y, row := range qr.Bitmap() {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&want, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	if path != want.String() {
		t.Errorf("QR path is not the link's QR code (%d bytes, want %d)", len(path), want.Len())
	}

	if err := (cohort.Poster{Name: "x", Code: "K7M2QX"}).WriteSVG(&buf); bot.KindOf(err) != bot.Invalid {
		t.Errorf("no link: got %v, want Invalid", err)
	}
}

// BenchmarkJoinCandidate is what every inbound message pays when the app
// has cohorts: a typical answer, a code, and a join phrase.
func BenchmarkJoinCandidate(b *testing.B) {
	w := words(b)
	for _, text := range []string{"2", "Combien ça coûte vraiment ?", "K7M2QX", "انضم K7M2QX"} {
		b.Run(text, func(b *testing.B) {
			for b.Loop() {
				cohort.JoinCandidate(text, w)
			}
		})
	}
}
