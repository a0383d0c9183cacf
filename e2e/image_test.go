package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// imageInstall is an install whose builds reach the registry at host as
// $REGISTRY and find crane on PATH.
func imageInstall(t *testing.T, host string) *testenv.Install {
	t.Helper()
	crane := testservers.Crane(t)
	in := testenv.NewInstall(t)
	in.Env = append(in.Env, "REGISTRY="+host, "PATH="+filepath.Dir(crane)+":"+os.Getenv("PATH"))
	return in
}

// signingKey makes a key pair with mmbuild keys generate.
func signingKey(t *testing.T, in *testenv.Install, dir string) (key, pub string) {
	t.Helper()
	keys := filepath.Join(t.TempDir(), "keys", "k")
	engineMustRun(t, in, dir, "keys", "generate", "--out", keys)
	return keys + ".key", keys + ".pub"
}

// emptyTrustedRoot is a Sigstore trusted root that trusts no log, CA nor
// timestamp authority: with --key and --insecure-ignore-tlog, cosign needs
// one to read a Sigstore bundle (it would fetch the public-good one from
// the TUF CDN, which a test does not reach), and trusts only the key.
const emptyTrustedRoot = `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[],"certificateAuthorities":[],"ctlogs":[],"timestampAuthorities":[]}`

// cosignVerify runs cosign verify-attestation of ref against the key pub;
// it returns the combined output and whether cosign accepted it.
func cosignVerify(t *testing.T, cosign, pub, ref string, extra ...string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(root, []byte(emptyTrustedRoot), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"verify-attestation", "--key", pub, "--type", "slsaprovenance02", "--allow-http-registry", "--insecure-ignore-tlog", "--trusted-root", root}, extra...)
	cmd := exec.CommandContext(ctx, cosign, append(args, ref)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "DOCKER_CONFIG="+t.TempDir(), "SIGSTORE_NO_CACHE=1", "TUF_ROOT="+t.TempDir())
	out, err := cmd.CombinedOutput()
	// The verified envelope, one long line of base64, is not worth a log.
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(l, `{"payload":`) {
			l = fmt.Sprintf("{\"payload\": … (the verified DSSE envelope, %d bytes)", len(l))
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n"), err == nil
}

// referrers lists the artifactType of every referrer of repo@digest: what
// the registry's referrers API answers or, for a registry without it (the
// distribution registry v3.1.2), the referrers tag schema's index at
// REPO:sha256-HEX.
func referrers(t *testing.T, host, repo, digest string) []string {
	t.Helper()
	resp, err := http.Get("http://" + host + "/v2/" + repo + "/referrers/" + digest)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusNotFound {
		resp.Body.Close()
		req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/v2/"+repo+"/manifests/"+strings.Replace(digest, ":", "-", 1), nil)
		req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json")
		if resp, err = http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusNotFound {
			resp.Body.Close()
			return nil
		}
	}
	defer resp.Body.Close()
	var idx struct {
		Manifests []struct {
			ArtifactType string `json:"artifactType"`
		} `json:"manifests"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("referrers of %s@%s: %d %v", repo, digest, resp.StatusCode, err)
	}
	var out []string
	for _, m := range idx.Manifests {
		out = append(out, m.ArtifactType)
	}
	slices.Sort(out)
	return out
}

// manifestDigest asks the registry what ref (repo:tag) names now.
func manifestDigest(t *testing.T, host, repo, tag string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodHead, "http://"+host+"/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return resp.Header.Get("Docker-Content-Digest")
}

// examples/image: make builds and pushes an image with crane; mmbuild
// attests it (subject: the repository and its manifest digest) and the
// layer tarball, signs, and attaches the attestation. cosign 2 (its
// attestation tag) and cosign 3 (the Sigstore bundle referrer) verify it;
// the consumer build takes the image by digest as a material; after the
// tag is moved to another image, cosign refuses it.
func TestImageExample(t *testing.T) {
	t.Parallel()
	cosign := testservers.Tool(t, "cosign")
	reg := testservers.StartRegistry(t)
	in := imageInstall(t, reg.Host)
	dir := testenv.Example(t, "image")
	engineCommitAll(t, dir, "image")
	engineMustRun(t, in, dir, "plugins", "lock")
	key, pub := signingKey(t, in, dir)
	r := engineMustRun(t, in, dir, "run", "--sign-key", key)

	ref := reg.Host + "/example/app:v1"
	digest := manifestDigest(t, reg.Host, "example/app", "v1")
	if !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("the build pushed no image to %s:\n%s", ref, r.Stderr)
	}
	st := engineReadStatement(t, filepath.Join(dir, "out/provenance.json"))
	var names []string
	found := false
	for _, s := range st.Subject {
		names = append(names, s.Name)
		found = found || (s.Name == reg.Host+"/example/app" && "sha256:"+s.Digest["sha256"] == digest)
	}
	if !found || len(st.Subject) != 2 {
		t.Fatalf("subjects %v, want the layer tarball and %s/example/app with %s", names, reg.Host, digest)
	}
	if imgs, _ := json.Marshal(st.Predicate.BuildConfig["images"]); !strings.Contains(string(imgs), digest) {
		t.Errorf("buildConfig.images: %s", imgs)
	}
	if got := referrers(t, reg.Host, "example/app", digest); !slices.Equal(got, []string{"application/vnd.dev.sigstore.bundle.v0.3+json", "application/vnd.in-toto+json"}) {
		t.Errorf("referrers of the image: %v", got)
	}

	out, ok := cosignVerify(t, cosign, pub, ref)
	t.Logf("cosign (v2) verify-attestation %s:\n%s", ref, out)
	if !ok {
		t.Fatal("cosign refused the attestation")
	}
	if out, ok := cosignVerify(t, cosign, pub, ref, "--experimental-oci11"); !ok {
		t.Errorf("cosign --experimental-oci11 refused the attestation:\n%s", out)
	}
	if out, ok := cosignVerify(t, cosign, pub, ref, "--new-bundle-format"); !ok {
		t.Errorf("cosign --new-bundle-format (the Sigstore bundle referrer) refused the attestation:\n%s", out)
	}
	t.Run("cosign3", func(t *testing.T) {
		out, ok := cosignVerify(t, testservers.Tool(t, "cosign3"), pub, ref)
		t.Logf("cosign3 verify-attestation %s:\n%s", ref, out)
		if !ok {
			t.Error("cosign 3 refused the attestation (the Sigstore bundle referrer)")
		}
	})

	// cosign's attestation tag (sha256-HEX.att) holds the signed envelope
	// too: cosign download attestation prints the bundles it finds, then
	// what that tag holds.
	dl := exec.Command(cosign, "download", "attestation", "--allow-http-registry", ref)
	dl.Env = append(os.Environ(), "HOME="+t.TempDir(), "DOCKER_CONFIG="+t.TempDir())
	dlOut, err := dl.Output()
	if err != nil {
		t.Fatalf("cosign download attestation: %v", err)
	}
	signed := strings.SplitN(string(mustRead(t, filepath.Join(dir, "out/provenance.intoto.jsonl"))), "\n", 2)[0]
	var env struct {
		Signatures []struct{ Sig string } `json:"signatures"`
	}
	if err := json.Unmarshal([]byte(signed), &env); err != nil || len(env.Signatures) != 1 {
		t.Fatalf("the local signed envelope: %v", err)
	}
	fromTag := 0
	for _, l := range strings.Split(strings.TrimSpace(string(dlOut)), "\n") {
		if !strings.HasPrefix(l, `{"mediaType"`) && strings.Contains(l, env.Signatures[0].Sig) {
			fromTag++
		}
	}
	if fromTag != 1 {
		t.Errorf("cosign download attestation found the envelope %d times outside the bundles, want once (from the .att tag):\n%s", fromTag, dlOut)
	}

	// The next build takes the image, by digest, as a verified material.
	consumer := filepath.Join(dir, "consumer")
	engineMustRun(t, in, consumer, "plugins", "lock")
	in.Env = append(in.Env, "IMAGE_DIGEST="+digest)
	engineMustRun(t, in, consumer, "run")
	if got, want := string(mustRead(t, filepath.Join(consumer, "dist/greeting.txt"))), string(mustRead(t, filepath.Join(dir, "hello.txt"))); got != want {
		t.Errorf("the consumer read %q from the image, want %q", got, want)
	}
	cst := engineReadStatement(t, filepath.Join(consumer, "out/provenance.json"))
	if d, ok := cst.material("oci://" + reg.Host + "/example/app@" + digest); !ok || len(d["sha256"]) != 64 {
		t.Errorf("the image material is not recorded: %+v", cst.Predicate.Materials)
	}

	// Moving the tag to another image: what it names now has no attestation.
	other := reg.PushImage(t, "example/app", "v1", map[string]string{"other.txt": "another image\n"})
	if other == digest {
		t.Fatal("the second push made the same image")
	}
	out, ok = cosignVerify(t, cosign, pub, ref)
	t.Logf("cosign (v2) verify-attestation after the tag moved:\n%s", out)
	if ok {
		t.Error("cosign accepted the tag moved to an image mmbuild never attested")
	}
	t.Run("cosign3", func(t *testing.T) {
		if out, ok := cosignVerify(t, testservers.Tool(t, "cosign3"), pub, ref); ok {
			t.Errorf("cosign 3 accepted the moved tag:\n%s", out)
		}
	})
}

// faultProxy is a reverse proxy in front of the real registry that can
// answer 503 to everything, refuse (403 DENIED) every manifest pushed by
// digest or to a sha256-… tag (attestations, not the builder's image), or
// move a tag to another image when the first attestation arrives.
type faultProxy struct {
	host string
	mu   sync.Mutex
	mode string // "", "5xx", "refuse", "move"
	move func()
}

func startFaultProxy(t *testing.T, reg *testservers.Registry) *faultProxy {
	t.Helper()
	target, err := url.Parse(reg.URL())
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		mode, move := p.mode, p.move
		attestation := r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") &&
			(strings.Contains(r.URL.Path, "/manifests/sha256:") || strings.Contains(r.URL.Path, "/manifests/sha256-"))
		if mode == "move" && attestation {
			p.move = nil
		}
		p.mu.Unlock()
		switch {
		case mode == "5xx" && strings.HasPrefix(r.URL.Path, "/v2/"):
			http.Error(w, `{"errors":[{"code":"UNAVAILABLE","message":"registry down for maintenance"}]}`, http.StatusServiceUnavailable)
			return
		case mode == "refuse" && attestation:
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"errors":[{"code":"DENIED","message":"pushing attestations is not allowed here"}]}`)
			return
		case mode == "move" && attestation && move != nil:
			move()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.host = strings.TrimPrefix(srv.URL, "http://")
	return p
}

func (p *faultProxy) set(mode string, move func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode, p.move = mode, move
}

// What artifacts.images refuses, each with one error line and nothing
// published (no local attestation, nothing attached to the image): a
// reference that is not in the registry after the build, a registry that
// refuses the attestation, a registry that answers 503, a tag moved while
// mmbuild attached the attestation, credentials in the reference,
// no signing key.
func TestImageBadInput(t *testing.T) {
	t.Parallel()
	reg := testservers.StartRegistry(t)
	proxy := startFaultProxy(t, reg)
	in := imageInstall(t, reg.Host)
	digest := reg.PushImage(t, "bad/app", "v1", map[string]string{"app.txt": "the image\n"})

	project := func(t *testing.T, image string) string {
		dir := engineProject(t, map[string]string{
			".gitignore": "/dist/\n/out/\n/build.env\n",
			"Makefile":   "all:\n\t@mkdir -p dist\n\techo built > dist/x.txt\n",
			"mmbuild.yaml": "handler: {id: make, params: [all]}\n" +
				"artifacts:\n  files: [dist/x.txt]\n  images: ['" + image + "']\nprovenance: out/\n",
		})
		engineMustRun(t, in, dir, "plugins", "lock")
		return dir
	}
	nothingAttached := func(t *testing.T) {
		t.Helper()
		if got := referrers(t, reg.Host, "bad/app", digest); len(got) != 0 {
			t.Errorf("the image got referrers %v", got)
		}
		if d := manifestDigest(t, reg.Host, "bad/app", "sha256-"+strings.TrimPrefix(digest, "sha256:")+".att"); d != "" {
			t.Errorf("the image got an .att tag %s", d)
		}
	}
	for _, tc := range []struct {
		name, image string
		mode        string
		sign        bool
		want        []string
	}{
		{"missing", "oci://" + reg.Host + "/bad/never-pushed:v1", "", true, []string{"artifacts.images[0]", "is not in the registry after the build", "MANIFEST_UNKNOWN"}},
		{"refused", "oci://" + proxy.host + "/bad/app:v1", "refuse", true, []string{"artifacts.images[0]: attaching the attestation", "DENIED", "pushing attestations is not allowed here"}},
		{"5xx", "oci://" + proxy.host + "/bad/app:v1", "5xx", true, []string{"artifacts.images[0]", "resolving", "UNAVAILABLE", "registry down for maintenance"}},
		{"credentials", "oci://bot:hunter2-registry@" + reg.Host + "/bad/app:v1", "", true, []string{"artifacts.images[0] carries a user name or password"}},
		{"unsigned", "oci://" + reg.Host + "/bad/app:v1", "", false, []string{"artifacts.images needs a signing key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := project(t, tc.image)
			args := []string{"run"}
			if tc.sign {
				key, _ := signingKey(t, in, dir)
				args = append(args, "--sign-key", key)
			}
			proxy.set(tc.mode, nil)
			defer proxy.set("", nil)
			start := time.Now()
			line := engineMustFail(t, in, dir, args, tc.want...)
			t.Logf("%s (%s): %s", tc.name, time.Since(start).Round(time.Millisecond), line)
			if strings.Contains(line, "hunter2-registry") {
				t.Errorf("the error shows the password: %s", line)
			}
			if exists(filepath.Join(dir, "out/provenance.json")) {
				t.Error("the attestation was written")
			}
			nothingAttached(t)
		})
	}

	// The tag moves while mmbuild attaches: the attestation names the
	// image the build pushed, the run fails saying so, no statement.
	t.Run("moved", func(t *testing.T) {
		dir := project(t, "oci://"+proxy.host+"/bad/moving:v1")
		reg.PushImage(t, "bad/moving", "v1", map[string]string{"first.txt": "first\n"})
		first := manifestDigest(t, reg.Host, "bad/moving", "v1")
		key, pub := signingKey(t, in, dir)
		var second string
		proxy.set("move", func() { second = reg.PushImage(t, "bad/moving", "v1", map[string]string{"second.txt": "second\n"}) })
		defer proxy.set("", nil)
		line := engineMustFail(t, in, dir, []string{"run", "--sign-key", key}, "artifacts.images[0]", "the image tag moved", first)
		t.Logf("moved: %s", line)
		if second == "" || !strings.Contains(line, second) {
			t.Errorf("the error does not name the image the tag moved to (%s): %s", second, line)
		}
		if exists(filepath.Join(dir, "out/provenance.json")) {
			t.Error("the attestation was written")
		}
		// What was attached attests the first image, not what the tag names.
		cosign := testservers.Tool(t, "cosign")
		if out, ok := cosignVerify(t, cosign, pub, reg.Host+"/bad/moving@"+first); !ok {
			t.Errorf("the attestation attached to the first image does not verify:\n%s", out)
		}
		if out, ok := cosignVerify(t, cosign, pub, reg.Host+"/bad/moving:v1"); ok {
			t.Errorf("cosign accepted the moved tag:\n%s", out)
		}
	})
}
