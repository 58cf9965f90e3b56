package coachweb_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/darsi-ma/darsi/bot"
)

// lessonTitle is a lesson's title in lang, HTML-escaped as a page shows it.
func lessonTitle(t *testing.T, id string, lang bot.Lang) string {
	t.Helper()
	l := content(t).Lessons.Lesson(id)
	if l == nil || l.Title.In(lang) == "" {
		t.Fatalf("no lesson %s in %s", id, lang)
	}
	return html.EscapeString(l.Title.In(lang))
}

// bidiMarks are the marks the Arabic pages put around left-to-right runs.
var bidiMarks = strings.NewReplacer("\u200f", "", "\u2066", "", "\u2067", "", "\u2068", "", "\u2069", "")

// frenchWords are words of the French pages that no Arabic page may show.
var frenchWords = regexp.MustCompile(`\b(Apprenants|Rappel|Envois|Indicateurs|Déconnexion|Questions|cohorte|étape|jamais|il y a|non lues?|Exporter|Aucun|bloqué|membres)\b`)

// TestDashboardInArabic: ?lang=ar turns every page to Arabic, right to
// left, and the choice is remembered for the next pages; ?lang=fr turns it
// back; the API and the CSV do not change.
func TestDashboardInArabic(t *testing.T) {
	x := newHarness(t)
	x.ask("whatsapp:+212600000001", "SM1", "Combien je compte pour l'électricité ?")
	b := x.browser()
	b.login("fatima")

	fr := b.get("/coach/")
	want(t, "French by default", fr, http.StatusOK, `<html lang="fr" dir="ltr">`, `id="lang-ar"`, `href="/coach/?lang=ar"`)

	ar := b.get("/coach/?lang=ar")
	want(t, "Arabic", ar, http.StatusOK, `<html lang="ar" dir="rtl">`, `href="/coach/?lang=fr"`, "الأفواج", "تسجيل الخروج")
	if got := ar.header.Get("Content-Language"); got != "ar" {
		t.Errorf("Content-Language %q, want ar", got)
	}
	for _, path := range []string{
		"/coach/",
		"/coach/cohorts/" + fatimaCohort,
		"/coach/cohorts/" + fatimaCohort + "/remind",
		"/coach/cohorts/" + fatimaCohort + "/outbox?queued=0",
		"/coach/cohorts/" + fatimaCohort + "/indicators",
		"/coach/outcomes",
		"/coach/inbox",
	} {
		page := b.get(path) // no ?lang=: the cookie remembers
		want(t, path, page, http.StatusOK, `<html lang="ar" dir="rtl">`)
		body := bidiMarks.Replace(page.body)
		// The cohort's name, the learners' names and their words are
		// theirs; the rest is Arabic.
		body = strings.NewReplacer("Couture Salé", "", "Combien je compte pour l&#39;électricité ?", "").Replace(body)
		if m := frenchWords.FindAllString(body, -1); len(m) > 0 {
			t.Errorf("%s in Arabic shows French words %q", path, m)
		}
	}
	learners := bidiMarks.Replace(b.get("/coach/cohorts/" + fatimaCohort).body)
	// Titles in Arabic, the learner's language beside (learner 1 writes
	// French); progress explained; the stuck learner silent 5 days.
	// Learner 1 (French) is in costing-2, learner 2 (Arabic) in costing-1:
	// both titles in Arabic, the French one beside the first.
	costing1, costing2 := lessonTitle(t, "costing-1", bot.Arabic), lessonTitle(t, "costing-2", bot.Arabic)
	want(t, "learners in Arabic", response{status: 200, body: learners}, 200, costing1, costing2,
		`<bdi class="muted own" dir="auto">`+lessonTitle(t, "costing-2", bot.French)+"</bdi>", "الخطوة 2 من", "التقدم: الخطوة التي بلغها المتعلم",
		`class="muted own"`, "متوقف", "في درس، دون أي رسالة منذ 3 أيام أو أكثر", "الفرنسية", "العربية")
	indicators := bidiMarks.Replace(b.get("/coach/cohorts/" + fatimaCohort + "/indicators").body)
	want(t, "indicators in Arabic", response{status: 200, body: indicators}, 200, "<strong>5</strong> أعضاء", "نهاية الدورة",
		`direction="rtl"`)
	inbox := bidiMarks.Replace(b.get("/coach/inbox").body)
	want(t, "inbox in Arabic", response{status: 200, body: inbox}, 200, "واحد غير مقروء", "أسئلة المتعلمين")

	// A form's error in Arabic: the time the coach typed, and where to
	// look.
	bad := b.post("/coach/cohorts/"+fatimaCohort+"/remind", url.Values{"text": {"x"}, "at": {"demain"}})
	want(t, "bad time in Arabic", response{status: bad.status, body: bidiMarks.Replace(bad.body)}, http.StatusBadRequest,
		"الوقت «demain» غير مقروء", `<html lang="ar" dir="rtl">`)

	// The API stays in keys and French words whatever the cookie.
	api := x.api("fatima", "GET", "/coach/api/cohorts/"+fatimaCohort+"/learners", nil)
	want(t, "API", api, http.StatusOK, `"lesson_title":"`)
	if strings.Contains(api.body, "الخطوة") {
		t.Errorf("the API speaks Arabic: %s", api.body)
	}
	csv := b.get("/coach/cohorts/" + fatimaCohort + "/learners.csv")
	want(t, "CSV", csv, http.StatusOK, `"learner","channel","lang","phase"`)

	back := b.get("/coach/?lang=fr")
	want(t, "back to French", back, http.StatusOK, `<html lang="fr" dir="ltr">`, "Cohortes")
	want(t, "French remembered", b.get("/coach/inbox"), http.StatusOK, `<html lang="fr" dir="ltr">`, "Questions des apprenant·es")

	// Another coach's browser keeps its own language; an unknown one is
	// French.
	other := x.browser()
	want(t, "login page in Arabic", other.get("/coach/login?lang=ar"), http.StatusOK, `<html lang="ar" dir="rtl">`, "كلمة المرور")
	want(t, "unknown language", x.browser().get("/coach/login?lang=xx"), http.StatusOK, `<html lang="fr" dir="ltr">`, "Mot de passe")
}
