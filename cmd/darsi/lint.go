package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/lint"
)

// lint checks lesson folders: the loader's problems and lint's medium
// checks as "file:line:col: message" lines, then a summary table per
// folder. It exits 1 when there is an error (or, with --strict, a warning).
func lintCmd(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("lint", flag.ContinueOnError)
	flags.SetOutput(stderr)
	format := flags.String("format", "text", "text (problems, then a summary table) or json")
	strict := flags.Bool("strict", false, "fail on warnings too")
	quiet := flags.Bool("q", false, "print problems only, no summary table")
	notes := flags.Bool("notes", false, "list notes too (options too long for WhatsApp buttons, characters that make an SMS UCS-2)")
	locales := flags.String("locales", "", "the folder of the bot's messages to check too (default: locales beside the lesson folder, when there is one)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: darsi lint [--format text|json] [--strict] [--notes] [-q] [FOLDER…]  (default: lessons)")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "darsi lint: unknown format %q (want text or json)\n", *format)
		return 2
	}
	paths := flags.Args()
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
		prefix := strings.TrimSuffix(p, "/")
		opts := lint.Options{
			Media:       lintMedia(p),
			MediaPrefix: filepath.ToSlash(filepath.Join(prefix, "media")),
		}
		if dir := lintLocales(p, *locales); dir != "" {
			opts.Locales, opts.LocalesPrefix = os.DirFS(dir), filepath.ToSlash(filepath.Clean(dir))
		}
		if g, probs := parentGlossary(p); len(probs) > 0 {
			for _, f := range probs {
				fmt.Fprintln(stdout, f)
			}
			code = 1
			continue
		} else {
			opts.Glossary = g
		}
		_, rep, err := lint.Load(os.DirFS(p), prefix, opts)
		if err != nil {
			fmt.Fprintln(stderr, "darsi lint:", err)
			code = 1
			continue
		}
		if rep.Errors > 0 || (*strict && rep.Warnings > 0) {
			code = 1
		}
		switch {
		case *format == "json":
			err = rep.WriteJSON(stdout)
		case len(rep.Lessons) == 0:
			// The loader refused the folder: only its problems.
			err = rep.WriteFindings(stdout, *notes)
			fmt.Fprintf(stderr, "%s: %d errors\n", p, rep.Errors)
		default:
			err = rep.WriteFindings(stdout, *notes)
			if err == nil && !*quiet {
				if rep.Errors+rep.Warnings > 0 || (*notes && rep.Notes > 0) {
					fmt.Fprintln(stdout)
				}
				err = rep.WriteSummary(stdout)
			}
		}
		if err != nil {
			fmt.Fprintln(stderr, "darsi lint:", err)
			return 1
		}
	}
	return code
}

// parentGlossary returns the glossary of the folder of courses above a
// course folder, when dir has none of its own (lint.Load reads that one).
func parentGlossary(dir string) (*lint.Glossary, []lint.Finding) {
	if _, err := os.Stat(filepath.Join(dir, lesson.GlossaryFile)); err == nil {
		return nil, nil
	}
	name := filepath.Join(dir, "..", lesson.GlossaryFile)
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, nil
	}
	return lint.ParseGlossary(data, filepath.ToSlash(filepath.Clean(name)))
}

// lintLocales returns the folder of the bot's messages to lint beside the
// lesson folder dir: the one given, or a "locales" folder holding fr.yaml
// beside dir, or "" for none.
func lintLocales(dir, given string) string {
	if given != "" {
		return given
	}
	d := filepath.Join(dir, "..", "locales")
	if _, err := os.Stat(filepath.Join(d, "fr.yaml")); err == nil {
		return d
	}
	return ""
}

// lintMedia returns the media folder of a lesson folder, or nil when it
// has none. A course folder's media are in the folder of courses above it.
func lintMedia(dir string) fs.FS {
	if m := folderMediaFS(dir); m != nil {
		return m
	}
	return folderMediaFS(filepath.Join(dir, ".."))
}

// folderMediaFS returns dir's media folder, or nil when there is none.
func folderMediaFS(dir string) fs.FS {
	d := filepath.Join(dir, mediaFolder)
	if info, err := os.Stat(d); err == nil && info.IsDir() {
		return os.DirFS(d)
	}
	return nil
}
