// Package lessons embeds the lesson files, so that the darsi binary ships
// its curriculum and runs with nothing beside it.
package lessons

import "embed"

// FS holds every course folder: course.yaml and one YAML file per lesson.
//
//go:embed */*.yaml
var FS embed.FS

// Media holds the files that lesson steps send (their media: key), under
// media/: a step's "costing/tagine-cost.png" is media/costing/tagine-cost.png
// here, and darsi serve answers it at /media/costing/tagine-cost.png.
//
//go:embed media
var Media embed.FS
