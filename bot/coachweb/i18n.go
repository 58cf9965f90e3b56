package coachweb

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// The dashboard speaks French (the default) and Arabic, right to left. Its
// words are go-i18n messages, like the bot's, in locales/dash/fr.yaml and
// locales/dash/ar.yaml (locale.LoadDashboard), every id starting with
// "dash.". Templates say them with {{t "dash.…"}} and, for a count,
// {{n "dash.…" .Count}}, with optional name-value pairs for the
// placeholders: {{t "dash.thread.answerFrom" "Coach" .From}}. Go code says them
// with h.t(r, id, …) and h.n(r, id, count, …). A coach picks the language
// with the switch in the header of every page (?lang=ar), remembered in a
// cookie; the JSON API and the CSV exports speak in keys and stay French
// where they carry words.
//
// Arabic pages are laid out right to left (<html lang="ar" dir="rtl">,
// CSS logical properties), with Western digits as in the bot's Arabic
// lessons; every Arabic text goes through locale.Directional, so that
// numbers, dates, sums and Latin words in it are left-to-right isolates.

// langCookie remembers the coach's dashboard language.
const langCookie = "darsi_lang"

// langCookieAge is how long the language is remembered: a year.
const langCookieAge = 365 * 24 * time.Hour

type langKey struct{}

// dashLang reads the dashboard language of a request: ?lang= when it names
// one of locale.DashboardLangs, else the cookie, else French.
func dashLang(r *http.Request) (lang bot.Lang, fromQuery bool) {
	if q := bot.Lang(r.URL.Query().Get("lang")); slices.Contains(locale.DashboardLangs, q) {
		return q, true
	}
	if ck, err := r.Cookie(langCookie); err == nil && slices.Contains(locale.DashboardLangs, bot.Lang(ck.Value)) {
		return bot.Lang(ck.Value), false
	}
	return bot.French, false
}

// withLang finds the request's language, remembers one chosen with ?lang=
// in the cookie, and puts it in the request's context.
func (h *Handler) withLang(w http.ResponseWriter, r *http.Request) *http.Request {
	lang, chosen := dashLang(r)
	if chosen {
		http.SetCookie(w, &http.Cookie{
			Name: langCookie, Value: string(lang), Path: Prefix + "/", MaxAge: int(langCookieAge / time.Second),
			HttpOnly: true, Secure: h.secureCookie(r), SameSite: http.SameSiteLaxMode,
		})
	}
	return r.WithContext(context.WithValue(r.Context(), langKey{}, lang))
}

// langOf is the dashboard language of r (French when none was set).
func langOf(r *http.Request) bot.Lang {
	if l, ok := r.Context().Value(langKey{}).(bot.Lang); ok {
		return l
	}
	return bot.French
}

// args turns name-value pairs into a message's template data.
func args(kv []any) map[string]any {
	if len(kv) == 0 {
		return nil
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			panic(fmt.Sprintf("coachweb: message data name %v is not a string", kv[i]))
		}
		m[k] = kv[i+1]
	}
	return m
}

// words says the dashboard's messages in one language.
type words struct {
	b    *locale.Bundle
	lang bot.Lang
}

// t is message id, its placeholders given as name-value pairs.
func (w words) t(id string, kv ...any) string {
	return w.mark(w.b.T(w.lang, id, args(kv)))
}

// n is plural message id for count.
func (w words) n(id string, count int, kv ...any) string {
	return w.mark(w.b.N(w.lang, id, count, args(kv)))
}

// mark isolates the left-to-right runs of an Arabic text.
func (w words) mark(s string) string {
	if w.lang.RTL() {
		return locale.Directional(w.lang, s)
	}
	return s
}

// ltr isolates s, a date, a number or a code, as a left-to-right run in
// an Arabic text; French is unchanged.
func (w words) ltr(s string) string {
	if w.lang.RTL() && s != "" {
		return "\u2066" + s + "\u2069"
	}
	return s
}

// when is a time in the programme's zone, day first, digits as written in
// Morocco in both languages.
func (w words) when(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return w.ltr(t.In(loc).Format("02/01/2006 15:04"))
}

// ago says how long ago something happened, in words a coach reads at a
// glance.
func (w words) ago(d time.Duration, never bool) string {
	switch {
	case never:
		return w.t("dash.ago.never")
	case d < time.Minute:
		return w.t("dash.ago.now")
	case d < time.Hour:
		return w.n("dash.ago.minutes", int(d/time.Minute))
	case d < 48*time.Hour:
		return w.n("dash.ago.hours", int(d/time.Hour))
	}
	return w.n("dash.ago.days", int(d/(24*time.Hour)))
}

// langName is a learner's language in the dashboard's language.
func (w words) langName(l bot.Lang) string {
	if !l.Valid() {
		return "—"
	}
	return w.t("dash.lang." + string(l))
}

// word is message prefix+key when there is one, else key as it is (a
// status or a kind the dashboard has no word for yet).
func (w words) word(prefix, key string) string {
	if key == "" || !w.b.Has(prefix+key) {
		return key
	}
	return w.t(prefix + key)
}

// number is a count with no grouping, as the bot writes numbers.
func (w words) number(n int) string { return strconv.Itoa(n) }

// words is the dashboard's words in the language of r.
func (h *Handler) words(r *http.Request) words {
	return words{b: h.dash, lang: langOf(r)}
}

// t is message id in the language of r.
func (h *Handler) t(r *http.Request, id string, kv ...any) string { return h.words(r).t(id, kv...) }

// n is plural message id for count in the language of r.
func (h *Handler) n(r *http.Request, id string, count int, kv ...any) string {
	return h.words(r).n(id, count, kv...)
}

// langLink is an entry of the language switch.
type langLink struct {
	Code    bot.Lang
	Name    string // in its own language
	URL     string
	Current bool
}

// langLinks is the language switch of the page r shows: the same page in
// each language. A page shown after a form (POST) links to the page the
// form came from.
func (h *Handler) langLinks(r *http.Request) []langLink {
	here := r.URL.Path
	q := url.Values{}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		q = r.URL.Query()
	} else if here == Prefix+"/cohorts" {
		here = Prefix + "/"
	}
	cur := langOf(r)
	var out []langLink
	for _, l := range locale.DashboardLangs {
		q.Set("lang", string(l))
		out = append(out, langLink{Code: l, Name: h.dash.T(l, "dash.layout.languageName", nil), URL: here + "?" + q.Encode(), Current: l == cur})
	}
	return out
}

// funcs are the template functions of the pages in lang.
func (h *Handler) funcs(lang bot.Lang) template.FuncMap {
	w := words{b: h.dash, lang: lang}
	return template.FuncMap{
		"t":        w.t,
		"n":        w.n,
		"ltr":      w.ltr,
		"when":     func(t time.Time) string { return w.when(t, h.cfg.Location) },
		"rfc3339":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"langs":    func() []bot.Lang { return bot.Langs },
		"ago":      func(t time.Time) string { return w.ago(h.cfg.Now().Sub(t), t.IsZero()) },
		"langName": w.langName,
		"status":   func(s schedule.Status) string { return statusWord(w, string(s)) },
		"phase":    func(p string) string { return phaseWord(w, p) },
		"num":      w.number,
		"int":      func(n int64) int { return int(n) },
		"delivery": func(s bot.DeliveryStatus) string { return w.word("dash.delivery.", string(s)) },
		"kind":     func(k schedule.Kind) string { return w.word("dash.kind.", string(k)) },
		"via":      func(v string) string { return w.word("dash.via.", v) },
		"action":   func(a string) string { return w.word("dash.action.", a) },
		"admin":    isAdmin,
		"name":     coachNameOf,
		"mask":     bot.Mask,
		"join":     strings.Join,
	}
}
