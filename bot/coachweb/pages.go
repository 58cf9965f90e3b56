package coachweb

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/httpstatus"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// maxForm bounds a dashboard form (a reminder is at most 1,600 characters).
const maxForm = 32 << 10

// maxCohortName bounds a cohort's name.
const maxCohortName = 100

// csp lets pages load only the dashboard's stylesheet: no script at all.
const csp = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// view is what the layout renders around a page's body.
type view struct {
	Coach  *cohort.Coach
	Title  string
	Cohort *cohort.Cohort
	Tab    string
	Body   any
}

func (h *Handler) parseTemplates() error {
	funcs := template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.In(h.cfg.Location).Format("02/01/2006 15:04")
		},
		"ago": func(t time.Time) string { return ago(h.cfg.Now().Sub(t), t.IsZero()) },
		"langName": func(l bot.Lang) string {
			if n, ok := langNames[l]; ok {
				return n
			}
			return "—"
		},
		"admin": func(c *cohort.Coach) bool { return c != nil && c.Role == cohort.RoleAdmin },
		"name":  func(c *cohort.Coach) string { return coachName(*c) },
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	h.pages = map[string]*template.Template{}
	for _, n := range names {
		if n == "templates/layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return err
		}
		h.pages[strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")] = t
	}
	return nil
}

// ago says how long ago something happened, in words a coach reads at a
// glance.
func ago(d time.Duration, never bool) string {
	switch {
	case never:
		return "jamais"
	case d < time.Minute:
		return "à l'instant"
	case d < time.Hour:
		return fmt.Sprintf("il y a %d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("il y a %d h", int(d/time.Hour))
	}
	return fmt.Sprintf("il y a %d j", int(d/(24*time.Hour)))
}

// show renders a page: the layout around template name.
func (h *Handler) show(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	t, ok := h.pages[name]
	if !ok {
		h.fail(w, r, bot.Errorf("coachweb.show", bot.Internal, "no template %q", name))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		h.fail(w, r, bot.E("coachweb.show", bot.Internal, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", csp)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// render shows a page with no coach (the login page).
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, body any) {
	h.show(w, r, status, name, view{Title: "Connexion", Body: body})
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
	cs, err := h.cohorts(r.Context(), c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	counts, err := h.memberCounts(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, co := range cs {
		v.Cohorts = append(v.Cohorts, cohortItem{Cohort: co, Link: h.link(co.Code), Members: counts[strings.ToUpper(co.Code)]})
	}
	h.show(w, r, status, "cohorts", view{Coach: &c, Title: "Cohortes", Tab: "cohorts", Body: v})
}

// memberCounts counts the learners of every cohort, by upper-cased code.
func (h *Handler) memberCounts(ctx context.Context) (map[string]int, error) {
	n := map[string]int{}
	err := h.cfg.Learners.Learners(ctx, func(l bot.Learner) error {
		if l.Cohort != "" {
			n[strings.ToUpper(l.Cohort)]++
		}
		return nil
	})
	return n, err
}

func (h *Handler) link(code string) string { return joinLink(h.cfg.WhatsAppNumber, code) }

func (h *Handler) createCohort(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Formulaire invalide.", http.StatusBadRequest)
		return
	}
	name, owner := r.PostForm.Get("name"), strings.TrimSpace(r.PostForm.Get("coach"))
	if owner != "" && owner != c.Login && c.Role != cohort.RoleAdmin {
		http.Error(w, "Seul un administrateur crée une cohorte pour un autre coach.", http.StatusForbidden)
		return
	}
	co, err := h.newCohort(r.Context(), c, name, owner)
	if err != nil {
		if bot.KindOf(err) == bot.Invalid {
			h.showCohorts(w, r, c, http.StatusBadRequest, cohortsView{Name: name, Error: errText(err)})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, Prefix+"/cohorts/"+co.Code+"?created=1", http.StatusSeeOther)
}

// newCohort creates a cohort with a fresh code, for coach c or, when an
// admin names one, for another coach (callers check that only admins do).
// Errors: Invalid for a bad name or an unknown owner, Conflict when no free
// code was found, and the store's.
func (h *Handler) newCohort(ctx context.Context, c cohort.Coach, name, owner string) (cohort.Cohort, error) {
	const op = "coachweb.newCohort"
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxCohortName || strings.ContainsAny(name, "\x00\r\n") {
		return cohort.Cohort{}, bot.Errorf(op, bot.Invalid, "a cohort needs a name of 1 to %d characters on one line", maxCohortName)
	}
	if owner == "" {
		owner = c.Login
	} else if _, err := h.cfg.Cohorts.Coach(ctx, owner); err != nil {
		if bot.KindOf(err) == bot.NotFound {
			return cohort.Cohort{}, bot.Errorf(op, bot.Invalid, "no coach %q", owner)
		}
		return cohort.Cohort{}, err
	}
	co, err := cohort.Create(ctx, h.cfg.Cohorts, h.cfg.Content().Text, name, owner, h.cfg.Now())
	if err != nil {
		return cohort.Cohort{}, err
	}
	h.cfg.Log.Info("cohort created", "code", co.Code, "coach", owner, "by", c.Login)
	return co, nil
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
	Rows    []Row
	Stuck   int
	Days    int
}

func (h *Handler) learnersPage(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	co, err := h.cohortFor(r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	members, err := h.members(r.Context(), co.Code)
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
	v := learnersView{Link: link, QR: qr, Created: r.URL.Query().Get("created") != "", Rows: h.rows(members),
		Days: int(h.cfg.StuckAfter / (24 * time.Hour))}
	for _, row := range v.Rows {
		if row.Stuck {
			v.Stuck++
		}
	}
	h.show(w, r, http.StatusOK, "learners", view{Coach: &c, Title: co.Name, Cohort: &co, Tab: "learners", Body: v})
}

func (h *Handler) poster(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	co, err := h.cohortFor(r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
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

func (h *Handler) learnersCSV(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	co, err := h.cohortFor(r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	members, err := h.members(r.Context(), co.Code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	records := [][]string{{"learner", "channel", "lang", "phase", "course", "lesson", "step", "steps",
		"completed", "quiz_average", "last_activity", "stuck", "opted_out"}}
	for _, row := range h.rows(members) {
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
			strconv.FormatBool(row.Stuck), strconv.FormatBool(row.OptedOut)})
	}
	writeCSV(w, "darsi-"+co.Code+"-learners.csv", records)
}

// writeCSV sends records as a CSV download. A cell that a spreadsheet
// would read as a formula gets a leading quote.
func writeCSV(w http.ResponseWriter, filename string, records [][]string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	cw := csv.NewWriter(w)
	for _, rec := range records {
		for i, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				rec[i] = "'" + cell
			}
		}
		cw.Write(rec)
	}
	cw.Flush()
}

// --- reminders ---

type remindView struct {
	Kind, Text, At, Template string
	Error                    string
	Previewed                bool
	Due                      time.Time
	Preview                  []LangPreview
	Decisions                []Decision
	Free, Templated, Skipped int
	Members                  int
	Sending                  int // the members who will get it
}

func (h *Handler) remindPage(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	co, err := h.cohortFor(r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.show(w, r, http.StatusOK, "remind", view{Coach: &c, Title: "Rappel — " + co.Name, Cohort: &co, Tab: "remind",
		Body: remindView{Kind: string(schedule.Reminder)}})
}

func (h *Handler) remind(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	co, err := h.cohortFor(r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Formulaire invalide.", http.StatusBadRequest)
		return
	}
	f := r.PostForm
	v := remindView{Kind: f.Get("kind"), Text: f.Get("text"), At: f.Get("at"), Template: strings.TrimSpace(f.Get("template"))}
	if v.Kind == "" {
		v.Kind = string(schedule.Reminder)
	}
	page := view{Coach: &c, Title: "Rappel — " + co.Name, Cohort: &co, Tab: "remind"}
	bad := func(err error) {
		v.Error = errText(err)
		page.Body = v
		h.show(w, r, http.StatusBadRequest, "remind", page)
	}
	due, err := h.parseDue(v.At)
	if err != nil {
		bad(err)
		return
	}
	rm := Reminder{Kind: schedule.Kind(v.Kind), Cohort: co.Code, Text: v.Text, Template: v.Template, DueAt: due, By: c.Login}
	if err := rm.Check(); err != nil {
		bad(err)
		return
	}
	members, err := h.members(r.Context(), co.Code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if f.Get("action") == "queue" {
		n, err := h.queue(r.Context(), rm, members)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("%s/cohorts/%s/outbox?queued=%d", Prefix, co.Code, n), http.StatusSeeOther)
		return
	}
	v.Previewed, v.Due, v.Members = true, due, len(members)
	v.Preview = h.preview(rm, members)
	for _, l := range members {
		d := h.decide(rm, l)
		switch d.Route {
		case RouteFree:
			v.Free++
		case RouteTemplate:
			v.Templated++
		default:
			v.Skipped++
		}
		v.Decisions = append(v.Decisions, d)
	}
	v.Sending = v.Free + v.Templated
	page.Body = v
	h.show(w, r, http.StatusOK, "remind", page)
}

// queue enqueues the reminder's jobs and returns how many.
func (h *Handler) queue(ctx context.Context, rm Reminder, members []bot.Learner) (int, error) {
	jobs := rm.Jobs(members, h.cfg.Now().UTC())
	if len(jobs) == 0 {
		return 0, nil
	}
	if err := h.cfg.Outbox.Enqueue(ctx, jobs...); err != nil {
		return 0, err
	}
	h.cfg.Log.Info("reminder queued", "cohort", rm.Cohort, "by", rm.By, "jobs", len(jobs), "due", rm.DueAt)
	return len(jobs), nil
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

// maxJobs bounds the outbox shown for a cohort.
const maxJobs = 500

func (h *Handler) jobRows(ctx context.Context, code string) ([]JobRow, error) {
	jobs, err := h.cfg.Outbox.Jobs(ctx, schedule.Filter{Cohort: code, Limit: maxJobs})
	if err != nil {
		return nil, err
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
				return nil, err
			}
		}
		out = append(out, row)
	}
	return out, nil
}

type outboxView struct {
	Jobs   []JobRow
	Queued int
	Counts map[schedule.Status]int
}

func (h *Handler) outboxPage(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	co, err := h.cohortFor(r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows, err := h.jobRows(r.Context(), co.Code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := outboxView{Jobs: rows, Queued: -1, Counts: map[schedule.Status]int{}}
	if q := r.URL.Query().Get("queued"); q != "" {
		v.Queued, _ = strconv.Atoi(q)
	}
	for _, j := range rows {
		v.Counts[j.Status]++
	}
	h.show(w, r, http.StatusOK, "outbox", view{Coach: &c, Title: "Envois — " + co.Name, Cohort: &co, Tab: "outbox", Body: v})
}

func (h *Handler) outboxCSV(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	co, err := h.cohortFor(r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows, err := h.jobRows(r.Context(), co.Code)
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
	writeCSV(w, "darsi-"+co.Code+"-outbox.csv", records)
}

// --- indicators ---

type indicatorsView struct {
	Indicators
	Funnel, Weekly, Scores template.HTML
	Outcomes               []outcomeChart
}

type outcomeChart struct {
	Key   string
	Chart template.HTML
}

func (h *Handler) indicatorsPage(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	co, err := h.cohortFor(r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	members, err := h.members(r.Context(), co.Code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ind := h.indicators(members)
	v := indicatorsView{Indicators: ind}
	var funnel []hbar
	for _, s := range ind.Funnel {
		funnel = append(funnel, hbar{Label: s.Title, Total: s.Started, Part: s.Finished})
	}
	v.Funnel = hbars("Leçons commencées et finies", funnel, "finies / commencées")
	var weekly []column
	for _, wk := range ind.Weeks {
		weekly = append(weekly, column{Label: wk.Start.Format("02/01"), N: wk.Active})
	}
	v.Weekly = columns("Apprenants actifs par semaine", weekly)
	labels := []string{"0–19", "20–39", "40–59", "60–79", "80–100"}
	var scores []column
	for i, n := range ind.Scores {
		scores = append(scores, column{Label: labels[i] + " %", N: n})
	}
	v.Scores = columns("Scores aux quiz", scores)
	for _, o := range ind.Outcomes {
		var bars []hbar
		for _, vc := range o.Values {
			bars = append(bars, hbar{Label: vc.Value, Total: vc.N, Part: -1})
		}
		v.Outcomes = append(v.Outcomes, outcomeChart{Key: o.Key, Chart: hbars(o.Key, bars, "")})
	}
	h.show(w, r, http.StatusOK, "indicators", view{Coach: &c, Title: "Indicateurs — " + co.Name, Cohort: &co, Tab: "indicators", Body: v})
}
