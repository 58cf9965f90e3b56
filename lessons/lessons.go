// Package lessons embeds the lesson files, so that the darsi binary ships
// its curriculum and runs with nothing beside it.
package lessons

import "embed"

// FS holds every course folder: course.yaml and one YAML file per lesson.
//
//go:embed */*.yaml
var FS embed.FS
