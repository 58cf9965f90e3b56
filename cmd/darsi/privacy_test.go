package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/darsi-ma/darsi/bot/app"
)

// privacyServer serves routes configured with cfg on a throwaway store and
// returns its base URL.
func privacyServer(t *testing.T, cfg Config) string {
	t.Helper()
	content, err := loadContent(testLessons)
	if err != nil {
		t.Fatal(err)
	}
	mem := defaultConfig(t)
	mem.Store = "memory"
	s, err := mem.openStore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return httptestServer(t, routes(cfg, app.New(s, content), s, nil, discardLog()))
}

// TestPrivacyRoute checks that the public listener serves /privacy, with
// no login, naming DARSI_CONTROLLER in its four languages, and that the
// simulator links to it.
func TestPrivacyRoute(t *testing.T) {
	cfg, err := loadConfig(envOf(map[string]string{"DARSI_CONTROLLER": "Association Darsi Maroc"}))
	if err != nil {
		t.Fatal(err)
	}
	base := privacyServer(t, cfg)
	resp, body := fetch(t, http.MethodGet, base+"/privacy", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /privacy: got %d, want 200", resp.StatusCode)
	}
	page := string(body)
	if n := strings.Count(page, "<bdi>Association Darsi Maroc</bdi>"); n != 4 {
		t.Errorf("the page names the controller %d times, want 4 (one a language)", n)
	}
	for _, lang := range []string{`lang="fr"`, `lang="ar" dir="rtl"`, `lang="ary" dir="rtl"`, `lang="zgh"`} {
		if !strings.Contains(page, "<section id=") || !strings.Contains(page, lang) {
			t.Errorf("the page has no section %s", lang)
		}
	}
	if resp, _ := fetch(t, http.MethodPost, base+"/privacy", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /privacy: got %d, want 405", resp.StatusCode)
	}
	if resp, body := fetch(t, http.MethodGet, base+"/", nil); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `href="/privacy"`) {
		t.Errorf("GET /: got %d, want the simulator with a link to /privacy", resp.StatusCode)
	}
}

// TestPrivacyWithoutController: without DARSI_CONTROLLER the page says
// that no one was named, and darsi config notes it.
func TestPrivacyWithoutController(t *testing.T) {
	resp, body := fetch(t, http.MethodGet, privacyServer(t, defaultConfig(t))+"/privacy", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /privacy: got %d, want 200", resp.StatusCode)
	}
	if want := "n'a pas encore nommé de responsable"; !strings.Contains(string(body), want) {
		t.Errorf("the page does not say %q", want)
	}
	t.Setenv("DARSI_CONTROLLER", "")
	code, out, errOut := darsi(t, "", "config", "--store", "memory")
	if code != 0 {
		t.Fatalf("darsi config: exit %d: %s", code, errOut)
	}
	if want := "# note: DARSI_CONTROLLER is not set"; !strings.Contains(out, want) {
		t.Errorf("darsi config: got\n%s\nwant a line %q", out, want)
	}
	t.Setenv("DARSI_CONTROLLER", "Association Darsi Maroc")
	if _, out, _ := darsi(t, "", "config", "--store", "memory"); strings.Contains(out, "DARSI_CONTROLLER is not set") ||
		!strings.Contains(out, "DARSI_CONTROLLER=Association Darsi Maroc") {
		t.Errorf("darsi config with DARSI_CONTROLLER set: got\n%s", out)
	}
}
