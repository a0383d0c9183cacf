package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mmbuild graph as a user runs it: each format on stdout or -o, statuses
// by key and policy, and one clear error line for bad input, with nothing
// written.
func TestGraphCLI(t *testing.T) {
	p := newVerifyProject(t)
	in, dir := p.in, p.dir
	good := p.write("good.intoto.jsonl", p.statement(), "a")
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte("keys: [b.pub]\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"mermaid, verified", []string{"--key", "a.pub"}, []string{"flowchart LR\n", "artifact: server.tar.gz", "class n", " verified\n"}},
		{"mermaid, no key", nil, []string{" unverified\n"}},
		{"dot, wrong key", []string{"--format", "dot", "--key", "b.pub"}, []string{"digraph supplychain {", "FAILED"}},
		{"json, policy's key", []string{"--format", "json", "--policy", "policy.yaml"}, []string{`"status": "failed"`}},
		{"html", []string{"--format", "html", "--key", "a.pub"}, []string{"<svg", ">VERIFIED</text>", "default-src 'none'"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := in.MustRun(dir, append(append([]string{"graph"}, tc.args...), good)...)
			for _, w := range tc.want {
				if !strings.Contains(r.Stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.Stdout)
				}
			}
		})
	}

	in.MustRun(dir, "graph", "--format", "html", "-o", "out/graph.html", good)
	if b, err := os.ReadFile(filepath.Join(dir, "out/graph.html")); err != nil || !strings.Contains(string(b), "<svg") {
		t.Errorf("-o out/graph.html: %v\n%s", err, b)
	}

	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte("{\"_type\":"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown format", []string{"--format", "png", good}, 2, `--format "png"`},
		{"missing file", []string{"-o", "x.html", "missing.json"}, 1, "reading attestation missing.json"},
		{"broken file", []string{"-o", "x.html", good, "broken.json"}, 1, "reading attestation broken.json"},
		{"bad key", []string{"--key", "good.intoto.jsonl", good}, 1, "--key good.intoto.jsonl"},
		{"no attestation", nil, 2, "requires at least 1 arg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := in.Run(dir, append([]string{"graph"}, tc.args...)...)
			lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
			if r.Code != tc.code || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and one line with %q", r.Code, r.Stderr, tc.code, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "x.html")); err == nil {
				t.Error("x.html was written")
			}
		})
	}
}
