package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
)

// defaultChatFrom is the number the terminal chat speaks from by default.
const defaultChatFrom = "+212600000001"

// chatLine is one scripted message of "darsi chat --jsonl".
type chatLine struct {
	From string `json:"from,omitempty"`
	Text string `json:"text"`
}

// chatReply is one line "darsi chat --jsonl" prints.
type chatReply struct {
	From    string   `json:"from"`
	Replies []string `json:"replies"`
	Error   string   `json:"error,omitempty"`
}

func chat(ctx context.Context, cfg Config, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	from := fs.String("from", defaultChatFrom, "the learner's phone number")
	jsonl := fs.Bool("jsonl", false, `scripted: read {"from":…,"text":…} lines, print {"from":…,"replies":[…]} lines`)
	cfg.storeFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, s, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	a.Cohorts = s
	if *jsonl {
		return chatJSONL(ctx, a, *from, stdin, stdout)
	}
	return chatInteractive(ctx, a, *from, stdin, stdout)
}

func send(ctx context.Context, a *app.App, from, text string) ([]bot.Reply, error) {
	res, err := a.HandleInbound(ctx, bot.Inbound{
		From:    bot.LearnerID(bot.Chat, from),
		Channel: bot.Chat,
		Text:    text,
	})
	return res.Replies, err
}

// chatJSONL answers one JSON line per input line. A line that is not valid
// gets an error line, and the exit status says that something failed.
func chatJSONL(ctx context.Context, a *app.App, from string, stdin io.Reader, stdout io.Writer) error {
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	failed := 0
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var in chatLine
		if err := json.Unmarshal([]byte(line), &in); err != nil {
			failed++
			enc.Encode(chatReply{From: from, Replies: []string{}, Error: fmt.Sprintf("line %d: not a JSON object: %v", n, err)})
			continue
		}
		if in.From != "" {
			from = in.From
		}
		replies, err := send(ctx, a, from, in.Text)
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		if err := enc.Encode(chatReply{From: from, Replies: bot.Texts(replies)}); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d input lines were not valid", failed)
	}
	return nil
}

func chatInteractive(ctx context.Context, a *app.App, from string, stdin io.Reader, stdout io.Writer) error {
	fmt.Fprintf(stdout, "Darsi chat as %s. Type a message (\"salam\" to start); Ctrl-D to quit.\n", from)
	sc := bufio.NewScanner(stdin)
	for {
		fmt.Fprint(stdout, "> ")
		if !sc.Scan() {
			fmt.Fprintln(stdout)
			return sc.Err()
		}
		replies, err := send(ctx, a, from, sc.Text())
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		for _, r := range replies {
			fmt.Fprintln(stdout, indent(r.Text))
		}
	}
}

// indent sets the bot's replies apart from what the learner typed.
func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
