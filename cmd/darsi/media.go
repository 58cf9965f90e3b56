package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/darsi-ma/darsi/lessons"
)

// mediaFolder is the folder of a lesson folder that holds the files lesson
// steps send (their media: key).
const mediaFolder = "media"

// mediaHandler serves the lesson media at GET and HEAD /media/{path...}:
// from <dir>/media when lessons come from the folder dir, else from the
// media built into the binary. It serves files only: a folder, a missing
// file or a path that would leave the media folder is 404.
func mediaHandler(dir string) http.Handler {
	if dir == "" {
		sub, err := fs.Sub(lessons.Media, mediaFolder)
		if err != nil {
			panic(err) // "media" is a valid path: cannot happen
		}
		return &embeddedMedia{fsys: sub}
	}
	return folderMedia(filepath.Join(dir, mediaFolder))
}

// folderMedia serves the files of a media folder on disk. The folder is
// opened afresh for each request, so that one created or replaced after
// the server started (authors edit it, as they edit lessons) is what is
// served; os.Root keeps ".." and symbolic links from leading out of it.
type folderMedia string

func (dir folderMedia) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("path")
	if !fs.ValidPath(name) || name == "." {
		http.NotFound(w, r)
		return
	}
	root, err := os.OpenRoot(string(dir))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	// Authors may replace a file under the same name: caches keep it a
	// minute, then revalidate with Last-Modified.
	w.Header().Set("Cache-Control", "public, max-age=60")
	serveMedia(w, r, name, info.ModTime(), f)
}

// embeddedMedia serves the media built into the binary. Embedded files
// have no modification time, so an ETag (a hash of the content, computed
// once per file) lets caches revalidate.
type embeddedMedia struct {
	fsys  fs.FS
	etags sync.Map // name → quoted ETag
}

func (m *embeddedMedia) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("path")
	if !fs.ValidPath(name) || name == "." {
		http.NotFound(w, r)
		return
	}
	f, err := m.fsys.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	rs, seekable := f.(io.ReadSeeker)
	if err != nil || !info.Mode().IsRegular() || !seekable {
		http.NotFound(w, r)
		return
	}
	etag, ok := m.etags.Load(name)
	if !ok {
		h := sha256.New()
		if _, err := io.Copy(h, rs); err != nil {
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		if _, err := rs.Seek(0, io.SeekStart); err != nil {
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		etag, _ = m.etags.LoadOrStore(name, `"`+hex.EncodeToString(h.Sum(nil)[:12])+`"`)
	}
	w.Header().Set("ETag", etag.(string))
	// Built-in media change only with the binary.
	w.Header().Set("Cache-Control", "public, max-age=86400")
	serveMedia(w, r, name, time.Time{}, rs)
}

// serveMedia answers with the file: Content-Type from its extension,
// conditional requests, ranges and HEAD, as http.ServeContent does.
func serveMedia(w http.ResponseWriter, r *http.Request, name string, modtime time.Time, content io.ReadSeeker) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, modtime, content)
}
