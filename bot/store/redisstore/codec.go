package redisstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// The values Darsi keeps in Redis are written in a compact binary form
// rather than JSON: a learner in a lesson takes about a third of the bytes,
// and Redis keeps every learner in memory.
//
// A value starts with a format byte, so that a later format can be told
// apart from this one, then an 8-byte token that is random for every write.
// The token makes each written value unique: the update script recognises
// its own write when go-redis sends it a second time after a lost reply
// (see updateScript). Then come the fields, each as a uvarint length and
// bytes for a string, a zigzag varint for a number.
//
// The learner's ID is not written: it is in the key.
const (
	formatV1  = 1
	tokenSize = 8
)

var errShort = errors.New("value ends early")

// encodeLearner returns l in the compact form, with token.
func encodeLearner(l *bot.Learner, token uint64) []byte {
	b := make([]byte, 0, 256)
	b = append(b, formatV1)
	b = binary.BigEndian.AppendUint64(b, token)
	for _, s := range []string{
		string(l.Channel), string(l.Lang), l.Cohort, string(l.Phase), string(l.Resume),
		l.Course, l.Lesson, l.Step,
	} {
		b = appendString(b, s)
	}
	var flags uint64
	if l.Consent {
		flags |= 1
	}
	if l.OptedOut {
		flags |= 2
	}
	b = binary.AppendUvarint(b, flags)
	for _, n := range []int{l.Index, l.Tries, l.Asked, l.Right, l.Misses} {
		b = binary.AppendVarint(b, int64(n))
	}
	b = appendMap(b, l.Vars)
	b = appendMap(b, l.Indicators)
	b = binary.AppendUvarint(b, uint64(len(l.Completed)))
	for _, c := range l.Completed {
		b = appendString(b, c.Lesson)
		b = binary.AppendVarint(b, int64(c.Score))
		b = appendTime(b, c.At)
	}
	b = appendTime(b, l.LastInboundAt)
	b = appendTime(b, l.UpdatedAt)
	b = binary.AppendVarint(b, l.Version)
	// Fields added later come last and only when set (or when a later one
	// is), so that values written before them still decode.
	o := &l.Outreach
	hasFollowups := len(l.Followups) > 0
	hasUnclear := l.Unclear != "" || hasFollowups
	hasBSUID := l.BSUID != "" || hasUnclear
	hasName := l.Name != "" || hasBSUID
	hasOutreach := !o.At.IsZero() || o.Nudges != 0 || len(o.Reviews) > 0 || hasName
	if l.Review != "" || hasOutreach {
		b = appendString(b, l.Review)
	}
	if hasOutreach {
		b = appendTime(b, o.At)
		b = binary.AppendVarint(b, int64(o.Nudges))
		b = binary.AppendUvarint(b, uint64(len(o.Reviews)))
		for _, r := range o.Reviews {
			b = appendString(b, r.Lesson)
			b = appendString(b, r.Step)
			b = appendTime(b, r.At)
		}
	}
	if hasName {
		b = appendString(b, l.Name)
	}
	if hasBSUID {
		b = appendString(b, l.BSUID)
	}
	if hasUnclear {
		b = appendString(b, l.Unclear)
	}
	if hasFollowups {
		b = binary.AppendUvarint(b, uint64(len(l.Followups)))
		for _, f := range l.Followups {
			b = appendString(b, f.Survey)
			b = appendString(b, f.Value)
			b = appendTime(b, f.At)
		}
	}
	return b
}

// decodeLearner is the inverse of encodeLearner; the learner gets id as ID.
// Maps and slices are fresh, so the caller owns them.
func decodeLearner(v, id string) (bot.Learner, error) {
	d := decoder{v: v}
	d.header()
	l := bot.Learner{ID: id}
	l.Channel = bot.Channel(d.string())
	l.Lang = bot.Lang(d.string())
	l.Cohort = d.string()
	l.Phase = bot.Phase(d.string())
	l.Resume = bot.Phase(d.string())
	l.Course = d.string()
	l.Lesson = d.string()
	l.Step = d.string()
	flags := d.uvarint()
	l.Consent = flags&1 != 0
	l.OptedOut = flags&2 != 0
	for _, p := range []*int{&l.Index, &l.Tries, &l.Asked, &l.Right, &l.Misses} {
		*p = int(d.varint())
	}
	l.Vars = d.stringMap()
	l.Indicators = d.stringMap()
	if n := d.count(); n > 0 {
		l.Completed = make([]bot.Completion, n)
		for i := range l.Completed {
			c := &l.Completed[i]
			c.Lesson = d.string()
			c.Score = int(d.varint())
			c.At = d.time()
		}
	}
	l.LastInboundAt = d.time()
	l.UpdatedAt = d.time()
	l.Version = d.varint()
	if d.err == nil && d.i < len(d.v) {
		l.Review = d.string()
	}
	if d.err == nil && d.i < len(d.v) {
		o := &l.Outreach
		o.At = d.time()
		o.Nudges = int(d.varint())
		if n := d.count(); n > 0 {
			o.Reviews = make([]bot.PendingReview, n)
			for i := range o.Reviews {
				r := &o.Reviews[i]
				r.Lesson = d.string()
				r.Step = d.string()
				r.At = d.time()
			}
		}
	}
	if d.err == nil && d.i < len(d.v) {
		l.Name = d.string()
	}
	if d.err == nil && d.i < len(d.v) {
		l.BSUID = d.string()
	}
	if d.err == nil && d.i < len(d.v) {
		l.Unclear = d.string()
	}
	if d.err == nil && d.i < len(d.v) {
		if n := d.count(); n > 0 {
			l.Followups = make([]bot.FollowupAnswer, n)
			for i := range l.Followups {
				f := &l.Followups[i]
				f.Survey = d.string()
				f.Value = d.string()
				f.At = d.time()
			}
		}
	}
	if err := d.done(); err != nil {
		return bot.Learner{}, fmt.Errorf("decode learner: %w", err)
	}
	return l, nil
}

// encodeReplies returns the record of an applied message: its replies, with
// token.
func encodeReplies(rs []bot.Reply, token uint64) []byte {
	n := 1 + tokenSize + binary.MaxVarintLen64
	for _, r := range rs {
		n += 2*binary.MaxVarintLen64 + len(r.Text) + len(r.Media)
	}
	b := make([]byte, 0, n)
	b = append(b, formatV1)
	b = binary.BigEndian.AppendUint64(b, token)
	b = binary.AppendUvarint(b, uint64(len(rs)))
	for _, r := range rs {
		b = appendString(b, r.Text)
		b = appendString(b, r.Media)
	}
	// The choices, when a reply has one, after the replies: a record
	// written before choices existed reads the same.
	if slices.ContainsFunc(rs, func(r bot.Reply) bool { return r.Choice != nil }) {
		for _, r := range rs {
			var c []byte
			if r.Choice != nil {
				c, _ = json.Marshal(r.Choice)
			}
			b = appendString(b, string(c))
		}
	}
	return b
}

// decodeReplies is the inverse of encodeReplies.
func decodeReplies(v string) ([]bot.Reply, error) {
	d := decoder{v: v}
	d.header()
	var rs []bot.Reply
	if n := d.count(); n > 0 {
		rs = make([]bot.Reply, n)
		for i := range rs {
			rs[i].Text = d.string()
			rs[i].Media = d.string()
		}
		if d.err == nil && d.i < len(d.v) {
			for i := range rs {
				if c := d.string(); c != "" && d.err == nil {
					rs[i].Choice = new(bot.Choice)
					if err := json.Unmarshal([]byte(c), rs[i].Choice); err != nil {
						return nil, fmt.Errorf("decode applied message: choice: %w", err)
					}
				}
			}
		}
	}
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("decode applied message: %w", err)
	}
	return rs, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendMap writes m in key order, so that equal maps give equal bytes.
func appendMap(b []byte, m map[string]string) []byte {
	b = binary.AppendUvarint(b, uint64(len(m)))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, m[k])
	}
	return b
}

// appendTime writes t exactly: the instant to the nanosecond and the offset
// of its zone (as JSON keeps it), in 1 byte for the zero time and about 13
// otherwise. The first number is the nanoseconds plus one, so that 0 can
// stand for the zero time.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendUvarint(b, 0)
	}
	_, offset := t.Zone()
	b = binary.AppendUvarint(b, uint64(t.Nanosecond())+1)
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendVarint(b, int64(offset))
}

// decoder reads the fields of a value in order. The first problem sticks:
// later reads return zero values and done reports it.
type decoder struct {
	v   string
	i   int
	err error
}

func (d *decoder) header() {
	if len(d.v) < 1+tokenSize {
		d.err = errShort
		return
	}
	if d.v[0] != formatV1 {
		d.err = fmt.Errorf("unknown format %d", d.v[0])
		return
	}
	d.i = 1 + tokenSize
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var x uint64
	var s uint
	for j := 0; j < binary.MaxVarintLen64; j++ {
		if d.i >= len(d.v) {
			d.err = errShort
			return 0
		}
		c := d.v[d.i]
		d.i++
		if c < 0x80 {
			if j == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			return x | uint64(c)<<s
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	d.err = errors.New("varint overflows 64 bits")
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

// count reads a number of items, each of which takes at least one byte, so
// that a corrupt count cannot make the decoder allocate more than the value
// could hold.
func (d *decoder) count() int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.v)-d.i) {
		d.err = errShort
	}
	if d.err != nil {
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.count()
	if n == 0 {
		return ""
	}
	s := d.v[d.i : d.i+n]
	d.i += n
	return s
}

func (d *decoder) stringMap() map[string]string {
	n := d.count()
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := d.string()
		m[k] = d.string()
	}
	return m
}

func (d *decoder) time() time.Time {
	ns := d.uvarint()
	if ns == 0 || d.err != nil {
		return time.Time{}
	}
	sec := d.varint()
	offset := d.varint()
	if ns > 1e9 || offset <= -1<<31 || offset >= 1<<31 {
		if d.err == nil {
			d.err = errors.New("bad time")
		}
		return time.Time{}
	}
	t := time.Unix(sec, int64(ns-1))
	if offset == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone("", int(offset)))
}

func (d *decoder) done() error {
	if d.err == nil && d.i != len(d.v) {
		d.err = fmt.Errorf("%d bytes left over", len(d.v)-d.i)
	}
	return d.err
}

// encodeJob returns what a job's hash keeps in its v field, in the compact
// form: the fields Go writes. The fields the scripts change on their own
// (status, worker, attempts, claim and lease times, reason, updated at)
// live beside it in the hash (see outboxscripts.go). The job's ID is in
// the key. A job takes about a third of the bytes of its JSON.
func encodeJob(j *schedule.Job) []byte {
	b := make([]byte, 0, 128+len(j.Text))
	b = append(b, formatV1)
	for _, s := range []string{string(j.Kind), j.Learner, j.Cohort, j.Text, j.Template, j.Lesson, j.Step, j.CreatedBy, j.SID} {
		b = appendString(b, s)
	}
	var flags uint64
	if j.Templated {
		flags |= 1
	}
	b = binary.AppendUvarint(b, flags)
	for _, t := range []time.Time{j.DueAt, j.CreatedAt, j.SentAt} {
		b = appendTime(b, t)
	}
	// A reply's media, choice and the reply before it, after the rest: a
	// job written before replies existed reads the same.
	if j.Media != "" || j.Choice != nil || j.After != "" {
		var c []byte
		if j.Choice != nil {
			c, _ = json.Marshal(j.Choice)
		}
		for _, s := range []string{j.Media, string(c), j.After} {
			b = appendString(b, s)
		}
	}
	return b
}

// decodeJobValue is the inverse of encodeJob, into j.
func decodeJobValue(v string, j *schedule.Job) error {
	d := decoder{v: v}
	if len(v) == 0 || v[0] != formatV1 {
		return errors.New("decode job: unknown format")
	}
	d.i = 1
	for _, p := range []*string{(*string)(&j.Kind), &j.Learner, &j.Cohort, &j.Text, &j.Template, &j.Lesson, &j.Step, &j.CreatedBy, &j.SID} {
		*p = d.string()
	}
	j.Templated = d.uvarint()&1 != 0
	j.DueAt = d.time()
	j.CreatedAt = d.time()
	j.SentAt = d.time()
	if d.err == nil && d.i < len(d.v) {
		j.Media = d.string()
		if c := d.string(); c != "" && d.err == nil {
			j.Choice = new(bot.Choice)
			if err := json.Unmarshal([]byte(c), j.Choice); err != nil {
				return fmt.Errorf("decode job: choice: %w", err)
			}
		}
		j.After = d.string()
	}
	if err := d.done(); err != nil {
		return fmt.Errorf("decode job: %w", err)
	}
	return nil
}
