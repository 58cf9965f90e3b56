package redisstore

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// SentinelScheme is the scheme of a store URL that names Redis Sentinels
// rather than Redis itself:
//
//	redis-sentinel://[user:password@]host:26379[,host2:26379,…]/MASTER[/DB][?option=…]
//
// The hosts are the Sentinels (port 26379 when left out), MASTER the name
// they know the master by (or ?master_name=MASTER), DB the database
// (default 0). The user and password, when given, are the master's and
// replicas' (Redis's requirepass or ACL user) and the Sentinels' too. Other
// options are those of a redis:// URL with master_name (go-redis's failover
// options: dial_timeout, read_timeout, pool_size, …).
const SentinelScheme = "redis-sentinel"

// maxSentinels bounds the hosts of a redis-sentinel:// URL: three or five
// Sentinels are usual.
const maxSentinels = 16

// sentinelURL turns a redis-sentinel:// URL into the redis:// URL with
// master_name and addr= options that go-redis reads for a failover
// client.
func sentinelURL(raw string) (string, error) {
	rest, ok := strings.CutPrefix(raw, SentinelScheme+"://")
	if !ok {
		return "", fmt.Errorf("store URL: want %s://", SentinelScheme)
	}
	rest, rawQuery, _ := strings.Cut(rest, "?")
	if strings.Contains(rest, "#") || strings.Contains(rawQuery, "#") {
		return "", errors.New("store URL: no fragment (#) wanted")
	}
	authority, path, _ := strings.Cut(rest, "/")
	var user *url.Userinfo
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		// Decoded as in any URL: %40 for an @ in a password.
		u, err := url.Parse("redis://" + authority[:i+1] + "host")
		if err != nil || u.User == nil {
			return "", errors.New("store URL: the user and password do not parse")
		}
		user, authority = u.User, authority[i+1:]
	}
	if authority == "" {
		return "", errors.New("store URL: name at least one Sentinel, host:26379")
	}
	hosts := strings.Split(authority, ",")
	if len(hosts) > maxSentinels {
		return "", fmt.Errorf("store URL: %d Sentinels, at most %d", len(hosts), maxSentinels)
	}
	for i, h := range hosts {
		if h == "" {
			return "", errors.New("store URL: an empty Sentinel address (a comma too many?)")
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			// No port: Sentinel's own.
			if strings.Contains(strings.Trim(h, "[]"), ":") && !strings.HasPrefix(h, "[") {
				return "", fmt.Errorf("store URL: Sentinel %q: write an IPv6 address in brackets", h)
			}
			h = net.JoinHostPort(strings.Trim(h, "[]"), "26379")
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" || strings.ContainsAny(host, " /?#@") {
			return "", fmt.Errorf("store URL: Sentinel %q is not host:port", hosts[i])
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("store URL: Sentinel %q: port from 1 to 65535", hosts[i])
		}
		hosts[i] = h
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", errors.New("store URL: the options after ? do not parse")
	}
	for _, k := range []string{"addr", "username", "password"} {
		if q.Has(k) {
			return "", fmt.Errorf("store URL: %s= is not an option of %s:// (Sentinels go before the /, the user and password before an @)", k, SentinelScheme)
		}
	}
	segs := strings.Split(strings.TrimSuffix(path, "/"), "/")
	if path == "" {
		segs = nil
	}
	master, db := q.Get("master_name"), ""
	switch len(segs) {
	case 0:
	case 1, 2:
		name, err := url.PathUnescape(segs[0])
		if err != nil || name == "" {
			return "", errors.New("store URL: the master's name does not parse")
		}
		if master != "" && master != name {
			return "", fmt.Errorf("store URL: master %q in the path and %q in master_name", name, master)
		}
		master = name
		if len(segs) == 2 {
			db = segs[1]
		}
	default:
		return "", errors.New("store URL: want /MASTER or /MASTER/DB after the Sentinels")
	}
	if master == "" {
		return "", errors.New("store URL: name the master, /MASTER after the Sentinels or ?master_name=")
	}
	if strings.ContainsAny(master, " \t\r\n") || len(master) > 200 {
		return "", errors.New("store URL: the master's name is one word of at most 200 characters")
	}
	if db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 || n > 1<<20 {
			return "", fmt.Errorf("store URL: database %q: want a number such as 0", db)
		}
	}
	q.Set("master_name", master)
	for _, h := range hosts[1:] {
		q.Add("addr", h)
	}
	if user != nil {
		q.Set("username", user.Username())
		if p, ok := user.Password(); ok {
			q.Set("password", p)
		}
	}
	u := url.URL{Scheme: "redis", User: user, Host: hosts[0], Path: "/" + db, RawQuery: q.Encode()}
	return u.String(), nil
}
