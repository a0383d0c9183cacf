package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/verify"
	"github.com/mmbuild/mmbuild/internal/testkeys"
)

const (
	sumLib = "1111111111111111111111111111111111111111111111111111111111111111"
	sumApp = "2222222222222222222222222222222222222222222222222222222222222222"
	sumSrv = "3333333333333333333333333333333333333333333333333333333333333333"
	commit = "0123456789abcdef0123456789abcdef01234567"
)

// hostile is a name from a hostile attestation: every syntax's specials.
const hostile = "evil\"]; n1 --> x[\"<script>alert(1)</script>\n%% \\\"} -> {' & #35; `md`|"

func build(name string, mats []provenance.Resource, subs []provenance.Resource) provenance.Build {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return provenance.Build{
		HandlerID: "make", Params: []string{"dist"},
		ConfigSource: provenance.Resource{URI: "git+https://git.example/" + name + ".git@" + commit, Digest: provenance.Digest{"sha1": commit}},
		EntryPoint:   "mmbuild.yaml", Materials: mats, Subjects: subs,
		Run:    provenance.RunFacts{BuilderID: "https://ci.example/" + name, InvocationID: name, Started: t0, Finished: t0.Add(time.Minute)},
		Config: provenance.BuildConfig{StagingKey: "key-" + name},
	}
}

func encode(t *testing.T, b provenance.Build, f provenance.Format) []byte {
	t.Helper()
	data, err := provenance.Encode(b, f)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func sign(t *testing.T, stmt []byte, s signing.Signer) []byte {
	t.Helper()
	env, err := signing.SignStatement(context.Background(), stmt, s)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// pipeline is two builds: app.tar.gz of the first is a material of the
// second, signed by key; the second statement is unsigned.
func pipeline(t *testing.T, s signing.Signer) []File {
	first := build("app", []provenance.Resource{{URI: "https://dl.example/lib.tgz", Digest: provenance.Digest{"sha256": sumLib}}},
		[]provenance.Resource{{URI: "app.tar.gz", Digest: provenance.Digest{"sha256": sumApp}}})
	second := build("server", []provenance.Resource{{URI: "file:///store/app/app.tar.gz", Digest: provenance.Digest{"sha256": sumApp}}},
		[]provenance.Resource{{URI: "server.tar.gz", Digest: provenance.Digest{"sha256": sumSrv}}})
	return []File{
		{Name: "app.intoto.json", Data: sign(t, encode(t, first, provenance.V1), s)},
		{Name: "server.json", Data: encode(t, second, provenance.V02)},
	}
}

func byLabel(t *testing.T, g *Graph, kind Kind, label string) Node {
	t.Helper()
	for _, n := range g.Nodes {
		if n.Kind == kind && n.Label == label {
			return n
		}
	}
	t.Fatalf("no %s node %q in %+v", kind, label, g.Nodes)
	return Node{}
}

func hasEdge(g *Graph, from, to, digest string) bool {
	for _, e := range g.Edges {
		if e.From == from && e.To == to && e.Digest == digest {
			return true
		}
	}
	return false
}

func TestNewJoinsPipeline(t *testing.T) {
	s, v := testkeys.Pair(t)
	_, other := testkeys.Pair(t)
	files := pipeline(t, s)
	for _, tc := range []struct {
		name             string
		keys             []signing.Verifier
		app, server      Status
		appWhy, serveWhy string
	}{
		{"no key", nil, Unverified, Unverified, "no key", "no key"},
		{"signer's key", []signing.Verifier{v}, Verified, Failed, "", "not signed"},
		{"another key", []signing.Verifier{other}, Failed, Failed, "signature", "not signed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := New(context.Background(), files, verify.Options{Keys: tc.keys})
			if err != nil {
				t.Fatal(err)
			}
			app := byLabel(t, g, Build, "https://ci.example/app")
			srv := byLabel(t, g, Build, "https://ci.example/server")
			for _, c := range []struct {
				n      Node
				want   Status
				reason string
			}{{app, tc.app, tc.appWhy}, {srv, tc.server, tc.serveWhy}} {
				if c.n.Status != c.want || !strings.Contains(c.n.Reason, c.reason) {
					t.Errorf("%s: %s (%q), want %s (%q)", c.n.Label, c.n.Status, c.n.Reason, c.want, c.reason)
				}
			}
			art := byLabel(t, g, Artifact, "app.tar.gz")
			if !hasEdge(g, app.ID, art.ID, "sha256:"+sumApp) || !hasEdge(g, art.ID, srv.ID, "sha256:"+sumApp) {
				t.Errorf("app.tar.gz does not join the builds: %+v", g.Edges)
			}
			if len(art.Aliases) != 1 || art.Aliases[0] != "file:///store/app/app.tar.gz" || len(art.Details) != 0 {
				t.Errorf("artifact aliases %q, details %q", art.Aliases, art.Details)
			}
			lib := byLabel(t, g, Material, "https://dl.example/lib.tgz")
			src := byLabel(t, g, Source, "https://git.example/app.git@"+commit)
			if !hasEdge(g, lib.ID, app.ID, "sha256:"+sumLib) || !hasEdge(g, src.ID, app.ID, "sha1:"+commit) {
				t.Errorf("edges into the app build: %+v", g.Edges)
			}
			if want := []string{"handler make", "staging key key-app"}; strings.Join(app.Details, "|") != strings.Join(want, "|") {
				t.Errorf("build details %q, want %q", app.Details, want)
			}
			if len(g.Nodes) != 7 || len(g.Edges) != 6 {
				t.Errorf("%d nodes, %d edges, want 7 and 6", len(g.Nodes), len(g.Edges))
			}
		})
	}
}

func TestNewBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"not json", "{", "reading attestation bad.json"},
		{"empty", "", "reading attestation bad.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(context.Background(), []File{{Name: "bad.json", Data: []byte(tc.data)}}, verify.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	// A statement that reads but is not provenance mmbuild knows is a
	// failed node, not an error.
	st := `{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1","subject":[{"name":"a","digest":{"sha256":"` + sumApp + `"}}],"predicate":{"bogus":1}}`
	g, err := New(context.Background(), []File{{Name: "odd.json", Data: []byte(st)}}, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := byLabel(t, g, Build, "unreadable provenance"); n.Status != Failed {
		t.Errorf("unreadable provenance is %s", n.Status)
	}
}

// hostileGraph is a graph whose every name is hostile.
func hostileGraph(t *testing.T) *Graph {
	b := build("x", []provenance.Resource{{URI: hostile, Digest: provenance.Digest{"sha256": sumLib}}},
		[]provenance.Resource{{URI: hostile + "out", Digest: provenance.Digest{"sha256": sumApp}}})
	b.Run.BuilderID = hostile
	b.Config.StagingKey = hostile
	g, err := New(context.Background(), []File{{Name: hostile, Data: encode(t, b, provenance.V02)}}, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestMermaidEscapes(t *testing.T) {
	g := hostileGraph(t)
	var buf bytes.Buffer
	if err := Mermaid(&buf, g); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if err := checkMermaid(out, len(g.Nodes), len(g.Edges)); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, bad := range []string{"<script", "%%", "`", "\\"} {
		if strings.Contains(out, bad) {
			t.Errorf("the Mermaid holds %q:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "#60;script#62;") || !strings.Contains(out, "evil#34;#93;#59;") {
		t.Errorf("the hostile name is not written as entity codes:\n%s", out)
	}
}

func TestMermaidText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"app.tar.gz", "app.tar.gz"},
		{`a"b`, "a#34;b"},
		{"<b>", "#60;b#62;"},
		{"#35;", "#35;35#59;"},
		{"é", "#233;"},
		{"a|b", "a#124;b"},
	} {
		if got := mermaidText([]string{tc.in}); got != tc.want {
			t.Errorf("mermaidText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDOTEscapes(t *testing.T) {
	g := hostileGraph(t)
	var buf bytes.Buffer
	if err := DOT(&buf, g); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if err := checkDOT(out, len(g.Nodes), len(g.Edges)); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, tc := range []struct{ in, want string }{
		{`a"b`, `"a\"b"`},
		{`a\nb`, `"a\\nb"`},
		{"a\nb", `"a\nb"`},
		{`\N`, `"\\N"`},
	} {
		if got := dotString(tc.in); got != tc.want {
			t.Errorf("dotString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestHTMLEscapes(t *testing.T) {
	g := hostileGraph(t)
	var buf bytes.Buffer
	if err := HTML(&buf, g, hostile); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "<script") {
		t.Errorf("the page holds a <script>:\n%s", out)
	}
	if !strings.Contains(out, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the hostile name is not shown escaped")
	}
	// Nothing that would fetch: no src or href, no url() but the arrow
	// marker's, no stylesheet or import; and the CSP forbids it anyway.
	for _, fetch := range []string{"src=", "href=", "@import", "<link", "<img", "<iframe", "<object"} {
		if strings.Contains(out, fetch) {
			t.Errorf("the page may fetch: it holds %q", fetch)
		}
	}
	if n := strings.Count(out, "url("); n != strings.Count(out, "url(#arrow)") {
		t.Errorf("the page holds a url() other than the arrow marker's")
	}
	if !strings.Contains(out, `content="default-src 'none'; style-src 'unsafe-inline'"`) {
		t.Error("the page has no Content-Security-Policy forbidding fetches")
	}
	for _, n := range g.Nodes {
		if !strings.Contains(out, `id="`+n.ID+`"`) {
			t.Errorf("node %s not drawn", n.ID)
		}
	}
}

func TestRenderJSON(t *testing.T) {
	s, _ := testkeys.Pair(t)
	g, err := New(context.Background(), pipeline(t, s), verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Render(&buf, g, "json", ""); err != nil {
		t.Fatal(err)
	}
	var back Graph
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back.Nodes) != len(g.Nodes) {
		t.Fatalf("json: %v, %d nodes", err, len(back.Nodes))
	}
	if err := Render(&buf, g, "svg", ""); err == nil {
		t.Error("an unknown format rendered")
	}
}

func TestLayoutRanks(t *testing.T) {
	s, _ := testkeys.Pair(t)
	g, err := New(context.Background(), pipeline(t, s), verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := layout(g)
	for _, e := range g.Edges {
		if a, b := p.Boxes[e.From], p.Boxes[e.To]; a.X+a.W >= b.X {
			t.Errorf("edge %s -> %s does not point right (%v, %v)", e.From, e.To, a, b)
		}
	}
	// A cycle (hostile input) still lays out.
	g.Edges = append(g.Edges, Edge{From: g.Edges[len(g.Edges)-1].To, To: g.Edges[0].From})
	if p := layout(g); len(p.Boxes) != len(g.Nodes) {
		t.Errorf("cycle: %d boxes for %d nodes", len(p.Boxes), len(g.Nodes))
	}
}
