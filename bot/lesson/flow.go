package lesson

import (
	"sort"

	"github.com/darsi-ma/darsi/bot"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Successors returns the indexes of the steps that can follow step i (len of
// Steps stands for the end of the lesson). Unknown goto targets are left out.
func (l *Lesson) Successors(i int) []int {
	s := l.Steps[i]
	target := func(g string) int {
		switch g {
		case "":
			return i + 1
		case End:
			return len(l.Steps)
		}
		if j, ok := l.index[g]; ok {
			return j
		}
		return -1
	}
	var next []int
	add := func(j int) {
		if j < 0 {
			return
		}
		for _, x := range next {
			if x == j {
				return
			}
		}
		next = append(next, j)
	}
	if len(s.Options) > 0 {
		for _, o := range s.Options {
			if o.Goto != "" {
				add(target(o.Goto))
			} else {
				add(target(s.Goto))
			}
		}
		return next
	}
	add(target(s.Goto))
	return next
}

// Next returns the id of the step after step i when no option chose a goto,
// or "" at the end of the lesson.
func (l *Lesson) Next(i int, gotoID string) string {
	if gotoID == "" {
		gotoID = l.Steps[i].Goto
	}
	switch gotoID {
	case "":
		if i+1 < len(l.Steps) {
			return l.Steps[i+1].ID
		}
		return ""
	case End:
		return ""
	}
	return gotoID
}

// sets returns the variables each step sets.
func (s *Step) sets() []string {
	switch s.Kind {
	case Input:
		return []string{s.Var}
	case Calc:
		names := make([]string, len(s.Formulas))
		for i, f := range s.Formulas {
			names[i] = f.Var
		}
		return names
	}
	return nil
}

// texts returns every text of the step.
func (s *Step) texts() []Text {
	ts := []Text{s.Say, s.Ask}
	for _, o := range s.Options {
		ts = append(ts, o.Text, o.Feedback)
	}
	return ts
}

type varSet map[string]bool

// checkFlow checks gotos, compiles calcs and checks that every variable is
// set on every path before it is used.
func (d *fileDecoder) checkFlow(les *Lesson) {
	for _, s := range les.Steps {
		for _, g := range gotos(s) {
			if _, ok := les.index[g.target]; !ok && g.target != End {
				d.l.probs = append(d.l.probs, Problem{File: d.name, Pos: g.pos,
					Msg: "goto " + quote(g.target) + ": no such step in lesson " + quote(les.ID)})
			}
		}
	}

	d.checkLoops(les)

	// numbers lists every variable a calc may read: number inputs and calc
	// results anywhere in the lesson. Flow analysis below says whether each
	// is set in time.
	numbers := map[string]any{}
	for _, s := range les.Steps {
		if s.Kind == Input && s.InputKind == "number" {
			numbers[s.Var] = 0.0
		}
		for _, f := range s.Formulas {
			numbers[f.Var] = 0.0
		}
	}
	for _, s := range les.Steps {
		for i := range s.Formulas {
			f := &s.Formulas[i]
			prog, err := expr.Compile(f.Source, expr.Env(numbers), expr.AsFloat64())
			if err != nil {
				d.l.probs = append(d.l.probs, Problem{File: d.name, Pos: f.Pos,
					Msg: "calc " + f.Var + " does not compile: " + firstLine(err.Error())})
				continue
			}
			f.Program = prog
		}
	}

	// in[i] is the set of variables set on every path to step i; nil means
	// not reached yet. A forward "must" analysis: intersect over
	// predecessors until nothing changes.
	in := make([]varSet, len(les.Steps)+1)
	in[0] = varSet{}
	for changed := true; changed; {
		changed = false
		for i, s := range les.Steps {
			if in[i] == nil {
				continue
			}
			out := varSet{}
			for v := range in[i] {
				out[v] = true
			}
			for _, v := range s.sets() {
				out[v] = true
			}
			for _, j := range les.Successors(i) {
				if in[j] == nil {
					in[j] = out
					changed = true
					continue
				}
				if next, shrunk := intersect(in[j], out); shrunk {
					in[j] = next
					changed = true
				}
			}
		}
	}

	for i, s := range les.Steps {
		if in[i] == nil {
			continue // unreachable: nothing is used from here
		}
		avail := varSet{}
		for v := range in[i] {
			avail[v] = true
		}
		for _, f := range s.Formulas {
			for _, name := range identifiers(f.Source) {
				if _, isVar := numbers[name]; isVar && !avail[name] {
					d.l.probs = append(d.l.probs, Problem{File: d.name, Pos: f.Pos,
						Msg: "variable " + quote(name) + " is used before it is set"})
				}
			}
			avail[f.Var] = true
		}
		for _, t := range s.texts() {
			d.checkPlaceholders(t, avail)
		}
	}
}

func (d *fileDecoder) checkPlaceholders(t Text, avail varSet) {
	seen := map[string]bool{}
	langs := make([]string, 0, len(t.ByLang))
	for lang := range t.ByLang {
		langs = append(langs, string(lang))
	}
	sort.Strings(langs)
	for _, lang := range langs {
		for _, name := range Placeholders(t.ByLang[bot.Lang(lang)]) {
			if !avail[name] && !seen[name] {
				seen[name] = true
				d.l.probs = append(d.l.probs, Problem{File: d.name, Pos: t.Pos,
					Msg: "variable " + quote(name) + " is used before it is set"})
			}
		}
	}
}

// checkLoops reports gotos that would loop forever through steps that never
// wait for the learner.
func (d *fileDecoder) checkLoops(les *Lesson) {
	const (
		unseen = iota
		active
		finished
	)
	state := make([]int, len(les.Steps))
	var visit func(i int) bool
	visit = func(i int) bool {
		if i >= len(les.Steps) || les.Steps[i].Waits() || state[i] == finished {
			return false
		}
		if state[i] == active {
			return true
		}
		state[i] = active
		for _, j := range les.Successors(i) {
			if visit(j) {
				return true
			}
		}
		state[i] = finished
		return false
	}
	for i, s := range les.Steps {
		if state[i] == unseen && visit(i) {
			d.l.probs = append(d.l.probs, Problem{File: d.name, Pos: s.Pos,
				Msg: "step " + quote(s.ID) + " starts a loop of gotos with no question: the lesson would never end"})
			return
		}
	}
}

// intersect returns a ∩ b, and whether that is smaller than a. The sets
// are never changed in place, so successors may share them.
func intersect(a, b varSet) (varSet, bool) {
	next := varSet{}
	for v := range a {
		if b[v] {
			next[v] = true
		}
	}
	return next, len(next) < len(a)
}

type gotoRef struct {
	target string
	pos    Pos
}

func gotos(s *Step) []gotoRef {
	var out []gotoRef
	if s.Goto != "" {
		out = append(out, gotoRef{s.Goto, s.Pos})
	}
	for _, o := range s.Options {
		if o.Goto != "" {
			out = append(out, gotoRef{o.Goto, o.Pos})
		}
	}
	return out
}

// identifiers returns the names an expression reads.
func identifiers(src string) []string {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	c := &identCollector{}
	ast.Walk(&tree.Node, c)
	return c.names
}

type identCollector struct{ names []string }

func (c *identCollector) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		c.names = append(c.names, id.Value)
	}
}

func quote(s string) string { return "\"" + s + "\"" }

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
