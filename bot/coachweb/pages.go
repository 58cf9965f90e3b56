package coachweb

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/httpstatus"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// maxForm bounds a dashboard form (a reminder is at most 1,600
// characters in each of four languages and its first text, each up to six
// bytes a character once form-encoded).
const maxForm = 96 << 10

// csp lets pages load only the dashboard's stylesheet: no script at all.
const csp = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// view is what the layout renders around a page's body.
type view struct {
	Coach  *cohort.Coach
	Title  string
	Cohort *cohort.Cohort
	Tab    string
	Body   any
	// Unread counts the threads with unread questions the coach answers:
	// every page shows it.
	Unread int
	// Lang is the page's language, Dir its direction (ltr, rtl), Langs
	// the language switch.
	Lang  bot.Lang
	Dir   string
	Langs []langLink
}

func (h *Handler) parseTemplates() error {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	h.pages = map[bot.Lang]map[string]*template.Template{}
	for _, lang := range locale.DashboardLangs {
		layout, err := template.New("layout.html").Funcs(h.funcs(lang)).ParseFS(templateFS, "templates/layout.html")
		if err != nil {
			return err
		}
		pages := map[string]*template.Template{}
		for _, n := range names {
			if n == "templates/layout.html" {
				continue
			}
			t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
			if err != nil {
				return err
			}
			pages[strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")] = t
		}
		h.pages[lang] = pages
	}
	return nil
}

// show renders a page: the layout around template name, in the
// request's language.
func (h *Handler) show(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	lang := langOf(r)
	t, ok := h.pages[lang][name]
	if !ok {
		h.fail(w, r, bot.Errorf("coachweb.show", bot.Internal, "no template %q", name))
		return
	}
	if v.Coach != nil {
		n, err := h.cfg.Coaching.Unread(r.Context(), *v.Coach)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		v.Unread = n
	}
	v.Lang, v.Dir, v.Langs = lang, "ltr", h.langLinks(r)
	if lang.RTL() {
		v.Dir = "rtl"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		h.fail(w, r, bot.E("coachweb.show", bot.Internal, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Set("Content-Language", string(lang))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// render shows a page with no coach (the login page).
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, body any) {
	h.show(w, r, status, name, view{Title: h.t(r, "dash.login.title"), Body: body})
}

func statusOf(err error) int { return httpstatus.Of(err) }

// --- cohorts ---

type cohortItem struct {
	cohort.Cohort
	Link    string
	Members int
}

type cohortsView struct {
	Cohorts []cohortItem
	Name    string
	Error   string
}

func (h *Handler) cohortsPage(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	h.showCohorts(w, r, c, http.StatusOK, cohortsView{})
}

func (h *Handler) showCohorts(w http.ResponseWriter, r *http.Request, c cohort.Coach, status int, v cohortsView) {
	cs, err := h.cfg.Coaching.ListCohorts(r.Context(), c, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, co := range cs {
		v.Cohorts = append(v.Cohorts, cohortItem{Cohort: co.Cohort, Link: h.link(co.Code), Members: co.Members})
	}
	h.show(w, r, status, "cohorts", view{Coach: &c, Title: h.t(r, "dash.cohorts.title"), Tab: "cohorts", Body: v})
}

// link is the cohort's join link: its wa.me link, or without a WhatsApp
// number one that opens WhatsApp with the join text typed in and lets the
// learner pick the chat, so that a pilot without Twilio still shows a
// working code.
func (h *Handler) link(code string) string {
	if link := h.cfg.Coaching.Link(code); link != "" {
		return link
	}
	return joinLinkWithoutNumber(code)
}

func (h *Handler) createCohort(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, h.t(r, "dash.error.form"), http.StatusBadRequest)
		return
	}
	name, owner := r.PostForm.Get("name"), r.PostForm.Get("coach")
	co, err := h.cfg.Coaching.CreateCohort(r.Context(), c, name, owner)
	switch bot.KindOf(err) {
	case bot.Forbidden:
		http.Error(w, h.t(r, "dash.cohorts.adminOnly"), http.StatusForbidden)
		return
	case bot.Invalid:
		h.showCohorts(w, r, c, http.StatusBadRequest, cohortsView{Name: name, Error: errText(err)})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, Prefix+"/cohorts/"+co.Code+"?created=1", http.StatusSeeOther)
}

// errText is an Invalid error's message for a coach.
func errText(err error) string {
	if e, ok := err.(*bot.Error); ok && e.Err != nil {
		return e.Err.Error()
	}
	return err.Error()
}

// --- a cohort's learners ---

type learnersView struct {
	Link    string
	QR      template.HTML
	Created bool
	Rows    []app.Progress
	Stuck   int // on this page
	Days    int
	// Total and OptedOut count the whole cohort (the store's counters);
	// Next is the cursor of the next page, First is set on a later page.
	Total, OptedOut int64
	Next            string
	First           bool
}

func (h *Handler) learnersPage(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort) {
	cursor, limit := pageOf(r)
	members, next, err := h.cfg.Coaching.MembersPage(r.Context(), co.Code, cursor, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	counts, err := h.cfg.Coaching.Members.CohortCounts(r.Context(), co.Code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	link := h.link(co.Code)
	qr, err := qrSVG(link, 0)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := learnersView{Link: link, QR: qr, Created: r.URL.Query().Get("created") != "", Rows: h.cfg.Coaching.Progress(members),
		Days:  int(h.cfg.Coaching.StuckAfterOrDefault() / (24 * time.Hour)),
		Total: counts[app.CountMembers], OptedOut: counts[app.CountOptedOut], Next: next, First: cursor != ""}
	lang := langOf(r)
	for i, row := range v.Rows {
		if row.Stuck {
			v.Stuck++
		}
		// The lesson's title in the dashboard's language, the learner's
		// beside it when that is another.
		if row.LessonT != "" {
			v.Rows[i].LessonT = h.lessonTitleIn(lang, row.Lesson, row.LessonT)
			v.Rows[i].LessonOwn = ""
			if own := h.lessonTitleIn(row.Lang, row.Lesson, ""); row.Lang.Valid() && own != v.Rows[i].LessonT {
				v.Rows[i].LessonOwn = own
			}
		}
	}
	h.show(w, r, http.StatusOK, "learners", view{Coach: &c, Title: co.Name, Cohort: &co, Tab: "learners", Body: v})
}

func (h *Handler) poster(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort) {
	svg, err := h.posterSVG(co)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	if r.URL.Query().Get("download") != "" {
		w.Header().Set("Content-Disposition", `attachment; filename="darsi-`+co.Code+`.svg"`)
	}
	w.Write(svg)
}

func (h *Handler) learnersCSV(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort) {
	members, err := h.cfg.Coaching.AllMembers(r.Context(), co.Code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	records := [][]string{{"learner", "channel", "lang", "phase", "course", "lesson", "step", "steps",
		"completed", "quiz_average", "last_activity", "stuck", "opted_out", "name"}}
	for _, row := range h.cfg.Coaching.Progress(members) {
		avg := ""
		if row.QuizAvg >= 0 {
			avg = strconv.Itoa(row.QuizAvg)
		}
		last := ""
		if !row.LastSeen.IsZero() {
			last = row.LastSeen.UTC().Format(time.RFC3339)
		}
		records = append(records, []string{row.Learner, row.Channel, string(row.Lang), row.Phase, row.Course, row.Lesson,
			strconv.Itoa(row.Step), strconv.Itoa(row.Steps), strconv.Itoa(row.Completed), avg, last,
			strconv.FormatBool(row.Stuck), strconv.FormatBool(row.OptedOut), row.Name})
	}
	h.sendCSV(w, r, c, co, "darsi-"+co.Code+"-learners.csv", records)
}

// --- reminders ---

type remindView struct {
	Kind, Text, At, Template string
	// Texts are the texts of their own, one per language, prefilled with
	// Text on a preview where the coach left one empty.
	Texts                    []langText
	Error                    string
	Previewed                bool
	Due                      time.Time
	Preview                  []langPreview
	Decisions                []decisionRow
	Free, Templated, Skipped int
	Members                  int
	Sending                  int // the members who will get it
	// Choices are the configured WhatsApp templates, by kind.
	Choices []templateChoice
}

// langText is the text of one language in the remind form.
type langText struct {
	Lang bot.Lang
	Name string
	Text string
	RTL  bool
}

// formTexts reads the texts of their own (text_ary, text_ar, text_fr,
// text_zgh) from a remind form.
func formTexts(f url.Values) map[bot.Lang]string {
	texts := map[bot.Lang]string{}
	for _, lang := range bot.Langs {
		if t := f.Get("text_" + string(lang)); strings.TrimSpace(t) != "" {
			texts[lang] = t
		}
	}
	return texts
}

// langTexts lays the texts out for the form, each language's own, or
// fill where it has none.
func langTexts(w words, texts map[bot.Lang]string, fill string) []langText {
	var out []langText
	for _, lang := range bot.Langs {
		t := texts[lang]
		if strings.TrimSpace(t) == "" {
			t = fill
		}
		out = append(out, langText{Lang: lang, Name: w.langName(lang), Text: t, RTL: lang.RTL()})
	}
	return out
}

// templateChoice is a kind of template the remind form offers.
type templateChoice struct {
	Kind, Langs string
}

// templateChoices lists the kinds of template the policy knows, with
// their languages.
func (h *Handler) templateChoices(w words) []templateChoice {
	p := h.cfg.Coaching.Policy
	if p == nil || p.Templates == nil {
		return nil
	}
	kinds := p.Templates.Kinds()
	var out []templateChoice
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		var names []string
		for _, l := range kinds[k] {
			names = append(names, w.langName(l))
		}
		out = append(out, templateChoice{Kind: k, Langs: strings.Join(names, ", ")})
	}
	return out
}

func (h *Handler) remindPage(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort) {
	h.show(w, r, http.StatusOK, "remind", view{Coach: &c, Title: h.t(r, "dash.remind.pageTitle", "Cohort", co.Name), Cohort: &co, Tab: "remind",
		Body: remindView{Kind: string(schedule.Reminder), Choices: h.templateChoices(h.words(r)), Texts: langTexts(h.words(r), nil, "")}})
}

// remind previews a reminder, or queues it (action=queue), through the
// same use cases as the API and the command line.
func (h *Handler) remind(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, h.t(r, "dash.error.form"), http.StatusBadRequest)
		return
	}
	f := r.PostForm
	v := remindView{Kind: f.Get("kind"), Text: f.Get("text"), At: f.Get("at"), Template: strings.TrimSpace(f.Get("template")),
		Choices: h.templateChoices(h.words(r))}
	if v.Kind == "" {
		v.Kind = string(schedule.Reminder)
	}
	texts := formTexts(f)
	v.Texts = langTexts(h.words(r), texts, "")
	page := view{Coach: &c, Title: h.t(r, "dash.remind.pageTitle", "Cohort", co.Name), Cohort: &co, Tab: "remind"}
	fail := func(err error) {
		if bot.KindOf(err) != bot.Invalid {
			h.fail(w, r, err)
			return
		}
		v.Error = errText(err)
		page.Body = v
		h.show(w, r, http.StatusBadRequest, "remind", page)
	}
	at, err := h.parseAt(v.At)
	if err != nil {
		// The API's message is for programs: a coach reads where to look.
		fail(bot.Errorf("coachweb.remind", bot.Invalid, "%s", h.t(r, "dash.remind.badTime", "Time", h.words(r).ltr(v.At))))
		return
	}
	rm := app.Reminder{Kind: schedule.Kind(v.Kind), Cohort: co.Code, Text: v.Text, Texts: texts, Template: v.Template, At: at}
	if f.Get("action") == "queue" {
		res, err := h.cfg.Coaching.Remind(r.Context(), c, rm)
		if err != nil {
			fail(err)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("%s/cohorts/%s/outbox?queued=%d", Prefix, co.Code, res.Queued), http.StatusSeeOther)
		return
	}
	plan, err := h.cfg.Coaching.Preview(r.Context(), c, rm)
	if err != nil {
		fail(err)
		return
	}
	// Each language's text, prefilled from the first where the coach
	// wrote none, for them to adapt.
	v.Texts = langTexts(h.words(r), texts, rm.TextFor(""))
	v.Previewed, v.Due, v.Members = true, plan.DueAt, len(plan.Members)
	v.Free, v.Templated, v.Skipped = plan.Free, plan.Template, plan.Skipped
	v.Sending = plan.Free + plan.Template
	for _, p := range plan.Langs {
		v.Preview = append(v.Preview, langPreview{LangPreview: p, Name: h.words(r).langName(p.Lang), RTL: p.Lang.RTL()})
	}
	for _, m := range plan.Members {
		row := decisionRow{Learner: m.Learner, Lang: m.Lang, Route: m.Route, Why: h.why(h.words(r), rm, m.Decision),
			SendAt: m.SendAt, Zone: m.Zone}
		if loc, err := schedule.LoadZone(m.Zone); err == nil && m.Zone != h.cfg.Location.String() && m.Route != schedule.RouteSkip {
			row.Local = h.words(r).t("dash.remind.local", "At", h.words(r).when(m.SendAt, loc), "Zone", h.words(r).ltr(m.Zone))
		}
		v.Decisions = append(v.Decisions, row)
	}
	page.Body = v
	h.show(w, r, http.StatusOK, "remind", page)
}

// --- outbox ---

// JobRow is one job as a coach sees it.
type JobRow struct {
	ID        string          `json:"id"`
	Kind      schedule.Kind   `json:"kind"`
	Learner   string          `json:"learner"` // masked
	Text      string          `json:"text,omitempty"`
	Status    schedule.Status `json:"status"`
	Attempts  int             `json:"attempts"`
	Reason    string          `json:"reason,omitempty"`
	Templated bool            `json:"templated"`
	DueAt     time.Time       `json:"due_at"`
	SentAt    time.Time       `json:"sent_at,omitzero"`
	CreatedBy string          `json:"created_by,omitempty"`
	// Delivery is Twilio's last reported status of the message (sent,
	// delivered, read, undelivered…), and its error code.
	Delivery  bot.DeliveryStatus `json:"delivery,omitempty"`
	ErrorCode int                `json:"error_code,omitempty"`
}

// maxPage bounds a page of learners or jobs, whatever ?limit= asks.
const maxPage = 500

// pageOf reads a page's ?cursor= and ?limit= (default app.DefaultPageSize,
// at most maxPage).
func pageOf(r *http.Request) (string, int) {
	q := r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 {
		limit = app.DefaultPageSize
	}
	return q.Get("cursor"), min(limit, maxPage)
}

// jobRows returns a page of the cohort's jobs as coaches see them, and the
// cursor of the next page.
func (h *Handler) jobRows(ctx context.Context, code, cursor string, limit int) ([]JobRow, string, error) {
	jobs, next, err := h.cfg.Coaching.Outbox.Jobs(ctx, schedule.Filter{Cohort: code, Limit: limit, Cursor: cursor})
	if err != nil {
		return nil, "", err
	}
	out := make([]JobRow, 0, len(jobs))
	for _, j := range jobs {
		if !strings.EqualFold(j.Cohort, code) {
			continue // a store that ignores the filter shows no other cohort
		}
		row := JobRow{ID: j.ID, Kind: j.Kind, Learner: bot.Mask(j.Learner), Text: j.Text, Status: j.Status,
			Attempts: j.Attempts, Reason: j.Reason, Templated: j.Templated, DueAt: j.DueAt, SentAt: j.SentAt, CreatedBy: j.CreatedBy}
		if h.cfg.Deliveries != nil && j.SID != "" {
			if d, err := h.cfg.Deliveries.Delivery(ctx, j.SID); err == nil {
				row.Delivery, row.ErrorCode = d.Status, d.ErrorCode
			} else if bot.KindOf(err) != bot.NotFound {
				return nil, "", err
			}
		}
		out = append(out, row)
	}
	return out, next, nil
}

// allJobRows returns every job of the cohort, page after page: for the
// CSV export (the outbox keeps ended jobs for the retention only).
func (h *Handler) allJobRows(ctx context.Context, code string) ([]JobRow, error) {
	var all []JobRow
	cursor := ""
	for {
		rows, next, err := h.jobRows(ctx, code, cursor, maxPage)
		if err != nil {
			return nil, err
		}
		all = append(all, rows...)
		if next == "" {
			return all, nil
		}
		cursor = next
	}
}

type outboxView struct {
	Jobs   []JobRow
	Queued int
	// Cancelled and TooLate say how a cancel just went.
	Cancelled, TooLate bool
	// Counts and Total count the cohort's jobs by status (the store's
	// counts); Next is the cursor of the next page, First is set on a
	// later page.
	Counts map[schedule.Status]int
	Total  int
	Next   string
	First  bool
}

func (h *Handler) outboxPage(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort) {
	cursor, limit := pageOf(r)
	rows, next, err := h.jobRows(r.Context(), co.Code, cursor, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	counts, err := h.cfg.Coaching.Outbox.Counts(r.Context(), co.Code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := outboxView{Jobs: rows, Queued: -1, Counts: counts, Next: next, First: cursor != ""}
	if q := r.URL.Query().Get("queued"); q != "" {
		v.Queued, _ = strconv.Atoi(q)
	}
	v.Cancelled, v.TooLate = r.URL.Query().Get("cancelled") != "", r.URL.Query().Get("late") != ""
	for _, n := range counts {
		v.Total += n
	}
	h.show(w, r, http.StatusOK, "outbox", view{Coach: &c, Title: h.t(r, "dash.outbox.pageTitle", "Cohort", co.Name), Cohort: &co, Tab: "outbox", Body: v})
}

func (h *Handler) outboxCSV(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort) {
	rows, err := h.allJobRows(r.Context(), co.Code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	records := [][]string{{"id", "kind", "learner", "status", "delivery", "error_code", "attempts", "reason",
		"templated", "due_at", "sent_at", "created_by", "text"}}
	for _, j := range rows {
		sent, code := "", ""
		if !j.SentAt.IsZero() {
			sent = j.SentAt.UTC().Format(time.RFC3339)
		}
		if j.ErrorCode != 0 {
			code = strconv.Itoa(j.ErrorCode)
		}
		records = append(records, []string{j.ID, string(j.Kind), j.Learner, string(j.Status), string(j.Delivery), code,
			strconv.Itoa(j.Attempts), j.Reason, strconv.FormatBool(j.Templated), j.DueAt.UTC().Format(time.RFC3339),
			sent, j.CreatedBy, j.Text})
	}
	h.sendCSV(w, r, c, co, "darsi-"+co.Code+"-outbox.csv", records)
}

// --- indicators ---

type indicatorsView struct {
	app.Indicators
	Funnel, Weekly, Scores template.HTML
	Outcomes               []outcomeChart
}

type outcomeChart struct {
	app.Outcome
	Chart template.HTML
}

func (h *Handler) indicatorsPage(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort) {
	members, err := h.cfg.Coaching.AllMembers(r.Context(), co.Code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ind := h.cfg.Coaching.Indicators(members)
	v := indicatorsView{Indicators: ind}
	wd := h.words(r)
	rtl := wd.lang.RTL()
	var funnel []hbar
	for _, s := range ind.Funnel {
		funnel = append(funnel, hbar{Label: h.lessonTitleIn(wd.lang, s.Lesson, s.Title), Total: s.Started, Part: s.Finished,
			Figure: wd.t("dash.indicators.partOf", "Part", s.Finished, "Total", s.Started)})
	}
	v.Funnel = hbars(wd.t("dash.indicators.funnelChart"), funnel, wd.t("dash.indicators.funnelLegend"), rtl)
	var weekly []column
	for _, wk := range ind.Weeks {
		weekly = append(weekly, column{Label: wk.Start.Format("02/01"), N: wk.Active})
	}
	v.Weekly = columns(wd.t("dash.indicators.weeklyChart"), weekly, rtl)
	labels := []string{"0–19", "20–39", "40–59", "60–79", "80–100"}
	var scores []column
	for i, n := range ind.Scores {
		scores = append(scores, column{Label: labels[i] + " %", N: n})
	}
	v.Scores = columns(wd.t("dash.indicators.scoresChart"), scores, rtl)
	v.Outcomes = h.outcomeCharts(r, ind.Outcomes)
	h.show(w, r, http.StatusOK, "indicators", view{Coach: &c, Title: h.t(r, "dash.indicators.pageTitle", "Cohort", co.Name), Cohort: &co, Tab: "indicators", Body: v})
}

// outcomeCharts draws each outcome's answers at the end of the course, in
// the coach's words and language; the page puts the follow-up's beside
// them.
func (h *Handler) outcomeCharts(r *http.Request, os []app.Outcome) []outcomeChart {
	lang := langOf(r)
	var out []outcomeChart
	for _, o := range h.cfg.Coaching.OutcomesIn(os, lang) {
		var bars []hbar
		for _, vc := range o.Values {
			bars = append(bars, hbar{Label: vc.Label, Total: vc.N, Part: -1})
		}
		out = append(out, outcomeChart{Outcome: o, Chart: hbars(cmp.Or(o.Question, o.Key), bars, "", lang.RTL())})
	}
	return out
}

// outcomeRecords are outcomes as CSV rows: one per indicator and answer,
// with the counts at the end of the course and at the follow-up.
func outcomeRecords(cohortName string, os []app.Outcome) [][]string {
	records := [][]string{{"cohort", "indicator", "question", "value", "answer", "baseline", "followup", "baseline_total", "followup_total"}}
	for _, o := range os {
		for _, vc := range o.Values {
			records = append(records, []string{cohortName, o.Key, o.Question, vc.Value, vc.Label, strconv.Itoa(vc.N),
				strconv.Itoa(vc.Followup), strconv.Itoa(o.Baseline), strconv.Itoa(o.Followup)})
		}
	}
	return records
}

func (h *Handler) outcomesCSV(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort) {
	os, err := h.cfg.Coaching.Outcomes(r.Context(), c, co.Code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.sendCSV(w, r, c, co, "darsi-"+co.Code+"-outcomes.csv", outcomeRecords(co.Code, os))
}

type allOutcomesView struct {
	Outcomes []outcomeChart
}

// allOutcomesPage shows the outcomes over every cohort the coach sees.
func (h *Handler) allOutcomesPage(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	os, err := h.cfg.Coaching.Outcomes(r.Context(), c, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.show(w, r, http.StatusOK, "outcomes", view{Coach: &c, Title: h.t(r, "dash.outcomes.title"), Body: allOutcomesView{Outcomes: h.outcomeCharts(r, os)}})
}

func (h *Handler) allOutcomesCSV(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	os, err := h.cfg.Coaching.Outcomes(r.Context(), c, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.sendCSV(w, r, c, cohort.Cohort{}, "darsi-outcomes.csv", outcomeRecords("", os))
}
