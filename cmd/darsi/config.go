package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// Config is darsi's configuration: defaults, then the environment, then
// flags. Secrets come only from the environment.
type Config struct {
	Addr      string // DARSI_ADDR
	Store     string // DARSI_STORE: redis://… or a file path; "memory" for a throwaway store
	Lessons   string // DARSI_LESSONS: a lesson folder; empty means the built-in lessons
	PublicURL string // DARSI_PUBLIC_URL

	TwilioAccountSID string // TWILIO_ACCOUNT_SID
	TwilioAuthToken  string // TWILIO_AUTH_TOKEN
	TwilioAPIBaseURL string // TWILIO_API_BASE_URL
	Simulator        string // DARSI_SIMULATOR: on, off, or auto (on when Twilio is not configured)
	LogLevel         string // DARSI_LOG_LEVEL: debug, info, warn, error
	LogFormat        string // DARSI_LOG_FORMAT: text or json
	DebugAddr        string // DARSI_DEBUG_ADDR: where to serve pprof; empty: nowhere
}

// loadConfig reads the defaults and the environment.
func loadConfig(getenv func(string) string) Config {
	c := Config{
		Addr:             ":8080",
		Store:            "./data/darsi.db",
		Simulator:        "auto",
		LogLevel:         "info",
		LogFormat:        "text",
		TwilioAPIBaseURL: "https://api.twilio.com",
	}
	set := func(dst *string, key string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	set(&c.Addr, "DARSI_ADDR")
	set(&c.Store, "DARSI_STORE")
	set(&c.Lessons, "DARSI_LESSONS")
	set(&c.PublicURL, "DARSI_PUBLIC_URL")
	set(&c.TwilioAccountSID, "TWILIO_ACCOUNT_SID")
	set(&c.TwilioAuthToken, "TWILIO_AUTH_TOKEN")
	set(&c.Simulator, "DARSI_SIMULATOR")
	set(&c.LogLevel, "DARSI_LOG_LEVEL")
	set(&c.LogFormat, "DARSI_LOG_FORMAT")
	set(&c.TwilioAPIBaseURL, "TWILIO_API_BASE_URL")
	set(&c.DebugAddr, "DARSI_DEBUG_ADDR")
	return c
}

// storeFlags adds the flags every command that opens the store shares.
func (c *Config) storeFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Store, "store", c.Store, "learner store: a file path (embedded), redis://… , or memory (env DARSI_STORE)")
	fs.StringVar(&c.Lessons, "lessons", c.Lessons, "lesson folder; empty for the built-in lessons (env DARSI_LESSONS)")
}

// simulatorOn reports whether the web chat simulator is served.
func (c *Config) simulatorOn() bool {
	switch c.Simulator {
	case "on", "1", "true":
		return true
	case "off", "0", "false":
		return false
	}
	return c.TwilioAuthToken == ""
}

// logger builds the structured logger the configuration asks for.
func (c *Config) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("DARSI_LOG_LEVEL=%q: want debug, info, warn or error", c.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.LogFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("DARSI_LOG_FORMAT=%q: want text or json", c.LogFormat)
}

var env = os.Getenv
