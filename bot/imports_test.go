package bot_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/darsi-ma/darsi"

// pkg is what "go list -json" says of a package.
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
}

func list(tb testing.TB, args ...string) map[string]pkg {
	tb.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("go list %v: %v", args, err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			tb.Fatal(err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// TestImportRules keeps the architecture of docs/architecture.md: the domain package
// uses only the standard library, the dialogue engine does no I/O, and
// adapters do not know each other.
func TestImportRules(t *testing.T) {
	pkgs := list(t, "./...")
	std := list(t, "std")

	t.Run("bot imports only the standard library", func(t *testing.T) {
		for _, imp := range pkgs[module+"/bot"].Imports {
			if _, ok := std[imp]; !ok {
				t.Errorf("bot imports %s", imp)
			}
		}
	})

	t.Run("dialog does no I/O", func(t *testing.T) {
		// exact: standard packages that talk to the network or run programs.
		exact := []string{"net", "net/http", "database/sql", "os/exec"}
		// prefixes: stores, channels and the layers above the engine.
		prefixes := []string{
			"github.com/redis/", "github.com/twilio/", "go.etcd.io/bbolt",
			module + "/bot/store", module + "/bot/app", module + "/bot/twilio",
			module + "/bot/simulator", module + "/bot/schedule", module + "/bot/coach", module + "/bot/privacy",
		}
		p, ok := pkgs[module+"/bot/dialog"]
		if !ok {
			t.Fatal("bot/dialog not found")
		}
		for _, dep := range p.Deps {
			bad := false
			for _, f := range exact {
				bad = bad || dep == f
			}
			for _, f := range prefixes {
				bad = bad || strings.HasPrefix(dep, f)
			}
			if bad {
				t.Errorf("bot/dialog depends on %s", dep)
			}
		}
	})

	t.Run("adapters do not import each other", func(t *testing.T) {
		adapters := []string{"bot/store/boltstore", "bot/store/redisstore", "bot/twilio", "bot/coachweb", "bot/simulator", "bot/privacy"}
		isAdapter := func(path string) string {
			for _, a := range adapters {
				if path == module+"/"+a || strings.HasPrefix(path, module+"/"+a+"/") {
					return a
				}
			}
			return ""
		}
		for path, p := range pkgs {
			from := isAdapter(path)
			if from == "" {
				continue
			}
			for _, imp := range p.Imports {
				if to := isAdapter(imp); to != "" && to != from {
					t.Errorf("%s imports %s", from, to)
				}
			}
		}
	})
}
