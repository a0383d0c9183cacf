package plugin_test

import (
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// hostPackages hold the host's side of a plugin connection: go-plugin
// itself (its client, ClientConfig, ClientProtocol, GRPCClient, ...), the
// SDK's host package and the internal set that wraps go-plugin for both.
var hostPackages = map[string]string{ // path → the name it declares
	"github.com/hashicorp/go-plugin":                    "plugin",
	"github.com/mmbuild/mmbuild/sdk/host":               "host",
	"github.com/mmbuild/mmbuild/sdk/internal/pluginset": "pluginset",
}

// hostTypesInAPI lists the exported declarations of the package made of
// files whose signature names a type of a host package: what `go doc`
// shows a plugin author, parameters, results, exported fields, variables.
// Bodies and unexported names may use them: serving goes through go-plugin.
func hostTypesInAPI(fset *token.FileSet, files []*ast.File) ([]string, error) {
	local := map[string]map[string]string{} // file → local name → host package
	for _, f := range files {
		names := map[string]string{}
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return nil, err
			}
			name, host := hostPackages[path]
			if !host {
				continue
			}
			if imp.Name != nil {
				name = imp.Name.Name
			}
			names[name] = path
		}
		local[fset.File(f.Pos()).Name()] = names
	}
	// go/doc keeps what `go doc` shows: exported declarations, without
	// their unexported fields and methods.
	pkg, err := doc.NewFromFiles(fset, files, "github.com/mmbuild/mmbuild/sdk/plugin")
	if err != nil {
		return nil, err
	}
	var found []string
	check := func(name string, node ast.Node) {
		names := local[fset.File(node.Pos()).Name()]
		ast.Inspect(node, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && names[x.Name] != "" {
				found = append(found, fmt.Sprintf("%s mentions %s.%s", name, names[x.Name], sel.Sel.Name))
			}
			return true
		})
	}
	funcs := func(prefix string, fs []*doc.Func) {
		for _, f := range fs {
			check(prefix+f.Name, f.Decl.Type) // the signature, not the body
		}
	}
	vars := func(vs []*doc.Value) {
		for _, v := range vs {
			check(strings.Join(v.Names, ", "), v.Decl)
		}
	}
	// Constants are left out: a constant cannot have a host type.
	funcs("", pkg.Funcs)
	vars(pkg.Vars)
	for _, t := range pkg.Types {
		check(t.Name, t.Decl)
		funcs("", t.Funcs)
		funcs(t.Name+".", t.Methods)
		vars(t.Vars)
	}
	slices.Sort(found)
	return found, nil
}

func parseSources(t *testing.T, sources map[string]string) (*token.FileSet, []*ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	for name, src := range sources {
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return fset, files
}

// The package plugin authors import exposes no host type: the host's side
// (go-plugin's client, Conn, Dispense, ...) is package host. The checker
// itself is shown to catch the shapes the split removed.
func TestNoHostTypesInPluginAPI(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	own := map[string]string{}
	for _, e := range entries {
		if name := e.Name(); strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			own[name] = string(b)
		}
	}
	if len(own) == 0 {
		t.Fatal("no source files of package plugin found")
	}
	const head = "package plugin\n\nimport (\n\tgoplugin \"github.com/hashicorp/go-plugin\"\n\t\"github.com/mmbuild/mmbuild/sdk/host\"\n)\n\n"
	for _, tc := range []struct {
		name    string
		sources map[string]string
		want    []string
	}{
		{"package plugin", own, nil},
		{"a host function", map[string]string{"client.go": head + "type Conn struct{}\n\nfunc Dispense(rpc goplugin.ClientProtocol) (*Conn, error) { return nil, nil }\n"},
			[]string{"Dispense mentions github.com/hashicorp/go-plugin.ClientProtocol"}},
		{"a host result", map[string]string{"client.go": head + "func ClientConfig() *goplugin.ClientConfig { return nil }\n"},
			[]string{"ClientConfig mentions github.com/hashicorp/go-plugin.ClientConfig"}},
		{"go-plugin under its own name", map[string]string{"plugin.go": "package plugin\n\nimport \"github.com/hashicorp/go-plugin\"\n\nvar Handshake = plugin.HandshakeConfig{}\n"},
			[]string{"Handshake mentions github.com/hashicorp/go-plugin.HandshakeConfig"}},
		{"a method and a field", map[string]string{"testing.go": head + "type T struct {\n\tConn *host.Conn\n\tc    *goplugin.Client\n}\n\nfunc (T) GRPCClient(c *goplugin.GRPCClient) {}\n"},
			[]string{"T mentions github.com/mmbuild/mmbuild/sdk/host.Conn", "T.GRPCClient mentions github.com/hashicorp/go-plugin.GRPCClient"}},
		{"used by the serving side only", map[string]string{"serve.go": head + "type component struct{ goplugin.NetRPCUnsupportedPlugin }\n\nfunc Serve() { goplugin.Serve(&goplugin.ServeConfig{}); _ = host.Conn{} }\n\nvar handshake = goplugin.HandshakeConfig{}\n"},
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fset, files := parseSources(t, tc.sources)
			got, err := hostTypesInAPI(fset, files)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("host types in the API: %q, want %q", got, tc.want)
			}
		})
	}
}
