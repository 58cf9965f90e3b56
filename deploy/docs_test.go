package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// mdLink finds Markdown links: [text](target), the target without spaces.
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// inlineCode finds `code`, where a link is only text.
var inlineCode = regexp.MustCompile("`[^`]*`")

// TestDocLinks: every relative link in README.md and docs/*.md leads to a
// file of the repository and, with #anchor, to a heading of that file (or
// of the same file for a link that is only #anchor). Operators follow them
// from the runbook.
func TestDocLinks(t *testing.T) {
	files, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../README.md")
	anchorsOf := map[string]map[string]bool{}
	anchors := func(path string) map[string]bool {
		if a, ok := anchorsOf[path]; ok {
			return a
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		anchorsOf[path] = headingAnchors(data)
		return anchorsOf[path]
	}
	links := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		inCode := false
		for i, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				inCode = !inCode
				continue
			}
			if inCode {
				continue
			}
			line = inlineCode.ReplaceAllString(line, "")
			for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				links++
				where := filepath.Base(file) + ":" + strconv.Itoa(i+1)
				path, anchor, _ := strings.Cut(target, "#")
				dest := file
				if path != "" {
					dest = filepath.Join(filepath.Dir(file), path)
					if _, err := os.Stat(dest); err != nil {
						t.Errorf("%s: link to %s: no such file", where, target)
						continue
					}
				}
				if anchor != "" && strings.HasSuffix(dest, ".md") && !anchors(dest)[anchor] {
					t.Errorf("%s: link to %s: %s has no heading with the anchor #%s", where, target, filepath.Base(dest), anchor)
				}
			}
		}
	}
	if links < 10 {
		t.Errorf("%d relative links found: the search is broken", links)
	}
}
