package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/darsi-ma/darsi/bot/store/boltstore"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// postSigned sends one signed WhatsApp webhook and reports a failure as
// an error, for goroutines that may not end the test.
func postSigned(base, from, label, body string) error {
	sid := messageSID(label)
	form := url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {"AC00000000000000000000000000000000"},
		"From": {"whatsapp:" + from}, "To": {"whatsapp:+14155238886"}, "Body": {body},
		"NumMedia": {"0"}, "WaId": {strings.TrimPrefix(from, "+")},
	}
	target := base + "/twilio/messages"
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Signature(e2eToken, target, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("webhook: %s", resp.Status)
	}
	return nil
}

// TestBackupWhileServing takes a backup of the embedded store from a
// running darsi serve while learners are being written, checks it, and
// restores it: a server on the restored file carries on every learner
// committed before the backup began where they were.
func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "darsi.db")
	r := startReplica(t, store)

	// Committed before the backup: each got its answer.
	const before = 40
	for i := range before {
		r.send(fmt.Sprintf("+2126100%05d", i), fmt.Sprintf("SMb%d", i), "salam")
	}
	// A twin, one step further: what the next step answers.
	twin := "+212619999999"
	r.send(twin, "SMtwin0", "salam")
	want := strings.Join(r.send(twin, "SMtwin1", "3"), "\n")

	// Written while the backup runs.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	var written int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := postSigned(r.base, fmt.Sprintf("+2126200%05d", i), fmt.Sprintf("SMc%d", i), "salam"); err != nil {
				writeErr = err
				return
			}
			written = i + 1
		}
	}()

	backup := filepath.Join(dir, "backups", "darsi-backup.db")
	cmd := exec.Command(darsiBinary(t), "backup", "--out", backup, "--admin", strings.TrimPrefix(r.admin, "http://"))
	cmd.Env = append(os.Environ(), "DARSI_STORE="+store)
	out, err := cmd.CombinedOutput()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("darsi backup: %v\n%s", err, out)
	}
	if writeErr != nil {
		t.Fatalf("writes during the backup: %v", writeErr)
	}
	if !strings.Contains(string(out), "the running server") || strings.Contains(string(out), "+212") {
		t.Errorf("darsi backup said %q: want the copy from the running server, and no number", out)
	}
	t.Logf("%s(%d learners written while it ran)", out, written)

	n, err := boltstore.CheckBackup(backup)
	if err != nil {
		t.Fatalf("the backup: %v", err)
	}
	if n < before+1 {
		t.Errorf("the backup holds %d learners, want at least %d", n, before+1)
	}
	b, err := boltstore.Open(backup, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range before {
		if _, err := b.Get(context.Background(), fmt.Sprintf("whatsapp:+2126100%05d", i)); err != nil {
			t.Errorf("learner %d, committed before the backup: %v", i, err)
		}
	}
	b.Close()
	r.stop()

	// A restore refuses to replace a file unless told, then puts the
	// backup in place.
	restored := filepath.Join(dir, "restored", "darsi.db")
	if err := os.MkdirAll(filepath.Dir(restored), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(restored, []byte("old"), 0o600)
	if code, _, errOut := darsi(t, "", "restore", "--from", backup, "--to", restored); code != 1 || !strings.Contains(errOut, "--force") {
		t.Errorf("restore over an existing file: exit %d, %q; want a refusal naming --force", code, errOut)
	}
	if code, outS, errOut := darsi(t, "", "restore", "--from", backup, "--to", restored, "--force"); code != 0 {
		t.Fatalf("restore: exit %d\n%s%s", code, outS, errOut)
	}
	r2 := startReplica(t, restored)
	got := strings.Join(r2.send("+212610000000", "SMafter", "3"), "\n")
	if got != want || got == "" {
		t.Errorf("after the restore, the learner's next step answered %q; want %q, as their twin got", got, want)
	}
	r2.stop()
}

// TestBackupWithoutServer copies the file itself when no server holds
// it, refuses what is not a darsi store, and points Redis to its own
// backups.
func TestBackupWithoutServer(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "darsi.db")
	s, err := boltstore.Open(store, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	out := filepath.Join(dir, "copy.db")
	code, stdout, stderr := darsi(t, "", "backup", "--store", store, "--out", out, "--admin", "off")
	if code != 0 || !strings.Contains(stdout, "the file") {
		t.Fatalf("backup without a server: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := boltstore.CheckBackup(out); err != nil {
		t.Error(err)
	}

	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, []byte(strings.Repeat("not a store ", 500)), 0o600)
	if code, _, stderr := darsi(t, "", "restore", "--from", junk, "--to", filepath.Join(dir, "x.db")); code != 1 || !strings.Contains(stderr, "not a darsi store") {
		t.Errorf("restore of junk: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil {
		t.Error("a refused restore left a file")
	}
	if code, _, stderr := darsi(t, "", "backup", "--store", "redis://127.0.0.1:6379/12", "--out", out); code != 1 || !strings.Contains(stderr, "RDB") {
		t.Errorf("backup of Redis: exit %d, %q; want the pointer to RDB/AOF", code, stderr)
	}
}
