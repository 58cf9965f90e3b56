// Package privacy serves /privacy: what Darsi keeps about learners, who
// sees it, for how long, and how learners get a copy or erase it (law
// 09-08), in French, Arabic, Darija and Tamazight, as the consent notice
// says it in the conversation, with the name of the organisation
// responsible for the data. It is public: no login.
package privacy

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
)

// Path is where the page is served.
const Path = "/privacy"

//go:embed page.html
var pageSource string

var pageTemplate = template.Must(template.New("privacy").Parse(pageSource))

// Handler serves the page. It is safe for concurrent use.
type Handler struct {
	page []byte
}

// New renders the page once, naming controller as responsible for the
// learners' data (DARSI_CONTROLLER); when controller is "", the page says
// in each language that the operator has not named one. It fails only if
// the embedded page does not render, a programming error the tests catch.
func New(controller string) (*Handler, error) {
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, struct{ Controller string }{controller}); err != nil {
		return nil, err
	}
	return &Handler{page: b.Bytes()}, nil
}

// ServeHTTP answers GET and HEAD with the page (HTML, UTF-8), and 405 to
// other methods.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// The page has no script, loads nothing and may not be framed.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "public, max-age=300")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(h.page)
}
