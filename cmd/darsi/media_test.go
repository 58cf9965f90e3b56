package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/darsi-ma/darsi/bot/app"
)

// mediaServer serves routes with the media of the lesson folder dir ("" for
// the built-in media) and returns its base URL. The lessons themselves are
// the small test ones.
func mediaServer(t *testing.T, dir string) string {
	t.Helper()
	cfg := defaultConfig(t)
	cfg.Lessons = dir
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

// fetch does one request without following redirects.
func fetch(t *testing.T, method, url string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestBuiltInMedia(t *testing.T) {
	want, err := os.ReadFile("../../lessons/media/costing/tagine-cost.png")
	if err != nil {
		t.Fatal(err)
	}
	srv := mediaServer(t, "")
	url := srv + "/media/costing/tagine-cost.png"

	resp, body := fetch(t, http.MethodGet, url, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, want) {
		t.Fatalf("GET: %d, %d bytes; want 200 and the %d bytes of the file", resp.StatusCode, len(body), len(want))
	}
	if got := resp.Header.Get("Content-Type"); got != "image/png" {
		t.Errorf("Content-Type: got %q, want image/png", got)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" || resp.Header.Get("Cache-Control") == "" {
		t.Errorf("cache headers: ETag %q, Cache-Control %q; want both", etag, resp.Header.Get("Cache-Control"))
	}

	resp, body = fetch(t, http.MethodHead, url, nil)
	if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(want)) || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("HEAD: %d, %d bytes of body, Content-Length %d, %q; want 200, none, %d, image/png",
			resp.StatusCode, len(body), resp.ContentLength, resp.Header.Get("Content-Type"), len(want))
	}
	resp, _ = fetch(t, http.MethodGet, url, http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("GET with If-None-Match: %d, want 304", resp.StatusCode)
	}
	resp, _ = fetch(t, http.MethodPost, url, nil)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
	notServed(t, srv)
}

func TestFolderMedia(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "lessons")
	copyDir(t, testLessons, dir)
	srv := mediaServer(t, dir)
	url := srv + "/media/demo/chart.png"

	// The media folder may come after the server started.
	if resp, _ := fetch(t, http.MethodGet, url, nil); resp.StatusCode != 404 {
		t.Errorf("before the media folder exists: %d, want 404", resp.StatusCode)
	}
	png, err := os.ReadFile("../../lessons/media/costing/tagine-cost.png")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "media", "demo"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "media", "demo", "chart.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	resp, body := fetch(t, http.MethodGet, url, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, png) || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET: %d, %d bytes, %q; want 200, the file, image/png", resp.StatusCode, len(body), resp.Header.Get("Content-Type"))
	}
	lastMod := resp.Header.Get("Last-Modified")
	if lastMod == "" || resp.Header.Get("Cache-Control") == "" {
		t.Errorf("cache headers: Last-Modified %q, Cache-Control %q; want both", lastMod, resp.Header.Get("Cache-Control"))
	}
	if resp, _ := fetch(t, http.MethodGet, url, http.Header{"If-Modified-Since": {lastMod}}); resp.StatusCode != http.StatusNotModified {
		t.Errorf("GET with If-Modified-Since: %d, want 304", resp.StatusCode)
	}
	if resp, body := fetch(t, http.MethodHead, url, nil); resp.StatusCode != 200 || len(body) != 0 {
		t.Errorf("HEAD: %d with %d bytes of body; want 200 and none", resp.StatusCode, len(body))
	}

	// Links that lead out of the media folder are not followed: to a
	// lesson file beside it, or to a file outside the lesson folder.
	if err := os.WriteFile(filepath.Join(root, "secret.txt"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"lesson.png": filepath.Join(dir, "demo", "demo-1.yaml"),
		"secret.png": filepath.Join(root, "secret.txt"),
		"up":         root,
	} {
		if err := os.Symlink(target, filepath.Join(dir, "media", name)); err != nil {
			t.Fatal(err)
		}
		if resp, body := fetch(t, http.MethodGet, srv+"/media/"+name, nil); resp.StatusCode != 404 {
			t.Errorf("GET /media/%s (a link out of the folder): %d %q, want 404", name, resp.StatusCode, body)
		}
	}
	if resp, body := fetch(t, http.MethodGet, srv+"/media/up/secret.txt", nil); resp.StatusCode != 404 {
		t.Errorf("GET /media/up/secret.txt: %d %q, want 404", resp.StatusCode, body)
	}
	notServed(t, srv)
}

// notServed checks that folders, missing files and paths out of the media
// folder get no content.
func notServed(t *testing.T, srv string) {
	t.Helper()
	for _, path := range []string{
		"/media/", "/media/costing", "/media/costing/", "/media/demo/", "/media/nothing.png",
		"/media/../lessons.go", "/media/%2e%2e/lessons.go", "/media/..%2flessons.go",
		"/media/costing/../../lessons.go", "/media//etc/passwd", "/media/%2fetc%2fpasswd",
		"/media/costing/tagine-cost.png/", "/media/costing/index.html",
	} {
		// 404, or the router's redirect to the cleaned path (outside
		// /media/); never content, never a directory listing.
		resp, body := fetch(t, http.MethodGet, srv+path, nil)
		if resp.StatusCode == 200 {
			t.Errorf("GET %s: 200 with %d bytes, want no content", path, len(body))
		}
	}
}
