package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/lesson"
)

// testLessons is a small valid lesson folder: the course "demo" with the
// lesson demo-1, whose first step says "Bonjour" in French.
const testLessons = "../../bot/lesson/testdata/good"

// watchedFolder is a copy of testLessons under a running lessonWatcher.
type watchedFolder struct {
	t       *testing.T
	dir     string
	w       *lessonWatcher
	swapped chan *lesson.Catalog
	logs    *lockedBuffer
	reg     *prometheus.Registry
}

// watchFolder copies testLessons to a temporary folder and runs a watcher
// on it (with short delays), until the test ends.
func watchFolder(t *testing.T) *watchedFolder {
	t.Helper()
	f := &watchedFolder{t: t, dir: t.TempDir(), swapped: make(chan *lesson.Catalog, 64), logs: &lockedBuffer{}, reg: prometheus.NewRegistry()}
	copyDir(t, testLessons, f.dir)
	w, err := newLessonWatcher(f.dir, slog.New(slog.NewTextHandler(f.logs, nil)), f.reg)
	if err != nil {
		t.Fatal(err)
	}
	w.Quiet, w.MaxWait = 30*time.Millisecond, 300*time.Millisecond
	f.w = w
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx, func(c *lesson.Catalog) { f.swapped <- c })
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		w.Close()
	})
	return f
}

// write writes a file of the folder, making its parent folders.
func (f *watchedFolder) write(name, content string) {
	f.t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *watchedFolder) read(name string) string {
	f.t.Helper()
	data, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil {
		f.t.Fatal(err)
	}
	return string(data)
}

// next returns the next catalog the watcher swaps in.
func (f *watchedFolder) next() *lesson.Catalog {
	f.t.Helper()
	select {
	case c := <-f.swapped:
		return c
	case <-time.After(3 * time.Second):
		f.t.Fatalf("no reload within 3s; log:\n%s", f.logs)
		return nil
	}
}

// none checks that nothing is swapped in for a while.
func (f *watchedFolder) none(why string) {
	f.t.Helper()
	select {
	case c := <-f.swapped:
		f.t.Fatalf("%s: a catalog of %d lessons was swapped in, want none", why, c.Count())
	case <-time.After(10 * f.w.Quiet):
	}
}

// waitLog waits until the log holds want.
func (f *watchedFolder) waitLog(want string) {
	f.t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(f.logs.String(), want) {
			return
		}
	}
	f.t.Fatalf("log never got %q; log:\n%s", want, f.logs)
}

// reloads reads darsi_lesson_reloads_total{result} from the registry.
func (f *watchedFolder) reloads(result string) float64 {
	f.t.Helper()
	families, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() != "darsi_lesson_reloads_total" {
			continue
		}
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	f.t.Fatalf("darsi_lesson_reloads_total{result=%q} is not registered", result)
	return 0
}

// failing reads darsi_lesson_reload_failing from the registry.
func (f *watchedFolder) failing() float64 {
	f.t.Helper()
	families, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() == "darsi_lesson_reload_failing" && len(fam.GetMetric()) == 1 {
			return fam.GetMetric()[0].GetGauge().GetValue()
		}
	}
	f.t.Fatal("darsi_lesson_reload_failing is not registered")
	return 0
}

// hello returns the French text of demo-1's first step in c.
func hello(t *testing.T, c *lesson.Catalog) string {
	t.Helper()
	les := c.Lesson("demo-1")
	if les == nil {
		t.Fatal("demo-1 is missing from the catalog")
	}
	st, i := les.Step("hello")
	if i < 0 {
		t.Fatal("demo-1 has no step hello")
	}
	return st.Say.In(bot.French)
}

func TestLessonWatcherPicksUpEdit(t *testing.T) {
	f := watchFolder(t)
	const name = "demo/demo-1.yaml"
	f.write(name, strings.Replace(f.read(name), `"Bonjour"`, `"Salut"`, 1))
	if got := hello(t, f.next()); got != "Salut" {
		t.Errorf("after the edit, hello says %q, want %q", got, "Salut")
	}
	f.waitLog("lessons reloaded")
	if !strings.Contains(f.logs.String(), "courses=1 lessons=1") {
		t.Errorf("the reload line does not count courses and lessons:\n%s", f.logs)
	}
	if got := f.reloads("ok"); got != 1 {
		t.Errorf("reloads ok: got %v, want 1", got)
	}

	// An editor saving by rename (write a temporary file, move it over).
	tmp := filepath.Join(f.dir, "demo", ".demo-1.yaml.swp")
	if err := os.WriteFile(tmp, []byte(strings.Replace(f.read(name), `"Salut"`, `"Ahlan"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(f.dir, name)); err != nil {
		t.Fatal(err)
	}
	if got := hello(t, f.next()); got != "Ahlan" {
		t.Errorf("after a save by rename, hello says %q, want %q", got, "Ahlan")
	}
}

// TestLessonWatcherDebounces checks that a burst of writes makes one
// reload, of the last version.
func TestLessonWatcherDebounces(t *testing.T) {
	f := watchFolder(t)
	const name = "demo/demo-1.yaml"
	orig := f.read(name)
	for i := range 10 {
		f.write(name, strings.Replace(orig, `"Bonjour"`, `"Bonjour `+string(rune('a'+i))+`"`, 1))
	}
	var last *lesson.Catalog
	for last = f.next(); ; {
		select {
		case c := <-f.swapped:
			last = c
			continue
		case <-time.After(10 * f.w.Quiet):
		}
		break
	}
	if got := hello(t, last); got != "Bonjour j" {
		t.Errorf("after a burst, hello says %q, want the last version %q", got, "Bonjour j")
	}
	// The writes take microseconds, well inside the quiet time: one
	// reload, or two if the machine stalls between writes.
	if got := f.reloads("ok"); got > 2 {
		t.Errorf("a burst of 10 writes made %v reloads, want 1", got)
	}
}

func TestLessonWatcherKeepsLastGoodLessons(t *testing.T) {
	f := watchFolder(t)
	const name = "demo/demo-1.yaml"
	good := f.read(name)
	f.write(name, strings.Replace(good, "minutes: 3", "minutes: three", 1))
	f.waitLog(filepath.Join(f.dir, "demo", "demo-1.yaml") + ":3:10: minutes must be")
	f.none("after a broken edit")
	if !strings.Contains(f.logs.String(), "level=ERROR") {
		t.Errorf("problems not logged at error level:\n%s", f.logs)
	}
	if got := f.reloads("error"); got != 1 {
		t.Errorf("reloads error: got %v, want 1", got)
	}
	if got := f.failing(); got != 1 {
		t.Errorf("darsi_lesson_reload_failing after a broken edit: %v, want 1", got)
	}

	// Fixed: picked up again.
	f.write(name, strings.Replace(good, `"Bonjour"`, `"Bonjour à nouveau"`, 1))
	if got := hello(t, f.next()); got != "Bonjour à nouveau" {
		t.Errorf("after the fix, hello says %q", got)
	}
	if got := f.reloads("ok"); got != 1 {
		t.Errorf("reloads ok: got %v, want 1", got)
	}
	if got := f.failing(); got != 0 {
		t.Errorf("darsi_lesson_reload_failing after the fix: %v, want 0", got)
	}
}

// TestLessonWatcherFollowsNewFolders checks that folders created after the
// start are watched, however deep, and that the media folder is not.
func TestLessonWatcherFollowsNewFolders(t *testing.T) {
	f := watchFolder(t)
	if err := os.MkdirAll(filepath.Join(f.dir, "more", "deeper"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := f.next().Count(); got != 1 {
		t.Fatalf("after mkdir: %d lessons, want 1", got)
	}
	f.none("after the mkdir's reload")

	// Only the new, nested folder sees these writes.
	rename := strings.NewReplacer("course: demo", "course: more", "demo-1", "more-1", "order: 1", "order: 2")
	f.write("more/deeper/course.yaml", rename.Replace(f.read("demo/course.yaml")))
	f.write("more/deeper/more-1.yaml", rename.Replace(f.read("demo/demo-1.yaml")))
	var c *lesson.Catalog
	for c = f.next(); c.Count() != 2; c = f.next() {
	}
	if c.Lesson("more-1") == nil {
		t.Errorf("the lesson in the new folder is missing")
	}
	f.none("after the new course")
	f.write("more/deeper/more-1.yaml", strings.Replace(f.read("more/deeper/more-1.yaml"), `"Bonjour"`, `"Marhba"`, 1))
	for c = f.next(); ; c = f.next() {
		if st, _ := c.Lesson("more-1").Step("hello"); st.Say.In(bot.French) == "Marhba" {
			break
		}
	}

	// A folder renamed inside the lesson folder is followed under its new
	// name.
	if err := os.Rename(filepath.Join(f.dir, "more"), filepath.Join(f.dir, "other")); err != nil {
		t.Fatal(err)
	}
	f.next()
	f.none("after the rename's reload")
	f.write("other/deeper/more-1.yaml", strings.Replace(f.read("other/deeper/more-1.yaml"), `"Marhba"`, `"Marhba bik"`, 1))
	for c = f.next(); ; c = f.next() {
		if st, _ := c.Lesson("more-1").Step("hello"); st.Say.In(bot.French) == "Marhba bik" {
			break
		}
	}
	for p := range f.w.watched {
		if strings.Contains(p, "more") {
			t.Errorf("%s is still watched after its folder was renamed", p)
		}
	}

	// Media files are served, not loaded: no reload for them.
	f.write("media/costing/chart.png", "not really a PNG")
	f.none("after a media file was written")
	f.write("media/costing/chart2.png", "not really a PNG")
	f.none("after a second media file was written")
}
