package schedule

import (
	"time"

	"github.com/darsi-ma/darsi/bot"
)

// DefaultWindowMargin is how long WhatsApp's window must stay open after
// a send for free text to be sent: a message that reaches Twilio just as
// the window closes is refused (63016).
const DefaultWindowMargin = time.Minute

// Policy is the one decision of when and how a job goes to a learner:
// quiet hours in the learner's time zone, WhatsApp's 24-hour window with a
// margin, and the template used outside it. The Runner follows it when it
// sends; the coaches' preview asks it before, so that what a coach is shown
// is what happens. The zero Policy has no quiet hours and no templates, and
// uses the defaults below.
type Policy struct {
	// Quiet are the hours in which nothing goes out (DARSI_QUIET_HOURS),
	// in the learner's zone.
	Quiet Quiet
	// Zone is the zone of learners ZoneOf says nothing about; nil:
	// Africa/Casablanca.
	Zone *time.Location
	// ZoneOf finds a learner's zone (such as from their number's
	// country); nil, or a nil answer, means Zone.
	ZoneOf func(bot.Learner) *time.Location
	// Templates are what goes outside the window (DARSI_TEMPLATES).
	Templates *Templates
	// WindowMargin: free text only if the window stays open this much
	// longer; 0 means DefaultWindowMargin.
	WindowMargin time.Duration
	// Sim makes the simulator's learners (channel sim) reachable: they get
	// what the outbox sends in their chat, decided as for a WhatsApp
	// learner (quiet hours, the window, the template outside it).
	Sim bool
}

// Route is how a job reaches a learner.
type Route string

// Routes.
const (
	RouteFree     Route = "free"     // free text: inside WhatsApp's window, or by SMS
	RouteTemplate Route = "template" // the approved template: outside the window
	RouteSkip     Route = "skip"     // nothing: opted out, or not on WhatsApp or SMS
)

// Reasons a job is skipped, in Decision.Skip.
const (
	SkipOptedOut    = "opted out"
	SkipUnreachable = "not on WhatsApp or SMS"
)

// Decision is what the Policy says of one job for one learner.
type Decision struct {
	Route Route
	// Skip says why the route is RouteSkip.
	Skip string
	// Lang is the language the learner gets the message in.
	Lang bot.Lang
	// SendAt is when the job may go: its due time, or the end of the quiet
	// hours that hold it (Held is then set).
	SendAt time.Time
	Held   bool
	// Zone is the learner's time zone, in which quiet hours held the job
	// (an IANA name such as Africa/Casablanca).
	Zone string
	// WindowUntil is when the learner's WhatsApp window closes (zero for
	// SMS, and for a learner who never wrote).
	WindowUntil time.Time
	// Template is the template of the job's kind in Lang, for
	// RouteTemplate; NoTemplate is set when there is none, and the send
	// will fail.
	Template   Template
	NoTemplate bool
}

// Decide says how j goes to l if it falls due at due: skipped for a
// learner who opted out or is not on WhatsApp or SMS; otherwise held until
// quiet hours end in the learner's zone, then free text if the learner's
// WhatsApp window is still open then (by WindowMargin), or SMS, and the
// template of the job's kind in the learner's language if not.
func (p *Policy) Decide(l bot.Learner, j Job, due time.Time) Decision {
	d := Decision{Lang: LangOf(l), SendAt: due}
	ch := ChannelOf(l)
	switch {
	case l.OptedOut:
		d.Route, d.Skip = RouteSkip, SkipOptedOut
		return d
	case !p.Reachable(ch):
		d.Route, d.Skip = RouteSkip, SkipUnreachable
		return d
	}
	if j.Kind == Reply {
		// A reply answers the learner's message of a moment ago: the
		// window is open, and quiet hours do not hold an answer.
		d.Route = RouteFree
		return d
	}
	zone := p.zone(l)
	d.Zone = zone.String()
	if next := p.Quiet.Next(due, zone); next.After(due) {
		d.SendAt, d.Held = next, true
	}
	if ch == bot.SMS {
		d.Route = RouteFree
		return d
	}
	if !l.LastInboundAt.IsZero() {
		d.WindowUntil = l.LastInboundAt.Add(WhatsAppWindow)
	}
	if p.InWindow(l, d.SendAt) {
		d.Route = RouteFree
		return d
	}
	d.Route = RouteTemplate
	tp, ok := p.Template(j, d.Lang)
	d.Template, d.NoTemplate = tp, !ok
	return d
}

// Reachable reports whether a message the bot starts can reach a
// learner on channel ch: WhatsApp and SMS, and the simulator's when Sim
// is set.
func (p *Policy) Reachable(ch bot.Channel) bool {
	return ch == bot.WhatsApp || ch == bot.SMS || (p != nil && p.Sim && ch == bot.Sim)
}

// InWindow reports whether the learner's 24-hour window is open at t and
// stays open for the margin.
func (p *Policy) InWindow(l bot.Learner, t time.Time) bool {
	margin := p.WindowMargin
	if margin <= 0 {
		margin = DefaultWindowMargin
	}
	return !l.LastInboundAt.IsZero() && t.Add(margin).Before(l.LastInboundAt.Add(WhatsAppWindow))
}

// Template returns the template a job uses outside the window in lang: the
// job's Template kind, or its Kind.
func (p *Policy) Template(j Job, lang bot.Lang) (Template, bool) {
	return p.Templates.Lookup(j.TemplateKind(), lang)
}

// zone is the learner's time zone.
func (p *Policy) zone(l bot.Learner) *time.Location {
	if p.ZoneOf != nil {
		if loc := p.ZoneOf(l); loc != nil {
			return loc
		}
	}
	if p.Zone != nil {
		return p.Zone
	}
	return defaultZone
}

// defaultZone is Africa/Casablanca, from the embedded tz database.
var defaultZone = func() *time.Location {
	loc, err := LoadZone(DefaultZone)
	if err != nil {
		panic(err) // time/tzdata is embedded: cannot happen
	}
	return loc
}()

// TemplateKind is the kind of template the job uses outside the window:
// its Template, or its Kind.
func (j Job) TemplateKind() string {
	if j.Template != "" {
		return j.Template
	}
	return string(j.Kind)
}

// LangOf is the language a learner gets messages in: theirs, or French
// before they chose one.
func LangOf(l bot.Learner) bot.Lang {
	if l.Lang.Valid() {
		return l.Lang
	}
	return bot.French
}

// ChannelOf is the learner's channel, from the record or else the ID.
func ChannelOf(l bot.Learner) bot.Channel {
	if l.Channel != "" {
		return l.Channel
	}
	ch, _ := bot.SplitLearnerID(l.ID)
	return ch
}
