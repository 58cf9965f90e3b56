package twilio

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/twilio/twilio-go/twiml"

	"github.com/darsi-ma/darsi/bot"
)

// xmlDecl is the declaration twilio-go's twiml package writes.
const xmlDecl = `<?xml version="1.0" encoding="UTF-8"?>`

// twimlMessage is one <Message>: text alone, or a <Body> and a <Media>.
type twimlMessage struct {
	Text  string
	Media string
}

// TwiML renders replies as a TwiML messaging response, in as few <Message>s
// as possible, because each <Message> is a separate message whose order
// Twilio does not guarantee (and each costs on SMS).
//
// Consecutive text replies share a <Message>, separated by a blank line,
// while its body stays within bot.MaxBody (as bot.BodyLen counts); a reply
// that does not fit starts the next one. A single reply longer than that is
// split at paragraph, line
// or space boundaries (or anywhere, as a last resort). A reply with media
// gets a <Message> of its own, with a <Body> and a <Media>, so that its text
// stays its caption. Replies with neither text nor media are dropped; no
// replies at all give an empty <Response/>, which acknowledges the message
// and sends nothing.
//
// The document is rendered by twilio-go's twiml package. Text is cleaned
// first: line ends are normalised to "\n" (as an XML parser would) and
// characters XML cannot carry (NUL, other control characters, invalid
// UTF-8) become U+FFFD instead of making the document invalid.
func TwiML(replies []bot.Reply) ([]byte, error) {
	ms := group(replies)
	if len(ms) == 0 {
		return []byte(xmlDecl + "<Response/>"), nil
	}
	verbs := make([]twiml.Element, 0, len(ms))
	for _, m := range ms {
		if m.Media == "" {
			verbs = append(verbs, &twiml.MessagingMessage{Body: xmlText(m.Text)})
			continue
		}
		var inner []twiml.Element
		if m.Text != "" {
			inner = append(inner, &twiml.MessagingBody{Message: xmlText(m.Text)})
		}
		inner = append(inner, &twiml.MessagingMedia{Url: xmlText(m.Media)})
		verbs = append(verbs, &twiml.MessagingMessage{InnerElements: inner})
	}
	doc, err := twiml.Messages(verbs)
	if err != nil {
		return nil, bot.E("twilio.TwiML", bot.Internal, err)
	}
	return []byte(doc), nil
}

// xmlText replaces what XML cannot carry with U+FFFD.
func xmlText(s string) string {
	return strings.Map(func(r rune) rune {
		if !xmlChar(r) { // an invalid byte is already utf8.RuneError
			return utf8.RuneError
		}
		return r
	}, s)
}

// xmlChar reports whether XML 1.0 allows r in a document.
func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		0x20 <= r && r <= 0xD7FF || 0xE000 <= r && r <= 0xFFFD || 0x10000 <= r && r <= 0x10FFFF
}

// newlines normalises line ends to "\n".
var newlines = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// group joins replies into as few messages as the rules of TwiML allow.
func group(replies []bot.Reply) []twimlMessage {
	var (
		out []twimlMessage
		cur strings.Builder
		n   int // bot.BodyLen of cur
	)
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, twimlMessage{Text: cur.String()})
			cur.Reset()
			n = 0
		}
	}
	addText := func(chunk string) {
		l := bot.BodyLen(chunk)
		if cur.Len() > 0 && n+2+l > bot.MaxBody {
			flush()
		}
		if cur.Len() > 0 {
			cur.WriteString("\n\n")
			n += 2
		}
		cur.WriteString(chunk)
		n += l
	}
	for _, r := range replies {
		chunks := split(newlines.Replace(r.Text), bot.MaxBody)
		if r.Media == "" {
			for _, c := range chunks {
				addText(c)
			}
			continue
		}
		flush()
		m := twimlMessage{Media: r.Media}
		if len(chunks) > 0 {
			m.Text, chunks = chunks[0], chunks[1:]
		}
		out = append(out, m)
		for _, c := range chunks {
			addText(c)
		}
	}
	flush()
	return out
}

// split cuts s into pieces of at most max, as bot.BodyLen counts, preferring a
// paragraph break, then a line break, then a space, in the second half of
// the allowed window. Blank text gives no pieces.
func split(s string, max int) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var out []string
	for bot.BodyLen(s) > max {
		limit := prefixLen(s, max)
		cut, skip := limit, 0
		best := -1
		for _, sep := range []string{"\n\n", "\n", " "} {
			i := strings.LastIndex(s[:limit], sep)
			if i <= 0 {
				continue
			}
			if i >= limit/2 {
				cut, skip = i, len(sep)
				best = i
				break
			}
			if i > best {
				best, cut, skip = i, i, len(sep)
			}
		}
		if best < 0 {
			cut, skip = limit, 0
		}
		if head := strings.TrimRightFunc(s[:cut], unicode.IsSpace); head != "" {
			out = append(out, head)
		}
		s = strings.TrimLeftFunc(s[cut+skip:], unicode.IsSpace)
	}
	if strings.TrimSpace(s) != "" {
		out = append(out, s)
	}
	return out
}

// prefixLen returns the byte length of the longest prefix of s whose
// bot.BodyLen is at most max, never cutting a character in two. It is at
// least one character, so that splitting always progresses.
func prefixLen(s string, max int) int {
	n := 0
	for i, r := range s {
		// An invalid byte is utf8.RuneError here, one unit as in BodyLen.
		w := utf16.RuneLen(r)
		if n+w > max {
			if i == 0 {
				_, size := utf8.DecodeRuneInString(s)
				return size
			}
			return i
		}
		n += w
	}
	return len(s)
}

// RESTMessages returns the messages a turn's replies go as over the REST
// API, in order, when one of them is interactive (see Interactive): runs
// of replies without an interactive choice are joined and split as TwiML
// does (see TwiML); a reply with one is a message of its own, after its
// media alone when it has some (a content carries no media), with its
// choice and its numbered lines, which go instead if the content cannot.
func RESTMessages(replies []bot.Reply) []bot.Reply {
	var out, run []bot.Reply
	flush := func() {
		for _, m := range group(run) {
			out = append(out, bot.Reply{Text: m.Text, Media: m.Media})
		}
		run = run[:0]
	}
	for _, r := range replies {
		if ContentType(r.Choice) == "" {
			r.Choice = nil
			run = append(run, r)
			continue
		}
		if r.Media != "" {
			run = append(run, bot.Reply{Media: r.Media})
		}
		flush()
		r.Media = ""
		if chunks := split(newlines.Replace(r.Text), bot.MaxBody); len(chunks) > 0 {
			r.Text = chunks[0]
		}
		out = append(out, r)
	}
	flush()
	return out
}
