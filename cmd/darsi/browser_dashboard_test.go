package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// shotsCohort is the cohort the screenshots show.
const shotsCohort = "K7M2QX"

// seedDashboard fills an embedded store with a cohort of Fatima's whose
// learners write in the four languages, on WhatsApp and by SMS: some in a
// lesson, one stuck, some done with the costing course, with their
// answers to its outcome question at the end of the course and six weeks
// later.
func seedDashboard(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	if err := s.CreateCohort(ctx, cohort.Cohort{Code: shotsCohort, Name: "Couturières de Salé", Coach: "fatima", CreatedAt: now.Add(-60 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	costing := func(ago time.Duration, score int) []bot.Completion {
		at := now.Add(-ago)
		return []bot.Completion{{Lesson: "costing-1", Score: 100, At: at.Add(-2 * day)}, {Lesson: "costing-2", Score: score, At: at.Add(-day)},
			{Lesson: "costing-3", Score: score, At: at}}
	}
	followup := func(v string) []bot.FollowupAnswer {
		return []bot.FollowupAnswer{{Survey: "revenue_stable", Value: v, At: now.Add(-day)}}
	}
	learners := []bot.Learner{
		{ID: "whatsapp:+212600000501", Channel: bot.WhatsApp, Lang: bot.French, Name: "Khadija",
			Phase: bot.PhaseLesson, Position: bot.Position{Course: "costing", Lesson: "costing-2", Index: 3},
			Completed: []bot.Completion{{Lesson: "costing-1", Score: 80, At: now.Add(-3 * day)}}, LastInboundAt: now.Add(-time.Hour)},
		{ID: "whatsapp:+212600000502", Channel: bot.WhatsApp, Lang: bot.Arabic, Name: "فاطمة",
			Phase: bot.PhaseLesson, Position: bot.Position{Course: "costing", Lesson: "costing-1", Index: 1},
			LastInboundAt: now.Add(-30 * time.Minute)},
		{ID: "whatsapp:+212600000503", Channel: bot.WhatsApp, Lang: bot.Darija,
			Phase: bot.PhaseLesson, Position: bot.Position{Course: "costing", Lesson: "costing-1", Index: 2},
			LastInboundAt: now.Add(-5 * day)},
		{ID: "whatsapp:+212600000504", Channel: bot.WhatsApp, Lang: bot.Tamazight, Phase: bot.PhaseMenu,
			Completed: costing(50*day, 67), Indicators: map[string]string{"revenue_stable": "not_yet"}, Followups: followup("yes"),
			LastInboundAt: now.Add(-2 * time.Hour)},
		{ID: "whatsapp:+212600000505", Channel: bot.WhatsApp, Lang: bot.Arabic, Phase: bot.PhaseMenu,
			Completed: costing(45*day, 100), Indicators: map[string]string{"revenue_stable": "yes"}, Followups: followup("yes"),
			LastInboundAt: now.Add(-20 * day)},
		{ID: "whatsapp:+212600000506", Channel: bot.WhatsApp, Lang: bot.Darija, Phase: bot.PhaseMenu,
			Completed: costing(44*day, 33), Indicators: map[string]string{"revenue_stable": "no"}, Followups: followup("not_yet"),
			LastInboundAt: now.Add(-3 * time.Hour)},
		{ID: "sms:+212600000507", Channel: bot.SMS, Lang: bot.French, Phase: bot.PhaseMenu,
			Completed: costing(10*day, 100), Indicators: map[string]string{"revenue_stable": "not_yet"},
			LastInboundAt: now.Add(-10 * day)},
		{ID: "whatsapp:+212600000508", Channel: bot.WhatsApp, Lang: bot.French, Phase: bot.PhaseMenu, OptedOut: true,
			LastInboundAt: now.Add(-15 * day)},
	}
	for _, l := range learners {
		l.Consent, l.Cohort, l.UpdatedAt = true, shotsCohort, l.LastInboundAt
		if _, err := s.Update(ctx, l.ID, "", func(stored *bot.Learner) (app.Change, error) {
			*stored = l
			return app.Change{}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// page is a dashboard page the screenshots show, and what it must say in
// each language.
type page struct {
	name  string
	open  func(lang string)
	texts map[string][]string
}

// TestDashboardScreenshots photographs the inbox (a thread holding a
// learner's question and the coach's answer), the reminder form (previewed
// for learners of four languages) and the indicators page (baseline and
// follow-up answers) of the real "darsi serve", in French and in Arabic, on
// a computer (1280×800) and a phone (390×844): twelve PNGs, kept with
// "go test -run TestDashboardScreenshots -artifacts -outputdir DIR
// ./cmd/darsi". On each it checks the page's direction (rtl in Arabic,
// with the header's brand and the tabs starting on the right), that nothing
// is wider than a phone, and that the page says its key words in its
// language.
func TestDashboardScreenshots(t *testing.T) {
	exe := chromiumPath(t)
	store := filepath.Join(t.TempDir(), "darsi.db")
	const fatimaPW = "fatima-secret-1"
	token := addCoach(t, store, "fatima", "coach", fatimaPW)
	seedDashboard(t, store)
	fake := twiliotest.NewFake(t, e2eAccount, e2eToken)
	t.Setenv("TWILIO_API_BASE_URL", fake.URL)
	t.Setenv("TWILIO_WHATSAPP_FROM", "whatsapp:+14155238886")
	t.Setenv("DARSI_INTERACTIVE", "off")
	t.Setenv("DARSI_QUIET_HOURS", notQuietNow(t))
	r := startReplica(t, store)

	// Khadija asks her coach mid-lesson; Fatima answers through the API.
	question := "Est-ce que je compte l'électricité dans le prix de revient ?"
	if got := r.send("+212600000501", messageSID("shots-q"), "coach "+question); len(got) == 0 {
		t.Fatalf("the question got no reply")
	}
	api := func(method, path, body string, out any) {
		t.Helper()
		req, _ := http.NewRequest(method, r.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %s", method, path, resp.Status)
		}
		if out != nil {
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
				t.Fatal(err)
			}
		}
	}
	var threads []struct{ Key string }
	api("GET", "/coach/api/inbox", "", &threads)
	if len(threads) != 1 {
		t.Fatalf("the inbox holds %d threads, want Khadija's", len(threads))
	}
	key := threads[0].Key
	answer := "Oui : divise la facture du mois par le nombre de pièces, et ajoute-la au coût de chacune."
	api("POST", "/coach/api/inbox/"+key+"/answers", `{"text":`+fmt.Sprintf("%q", answer)+`}`, nil)
	var sid string
	for deadline := time.Now().Add(30 * time.Second); sid == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, m := range fake.Messages() {
			if m.To == "whatsapp:+212600000501" && strings.HasSuffix(m.Body, answer) {
				sid = m.SID
			}
		}
	}
	if sid == "" {
		t.Fatalf("the answer never reached the fake Twilio\n%s", r.logs)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Second)
	defer cancel()
	if err := fake.Callback(ctx, sid, bot.StatusDelivered, 0); err != nil {
		t.Fatal(err)
	}
	bctx := startBrowser(t, ctx, exe)
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, r.logs)
		}
	}
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}
	do("log in",
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(r.base+"/coach/"),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("login"), "fatima"),
		chromedp.SendKeys(chromedp.ID("password"), fatimaPW),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("create")),
	)

	cohortURL := r.base + "/coach/cohorts/" + shotsCohort
	// The reminder in each learner's language (the Darija and Tamazight
	// ones drafts, as the lessons' are).
	reminder := map[string]string{
		"fr":  "Atelier samedi à 10 h au centre : apporte ton carnet et tes factures du mois.",
		"ar":  "ورشة يوم السبت على الساعة 10 في المركز: المرجو إحضار دفترك وفواتير الشهر.",
		"ary": "ورشة نهار السبت مع 10 فالمركز: جيب الكناش ديالك والفاكتورات ديال الشهر.",
		"zgh": "ⴰⵙⵎⵓⵏ ⵏ ⵙⵙⴱⵜ ⴳ 10 ⴳ ⵓⵎⵎⴰⵙ.",
	}
	pages := []page{
		{name: "inbox", open: func(lang string) {
			do("the thread", chromedp.Navigate(r.base+"/coach/inbox/"+key+"?lang="+lang), chromedp.WaitVisible(chromedp.ID("answer-form")))
		}, texts: map[string][]string{
			"fr": {"Question", "Réponse de fatima", question, answer, "Pendant la leçon « ", "étape 4 sur", "fenêtre WhatsApp ouverte jusqu'à"},
			"ar": {"سؤال", "جواب fatima", question, answer, "أثناء الدرس «", "الخطوة 4 من", "نافذة واتساب مفتوحة حتى"},
		}},
		{name: "remind", open: func(lang string) {
			// The message in the dashboard's language, and one text for
			// each language of the cohort's learners.
			fill := []chromedp.Action[chromedp.Void]{
				chromedp.Navigate(cohortURL + "/remind?lang=" + lang),
				chromedp.WaitVisible(chromedp.ID("text")),
				chromedp.SendKeys(chromedp.ID("text"), reminder[lang]),
			}
			for _, l := range []string{"fr", "ar", "ary", "zgh"} {
				fill = append(fill, chromedp.SetValue(chromedp.ID("text_"+l), reminder[l]))
			}
			fill = append(fill, chromedp.Click(chromedp.ID("preview")), chromedp.WaitVisible(chromedp.ID("previews")))
			do("the reminder form", fill...)
			// Each language's preview holds its own text.
			for _, l := range []string{"fr", "ar", "ary", "zgh"} {
				got := eval(`(() => { const e = document.querySelector('[data-lang="` + l + `"] .bubble'); return e ? e.innerText : "" })()`)
				got = strings.NewReplacer("\u200f", "", "\u2066", "", "\u2067", "", "\u2068", "", "\u2069", "").Replace(got)
				if !strings.Contains(got, reminder[l]) {
					t.Errorf("remind in %s: the %s preview reads %q, want %q", lang, l, got, reminder[l])
				}
			}
		}, texts: map[string][]string{
			"fr": {"Rappel à la cohorte", "Aperçu", "Darija", "Arabe", "Français", "Tamazight", "Par apprenant", "en texte libre", "Programmer pour"},
			"ar": {"تذكير للفوج", "معاينة", "الدارجة", "العربية", "الفرنسية", "الأمازيغية", "حسب المتعلم", "بنص حر", "برمجة الإرسال"},
		}},
		{name: "indicators", open: func(lang string) {
			do("the indicators", chromedp.Navigate(cohortURL+"/indicators?lang="+lang), chromedp.WaitVisible(chromedp.ID("outcomes")))
		}, texts: map[string][]string{
			"fr": {"Indicateurs", "membres", "Résultats déclarés", "Fin du cours", "Suivi, des semaines après", "Pas encore", "Parcours par leçon"},
			"ar": {"المؤشرات", "أعضاء", "النتائج المصرح بها", "نهاية الدورة", "المتابعة، بعد أسابيع", "ليس بعد", "المسار حسب الدرس"},
		}},
	}
	sizes := []struct {
		name string
		w, h int64
	}{{"1280x800", 1280, 800}, {"390x844", 390, 844}}
	dir := t.ArtifactDir()
	shots := 0
	for _, lang := range []string{"fr", "ar"} {
		for _, p := range pages {
			for _, size := range sizes {
				do("screen "+size.name, chromedp.EmulateViewport(size.w, size.h))
				p.open(lang)
				where := p.name + " in " + lang + " at " + size.name
				// The page's direction, computed.
				wantDir := map[string]string{"fr": "ltr", "ar": "rtl"}[lang]
				if got := eval(`getComputedStyle(document.body).direction`); got != wantDir {
					t.Errorf("%s: direction %s, want %s", where, got, wantDir)
				}
				if got := eval(`document.documentElement.lang`); got != lang {
					t.Errorf("%s: <html lang=%q>", where, got)
				}
				// The brand and the first tab start the line: on the
				// right in Arabic.
				for _, sel := range []string{".brand", "nav.tabs a"} {
					side := eval(`(() => { const e = document.querySelector(` + fmt.Sprintf("%q", sel) + `); if (!e) return "none";
						const r = e.getBoundingClientRect(); return r.left + r.width / 2 > window.innerWidth / 2 ? "right" : "left" })()`)
					want := map[string]string{"fr": "left", "ar": "right"}[lang]
					if side == "none" && sel == "nav.tabs a" && p.name == "inbox" {
						continue // the inbox is not a cohort's page
					}
					if side != want {
						t.Errorf("%s: %s sits on the %s, want the %s", where, sel, side, want)
					}
				}
				// Nothing wider than a phone.
				w, err := chromedp.Run(bctx, chromedp.Evaluate[int64](`document.scrollingElement.scrollWidth`))
				if err != nil || w > size.w {
					t.Errorf("%s: the page is %d px wide on a %d px screen (%v)", where, w, size.w, err)
				}
				// The key words, in the page's language.
				body := strings.NewReplacer("\u200f", "", "\u2066", "", "\u2067", "", "\u2068", "", "\u2069", "").Replace(eval(`document.body.innerText`))
				for _, s := range p.texts[lang] {
					if !strings.Contains(body, s) {
						t.Errorf("%s: the page does not say %q", where, s)
					}
				}
				// A whole page, unless it fits the screen: Chromium shifts
				// the full-size capture of a short right-to-left page
				// sideways, so a page that fits is captured as seen.
				capture := chromedp.FullScreenshot(100)
				if fits, _ := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.scrollingElement.scrollHeight <= window.innerHeight`)); fits {
					capture = chromedp.CaptureScreenshot()
				}
				png, err := chromedp.Run(bctx, capture)
				if err != nil {
					t.Fatalf("%s: screenshot: %v", where, err)
				}
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s-%s.png", p.name, lang, size.name)), png, 0o644); err != nil {
					t.Fatal(err)
				}
				shots++
			}
		}
	}
	if shots != 12 {
		t.Errorf("%d screenshots, want 12", shots)
	}
}
