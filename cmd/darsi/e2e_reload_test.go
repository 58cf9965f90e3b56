package main

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// reloadDeadline is the promise of DARSI_LESSONS: an edit is live within a
// second.
const reloadDeadline = time.Second

// twimlMessage is one <Message> of a TwiML reply.
type twimlMessage struct {
	Body  string `xml:"Body"`
	Media string `xml:"Media"`
	Text  string `xml:",chardata"`
}

// sendTwiML posts one signed WhatsApp webhook, as send does, and returns
// the reply's messages with their media links. label names the message:
// its MessageSid is messageSID(label), so the same label is Twilio sending
// the same message again.
func (r *replica) sendTwiML(from, label, body string) []twimlMessage {
	r.t.Helper()
	sid := messageSID(label)
	form := url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {"AC00000000000000000000000000000000"},
		"From": {"whatsapp:" + from}, "To": {"whatsapp:+14155238886"}, "Body": {body},
		"NumMedia": {"0"}, "WaId": {strings.TrimPrefix(from, "+")}, "ProfileName": {"Amina"},
	}
	target := r.base + "/twilio/messages"
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Signature(e2eToken, target, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		r.t.Fatalf("webhook %q: %d %s\n%s", body, resp.StatusCode, data, r.logs)
	}
	var doc struct {
		Messages []twimlMessage `xml:"Message"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		r.t.Fatalf("TwiML %q: %v", data, err)
	}
	return doc.Messages
}

// messageSID turns a test's label for a message ("SMretry") into a
// MessageSid of Twilio's format, SM and 32 hexadecimal digits, which the
// webhook requires: the same label, the same SID.
func messageSID(label string) string {
	sum := md5.Sum([]byte(label))
	return "SM" + hex.EncodeToString(sum[:])
}

// writeAtomically saves a file as most editors do: a temporary file beside
// it, renamed over it.
func writeAtomically(t *testing.T, name, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

// TestHotReloadAndMedia runs "darsi serve" on a lesson folder and edits it
// under a learner: a good edit is in the next reply within a second, a
// broken one leaves the last good lesson live and names the file and line
// in the log, and the next good edit is live again. On the way, the
// lesson's media link is absolute under DARSI_PUBLIC_URL and serves the
// PNG.
func TestHotReloadAndMedia(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, testLessons, dir)
	lessonFile := filepath.Join(dir, "demo", "demo-1.yaml")
	orig, err := os.ReadFile(lessonFile)
	if err != nil {
		t.Fatal(err)
	}
	// The first step sends Fatima's chart.
	const helloLine = `    say: {ary: "سلام", ar: "مرحبا", fr: "Bonjour", zgh: "ⴰⵣⵓⵍ"}` + "\n"
	v1 := strings.Replace(string(orig), helloLine, helloLine+"    media: costing/tagine-cost.png\n", 1)
	if v1 == string(orig) {
		t.Fatalf("%s has no hello step to add media to", testLessons)
	}
	if err := os.WriteFile(lessonFile, []byte(v1), 0o644); err != nil {
		t.Fatal(err)
	}
	png, err := os.ReadFile("../../lessons/media/costing/tagine-cost.png")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "media", "costing"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "media", "costing", "tagine-cost.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}

	// startReplica passes the test's environment on to darsi serve.
	t.Setenv("DARSI_LESSONS", dir)
	r := startReplica(t, filepath.Join(t.TempDir(), "darsi.db"))
	const learner = "+212600000801"
	sid := 0
	send := func(text string) []twimlMessage {
		sid++
		return r.sendTwiML(learner, fmt.Sprintf("SMreload%03d", sid), text)
	}
	for _, text := range []string{"salam", "3", "1"} {
		send(text)
	}

	// Media: the course starts with the chart, linked under DARSI_PUBLIC_URL
	// (startReplica sets it to the replica's own address).
	var media string
	for _, m := range send("1") {
		if strings.TrimSpace(m.Body) == "Bonjour" {
			media = strings.TrimSpace(m.Media)
		}
	}
	if want := r.base + "/media/costing/tagine-cost.png"; media != want {
		t.Fatalf("the hello step's media: got %q, want %q", media, want)
	}
	resp, err := http.Get(media)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !bytes.Equal(body, png) {
		t.Fatalf("GET %s: %d %q, %d bytes; want 200 image/png and the %d bytes of the PNG",
			media, resp.StatusCode, resp.Header.Get("Content-Type"), len(body), len(png))
	}

	// The learner is at the question "Quoi ?": "répéter" asks it again, as
	// it stands in the lessons live at that moment.
	question := func() string {
		var texts []string
		for _, m := range send("répéter") {
			texts = append(texts, strings.TrimSpace(m.Body+m.Text))
		}
		return strings.Join(texts, "\n")
	}
	if got := question(); !strings.Contains(got, "Quoi ?") {
		t.Fatalf("before the edit, répéter got %q, want the question", got)
	}
	// edit saves the lesson and returns how long until a reply carries want.
	edit := func(content, want string, save func(t *testing.T, name, content string)) time.Duration {
		t.Helper()
		start := time.Now()
		save(t, lessonFile, content)
		for {
			got := question()
			if strings.Contains(got, want) {
				return time.Since(start)
			}
			if time.Since(start) > reloadDeadline {
				t.Fatalf("%v after the edit, the reply is still %q, want %q in it; log:\n%s", reloadDeadline, got, want, r.logs)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	v2 := strings.Replace(v1, `fr: "Quoi ?"`, `fr: "Quoi donc ? (v2)"`, 1)
	took := edit(v2, "Quoi donc ? (v2)", func(t *testing.T, name, content string) {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("edit in place: live in the next reply after %v", took)

	// A broken save: the log names the file and line within the deadline,
	// and the last good lesson serves on.
	broken := strings.Replace(v2, "minutes: 3", "minutes: three", 1)
	start := time.Now()
	writeAtomically(t, lessonFile, broken)
	where := regexp.MustCompile(regexp.QuoteMeta(lessonFile) + `:3:\d+: `)
	for !where.MatchString(r.logs.String()) {
		if time.Since(start) > reloadDeadline {
			t.Fatalf("%v after a broken save, the log does not name %s:3; log:\n%s", reloadDeadline, lessonFile, r.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := question(); !strings.Contains(got, "Quoi donc ? (v2)") {
		t.Errorf("after a broken save, répéter got %q, want the last good question", got)
	}

	// Fixed: live again.
	v3 := strings.Replace(v2, "(v2)", "(v3)", 1)
	took = edit(v3, "Quoi donc ? (v3)", writeAtomically)
	t.Logf("save by rename after a broken save: live in the next reply after %v", took)

	resp, err = http.Get(r.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// At least: a save may take two reloads if the machine stalls halfway.
	for result, atLeast := range map[string]float64{"ok": 2, "error": 1} {
		m := regexp.MustCompile(`(?m)^darsi_lesson_reloads_total\{result="` + result + `"\} (\S+)$`).FindSubmatch(metrics)
		var n float64
		if m != nil {
			fmt.Sscan(string(m[1]), &n)
		}
		if n < atLeast {
			t.Errorf("/metrics: darsi_lesson_reloads_total{result=%q} is %v, want at least %v", result, n, atLeast)
		}
	}
}
