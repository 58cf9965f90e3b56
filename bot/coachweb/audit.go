package coachweb

import (
	"net/http"

	"github.com/darsi-ma/darsi/bot/cohort"
)

// auditView is the audit page: a page of entries, newest first.
type auditView struct {
	Entries []cohort.AuditEntry
	Total   int
	// Next is the cursor of the next page; First is set on a later page.
	Next  string
	First bool
}

// auditPage shows the audit log to an admin; a coach gets 404, as for
// anything they may not see (app.Coaching.AuditPage).
func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	cursor, limit := pageOf(r)
	entries, next, err := h.cfg.Coaching.AuditPage(r.Context(), c, cursor, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	total, err := h.cfg.Coaching.AuditCount(r.Context(), c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := auditView{Entries: entries, Total: total, Next: next, First: cursor != ""}
	h.show(w, r, http.StatusOK, "audit", view{Coach: &c, Title: "Journal", Tab: "audit", Body: v})
}

// apiAudit answers a page of the audit log to an admin, paged as
// apiLearners is, with the log's size in X-Total-Count; a coach gets 404.
func (h *Handler) apiAudit(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	cursor, limit := pageOf(r)
	entries, next, err := h.cfg.Coaching.AuditPage(r.Context(), c, cursor, limit)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	total, err := h.cfg.Coaching.AuditCount(r.Context(), c)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	paged(w, r, next, limit, total)
	if entries == nil {
		entries = []cohort.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, entries)
}
