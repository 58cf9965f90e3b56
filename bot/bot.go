// Package bot holds Darsi's domain types: the learner, the messages that come
// in and go out, and the languages the bot speaks. It imports only the
// standard library; every other package speaks in these terms.
package bot

import (
	"strconv"
	"strings"
	"time"
)

// Lang is one of the four languages Darsi teaches in, by our own code.
type Lang string

// The four languages. The codes are ours (ISO 639-3 for Darija, BCP 47 for
// the others); go-i18n sees carrier tags instead (see package locale).
const (
	Darija    Lang = "ary"
	Arabic    Lang = "ar"
	French    Lang = "fr"
	Tamazight Lang = "zgh"
)

// Langs lists the languages in the order of the first-contact menu.
var Langs = []Lang{Darija, Arabic, French, Tamazight}

// Valid reports whether l is one of the four languages.
func (l Lang) Valid() bool {
	for _, x := range Langs {
		if l == x {
			return true
		}
	}
	return false
}

// RTL reports whether the language is written right to left.
func (l Lang) RTL() bool { return l == Darija || l == Arabic }

// Channel is how a learner reaches the bot.
type Channel string

// Channels. Chat and Sim are the terminal and the web simulator; they live in
// their own namespaces so that trying the bot never touches a real learner.
const (
	WhatsApp Channel = "whatsapp"
	SMS      Channel = "sms"
	Chat     Channel = "chat"
	Sim      Channel = "sim"
)

// LearnerID returns the identifier of the learner who writes from number on
// channel, for example "whatsapp:+212600000001".
func LearnerID(ch Channel, number string) string { return string(ch) + ":" + number }

// SplitLearnerID is the inverse of LearnerID.
func SplitLearnerID(id string) (Channel, string) {
	ch, number, ok := strings.Cut(id, ":")
	if !ok {
		return "", id
	}
	return Channel(ch), number
}

// Phase is where a learner stands in the conversation.
type Phase string

// The phases of the conversation. The zero value is PhaseNew.
const (
	PhaseNew      Phase = ""
	PhaseLanguage Phase = "language" // choosing a language
	PhaseConsent  Phase = "consent"  // asked to agree that we keep their data
	PhaseMenu     Phase = "menu"     // choosing a course
	PhaseLesson   Phase = "lesson"   // inside a lesson, at Position.Step
	PhaseDone     Phase = "done"     // a lesson just ended
	PhaseErase    Phase = "erase"    // asked to confirm that their data be deleted
	PhaseAsk      Phase = "ask"      // asked for their question to their coach
)

// Position is a place in the curriculum.
type Position struct {
	Course string `json:"course,omitempty"`
	Lesson string `json:"lesson,omitempty"`
	Step   string `json:"step,omitempty"`
	// Index is the step's place in the lesson, so that a learner whose step
	// was removed by an edit resumes at the nearest one.
	Index int `json:"index,omitempty"`
}

// Completion records a finished lesson.
type Completion struct {
	Lesson string    `json:"lesson"`
	Score  int       `json:"score"` // percent of questions right at the first try
	At     time.Time `json:"at"`
}

// Learner is everything Darsi keeps about one learner on one channel.
type Learner struct {
	ID       string  `json:"id"`
	Channel  Channel `json:"channel"`
	Lang     Lang    `json:"lang,omitempty"`
	Consent  bool    `json:"consent"`
	OptedOut bool    `json:"opted_out"`
	Cohort   string  `json:"cohort,omitempty"`
	// Name is the name the learner shows on WhatsApp (Twilio's
	// ProfileName), kept once they agreed to the data terms: coaches see
	// it beside a masked number.
	Name string `json:"name,omitempty"`
	// BSUID is the address the learner also has on WhatsApp by their
	// business-scoped user id ("whatsapp:MA.…"), learnt from a message that
	// carried it beside their number (Twilio's ExternalUserId): a later
	// message from that address alone reaches this learner (see
	// app.Aliases). Empty for a learner known by their BSUID alone.
	BSUID string `json:"bsuid,omitempty"`

	Phase Phase `json:"phase,omitempty"`
	// Resume is the phase to return to after a detour (language, erase).
	Resume Phase `json:"resume,omitempty"`
	Position
	// Tries counts wrong answers to the current question.
	Tries int `json:"tries,omitempty"`
	// Asked and Right count the questions of the current lesson, and those
	// answered right at the first try.
	Asked int `json:"asked,omitempty"`
	Right int `json:"right,omitempty"`
	// Misses counts consecutive inputs the bot did not understand.
	Misses int `json:"misses,omitempty"`
	// Unclear is the last message the bot did not understand, kept (cut
	// short) after the second miss in a row, when the bot offers to pass
	// it on to the learner's coach; the next message understood clears it.
	Unclear string `json:"unclear,omitempty"`

	// Review is the question of a spaced review the outbox sent and the
	// learner has not answered yet, as "lesson/step".
	Review string `json:"review,omitempty"`

	// Outreach is what the bot will start on its own for the learner:
	// nudges after silence, spaced reviews of finished lessons.
	Outreach Outreach `json:"outreach,omitzero"`

	Vars       map[string]string `json:"vars,omitempty"`
	Indicators map[string]string `json:"indicators,omitempty"`
	// Followups are the answers to surveys asked again weeks after a
	// course (a course's followup), one per indicator, the latest kept:
	// Indicators holds the answers given at the end of the course.
	Followups []FollowupAnswer `json:"followups,omitempty"`
	Completed []Completion     `json:"completed,omitempty"`

	LastInboundAt time.Time `json:"last_inbound_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	// Version increases by one with every saved change; stores use it for
	// compare-and-set.
	Version int64 `json:"version"`
}

// Outreach is what the bot will start on its own for a learner. The
// learner's record carries it, so that a message costs no write to a key
// other learners share: the store's due index brings the learner back at
// At, and whatever is due then is decided against the learner's state at
// that time (a nudge against their real last message).
type Outreach struct {
	// At is when the learner is next due, as the store's due index holds
	// them; zero when nothing is pending (the learner is not indexed).
	// It may be earlier than anything pending: the learner is then looked
	// at early, and indexed again.
	At time.Time `json:"at,omitzero"`
	// Nudges counts the nudges sent since the learner last wrote.
	Nudges int `json:"nudges,omitempty"`
	// Reviews are the spaced reviews not asked yet.
	Reviews []PendingReview `json:"reviews,omitempty"`
}

// FollowupAnswer is a learner's answer to a follow-up survey.
type FollowupAnswer struct {
	Survey string    `json:"survey"` // the indicator
	Value  string    `json:"value"`
	At     time.Time `json:"at"`
}

// FollowupPrefix marks the Step of a PendingReview that is a follow-up
// survey rather than a review, and a Learner.Review that awaits the
// answer to one.
const FollowupPrefix = "followup:"

// PendingReview is a spaced review waiting for its time: a lesson's key
// question, asked again.
type PendingReview struct {
	Lesson string    `json:"lesson"`
	Step   string    `json:"step"`
	At     time.Time `json:"at"`
}

// Done reports whether the learner completed the lesson.
func (l *Learner) Done(lesson string) bool {
	for _, c := range l.Completed {
		if c.Lesson == lesson {
			return true
		}
	}
	return false
}

// Media is an attachment on an inbound message.
type Media struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
}

// Inbound is one message from a learner, whatever the channel.
type Inbound struct {
	// ID identifies the message for idempotency (Twilio's MessageSid). A
	// message delivered twice with the same ID is applied once.
	ID string
	// From is the learner's ID (see LearnerID).
	From    string
	Channel Channel
	Text    string
	Media   []Media
	// Payload is what a tapped WhatsApp button or list row carries
	// (Twilio's ButtonPayload or ListId): for Darsi's own choices, the
	// option's id (see ChoicePayload), whatever the button said.
	Payload     string
	ProfileName string
	// BSUID is the sender's address by their WhatsApp business-scoped user
	// id ("whatsapp:MA.…") when the message came from their number and
	// carried it too; empty otherwise.
	BSUID     string
	Latitude  string
	Longitude string
	// JoinCohort is set by the caller when the message asks to join a
	// cohort (a join code alone, or after a join word): what the code
	// turned out to be. The engine applies it; nil means no join.
	JoinCohort *JoinCohort
}

// JoinCohort is a join code a learner sent, as the caller looked it up.
type JoinCohort struct {
	Code  string // the code as stored (upper case), or as typed when not Found
	Name  string // the cohort's name when Found
	Found bool
	// Explicit is set when the code followed a join word ("join K7M2QX"):
	// the learner surely meant to join, even if the code is unknown.
	Explicit bool
}

// Reply is one message the bot sends back.
type Reply struct {
	Text  string `json:"text"`
	Media string `json:"media,omitempty"` // a URL
	// Choice is set when the reply asks the learner to pick one of a few
	// options: Text still holds the question with its numbered options (as
	// SMS and TwiML send it), and a channel that can show buttons or a
	// list sends Choice instead.
	Choice *Choice `json:"choice,omitempty"`
}

// Choice is a question with options a learner may tap instead of typing
// their number.
type Choice struct {
	// Scope names the question for as long as its options mean the same:
	// "lang", "menu", or a lesson step as "lesson/step". A tap answers the
	// question of its scope only.
	Scope string `json:"scope"`
	Lang  Lang   `json:"lang,omitempty"` // "" for the language menu, in every language
	// Body is the question without its numbered options, and Options the
	// options in order, as the learner reads them (direction marks added).
	Body    string         `json:"body"`
	Options []ChoiceOption `json:"options"`
	// Button opens a list of options (WhatsApp's list picker).
	Button string `json:"button,omitempty"`
}

// ChoiceOption is one option of a Choice.
type ChoiceOption struct {
	// ID is what a tap on the option sends back (see ChoicePayload): the
	// scope and the option's number, never its wording.
	ID    string `json:"id"`
	Title string `json:"title"`
	// Description is said under the title in a list (WhatsApp's list
	// picker shows it), such as a language's name in other scripts.
	Description string `json:"description,omitempty"`
}

// choicePrefix starts the payload of Darsi's options.
const choicePrefix = "darsi:"

// maxPayload bounds a payload Darsi reads: Twilio's ids are at most 200
// characters.
const maxPayload = 200

// ChoicePayload is the id of option n (from 1) of the question scope:
// "darsi:<scope>#<n>".
func ChoicePayload(scope string, n int) string {
	return choicePrefix + scope + "#" + strconv.Itoa(n)
}

// ParseChoicePayload is the inverse of ChoicePayload. It reports false for
// anything else: a payload of someone else's button, a malformed one.
func ParseChoicePayload(p string) (scope string, n int, ok bool) {
	if len(p) > maxPayload || !strings.HasPrefix(p, choicePrefix) {
		return "", 0, false
	}
	i := strings.LastIndexByte(p, '#')
	if i < len(choicePrefix) {
		return "", 0, false
	}
	scope, num := p[len(choicePrefix):i], p[i+1:]
	if scope == "" || len(num) == 0 || len(num) > 2 || num[0] == '0' {
		return "", 0, false
	}
	for i := 0; i < len(num); i++ {
		if num[i] < '0' || num[i] > '9' {
			return "", 0, false
		}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 {
		return "", 0, false
	}
	return scope, n, true
}

// Texts returns the text of each reply.
func Texts(rs []Reply) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Text
	}
	return out
}

// Mask hides most of a phone number or learner ID for logs and coaches:
// "whatsapp:+212600000001" becomes "whatsapp:+2126******01", and a BSUID
// keeps its country and four characters: "whatsapp:MA.1502576394655843"
// becomes "whatsapp:MA.15…43".
func Mask(id string) string {
	ch, number := SplitLearnerID(id)
	if ValidBSUID(number) {
		if ch == "" {
			return maskBSUID(number)
		}
		return string(ch) + ":" + maskBSUID(number)
	}
	r := []rune(number)
	if len(r) > 6 {
		for i := 5; i < len(r)-2; i++ {
			r[i] = '*'
		}
	} else {
		for i := range r {
			r[i] = '*'
		}
	}
	if ch == "" {
		return string(r)
	}
	return string(ch) + ":" + string(r)
}
