package park

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestProtocolDocumentNamesEveryReason: docs/PARK-PROTOCOL.md, the
// service's contract, has a row for every X-Park-Reason the service
// declares (read from reason.go, so a new reason cannot be missed) and
// names the headers the service adds.
func TestProtocolDocumentNamesEveryReason(t *testing.T) {
	b, err := os.ReadFile("../../docs/PARK-PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	f, err := parser.ParseFile(token.NewFileSet(), "reason.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Reason" {
				continue
			}
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(lit.Value)
					reasons = append(reasons, s)
				}
			}
		}
	}
	if len(reasons) < 9 {
		t.Fatalf("found only %d reasons in reason.go: %q", len(reasons), reasons)
	}
	for _, r := range reasons {
		if !strings.Contains(doc, "| `"+r+"` |") {
			t.Errorf("docs/PARK-PROTOCOL.md has no row for X-Park-Reason %q", r)
		}
	}
	for _, h := range []string{ReasonHeader, InstanceHeader, "X-Park-Orbit", "X-Park-Caller", "X-Park-Parker"} {
		if !strings.Contains(doc, "`"+h+"`") {
			t.Errorf("docs/PARK-PROTOCOL.md does not name %s", h)
		}
	}
}
