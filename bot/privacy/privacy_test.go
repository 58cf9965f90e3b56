package privacy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/bot/privacy"
	"github.com/darsi-ma/darsi/locales"
)

// get serves one request to a page naming controller and returns the
// response and its body.
func get(tb testing.TB, controller, method string) (*http.Response, string) {
	tb.Helper()
	h, err := privacy.New(controller)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, privacy.Path, nil))
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// sections splits the page into its language sections, by lang.
func sections(tb testing.TB, page string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`(?s)<section id="([a-z]+)" lang="([a-z]+)"([^>]*)>(.*?)</section>`).FindAllStringSubmatch(page, -1) {
		if m[1] != m[2] {
			tb.Errorf("section id %q has lang %q", m[1], m[2])
		}
		out[m[2]] = m[3] + m[4]
	}
	return out
}

func TestPageNamesController(t *testing.T) {
	res, page := get(t, "Association Darsi Maroc", http.MethodGet)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status: got %d, want 200", res.StatusCode)
	}
	if got := res.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type: got %q, want text/html; charset=utf-8", got)
	}
	secs := sections(t, page)
	for _, lang := range []string{"fr", "ar", "ary", "zgh"} {
		sec, ok := secs[lang]
		if !ok {
			t.Errorf("no %s section", lang)
			continue
		}
		if n := strings.Count(sec, "<bdi>Association Darsi Maroc</bdi>"); n != 1 {
			t.Errorf("%s: names the controller %d times, want once", lang, n)
		}
		rtl := strings.Contains(sec, `dir="rtl"`)
		if want := lang == "ar" || lang == "ary"; rtl != want {
			t.Errorf("%s: right to left: got %v, want %v", lang, rtl, want)
		}
		if !strings.Contains(sec, "09-08") {
			t.Errorf("%s: does not name law 09-08", lang)
		}
	}
	if len(secs) != 4 {
		t.Errorf("got %d sections, want 4", len(secs))
	}
	if strings.Contains(page, "<!--") {
		t.Errorf("the page shows the source's comments")
	}
}

func TestPageWithoutController(t *testing.T) {
	named := sections(t, mustGet(t, "X"))
	unnamed := sections(t, mustGet(t, ""))
	want := map[string]string{
		"fr":  "L'opérateur de ce service n'a pas encore nommé de responsable de tes données.",
		"ar":  "لم يحدد مشغل هذه الخدمة بعد المسؤول عن بياناتك.",
		"ary": "اللي كيسير هاد الخدمة مازال ما حدد شكون المسؤول على المعلومات ديالكم.",
		"zgh": "ⴰⵎⵙⵏⴼⴰⵔ ⵏ ⵜⵏⴼⵓⵜ ⴰⴷ ⵓⵔ ⴷ ⵉⵙⵎⵎⵉ ⵖⵉⵍⴰ ⴱⴰⴱ ⵏ ⵉⵙⴼⴽⴰ.",
	}
	for lang, w := range want {
		sec := unnamed[lang]
		if !strings.Contains(sec, w) {
			t.Errorf("%s without a controller: want %q in\n%s", lang, w, sec)
		}
		if strings.Contains(named[lang], w) {
			t.Errorf("%s with a controller: says none was named", lang)
		}
		if strings.Contains(sec, "<bdi></bdi>") {
			t.Errorf("%s without a controller: an empty name", lang)
		}
	}
}

func mustGet(tb testing.TB, controller string) string {
	tb.Helper()
	res, page := get(tb, controller, http.MethodGet)
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("status: got %d, want 200", res.StatusCode)
	}
	return page
}

// TestPageEscapesController: the name comes from the environment, and is
// text on the page, never markup.
func TestPageEscapesController(t *testing.T) {
	page := mustGet(t, `<script>alert(1)</script> & "Fils"`)
	if strings.Contains(page, "<script>") {
		t.Errorf("the controller's name is markup on the page")
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Fils&#34;") {
		t.Errorf("the controller's name is not on the page, escaped")
	}
}

// TestPageTeachesKeywords checks that the words each section tells
// learners to send are keywords of the bot: the summary of their data, its
// erasure and STOP.
func TestPageTeachesKeywords(t *testing.T) {
	b, err := locale.Load(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	bold := regexp.MustCompile(`<b>(?:«)?(?:<bdi>)?([^<»]+)(?:</bdi>)?(?:»)?</b>`)
	for lang, sec := range sections(t, mustGet(t, "")) {
		var got []locale.Intent
		for _, m := range bold.FindAllStringSubmatch(sec, -1) {
			got = append(got, b.Intent(m[1]))
		}
		want := []locale.Intent{locale.MyData, locale.Erase, locale.Stop}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: the intents of the words in bold (-want +got):\n%s", lang, diff)
		}
	}
}

func TestPageMethods(t *testing.T) {
	res, body := get(t, "X", http.MethodHead)
	if res.StatusCode != http.StatusOK || body != "" {
		t.Errorf("HEAD: got %d with %d bytes, want 200 and no body", res.StatusCode, len(body))
	}
	res, _ = get(t, "X", http.MethodPost)
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: got %d, Allow %q; want 405, GET, HEAD", res.StatusCode, res.Header.Get("Allow"))
	}
}
