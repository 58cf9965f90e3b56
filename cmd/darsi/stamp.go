package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/lesson"
)

// stamp records on every text of the given lesson files or folders that
// its translations (in --lang) were made from the current source text, so
// that lint can later say which translations a source edit made stale.
func stamp(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("stamp", flag.ContinueOnError)
	flags.SetOutput(stderr)
	langList := flags.String("lang", "ary,ar,fr,zgh", "the translations just made or checked, comma-separated (the source language is skipped)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: darsi stamp [--lang ary,zgh] FILE|FOLDER…")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	var langs []bot.Lang
	for _, s := range strings.Split(*langList, ",") {
		l := bot.Lang(strings.TrimSpace(s))
		if !l.Valid() {
			fmt.Fprintf(stderr, "darsi stamp: unknown language %q (want ary, ar, fr, zgh)\n", s)
			return 2
		}
		langs = append(langs, l)
	}
	if flags.NArg() == 0 {
		flags.Usage()
		return 2
	}
	code, total := 0, 0
	for _, root := range flags.Args() {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			// The glossary holds terms and names, not translations.
			if d.IsDir() || (filepath.Ext(p) != ".yaml" && filepath.Ext(p) != ".yml") || d.Name() == lesson.GlossaryFile {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out, n, err := lesson.Stamp(data, langs)
			if err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", p, err)
				code = 1
				return nil
			}
			if n == 0 {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			if err := os.WriteFile(p, out, info.Mode().Perm()); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: %d texts stamped\n", p, n)
			total += n
			return nil
		})
		if err != nil {
			fmt.Fprintln(stderr, "darsi stamp:", err)
			code = 1
		}
	}
	fmt.Fprintf(stdout, "%d texts stamped\n", total)
	return code
}
