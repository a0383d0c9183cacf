package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// graphModel is mmbuild graph --format json.
type graphModel struct {
	Nodes []struct {
		ID, Kind, Label, Status, Reason, File string
	}
	Edges []struct{ From, To, Digest string }
}

// TestGraphPipelineExample draws the example pipeline's attestations as a
// person would look at them: the HTML page rendered by a real headless
// Chromium (every node's label in the DOM after rendering, a screenshot
// kept as the test's artifact), and the Mermaid rendered by the Mermaid CLI.
func TestGraphPipelineExample(t *testing.T) {
	t.Parallel()
	chromium := testservers.Tool(t, "chromium")
	mmdc := testservers.Tool(t, "mmdc")
	in := testenv.NewInstall(t)
	dir := pipelineExample(t, in)
	// In GitHub Actions the pipeline's graph goes to the step summary.
	stepSummary := filepath.Join(t.TempDir(), "step-summary.md")
	in.Env = append(in.Env, "GITHUB_STEP_SUMMARY="+stepSummary)
	engineMustRun(t, in, dir, "pipeline", "run", "pipeline.yaml")
	_, block, ok := strings.Cut(string(mustRead(t, stepSummary)), "### mmbuild pipeline\n\n```mermaid\nflowchart LR\n")
	if !ok || strings.Count(block, "build: https://mmbuild.dev/builder/local@v1") != 2 || !strings.Contains(block, "artifact: webapp.tar.gz") {
		t.Errorf("the step summary has no Mermaid graph of the two builds joined by webapp.tar.gz:\n%s", mustRead(t, stepSummary))
	}

	var atts []string
	for _, b := range []string{"webapp", "server"} {
		m, _ := filepath.Glob(filepath.Join(dir, b, "out", "*.intoto.jsonl"))
		if len(m) == 0 {
			t.Fatalf("%s: no .intoto.jsonl attestation in out/", b)
		}
		atts = append(atts, m...)
	}
	args := append([]string{"graph", "--key", "keys/demo.pub"}, atts...)

	// The model: the webapp build verified with the demo key; the server
	// build, which the example does not sign, failed against it; both
	// joined by the webapp tarball, with the digest of the bytes built.
	g := drawJSON(t, in, dir, args...)
	want := map[string]string{"webapp": "verified", "server": "failed"}
	kind := map[string]string{}
	builds := 0
	for _, n := range g.Nodes {
		kind[n.ID] = n.Kind
		if n.Kind != "build" {
			continue
		}
		builds++
		name := filepath.Base(filepath.Dir(filepath.Dir(strings.Fields(n.File)[0])))
		if n.Status != want[name] {
			t.Errorf("build %s from %s is %s (%s), want %s", n.Label, n.File, n.Status, n.Reason, want[name])
		}
		if name == "server" && !strings.Contains(n.Reason, "not signed") {
			t.Errorf("the server build failed for %q, want: not signed", n.Reason)
		}
	}
	if builds != 2 {
		t.Errorf("%d build nodes, want 2: %+v", builds, g.Nodes)
	}
	// Without a key nothing is verified, and nothing fails for it.
	for _, n := range drawJSON(t, in, dir, append([]string{"graph"}, atts...)...).Nodes {
		if n.Kind == "build" && n.Status != "unverified" {
			t.Errorf("without --key, build from %s is %s (%s), want unverified", n.File, n.Status, n.Reason)
		}
	}
	tarSum := "sha256:" + sha256Hex(t, mustRead(t, filepath.Join(dir, "webapp/dist/webapp.tar.gz")))
	var made, used bool
	for _, e := range g.Edges {
		if e.Digest != tarSum {
			continue
		}
		made = made || kind[e.From] == "build" && kind[e.To] == "artifact"
		used = used || kind[e.From] == "artifact" && kind[e.To] == "build"
	}
	if !made || !used {
		t.Errorf("no build -> webapp.tar.gz -> build chain with %s (made %v, used %v): %+v", tarSum, made, used, g.Edges)
	}

	// The page, rendered.
	page := filepath.Join(t.TempDir(), "graph.html")
	engineMustRun(t, in, dir, append(args, "--format", "html", "-o", page)...)
	dom := runChromium(t, chromium, "--dump-dom", "file://"+page)
	if !strings.Contains(dom, "<svg") {
		t.Fatalf("the rendered page has no SVG:\n%s", dom)
	}
	for _, n := range g.Nodes {
		text := ">" + domText(n.Kind+": "+n.Label) + "</text>"
		if !strings.Contains(dom, text) {
			t.Errorf("the rendered page does not show node %s (%s)", n.ID, text)
		}
	}
	shot := filepath.Join(t.ArtifactDir(), "mmbuild-graph.png")
	runChromium(t, chromium, "--screenshot="+shot, "--window-size=1400,1000", "file://"+page)
	img, err := png.Decode(bytes.NewReader(mustRead(t, shot)))
	if err != nil {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	if b := img.Bounds(); b.Dx() != 1400 || b.Dy() != 1000 {
		t.Errorf("screenshot is %v, want 1400x1000", b)
	}
	colors := map[uint32]bool{}
	for y := 0; y < img.Bounds().Dy(); y += 7 {
		for x := 0; x < img.Bounds().Dx(); x += 7 {
			r, g, b, _ := img.At(x, y).RGBA()
			colors[r>>8<<16|g>>8<<8|b>>8] = true
		}
	}
	if len(colors) < 8 { // a blank page has one or two
		t.Errorf("screenshot has %d colours: nothing drawn", len(colors))
	}
	t.Logf("screenshot of the graph: %s", shot)
	if err := os.WriteFile("/tmp/mmbuild-graph.png", mustRead(t, shot), 0o644); err != nil {
		t.Logf("copying the screenshot to /tmp/mmbuild-graph.png: %v", err)
	}

	// The Mermaid, rendered by the Mermaid CLI (with the same chromium).
	work := t.TempDir()
	mmd := filepath.Join(work, "graph.mmd")
	if err := os.WriteFile(mmd, []byte(engineMustRun(t, in, dir, args...).Stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	svg := renderMermaid(t, mmdc, chromium, mmd)
	for _, n := range g.Nodes {
		if !strings.Contains(svg, domText(n.Label)) {
			t.Errorf("the Mermaid CLI's drawing does not show node %s (%s)", n.ID, n.Label)
		}
	}
}

// drawJSON runs mmbuild graph --format json with args.
func drawJSON(t *testing.T, in *testenv.Install, dir string, args ...string) graphModel {
	t.Helper()
	var g graphModel
	r := engineMustRun(t, in, dir, append(args, "--format", "json")...)
	if err := json.Unmarshal([]byte(r.Stdout), &g); err != nil {
		t.Fatalf("graph --format json: %v\n%s", err, r.Stdout)
	}
	return g
}

// runChromium runs headless chromium on args and returns its stdout.
func runChromium(t *testing.T, chromium string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--user-data-dir=" + t.TempDir()}, args...)
	cmd := exec.CommandContext(ctx, chromium, all...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// renderMermaid renders the Mermaid file with mmdc, which must accept it,
// and returns the SVG.
func renderMermaid(t *testing.T, mmdc, chromium, mmd string) string {
	t.Helper()
	work := filepath.Dir(mmd)
	cfg := filepath.Join(work, "puppeteer.json")
	conf, _ := json.Marshal(map[string]any{"executablePath": chromium, "args": []string{"--no-sandbox", "--disable-gpu"}})
	if err := os.WriteFile(cfg, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	out := strings.TrimSuffix(mmd, ".mmd") + ".svg"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, mmdc, "--quiet", "-p", cfg, "-i", mmd, "-o", out)
	cmd.Env = append(os.Environ(), "HOME="+work)
	if b, err := cmd.CombinedOutput(); err != nil {
		src, _ := os.ReadFile(mmd)
		t.Fatalf("mmdc refused the Mermaid: %v\n%s\n%s", err, b, src)
	}
	return string(mustRead(t, out))
}

// domText is s as a serialized DOM writes text: & < > escaped.
func domText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
