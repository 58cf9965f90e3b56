package main

import (
	"flag"
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
	Simulator        string // DARSI_SIMULATOR: on, off, or auto (on when Twilio is not configured)
}

// loadConfig reads the defaults and the environment.
func loadConfig(getenv func(string) string) Config {
	c := Config{
		Addr:      ":8080",
		Store:     "./data/darsi.db",
		Simulator: "auto",
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

var env = os.Getenv
