package schedule

import "testing"

// TestSame: one store behind both interfaces is told apart from another,
// and values that == cannot compare do not panic.
func TestSame(t *testing.T) {
	type store struct{ n int }
	type unhashable struct{ m map[string]int }
	a, b := &store{}, &store{}
	for _, c := range []struct {
		x, y any
		want bool
	}{
		{a, a, true},
		{a, b, false},
		{a, nil, false},
		{unhashable{}, unhashable{}, false},
		{store{1}, store{1}, true},
	} {
		if got := same(c.x, c.y); got != c.want {
			t.Errorf("same(%#v, %#v) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}
