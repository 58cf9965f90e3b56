package coachweb

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// BroadcastRequest is the body of POST /coach/api/broadcasts (and
// /preview): a segment and the texts, as a reminder's.
type BroadcastRequest struct {
	Segment  app.Segment         `json:"segment"`
	Text     string              `json:"text"`
	Texts    map[bot.Lang]string `json:"texts,omitempty"`
	At       string              `json:"at,omitempty"`
	Template string              `json:"template,omitempty"`
}

// BroadcastPreview is the answer of POST /coach/api/broadcasts/preview:
// how many learners the segment holds and who would get what; Members
// lists the first 100.
type BroadcastPreview struct {
	app.Broadcasted
	Sending  int             `json:"sending"`
	Free     int             `json:"free"`
	Template int             `json:"template"`
	Skipped  int             `json:"skipped"`
	Langs    []PreviewLang   `json:"langs"`
	Members  []PreviewMember `json:"members"`
}

func (h *Handler) broadcastOf(req BroadcastRequest) (app.Broadcast, error) {
	at, err := h.parseAt(req.At)
	if err != nil {
		return app.Broadcast{}, err
	}
	return app.Broadcast{Segment: req.Segment, Text: req.Text, Texts: req.Texts, Template: req.Template, At: at}, nil
}

// apiBroadcast queues an admin's broadcast: 202 with its counts. A coach
// gets 404.
func (h *Handler) apiBroadcast(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	var req BroadcastRequest
	if !decode(w, r, &req) {
		return
	}
	b, err := h.broadcastOf(req)
	if err == nil {
		var res app.Broadcasted
		if res, err = h.cfg.Coaching.Broadcast(r.Context(), c, b); err == nil {
			writeJSON(w, http.StatusAccepted, res)
			return
		}
	}
	h.apiFail(w, r, err)
}

// apiBroadcastPreview says what a broadcast would do, queueing nothing.
func (h *Handler) apiBroadcastPreview(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	var req BroadcastRequest
	if !decode(w, r, &req) {
		return
	}
	b, err := h.broadcastOf(req)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	plan, err := h.cfg.Coaching.PreviewBroadcast(r.Context(), c, b)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	res := BroadcastPreview{Broadcasted: plan.Broadcasted, Sending: plan.Free + plan.Template, Free: plan.Free,
		Template: plan.Plan.Template, Skipped: plan.Skipped, Langs: []PreviewLang{}, Members: []PreviewMember{}}
	for _, l := range plan.Langs {
		res.Langs = append(res.Langs, PreviewLang{Lang: l.Lang, Own: l.Own, Text: l.Text, Segments: l.Segments, Encoding: l.Encoding, Members: l.Members})
	}
	for _, m := range plan.Members {
		pm := PreviewMember{Learner: m.Learner, Lang: m.Lang, Route: m.Route, Skip: m.Skip, Held: m.Held, Zone: m.Zone,
			Template: m.Decision.Template.SID, NoTemplate: m.NoTemplate}
		if m.Route != schedule.RouteSkip {
			pm.SendAt = m.SendAt.UTC().Format(time.RFC3339Nano)
		}
		res.Members = append(res.Members, pm)
	}
	writeJSON(w, http.StatusOK, res)
}

// broadcastView is the broadcast page.
type broadcastView struct {
	Langs        map[bot.Lang]bool
	Cohorts      string
	Course       string
	Progress     string
	InactiveDays string
	Text, At     string
	Courses      []courseChoice
	Error        string
	Previewed    bool
	Plan         app.BroadcastPlan
	Sending      int
	Queued       int // -1: nothing queued on this request
}

type courseChoice struct{ ID, Title string }

func (h *Handler) courseChoices(r *http.Request) []courseChoice {
	var out []courseChoice
	cat := h.cfg.Coaching.Content().Lessons
	for _, co := range cat.Courses {
		out = append(out, courseChoice{ID: co.ID, Title: co.Title.In(langOf(r))})
	}
	return out
}

// broadcastPage is the admins' broadcast form; to a coach it is 404.
func (h *Handler) broadcastPage(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	if !isAdmin(&c) {
		h.fail(w, r, bot.Errorf("coachweb.broadcast", bot.NotFound, "no such page"))
		return
	}
	h.show(w, r, http.StatusOK, "broadcast", view{Coach: &c, Title: h.t(r, "dash.broadcast.title"),
		Body: broadcastView{Courses: h.courseChoices(r), Queued: -1, Langs: map[bot.Lang]bool{}}})
}

// broadcast previews an admin's broadcast, or queues it (action=queue).
func (h *Handler) broadcast(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	if !isAdmin(&c) {
		h.fail(w, r, bot.Errorf("coachweb.broadcast", bot.NotFound, "no such page"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, h.t(r, "dash.error.form"), http.StatusBadRequest)
		return
	}
	f := r.PostForm
	v := broadcastView{Langs: map[bot.Lang]bool{}, Cohorts: f.Get("cohorts"), Course: f.Get("course"), Progress: f.Get("progress"),
		InactiveDays: f.Get("inactive_days"), Text: f.Get("text"), At: f.Get("at"), Courses: h.courseChoices(r), Queued: -1}
	var sg app.Segment
	for _, lang := range bot.Langs {
		if f.Get("lang_"+string(lang)) != "" {
			v.Langs[lang] = true
			sg.Langs = append(sg.Langs, lang)
		}
	}
	for code := range strings.FieldsFuncSeq(v.Cohorts, func(r rune) bool { return r == ',' || r == ' ' }) {
		sg.Cohorts = append(sg.Cohorts, code)
	}
	sg.Course = v.Course
	if sg.Course != "" {
		sg.Progress = v.Progress
	}
	page := view{Coach: &c, Title: h.t(r, "dash.broadcast.title")}
	fail := func(err error) {
		if bot.KindOf(err) != bot.Invalid {
			h.fail(w, r, err)
			return
		}
		v.Error = errText(err)
		page.Body = v
		h.show(w, r, http.StatusBadRequest, "broadcast", page)
	}
	if d := strings.TrimSpace(v.InactiveDays); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil {
			fail(bot.Errorf("coachweb.broadcast", bot.Invalid, "inactive for %q days: want a whole number", d))
			return
		}
		sg.InactiveDays = n
	}
	at, err := h.parseAt(v.At)
	if err != nil {
		fail(err)
		return
	}
	b := app.Broadcast{Segment: sg, Text: v.Text, Texts: formTexts(f), Template: strings.TrimSpace(f.Get("template")), At: at}
	if f.Get("action") == "queue" {
		res, err := h.cfg.Coaching.Broadcast(r.Context(), c, b)
		if err != nil {
			fail(err)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("%s/broadcast?queued=%d&matched=%d", Prefix, res.Queued, res.Matched), http.StatusSeeOther)
		return
	}
	plan, err := h.cfg.Coaching.PreviewBroadcast(r.Context(), c, b)
	if err != nil {
		fail(err)
		return
	}
	v.Previewed, v.Plan, v.Sending = true, plan, plan.Free+plan.Plan.Template
	page.Body = v
	h.show(w, r, http.StatusOK, "broadcast", page)
}
