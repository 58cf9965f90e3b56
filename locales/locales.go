// Package locales embeds the bot's message files, so that the darsi binary
// ships its texts and keywords and runs with nothing beside it.
package locales

import "embed"

// FS holds the go-i18n message files, one per language and named by
// Darsi's own language codes (ary.yaml, ar.yaml, fr.yaml, zgh.yaml), and
// keywords.yaml, the words learners type to steer the bot. Package locale
// reads them with Load. dash/fr.yaml and dash/ar.yaml hold the coaches'
// dashboard's words, read with locale.LoadDashboard.
//
//go:embed *.yaml dash/*.yaml
var FS embed.FS
