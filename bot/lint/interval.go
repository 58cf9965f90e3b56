package lint

import (
	"math"
	"strconv"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/darsi-ma/darsi/bot/lesson"
)

// interval is the closed range of values an expression can take; the ends
// may be infinite. The analysis is sound: the true value always lies in the
// interval, which may be wider than needed.
type interval struct{ lo, hi float64 }

var anything = interval{math.Inf(-1), math.Inf(1)}

func point(x float64) interval { return interval{x, x} }

func (a interval) hasZero() bool { return a.lo <= 0 && a.hi >= 0 }

func (a interval) union(b interval) interval {
	return interval{math.Min(a.lo, b.lo), math.Max(a.hi, b.hi)}
}

func (a interval) String() string {
	f := func(x float64) string {
		switch {
		case math.IsInf(x, -1):
			return "−∞"
		case math.IsInf(x, 1):
			return "+∞"
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	if a.lo == a.hi {
		return f(a.lo)
	}
	return f(a.lo) + " to " + f(a.hi)
}

// mulEnd multiplies two interval ends, taking 0 × ∞ as 0: an end that is
// exactly zero keeps the product at zero.
func mulEnd(x, y float64) float64 {
	if x == 0 || y == 0 {
		return 0
	}
	return x * y
}

func span(vals ...float64) interval {
	iv := interval{math.Inf(1), math.Inf(-1)}
	for _, v := range vals {
		if math.IsNaN(v) {
			return anything
		}
		iv.lo, iv.hi = math.Min(iv.lo, v), math.Max(iv.hi, v)
	}
	return iv
}

// zeroDivision is a division whose divisor can be zero.
type zeroDivision struct {
	divisor string // the divisor's source text
	can     interval
}

// analyser evaluates expressions over intervals and records every division
// whose divisor can be zero.
type analyser struct {
	risks []zeroDivision
	// floor holds differences known not to be negative in the branch
	// being evaluated, by their source ("a - b" under "a > b ? … : …"),
	// with their least value: 0, or just above it when the comparison is
	// strict.
	floor map[string]float64
}

// evalRange evaluates expression src over the variables' ranges. A variable
// not in vars may take any value.
func evalRange(src string, vars map[string]interval) (interval, []zeroDivision) {
	tree, err := parser.Parse(src)
	if err != nil {
		return anything, nil
	}
	a := &analyser{}
	return a.eval(tree.Node, vars), a.risks
}

func (a *analyser) eval(n ast.Node, vars map[string]interval) interval {
	switch n := n.(type) {
	case *ast.IntegerNode:
		return point(float64(n.Value))
	case *ast.FloatNode:
		return point(n.Value)
	case *ast.IdentifierNode:
		if iv, ok := vars[n.Value]; ok {
			return iv
		}
		return anything
	case *ast.UnaryNode:
		x := a.eval(n.Node, vars)
		switch n.Operator {
		case "-":
			return interval{-x.hi, -x.lo}
		case "+":
			return x
		}
		return anything
	case *ast.BinaryNode:
		return a.binary(n, vars)
	case *ast.ConditionalNode:
		yes, no := narrow(n.Cond, vars)
		yesDiff, yesLo, noDiff, noLo := differences(n.Cond)
		return a.with(yesDiff, yesLo, func() interval { return a.eval(n.Exp1, yes) }).
			union(a.with(noDiff, noLo, func() interval { return a.eval(n.Exp2, no) }))
	case *ast.BuiltinNode:
		return a.call(n.Name, n.Arguments, vars)
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok {
			return a.call(id.Value, n.Arguments, vars)
		}
	}
	// Anything else (strings, members, closures) may be any value; its
	// parts are still checked for divisions.
	for _, c := range children(n) {
		a.eval(c, vars)
	}
	return anything
}

func (a *analyser) binary(n *ast.BinaryNode, vars map[string]interval) interval {
	switch n.Operator {
	case "&&", "and":
		yes, _ := narrow(n.Left, vars)
		a.eval(n.Left, vars)
		a.eval(n.Right, yes)
		return anything
	case "||", "or":
		_, no := narrow(n.Left, vars)
		a.eval(n.Left, vars)
		a.eval(n.Right, no)
		return anything
	}
	x, y := a.eval(n.Left, vars), a.eval(n.Right, vars)
	switch n.Operator {
	case "+":
		return interval{x.lo + y.lo, x.hi + y.hi}
	case "-":
		d := interval{x.lo - y.hi, x.hi - y.lo}
		if f, ok := a.floor[n.String()]; ok {
			d.lo = math.Max(d.lo, f)
			d.hi = math.Max(d.hi, f)
		}
		return d
	case "*":
		return span(mulEnd(x.lo, y.lo), mulEnd(x.lo, y.hi), mulEnd(x.hi, y.lo), mulEnd(x.hi, y.hi))
	case "/":
		if y.hasZero() {
			a.risks = append(a.risks, zeroDivision{divisor: n.Right.String(), can: y})
			return anything
		}
		return span(x.lo/y.lo, x.lo/y.hi, x.hi/y.lo, x.hi/y.hi)
	case "%":
		if y.hasZero() {
			a.risks = append(a.risks, zeroDivision{divisor: n.Right.String(), can: y})
		}
		m := math.Max(math.Abs(y.lo), math.Abs(y.hi))
		return interval{-m, m}
	}
	return anything
}

func (a *analyser) call(name string, args []ast.Node, vars map[string]interval) interval {
	ivs := make([]interval, len(args))
	for i, arg := range args {
		ivs[i] = a.eval(arg, vars)
	}
	switch {
	case (name == "min" || name == "max") && len(ivs) > 0:
		out := ivs[0]
		for _, iv := range ivs[1:] {
			if name == "min" {
				out = interval{math.Min(out.lo, iv.lo), math.Min(out.hi, iv.hi)}
			} else {
				out = interval{math.Max(out.lo, iv.lo), math.Max(out.hi, iv.hi)}
			}
		}
		return out
	case name == "abs" && len(ivs) == 1:
		x := ivs[0]
		if x.lo >= 0 {
			return x
		}
		if x.hi <= 0 {
			return interval{-x.hi, -x.lo}
		}
		return interval{0, math.Max(-x.lo, x.hi)}
	case (name == "round" || name == "floor" || name == "ceil") && len(ivs) == 1:
		// Rounding moves a value by less than one: a range that keeps one
		// away from zero stays away from zero.
		x := ivs[0]
		return interval{math.Floor(x.lo), math.Ceil(x.hi)}
	}
	return anything
}

// with evaluates f with the difference diff (when not "") known to be at
// least lo.
func (a *analyser) with(diff string, lo float64, f func() interval) interval {
	if diff == "" {
		return f()
	}
	prev, had := a.floor[diff]
	if a.floor == nil {
		a.floor = map[string]float64{}
	}
	a.floor[diff] = math.Max(lo, prev)
	defer func() {
		if had {
			a.floor[diff] = prev
		} else {
			delete(a.floor, diff)
		}
	}()
	return f()
}

// differences returns, for a condition comparing two expressions, the
// difference that is not negative when it holds and when it does not, with
// its least value: under "a > b", a - b, above 0; under "a >= b", a - b,
// 0 or more; otherwise b - a. Interval arithmetic alone cannot see that
// "a > b ? a - b : 0" is never negative, nor that "a > b ? 1 / (a - b) : 0"
// never divides by zero.
func differences(cond ast.Node) (yes string, yesLo float64, no string, noLo float64) {
	b, ok := cond.(*ast.BinaryNode)
	if !ok {
		return "", 0, "", 0
	}
	diff := func(l, r ast.Node) string {
		return (&ast.BinaryNode{Operator: "-", Left: l, Right: r}).String()
	}
	tiny := math.SmallestNonzeroFloat64
	switch b.Operator {
	case ">":
		return diff(b.Left, b.Right), tiny, diff(b.Right, b.Left), 0
	case ">=":
		return diff(b.Left, b.Right), 0, diff(b.Right, b.Left), tiny
	case "<":
		return diff(b.Right, b.Left), tiny, diff(b.Left, b.Right), 0
	case "<=":
		return diff(b.Right, b.Left), 0, diff(b.Left, b.Right), tiny
	}
	return "", 0, "", 0
}

// narrow returns the variables' ranges when cond is true and when it is
// false, for conditions comparing a variable with a constant.
func narrow(cond ast.Node, vars map[string]interval) (yes, no map[string]interval) {
	yes, no = vars, vars
	b, ok := cond.(*ast.BinaryNode)
	if !ok {
		return
	}
	switch b.Operator {
	case "&&", "and":
		y1, _ := narrow(b.Left, vars)
		y2, _ := narrow(b.Right, y1)
		return y2, vars
	case "||", "or":
		_, n1 := narrow(b.Left, vars)
		_, n2 := narrow(b.Right, n1)
		return vars, n2
	}
	name, c, op, ok := comparison(b)
	if !ok {
		return
	}
	cur, known := vars[name]
	if !known {
		cur = anything
	}
	with := func(iv interval) map[string]interval {
		m := make(map[string]interval, len(vars)+1)
		for k, v := range vars {
			m[k] = v
		}
		m[name] = iv
		return m
	}
	// Strict bounds are kept closed but nudged past c, so that "x > 0"
	// excludes zero.
	above, below := math.Nextafter(c, math.Inf(1)), math.Nextafter(c, math.Inf(-1))
	switch op {
	case ">":
		return with(interval{math.Max(cur.lo, above), cur.hi}), with(interval{cur.lo, math.Min(cur.hi, c)})
	case ">=":
		return with(interval{math.Max(cur.lo, c), cur.hi}), with(interval{cur.lo, math.Min(cur.hi, below)})
	case "<":
		return with(interval{cur.lo, math.Min(cur.hi, below)}), with(interval{math.Max(cur.lo, c), cur.hi})
	case "<=":
		return with(interval{cur.lo, math.Min(cur.hi, c)}), with(interval{math.Max(cur.lo, above), cur.hi})
	case "==":
		return with(point(c)), vars
	case "!=":
		if c == 0 && cur.lo == 0 {
			return with(interval{above, cur.hi}), with(point(c))
		}
		if c == 0 && cur.hi == 0 {
			return with(interval{cur.lo, below}), with(point(c))
		}
		return vars, with(point(c))
	}
	return
}

// comparison reads "x OP c" or "c OP x" as "x OP' c".
func comparison(b *ast.BinaryNode) (name string, c float64, op string, ok bool) {
	flip := map[string]string{">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!="}
	if _, isCmp := flip[b.Operator]; !isCmp {
		return "", 0, "", false
	}
	if id, isID := b.Left.(*ast.IdentifierNode); isID {
		if c, isNum := constant(b.Right); isNum {
			return id.Value, c, b.Operator, true
		}
	}
	if id, isID := b.Right.(*ast.IdentifierNode); isID {
		if c, isNum := constant(b.Left); isNum {
			return id.Value, c, flip[b.Operator], true
		}
	}
	return "", 0, "", false
}

func constant(n ast.Node) (float64, bool) {
	switch n := n.(type) {
	case *ast.IntegerNode:
		return float64(n.Value), true
	case *ast.FloatNode:
		return n.Value, true
	case *ast.UnaryNode:
		if n.Operator == "-" {
			c, ok := constant(n.Node)
			return -c, ok
		}
	}
	return 0, false
}

func children(n ast.Node) []ast.Node {
	switch n := n.(type) {
	case *ast.MemberNode:
		return []ast.Node{n.Node, n.Property}
	case *ast.ArrayNode:
		return n.Nodes
	case *ast.SequenceNode:
		return n.Nodes
	case *ast.ChainNode:
		return []ast.Node{n.Node}
	}
	return nil
}

// calcRanges follows a lesson's steps in order and returns the range of
// every number variable (inputs by their min and max, calc results by
// their formulas), with the divisions that can be by zero, per formula.
func calcRanges(les *lesson.Lesson) (map[string]interval, map[*lesson.Formula][]zeroDivision) {
	vars := map[string]interval{}
	set := func(name string, iv interval) {
		if prev, ok := vars[name]; ok {
			iv = prev.union(iv)
		}
		vars[name] = iv
	}
	for _, s := range les.Steps {
		if s.Kind == lesson.Input && s.InputKind == "number" {
			iv := anything
			if s.Min != nil {
				iv.lo = *s.Min
			}
			if s.Max != nil {
				iv.hi = *s.Max
			}
			set(s.Var, iv)
		}
	}
	risks := map[*lesson.Formula][]zeroDivision{}
	for _, s := range les.Steps {
		for i := range s.Formulas {
			f := &s.Formulas[i]
			iv, r := evalRange(f.Source, vars)
			if len(r) > 0 {
				risks[f] = r
			}
			set(f.Var, iv)
		}
	}
	return vars, risks
}
