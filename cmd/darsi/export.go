package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
)

// exportLearnerUsage is the usage line of "darsi export learner".
const exportLearnerUsage = "usage: darsi export learner ID [--store …], ID the learner's address such as whatsapp:+212600000001"

// exportLearner is "darsi export learner ID": one learner's whole record,
// for staff answering that learner's request for their data, as one JSON
// object with the keys of "darsi export learners" (app.Export). It logs, to
// stderr, that one learner was exported, their id masked.
//
// args are what follows the word "learner", flags already parsed into
// cfg. It fails without an ID or with more than one, with an ID that is not a
// learner's address (see checkLearnerID), when the store cannot be opened,
// and when the store has no such learner; errors show the id masked, as
// logs do.
func exportLearner(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		return errors.New(exportLearnerUsage)
	}
	id := args[0]
	if err := checkLearnerID(id); err != nil {
		return err
	}
	s, err := cfg.openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	l, err := s.Get(ctx, id)
	if bot.KindOf(err) == bot.NotFound {
		return fmt.Errorf("export learner: no learner %s in the store", bot.Mask(id))
	}
	if err != nil {
		return fmt.Errorf("export learner %s: %w", bot.Mask(id), err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	e := app.Export(l)
	e.Key = s.Keys().Learner(l.ID)
	if err := enc.Encode(e); err != nil {
		return err
	}
	cfg.logger(stderr).Info("export of one learner", "learner", bot.Mask(id), "store", storeKind(cfg.Store))
	return nil
}

// checkLearnerID checks that id is a learner's address as the store keys
// learners: a channel (whatsapp, sms, chat or sim), a colon, and an E.164
// number, such as whatsapp:+212600000001, or for WhatsApp a BSUID, such as
// whatsapp:MA.1502576394655843 (bot.CheckAddress). Its error shows id
// masked.
func checkLearnerID(id string) error {
	ch, number := bot.SplitLearnerID(id)
	ok := false
	switch ch {
	case bot.WhatsApp, bot.SMS:
		ok = bot.CheckAddress(id) == nil
	case bot.Chat, bot.Sim:
		ok = e164.MatchString(number)
	}
	if !ok {
		return fmt.Errorf("export learner %q: want the learner's address: whatsapp, sms, chat or sim, a colon and an E.164 number, such as whatsapp:+212600000001, or whatsapp: and a BSUID, such as whatsapp:MA.1502576394655843", bot.Mask(id))
	}
	return nil
}
