package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/redisstore"
)

// Config is darsi's configuration: defaults, then the environment, then
// flags, each value parsed and checked once, at startup, whatever else is
// configured. Secrets come only from the environment. The settings table
// below is the one list of what darsi reads; the README's table is tested
// against it.
type Config struct {
	Addr      string // DARSI_ADDR: host:port
	Store     string // DARSI_STORE: redis://…, rediss://…, redis-sentinel://…, a file path, or "memory"
	Lessons   string // DARSI_LESSONS: a lesson folder; "" for the built-in lessons
	PublicURL string // DARSI_PUBLIC_URL, without a trailing slash; "" to take it from each request
	Simulator string // DARSI_SIMULATOR: on, off or auto
	LogLevel  slog.Level
	LogFormat string // DARSI_LOG_FORMAT: text or json
	// AdminAddr is where /metrics and Go's profiles are served
	// (DARSI_ADMIN_ADDR): never on the public listener. "off": nowhere.
	AdminAddr string
	// Secret keys the hashes that stand for learners where a number must
	// not appear (DARSI_SECRET); "" until the store's own is used.
	Secret string
	// Controller names who is responsible for the learners' data, for the
	// privacy page and notice (DARSI_CONTROLLER).
	Controller string
	// SessionIdle ends a coach's session after this long without a
	// request (DARSI_SESSION_IDLE).
	SessionIdle time.Duration

	TwilioAccountSID    string // TWILIO_ACCOUNT_SID
	TwilioAuthToken     string // TWILIO_AUTH_TOKEN (secret)
	TwilioAPIBaseURL    string // TWILIO_API_BASE_URL
	WhatsAppFrom        string // TWILIO_WHATSAPP_FROM: "whatsapp:+…"
	SMSFrom             string // TWILIO_SMS_FROM
	MessagingServiceSID string // TWILIO_MESSAGING_SERVICE_SID
	// Interactive (DARSI_INTERACTIVE): auto sends WhatsApp learners
	// buttons and lists to tap when Twilio and a WhatsApp sender are
	// configured; off keeps numbered lines everywhere.
	Interactive string

	QuietHours       schedule.Quiet      // DARSI_QUIET_HOURS
	SendRate         int                 // DARSI_SEND_RATE: messages a second per sender
	DigestHour       int                 // DARSI_DIGEST_HOUR: the coaches' local hour of the daily digest; -1 for none
	TemplatesFile    string              // DARSI_TEMPLATES
	Templates        *schedule.Templates // what TemplatesFile holds; nil without one
	NudgeAfter       time.Duration       // DARSI_NUDGE_AFTER; 0: no nudges
	SecondNudgeAfter time.Duration       // DARSI_SECOND_NUDGE_AFTER; 0: no second nudge
	OutboxLease      time.Duration       // DARSI_OUTBOX_LEASE

	RedisBuckets      int           // DARSI_REDIS_BUCKETS
	MessageRetention  time.Duration // DARSI_MESSAGE_RETENTION
	DeliveryRetention time.Duration // DARSI_DELIVERY_RETENTION
	JobRetention      time.Duration // DARSI_JOB_RETENTION

	// origin says where each setting's value came from: "default",
	// "environment" or "flag --name".
	origin map[string]string
	// notes are things worth saying that are not errors, such as a
	// REDIS_URL that darsi does not read.
	notes []string
}

// setting is one variable of the environment darsi reads.
type setting struct {
	name string
	// def is the default, as the README shows it ("" for none).
	def string
	// want says what a good value looks like, for the error line.
	want   string
	secret bool
	// set parses v (the default when the variable is unset or empty) into
	// c. Its error, if any, adds detail to want.
	set func(c *Config, v string) error
	// show is the effective value, as "darsi config" prints it.
	show func(c *Config) string
}

// settings is every variable darsi reads, in the README's order.
var settings = []setting{
	{name: "DARSI_ADDR", def: ":8080", want: "a listen address such as :8080 or 127.0.0.1:8080",
		set:  func(c *Config, v string) error { c.Addr = v; return checkAddr(v) },
		show: func(c *Config) string { return c.Addr }},
	{name: "DARSI_STORE", def: "./data/darsi.db", want: "redis://host:port[/db], rediss://…, redis-sentinel://host:26379[,host2:26379…]/MASTER[/db], a file path, or memory",
		set:  func(c *Config, v string) error { c.Store = v; return checkStore(v) },
		show: func(c *Config) string { return redactURL(c.Store) }},
	{name: "DARSI_LESSONS", want: "a lesson folder",
		set:  func(c *Config, v string) error { c.Lessons = v; return checkFolder(v) },
		show: func(c *Config) string { return c.Lessons }},
	{name: "DARSI_PUBLIC_URL", want: "the base URL Twilio calls, such as https://darsi.example.org",
		set: func(c *Config, v string) error {
			c.PublicURL = strings.TrimRight(v, "/")
			if v == "" {
				return nil
			}
			return checkHTTPURL(v)
		},
		show: func(c *Config) string { return c.PublicURL }},
	{name: "DARSI_SIMULATOR", def: "auto", want: "on, off or auto",
		set:  func(c *Config, v string) error { c.Simulator = v; return oneOf(v, "on", "off", "auto") },
		show: func(c *Config) string { return c.Simulator }},
	{name: "DARSI_LOG_LEVEL", def: "info", want: "debug, info, warn or error",
		set:  func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) },
		show: func(c *Config) string { return strings.ToLower(c.LogLevel.String()) }},
	{name: "DARSI_LOG_FORMAT", def: "text", want: "text or json",
		set:  func(c *Config, v string) error { c.LogFormat = v; return oneOf(v, "text", "json") },
		show: func(c *Config) string { return c.LogFormat }},
	{name: "DARSI_ADMIN_ADDR", def: "127.0.0.1:9090", want: "a private listen address such as 127.0.0.1:9090, or off",
		set: func(c *Config, v string) error {
			c.AdminAddr = v
			if v == "off" {
				return nil
			}
			return checkAddr(v)
		},
		show: func(c *Config) string { return c.AdminAddr }},
	{name: "DARSI_SECRET", want: "a random secret of at least 32 characters (openssl rand -hex 32)", secret: true,
		set: func(c *Config, v string) error {
			c.Secret = v
			if v != "" && len(v) < 32 {
				return errNoDetail
			}
			return nil
		},
		show: func(c *Config) string { return hidden(c.Secret) }},
	{name: "DARSI_CONTROLLER", want: "the name of the organisation responsible for the learners' data, on one line",
		set: func(c *Config, v string) error {
			c.Controller = v
			if strings.ContainsAny(v, "\r\n") || len(v) > 200 {
				return errNoDetail
			}
			return nil
		},
		show: func(c *Config) string { return c.Controller }},
	{name: "DARSI_SESSION_IDLE", def: "2h", want: "a duration from 5m to 24h, such as 2h",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 5*time.Minute || d > 24*time.Hour {
				return errNoDetail
			}
			c.SessionIdle = d
			return nil
		},
		show: func(c *Config) string { return showDuration(c.SessionIdle) }},
	{name: "TWILIO_ACCOUNT_SID", want: "AC and 32 hexadecimal digits",
		set:  func(c *Config, v string) error { c.TwilioAccountSID = v; return matchOrEmpty(v, accountSID) },
		show: func(c *Config) string { return c.TwilioAccountSID }},
	{name: "TWILIO_AUTH_TOKEN", want: "the account's auth token: letters and digits", secret: true,
		set:  func(c *Config, v string) error { c.TwilioAuthToken = v; return matchOrEmpty(v, authToken) },
		show: func(c *Config) string { return hidden(c.TwilioAuthToken) }},
	{name: "TWILIO_API_BASE_URL", def: "https://api.twilio.com", want: "an http(s) URL such as https://api.twilio.com",
		set: func(c *Config, v string) error {
			c.TwilioAPIBaseURL = strings.TrimRight(v, "/")
			return checkHTTPURL(v)
		},
		show: func(c *Config) string { return c.TwilioAPIBaseURL }},
	{name: "TWILIO_WHATSAPP_FROM", want: "the bot's WhatsApp number, whatsapp:+E.164 such as whatsapp:+212522000000",
		set: func(c *Config, v string) error {
			if v == "" {
				c.WhatsAppFrom = ""
				return nil
			}
			number := strings.TrimPrefix(v, "whatsapp:")
			c.WhatsAppFrom = "whatsapp:" + number
			return matchOrEmpty(number, e164)
		},
		show: func(c *Config) string { return c.WhatsAppFrom }},
	{name: "TWILIO_SMS_FROM", want: "an E.164 number such as +15550000000, a short code, or an alphanumeric sender ID",
		set:  func(c *Config, v string) error { c.SMSFrom = v; return matchOrEmpty(v, smsSender) },
		show: func(c *Config) string { return c.SMSFrom }},
	{name: "TWILIO_MESSAGING_SERVICE_SID", want: "MG and 32 hexadecimal digits",
		set:  func(c *Config, v string) error { c.MessagingServiceSID = v; return matchOrEmpty(v, serviceSID) },
		show: func(c *Config) string { return c.MessagingServiceSID }},
	{name: "DARSI_INTERACTIVE", def: "auto", want: "auto or off",
		set:  func(c *Config, v string) error { c.Interactive = v; return oneOf(v, "auto", "off") },
		show: func(c *Config) string { return c.Interactive }},
	{name: "DARSI_QUIET_HOURS", def: "21:00-08:00,Fri 12:30-14:30",
		want: "comma-separated local-time ranges such as 21:00-08:00,Fri 12:30-14:30",
		set: func(c *Config, v string) (err error) {
			c.QuietHours, err = schedule.ParseQuiet(v)
			return err
		},
		show: func(c *Config) string { return c.QuietHours.String() }},
	{name: "DARSI_SEND_RATE", def: "20", want: "messages per second, a whole number above 0",
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return errNoDetail
			}
			c.SendRate = n
			return nil
		},
		show: func(c *Config) string { return strconv.Itoa(c.SendRate) }},
	{name: "DARSI_DIGEST_HOUR", def: "9", want: "an hour from 0 to 23, or off",
		set: func(c *Config, v string) error {
			if v == "off" {
				c.DigestHour = -1
				return nil
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 23 {
				return errNoDetail
			}
			c.DigestHour = n
			return nil
		},
		show: func(c *Config) string {
			if c.DigestHour < 0 {
				return "off"
			}
			return strconv.Itoa(c.DigestHour)
		}},
	{name: "DARSI_TEMPLATES", want: "a readable WhatsApp templates file (YAML)",
		set: func(c *Config, v string) (err error) {
			c.TemplatesFile, c.Templates = v, nil
			if v == "" {
				return nil
			}
			c.Templates, err = schedule.LoadTemplates(v)
			return err
		},
		show: func(c *Config) string { return c.TemplatesFile }},
	{name: "DARSI_NUDGE_AFTER", def: "72h", want: "a duration such as 72h or 90m, or 0 for no nudges",
		set:  func(c *Config, v string) (err error) { c.NudgeAfter, err = parseDelay(v); return err },
		show: func(c *Config) string { return showDuration(c.NudgeAfter) }},
	{name: "DARSI_SECOND_NUDGE_AFTER", def: "168h", want: "a duration such as 168h, or 0 for no second nudge",
		set:  func(c *Config, v string) (err error) { c.SecondNudgeAfter, err = parseDelay(v); return err },
		show: func(c *Config) string { return showDuration(c.SecondNudgeAfter) }},
	{name: "DARSI_OUTBOX_LEASE", def: "45s", want: "a duration of at least 1s, such as 45s",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Second {
				return errNoDetail
			}
			c.OutboxLease = d
			return nil
		},
		show: func(c *Config) string { return showDuration(c.OutboxLease) }},
	{name: "DARSI_REDIS_BUCKETS", def: "16", want: "how many buckets the Redis store spreads its keys over, a whole number from 1 to 1024, the same for every replica",
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1024 {
				return errNoDetail
			}
			c.RedisBuckets = n
			return nil
		},
		show: func(c *Config) string { return strconv.Itoa(c.RedisBuckets) }},
	{name: "DARSI_MESSAGE_RETENTION", def: "168h", want: "how long a message id is remembered against Twilio's retries, a duration of at least 1h",
		set: func(c *Config, v string) (err error) {
			c.MessageRetention, err = parseRetention(v, time.Hour)
			return err
		},
		show: func(c *Config) string { return showDuration(c.MessageRetention) }},
	{name: "DARSI_DELIVERY_RETENTION", def: "720h", want: "how long a delivery status is kept, a duration of at least 1h",
		set: func(c *Config, v string) (err error) {
			c.DeliveryRetention, err = parseRetention(v, time.Hour)
			return err
		},
		show: func(c *Config) string { return showDuration(c.DeliveryRetention) }},
	{name: "DARSI_JOB_RETENTION", def: "720h", want: "how long a job is kept after it ended, a duration of at least 1h",
		set:  func(c *Config, v string) (err error) { c.JobRetention, err = parseRetention(v, time.Hour); return err },
		show: func(c *Config) string { return showDuration(c.JobRetention) }},
}

var (
	accountSID = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSID = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	authToken  = regexp.MustCompile(`^[0-9A-Za-z]+$`)
	e164       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	// smsSender is a number, a short code, or an alphanumeric sender ID
	// (up to 11 characters, at least one letter).
	smsSender = regexp.MustCompile(`^(\+[1-9][0-9]{6,14}|[0-9]{3,8}|[0-9A-Za-z ]*[A-Za-z][0-9A-Za-z ]*)$`)
)

// errNoDetail is a setting's error when "want" says it all.
var errNoDetail = errors.New("")

// ConfigError is one setting with a bad value: the variable (or flag), the
// value (hidden for secrets) and what is expected, on one line.
type ConfigError struct {
	Name, Value, Want string
	Secret            bool
	Err               error
}

func (e *ConfigError) Error() string {
	value := strconv.Quote(e.Value)
	if e.Secret {
		value = "(hidden)"
	}
	msg := fmt.Sprintf("%s=%s: want %s", e.Name, value, e.Want)
	if e.Err != nil && e.Err.Error() != "" {
		// Errors of other packages may span lines (a templates file's
		// problems): one line per setting.
		msg += " (" + strings.Join(strings.Fields(e.Err.Error()), " ") + ")"
	}
	return msg
}

func (e *ConfigError) Unwrap() error { return e.Err }

// loadConfig reads the defaults and the environment. The error joins one
// *ConfigError per bad value; the Config holds the defaults in their place.
func loadConfig(getenv func(string) string) (Config, error) {
	c := Config{origin: map[string]string{}}
	var errs []error
	for _, s := range settings {
		// The default first, so that a bad value leaves a usable one.
		if err := s.set(&c, s.def); err != nil {
			panic(fmt.Sprintf("default of %s: %v", s.name, err))
		}
		c.origin[s.name] = "default"
		v := strings.TrimSpace(getenv(s.name))
		if v == "" {
			continue
		}
		if err := s.set(&c, v); err != nil {
			errs = append(errs, &ConfigError{Name: s.name, Value: v, Want: s.want, Secret: s.secret, Err: err})
			s.set(&c, s.def)
			continue
		}
		c.origin[s.name] = "environment"
	}
	if u := getenv("REDIS_URL"); u != "" && getenv("DARSI_STORE") == "" {
		c.notes = append(c.notes, fmt.Sprintf("REDIS_URL=%s is set, but darsi's store is DARSI_STORE (%s): set DARSI_STORE=%s to keep learners in Redis",
			redactURL(u), c.Store, redactURL(u)))
	}
	if getenv("DARSI_DEBUG_ADDR") != "" {
		c.notes = append(c.notes, "DARSI_DEBUG_ADDR is no longer read: Go's profiles are served on DARSI_ADMIN_ADDR with /metrics")
	}
	if c.Controller == "" {
		c.notes = append(c.notes, "DARSI_CONTROLLER is not set: /privacy says the operator has not named who is responsible for the learners' data, and the consent notice names no one")
	}
	if c.TwilioAuthToken != "" && c.TwilioAccountSID == "" {
		c.notes = append(c.notes, "TWILIO_AUTH_TOKEN is set without TWILIO_ACCOUNT_SID: the webhook answers, but the outbox sends nothing")
	}
	return c, errors.Join(errs...)
}

// settingNamed returns the setting called name.
func settingNamed(name string) setting {
	for _, s := range settings {
		if s.name == name {
			return s
		}
	}
	panic("no setting " + name)
}

// flagFor adds a flag that overrides the setting name, checked as the
// variable is. fs.Parse then fails with the setting's error line.
func (c *Config) flagFor(fs *flag.FlagSet, flagName, name, usage string) {
	s := settingNamed(name)
	fs.Func(flagName, fmt.Sprintf("%s (env %s)", usage, name), func(v string) error {
		if err := s.set(c, v); err != nil {
			return &ConfigError{Name: "--" + flagName, Value: v, Want: s.want, Err: err}
		}
		if c.origin != nil {
			c.origin[name] = "flag --" + flagName
		}
		return nil
	})
}

// storeFlags adds the flags every command that opens the store shares.
func (c *Config) storeFlags(fs *flag.FlagSet) {
	c.flagFor(fs, "store", "DARSI_STORE", "learner store: a file path (embedded), redis://… , or memory")
	c.flagFor(fs, "lessons", "DARSI_LESSONS", "lesson folder; empty for the built-in lessons")
}

// simulatorOn reports whether the web chat simulator is served.
func (c *Config) simulatorOn() bool {
	switch c.Simulator {
	case "on":
		return true
	case "off":
		return false
	}
	return c.TwilioAuthToken == ""
}

// interactiveOn reports whether WhatsApp learners get buttons and lists
// to tap (DARSI_INTERACTIVE): auto, with Twilio and a WhatsApp sender (or
// a Messaging Service) configured.
func (c *Config) interactiveOn() bool {
	return c.Interactive != "off" && c.twilioSends() && (c.WhatsAppFrom != "" || c.MessagingServiceSID != "")
}

// twilioSends reports whether the bot can send messages of its own over
// Twilio's REST API: the outbox then delivers.
func (c *Config) twilioSends() bool { return c.TwilioAccountSID != "" && c.TwilioAuthToken != "" }

// policy is how the outbox decides when and how a message goes (quiet
// hours in the learner's zone, WhatsApp's window, templates): the runner
// and the coaches' preview share it.
func (c *Config) policy() *schedule.Policy {
	return &schedule.Policy{Quiet: c.QuietHours, ZoneOf: schedule.ZoneOf, Templates: c.Templates, Sim: c.simulatorOn()}
}

// logger builds the structured logger the configuration asks for.
func (c *Config) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// logNotes logs what the configuration noticed that is not an error.
func (c *Config) logNotes(log *slog.Logger) {
	for _, n := range c.notes {
		log.Warn("configuration: " + n)
	}
}

// print writes the effective configuration, one NAME=value line per
// setting with where the value came from, secrets hidden.
func (c *Config) print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range settings {
		origin := c.origin[s.name]
		if origin == "" {
			origin = "set by the caller"
		}
		fmt.Fprintf(tw, "%s=%s\t# %s\n", s.name, s.show(c), origin)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range c.notes {
		fmt.Fprintf(w, "# note: %s\n", n)
	}
	return nil
}

// configCmd is "darsi config [--check]": the effective configuration, or
// with --check only whether it is good. Both exit 1 on any problem.
func configCmd(cfg Config, cfgErr error, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "only check: print the problems, exit 1 if there are any")
	cfg.flagFor(fs, "addr", "DARSI_ADDR", "listen address")
	cfg.storeFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 1
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: darsi config [--check] [--store …] [--lessons …] [--addr …]")
		return 2
	}
	if !*check {
		if err := cfg.print(stdout); err != nil {
			fmt.Fprintln(stderr, "darsi:", err)
			return 1
		}
	}
	if cfgErr != nil {
		printConfigErrors(stderr, cfgErr)
		return 1
	}
	if *check {
		fmt.Fprintln(stdout, "configuration ok")
	}
	return 0
}

// printConfigErrors prints one line per bad setting.
func printConfigErrors(w io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintln(w, "darsi:", line)
	}
}

func checkAddr(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return errNoDetail
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errNoDetail
	}
	return nil
}

func checkStore(v string) error {
	switch {
	case v == "memory":
		return nil
	case strings.HasPrefix(v, "redis://"), strings.HasPrefix(v, "rediss://"), strings.HasPrefix(v, redisstore.SentinelScheme+"://"):
		return redisstore.CheckURL(v)
	}
	if fi, err := os.Stat(v); err == nil && fi.IsDir() {
		return errors.New("that is a folder: name the store's file, such as ./data/darsi.db")
	}
	if strings.Contains(v, "://") {
		return errors.New("unknown scheme")
	}
	return nil
}

func checkFolder(v string) error {
	if v == "" {
		return nil
	}
	fi, err := os.Stat(v)
	if err != nil {
		return errors.New("no such folder")
	}
	if !fi.IsDir() {
		return errors.New("not a folder")
	}
	return nil
}

func checkHTTPURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return errNoDetail
	}
	return nil
}

func oneOf(v string, good ...string) error {
	for _, g := range good {
		if v == g {
			return nil
		}
	}
	return errNoDetail
}

func matchOrEmpty(v string, re *regexp.Regexp) error {
	if v == "" || re.MatchString(v) {
		return nil
	}
	return errNoDetail
}

// parseDelay reads a Go duration that may be 0 (off) but not negative.
func parseDelay(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errNoDetail
	}
	return d, nil
}

// parseRetention reads a duration of at least floor.
func parseRetention(v string, floor time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < floor {
		return 0, errNoDetail
	}
	return d, nil
}

// showDuration prints a duration as its variable takes it: 72h, not 72h0m0s.
func showDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// hidden shows whether a secret is set, never what it is.
func hidden(secret string) string {
	if secret == "" {
		return ""
	}
	return "(set, hidden)"
}

// redactURL hides a password in a store URL.
func redactURL(s string) string {
	if i := strings.Index(s, "@"); i > 0 {
		if j := strings.Index(s, "://"); j >= 0 && j < i {
			return s[:j+3] + "…@" + s[i+1:]
		}
	}
	return s
}

var env = os.Getenv
