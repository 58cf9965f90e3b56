package redisstore

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestSentinelURL reads the redis-sentinel:// form into the failover
// options go-redis uses: the Sentinels, the master's name, the database,
// the user and password for the master and the Sentinels, other options
// as they are.
func TestSentinelURL(t *testing.T) {
	good := []struct {
		in        string
		sentinels []string
		master    string
		db        int
		user, pw  string
	}{
		{"redis-sentinel://s1:26379/mymaster", []string{"s1:26379"}, "mymaster", 0, "", ""},
		{"redis-sentinel://s1:26379,s2:26380,s3/darsi/2", []string{"s1:26379", "s2:26380", "s3:26379"}, "darsi", 2, "", ""},
		{"redis-sentinel://:p%40ss@10.0.0.1,10.0.0.2:5000?master_name=m", []string{"10.0.0.1:26379", "10.0.0.2:5000"}, "m", 0, "", "p@ss"},
		{"redis-sentinel://darsi:secret@[::1]:26379,[fe80::1]/m/0?dial_timeout=2s", []string{"[::1]:26379", "[fe80::1]:26379"}, "m", 0, "darsi", "secret"},
		{"redis-sentinel://s1/m/?master_name=m", []string{"s1:26379"}, "m", 0, "", ""},
	}
	for _, c := range good {
		failover, err := sentinelURL(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		o, err := redis.ParseFailoverURL(failover)
		if err != nil {
			t.Errorf("%s → %s: %v", c.in, failover, err)
			continue
		}
		if !slices.Equal(o.SentinelAddrs, c.sentinels) || o.MasterName != c.master || o.DB != c.db ||
			o.Username != c.user || o.Password != c.pw || o.SentinelUsername != c.user || o.SentinelPassword != c.pw {
			t.Errorf("%s: sentinels %v master %q db %d user %q/%q password %q/%q", c.in, o.SentinelAddrs, o.MasterName, o.DB,
				o.Username, o.SentinelUsername, o.Password, o.SentinelPassword)
		}
		if err := CheckURL(c.in); err != nil {
			t.Errorf("CheckURL(%s): %v", c.in, err)
		}
	}
	bad := map[string]string{
		"redis-sentinel:///m":                                  "at least one Sentinel",
		"redis-sentinel://s1":                                  "name the master",
		"redis-sentinel://s1/":                                 "name the master",
		"redis-sentinel://s1,,s2/m":                            "empty Sentinel",
		"redis-sentinel://s1:0/m":                              "port",
		"redis-sentinel://s1:99999/m":                          "port",
		"redis-sentinel://s1/m/x":                              "database",
		"redis-sentinel://s1/m/0/1":                            "want /MASTER",
		"redis-sentinel://s1/a?master_name=b":                  "master \"a\" in the path",
		"redis-sentinel://s1/m?addr=s2:26379":                  "addr=",
		"redis-sentinel://s1/m?password=x":                     "password=",
		"redis-sentinel://s1/m?nonsense=1":                     "nonsense",
		"redis-sentinel://::1/m":                               "brackets",
		"redis-sentinel://s1/m#frag":                           "fragment",
		"redis-sentinel://" + strings.Repeat("s,", 16) + "s/m": "at most 16",
	}
	for in, want := range bad {
		err := CheckURL(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckURL(%s) = %v, want an error saying %q", in, err, want)
		}
	}
}

// FuzzSentinelURL: any string is refused with an error or read into a
// failover URL go-redis takes, with a master's name and at least one
// Sentinel, and nothing panics.
func FuzzSentinelURL(f *testing.F) {
	f.Add("redis-sentinel://s1:26379,s2/mymaster/1")
	f.Add("redis-sentinel://u:p@[::1]:26379/m?dial_timeout=1s")
	f.Add("redis-sentinel://s1/?master_name=m")
	f.Fuzz(func(t *testing.T, in string) {
		failover, err := sentinelURL(SentinelScheme + "://" + strings.TrimPrefix(in, SentinelScheme+"://"))
		if err != nil {
			return
		}
		if _, err := url.Parse(failover); err != nil {
			t.Fatalf("%q gave %q, which does not parse: %v", in, failover, err)
		}
		o, err := redis.ParseFailoverURL(failover)
		if err != nil {
			return // an option go-redis refuses: newClient says so
		}
		if o.MasterName == "" || len(o.SentinelAddrs) == 0 {
			t.Fatalf("%q gave master %q, Sentinels %v", in, o.MasterName, o.SentinelAddrs)
		}
	})
}
