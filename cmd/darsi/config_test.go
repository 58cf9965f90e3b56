package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// defaultConfig is the configuration of an empty environment.
func defaultConfig(tb testing.TB) Config {
	tb.Helper()
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		tb.Fatalf("the defaults do not pass their own checks: %v", err)
	}
	return cfg
}

// envOf returns a getenv over vars.
func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// settingCases gives, for every setting, values it takes and values it
// refuses. TestEverySettingHasCases keeps it complete.
func settingCases(t *testing.T) map[string]struct{ good, bad []string } {
	dir := t.TempDir()
	templates := filepath.Join(dir, "templates.yaml")
	if err := os.WriteFile(templates, []byte("reminder:\n  fr: {sid: HX0123456789abcdef0123456789abcdef, vars: {\"1\": text}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte("reminder:\n  fr: {sid: nope}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file.txt")
	os.WriteFile(file, []byte("x"), 0o600)
	return map[string]struct{ good, bad []string }{
		"DARSI_ADDR":                   {good: []string{":8080", "127.0.0.1:9000", "[::1]:0"}, bad: []string{"8080", "localhost", ":http-alt", ":70000"}},
		"DARSI_STORE":                  {good: []string{"memory", "./data/x.db", "redis://127.0.0.1:6379/2", "rediss://u:p@redis.example:6380", "redis://a:7000?addr=b:7001", "redis-sentinel://s1:26379,s2:26379/darsi/0?min_replicas=1"}, bad: []string{"redis://host:6379/x", "postgres://db", dir, "redis-sentinel://s1:26379", "redis://h:6379/0?min_replicas=x"}},
		"DARSI_LESSONS":                {good: []string{dir}, bad: []string{filepath.Join(dir, "missing"), file}},
		"DARSI_PUBLIC_URL":             {good: []string{"https://darsi.example.org", "http://10.0.0.5:8080/"}, bad: []string{"darsi.example.org", "ftp://x", "https://x/?a=1"}},
		"DARSI_SIMULATOR":              {good: []string{"on", "off", "auto"}, bad: []string{"yes", "1", "ON"}},
		"DARSI_LOG_LEVEL":              {good: []string{"debug", "info", "warn", "error"}, bad: []string{"verbose", "trace"}},
		"DARSI_LOG_FORMAT":             {good: []string{"text", "json"}, bad: []string{"logfmt"}},
		"DARSI_ADMIN_ADDR":             {good: []string{"127.0.0.1:6060", "off", "[::1]:9090"}, bad: []string{"6060", "on"}},
		"DARSI_SECRET":                 {good: []string{"0123456789abcdef0123456789abcdef"}, bad: []string{"short secret"}},
		"DARSI_CONTROLLER":             {good: []string{"Association Darsi, Casablanca"}, bad: []string{"two\nlines"}},
		"DARSI_SESSION_IDLE":           {good: []string{"2h", "30m"}, bad: []string{"1m", "48h", "soon"}},
		"TWILIO_ACCOUNT_SID":           {good: []string{"AC0123456789abcdef0123456789abcdef"}, bad: []string{"AC123", "SK0123456789abcdef0123456789abcdef"}},
		"TWILIO_AUTH_TOKEN":            {good: []string{"0123456789abcdef0123456789abcdef"}, bad: []string{"has spaces in it", "tok-en"}},
		"TWILIO_API_BASE_URL":          {good: []string{"https://api.twilio.com", "http://127.0.0.1:9999/twilio"}, bad: []string{"api.twilio.com"}},
		"TWILIO_WHATSAPP_FROM":         {good: []string{"whatsapp:+212522000000", "+14155238886"}, bad: []string{"whatsapp:0522000000", "+212 522"}},
		"TWILIO_SMS_FROM":              {good: []string{"+15550000000", "12345", "Darsi"}, bad: []string{"+0123", "a-b"}},
		"DARSI_INTERACTIVE":            {good: []string{"auto", "off"}, bad: []string{"on", "yes", "OFF"}},
		"TWILIO_MESSAGING_SERVICE_SID": {good: []string{"MG0123456789abcdef0123456789abcdef"}, bad: []string{"MG1"}},
		"DARSI_QUIET_HOURS":            {good: []string{"22:00-07:00", "21:00-08:00,Fri 12:30-14:30"}, bad: []string{"22h-7h", "00:00-24:00"}},
		"DARSI_SEND_RATE":              {good: []string{"1", "80"}, bad: []string{"fast", "0", "-3", "2.5"}},
		"DARSI_DIGEST_HOUR":            {good: []string{"0", "9", "23", "off"}, bad: []string{"24", "-1", "9h", "nine"}},
		"DARSI_TEMPLATES":              {good: []string{templates}, bad: []string{"/missing.yaml", broken}},
		"DARSI_NUDGE_AFTER":            {good: []string{"72h", "90m", "0"}, bad: []string{"3d", "-1h", "soon"}},
		"DARSI_SECOND_NUDGE_AFTER":     {good: []string{"168h", "0"}, bad: []string{"1w"}},
		"DARSI_OUTBOX_LEASE":           {good: []string{"45s", "2m"}, bad: []string{"500ms", "0", "long"}},
		"DARSI_REDIS_BUCKETS":          {good: []string{"1", "16", "64"}, bad: []string{"0", "2000", "many"}},
		"DARSI_MESSAGE_RETENTION":      {good: []string{"168h", "24h"}, bad: []string{"7d", "10m"}},
		"DARSI_DELIVERY_RETENTION":     {good: []string{"720h"}, bad: []string{"30d", "0"}},
		"DARSI_JOB_RETENTION":          {good: []string{"720h", "2160h"}, bad: []string{"1mo", "-1h"}},
	}
}

func TestEverySettingHasCases(t *testing.T) {
	cases := settingCases(t)
	for _, s := range settings {
		if c, ok := cases[s.name]; !ok || len(c.good) == 0 || len(c.bad) == 0 {
			t.Errorf("%s has no good and bad values in settingCases", s.name)
		}
		delete(cases, s.name)
	}
	for name := range cases {
		t.Errorf("settingCases has %s, which is not a setting", name)
	}
}

// TestSettings takes every setting through its default, good values and
// bad values: a bad value is an error naming the variable, the value and
// what is expected, and leaves the default in place.
func TestSettings(t *testing.T) {
	cases := settingCases(t)
	def := defaultConfig(t)
	for _, s := range settings {
		t.Run(s.name, func(t *testing.T) {
			if got := s.show(&def); got != s.def {
				t.Errorf("default: got %q, want %q", got, s.def)
			}
			if got := def.origin[s.name]; got != "default" {
				t.Errorf("origin of the default: got %q, want default", got)
			}
			for _, v := range cases[s.name].good {
				cfg, err := loadConfig(envOf(map[string]string{s.name: v}))
				if err != nil {
					t.Errorf("%s=%q: %v", s.name, v, err)
					continue
				}
				if got := cfg.origin[s.name]; got != "environment" {
					t.Errorf("%s=%q: origin %q, want environment", s.name, v, got)
				}
			}
			for _, v := range cases[s.name].bad {
				cfg, err := loadConfig(envOf(map[string]string{s.name: v}))
				var ce *ConfigError
				if !errors.As(err, &ce) || ce.Name != s.name {
					t.Errorf("%s=%q: got %v, want a *ConfigError for %s", s.name, v, err, s.name)
					continue
				}
				line := err.Error()
				if strings.Contains(line, "\n") || !strings.HasPrefix(line, s.name+"=") || !strings.Contains(line, "want ") {
					t.Errorf("%s=%q: error %q, want one line NAME=value: want …", s.name, v, line)
				}
				if s.secret && strings.Contains(line, v) {
					t.Errorf("%s=%q: the error shows the secret: %q", s.name, v, line)
				}
				if !s.secret && !strings.Contains(line, strconv.Quote(v)) {
					t.Errorf("%s=%q: the error does not show the value: %q", s.name, v, line)
				}
				if got := s.show(&cfg); got != s.def {
					t.Errorf("%s=%q: left %q in place, want the default %q", s.name, v, got, s.def)
				}
			}
		})
	}
}

func TestSeveralBadSettingsAreAllReported(t *testing.T) {
	_, err := loadConfig(envOf(map[string]string{"DARSI_SEND_RATE": "fast", "DARSI_NUDGE_AFTER": "3d", "DARSI_SIMULATOR": "yes"}))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	for _, name := range []string{"DARSI_SEND_RATE", "DARSI_NUDGE_AFTER", "DARSI_SIMULATOR"} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, name+"=") }) {
			t.Errorf("no line for %s in %q", name, lines)
		}
	}
}

// TestBadSettingStopsEveryCommand: a bad value stops the commands that use
// the configuration before they do anything, whether or not Twilio is
// configured; "darsi config --check" says the same.
func TestBadSettingStopsEveryCommand(t *testing.T) {
	store := filepath.Join(t.TempDir(), "darsi.db")
	for _, bad := range [][2]string{
		{"DARSI_QUIET_HOURS", "22h-7h"}, {"DARSI_NUDGE_AFTER", "3d"}, {"DARSI_SEND_RATE", "fast"},
		{"DARSI_TEMPLATES", "/missing.yaml"}, {"DARSI_SIMULATOR", "yes"},
	} {
		t.Setenv(bad[0], bad[1])
		for _, args := range [][]string{
			{"serve", "--addr", "127.0.0.1:0"}, {"chat", "--jsonl"}, {"export", "learners"},
			{"cohort", "list"}, {"remind", "--cohort", "K7M2QX", "--text", "x"}, {"config", "--check"},
		} {
			code, _, errOut := darsi(t, `{"text":"salam"}`+"\n", append(args, "--store", store)...)
			if code == 0 || !strings.Contains(errOut, bad[0]+"=") {
				t.Errorf("%s=%s darsi %s: exit %d, stderr %q; want a non-zero exit naming %s", bad[0], bad[1], args[0], code, errOut, bad[0])
			}
		}
		os.Unsetenv(bad[0])
	}
	if _, err := os.Stat(store); err == nil {
		t.Error("a command with a bad setting opened the store")
	}
}

// TestServeStopsOnBadSetting runs the real binary: with any one bad value
// it exits non-zero, at once, naming the variable, and serves nothing.
func TestServeStopsOnBadSetting(t *testing.T) {
	bin := darsiBinary(t)
	for _, bad := range []string{
		"DARSI_QUIET_HOURS=22h-7h", "DARSI_NUDGE_AFTER=3d", "DARSI_SEND_RATE=fast",
		"DARSI_TEMPLATES=/missing.yaml", "DARSI_SIMULATOR=yes",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := exec.CommandContext(ctx, bin, "serve")
		cmd.Env = append(os.Environ(), "DARSI_ADDR=127.0.0.1:0", "DARSI_ADMIN_ADDR=off", "DARSI_STORE=memory", bad)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		took := time.Since(start)
		timedOut := ctx.Err() != nil
		cancel()
		name, _, _ := strings.Cut(bad, "=")
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 || timedOut {
			t.Errorf("%s: %v after %v, want a non-zero exit", bad, err, took)
		}
		if !strings.Contains(string(out), name+"=") || strings.Contains(string(out), "darsi serving") {
			t.Errorf("%s: output %q, want the variable named and nothing served", bad, out)
		}
		t.Logf("%s: exit in %v", bad, took)
	}
}

func TestConfigCommand(t *testing.T) {
	t.Setenv("TWILIO_AUTH_TOKEN", "s3cr3tt0ken0123456789")
	t.Setenv("DARSI_SEND_RATE", "35")
	t.Setenv("REDIS_URL", "redis://:pw@127.0.0.1:6379")
	code, out, errOut := darsi(t, "", "config", "--store", "memory")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"DARSI_SEND_RATE=35", "# environment", "DARSI_ADDR=:8080", "# default",
		"DARSI_STORE=memory", "# flag --store", "TWILIO_AUTH_TOKEN=(set, hidden)",
		"DARSI_QUIET_HOURS=21:00-08:00,Fri 12:30-14:30", "REDIS_URL=redis://…@127.0.0.1:6379 is set",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("darsi config lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cr3t") || strings.Contains(out, ":pw@") {
		t.Errorf("darsi config shows a secret:\n%s", out)
	}
	if code, out, _ := darsi(t, "", "config", "--check"); code != 0 || strings.TrimSpace(out) != "configuration ok" {
		t.Errorf("config --check: exit %d, %q", code, out)
	}
	t.Setenv("DARSI_SEND_RATE", "fast")
	code, out, errOut = darsi(t, "", "config")
	if code != 1 || !strings.Contains(errOut, `DARSI_SEND_RATE="fast": want`) || !strings.Contains(out, "DARSI_SEND_RATE=20") {
		t.Errorf("config with a bad value: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := darsi(t, "", "config", "--store", "ftp://x"); code != 1 || !strings.Contains(errOut, "--store") {
		t.Errorf("config --store ftp://x: exit %d, stderr %q", code, errOut)
	}
}

// TestREADMESettingsTable holds the README's configuration table to the
// settings darsi reads: the same variables, the same defaults.
func TestREADMESettingsTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| ([A-Z_, ]+) \\| .* \\| (.*) \\|$")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		def := strings.TrimSpace(m[2])
		for _, name := range strings.Split(m[1], ",") {
			documented[strings.TrimSpace(name)] = def
		}
	}
	for _, s := range settings {
		def, ok := documented[s.name]
		if !ok {
			t.Errorf("README's settings table lacks %s", s.name)
			continue
		}
		want := "none"
		if s.def != "" {
			want = "`" + s.def + "`"
		}
		if def != want && !strings.HasPrefix(def, want+",") {
			t.Errorf("README: %s defaults to %s, darsi to %s", s.name, def, want)
		}
		delete(documented, s.name)
	}
	for name := range documented {
		if name != "REDIS_URL" {
			t.Errorf("README's settings table has %s, which darsi does not read", name)
		}
	}
}
