package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/darsi-ma/darsi/bot/lesson"
)

func lint(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	paths := fs.Args()
	if len(paths) == 0 {
		paths = []string{"lessons"}
	}
	code := 0
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			fmt.Fprintln(stderr, "darsi lint:", err)
			code = 1
			continue
		}
		if !info.IsDir() {
			fmt.Fprintf(stderr, "darsi lint: %s: give a lesson folder (a course folder or the folder of courses)\n", p)
			code = 1
			continue
		}
		cat, err := lesson.Load(os.DirFS(p), strings.TrimSuffix(p, "/"))
		var probs lesson.Problems
		switch {
		case errors.As(err, &probs):
			for _, pr := range probs {
				fmt.Fprintln(stdout, pr)
			}
			code = 1
		case err != nil:
			fmt.Fprintln(stderr, "darsi lint:", err)
			code = 1
		default:
			fmt.Fprintf(stdout, "%s: %d courses, %d lessons, no problems\n", p, len(cat.Courses), cat.Count())
		}
	}
	return code
}
