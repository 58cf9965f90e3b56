package main

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/darsi-ma/darsi/bot/lesson"
)

const (
	// reloadQuiet is how long a lesson folder must stay quiet before it is
	// reloaded: editors save in several steps (truncate, write, rename),
	// and a reload halfway through would report problems that are not there.
	reloadQuiet = 100 * time.Millisecond
	// reloadMaxWait bounds the wait when changes keep coming (a checkout,
	// a sync), so that an edit is live within a second regardless.
	reloadMaxWait = 500 * time.Millisecond
	// maxLoggedProblems keeps one broken save from flooding the log.
	maxLoggedProblems = 20
)

// lessonWatcher reloads a lesson folder when something in it changes and
// hands the new catalog on. A folder with problems leaves the last
// good lessons live: the problems are logged, one "file:line:col: message"
// each, and the next good save is picked up as usual.
//
// fsnotify does not watch recursively, so the watcher watches the folder
// and each of its subfolders, and adds folders created later as it sees
// them. Hidden folders (which lesson.Load skips) and the media folder
// (served as it is, never loaded) are not watched.
type lessonWatcher struct {
	dir string
	log *slog.Logger
	// Quiet and MaxWait are reloadQuiet and reloadMaxWait; tests shorten them.
	Quiet, MaxWait time.Duration

	fsw     *fsnotify.Watcher
	watched map[string]bool // folders being watched
	reloads *prometheus.CounterVec
	// failing is 1 while the folder has problems (the last reload failed).
	failing prometheus.Gauge
}

// newLessonWatcher starts watching dir, its subfolders included; changes
// are acted on once Run runs, and Close stops watching. reg may be nil (no
// metrics). It fails when dir cannot be watched.
func newLessonWatcher(dir string, log *slog.Logger, reg prometheus.Registerer) (*lessonWatcher, error) {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &lessonWatcher{
		dir: filepath.Clean(dir), log: log,
		Quiet: reloadQuiet, MaxWait: reloadMaxWait,
		fsw: fsw, watched: map[string]bool{},
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "darsi_lesson_reloads_total",
			Help: "Reloads of the lesson folder (DARSI_LESSONS) after a change, by result: ok (swapped in) or error (the last good lessons stay live).",
		}, []string{"result"}),
		failing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "darsi_lesson_reload_failing",
			Help: "1 while the lesson folder (DARSI_LESSONS) has problems: the last reload failed and older lessons are live; 0 once a reload succeeds.",
		}),
	}
	w.reloads.WithLabelValues("ok")
	w.reloads.WithLabelValues("error")
	if err := fsw.Add(w.dir); err != nil {
		fsw.Close()
		return nil, err
	}
	w.watched[w.dir] = true
	w.watchTree(w.dir)
	if reg != nil {
		if err := reg.Register(w.reloads); err != nil {
			fsw.Close()
			return nil, err
		}
		if err := reg.Register(w.failing); err != nil {
			fsw.Close()
			return nil, err
		}
	}
	return w, nil
}

// Run reloads the lessons after each change, a burst of changes counting as
// one, and hands every good catalog to swap, until ctx ends or the watcher
// is closed.
func (w *lessonWatcher) Run(ctx context.Context, swap func(*lesson.Catalog)) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var first time.Time // the first change not yet reloaded; zero when none
	schedule := func() {
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		timer.Reset(min(w.Quiet, first.Add(w.MaxWait).Sub(now)))
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			if w.follow(ev) {
				schedule()
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			// An overflow loses events: reload anyway, and look for
			// folders that were created unseen.
			w.log.Warn("lesson folder watch", "dir", w.dir, "err", err)
			w.watchTree(w.dir)
			schedule()
		case <-timer.C:
			first = time.Time{}
			w.reload(swap)
		}
	}
}

// follow keeps the watch list in step with the folders, and reports
// whether ev may change the lessons.
func (w *lessonWatcher) follow(ev fsnotify.Event) bool {
	name := filepath.Clean(ev.Name)
	if w.skipped(name) {
		return false
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		if name == w.dir {
			w.log.Warn("lesson folder removed or renamed: hot reload stops until darsi restarts", "dir", w.dir)
		}
		// A removed folder's watches are gone already; a renamed one's
		// would go on reporting under the old names. Its new name, if
		// inside the folder, comes as a Create and is watched afresh.
		for p := range w.watched {
			if p == name || strings.HasPrefix(p, name+string(filepath.Separator)) {
				w.fsw.Remove(p)
				delete(w.watched, p)
			}
		}
		return true
	}
	if ev.Has(fsnotify.Create) {
		if info, err := os.Stat(name); err == nil && info.IsDir() {
			// Files may have been written into it before the watch is in
			// place: the reload this event schedules reads them anyway.
			w.watchTree(name)
		}
		return true
	}
	// Chmod alone changes no content (and some tools send it in storms).
	return ev.Has(fsnotify.Write)
}

// skipped reports whether changes at name are outside the lessons: in a
// hidden folder or in the media folder.
func (w *lessonWatcher) skipped(name string) bool {
	rel, err := filepath.Rel(w.dir, name)
	if err != nil || rel == "." {
		return false
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	if parts[0] == mediaFolder {
		return true
	}
	for _, p := range parts[:len(parts)-1] {
		if strings.HasPrefix(p, ".") {
			return true
		}
	}
	return false
}

// watchTree watches root's subfolders that are not watched yet.
func (w *lessonWatcher) watchTree(root string) {
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil // gone already, or a file
		}
		if p != w.dir && (strings.HasPrefix(d.Name(), ".") || (filepath.Dir(p) == w.dir && d.Name() == mediaFolder)) {
			return fs.SkipDir
		}
		if w.watched[p] {
			return nil
		}
		if err := w.fsw.Add(p); err != nil {
			// Most likely the inotify watch limit: edits in this folder
			// will only be seen along with edits elsewhere.
			w.log.Warn("lesson folder not watched", "dir", p, "err", err)
			return nil
		}
		w.watched[p] = true
		return nil
	})
}

// Close stops watching.
func (w *lessonWatcher) Close() error { return w.fsw.Close() }

// reload loads the lesson folder and hands it to swap when it has no
// problems.
func (w *lessonWatcher) reload(swap func(*lesson.Catalog)) {
	start := time.Now()
	cat, err := loadLessons(w.dir)
	if err != nil {
		w.reloads.WithLabelValues("error").Inc()
		w.failing.Set(1)
		var lintErrs lintErrors
		if !errors.As(err, &lintErrs) {
			w.log.Error("lessons not reloaded: the last good lessons stay live", "dir", w.dir, "err", err)
			return
		}
		problems := make([]string, len(lintErrs))
		for i, f := range lintErrs {
			problems[i] = f.String()
		}
		w.log.Error("lessons not reloaded: the last good lessons stay live", "dir", w.dir, "problems", len(problems))
		for i, p := range problems {
			if i == maxLoggedProblems {
				w.log.Error("lesson problem", "problem", "… and more: run darsi lint "+w.dir)
				break
			}
			w.log.Error("lesson problem", "problem", p)
		}
		return
	}
	w.reloads.WithLabelValues("ok").Inc()
	w.failing.Set(0)
	swap(cat)
	w.log.Info("lessons reloaded", "dir", w.dir, "courses", len(cat.Courses), "lessons", cat.Count(),
		"took", time.Since(start).Round(time.Microsecond))
}
