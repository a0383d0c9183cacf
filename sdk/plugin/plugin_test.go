package plugin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mmbuild/mmbuild/sdk/handler"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

type echoHandler struct{}

func (echoHandler) Build(_ context.Context, req *handler.BuildRequest) (*handler.BuildResponse, error) {
	fmt.Fprintf(req.Stdout, "out:%s\n", strings.Join(req.Params, ","))
	fmt.Fprintf(req.Stderr, "err:%d\n", len(req.Env))
	big := bytes.Repeat([]byte("x"), 3*plugin.MaxChunk+5) // crosses the chunk size
	_, _ = req.Stdout.Write(big)
	return &handler.BuildResponse{ExitCode: 7}, nil
}

type errStore struct{ err error }

func (s errStore) Stat(context.Context, *storage.StatRequest) (*storage.StatResponse, error) {
	return nil, s.err
}
func (s errStore) Get(_ context.Context, req *storage.GetRequest) (*storage.GetResponse, error) {
	if s.err != nil {
		return nil, s.err
	}
	req.Report(storage.Progress{DoneBytes: 1, TotalBytes: 1})
	return &storage.GetResponse{Bytes: 1, Files: 1, Revision: "abc123"}, nil
}
func (s errStore) Put(context.Context, *storage.PutRequest) (*storage.PutResponse, error) {
	return nil, s.err
}

func TestBuildStreamsOutputAndExitCode(t *testing.T) {
	conn := sdktest.Serve(t, plugin.WithName("t"), plugin.WithHandler("echo", echoHandler{}))
	var out, errb bytes.Buffer
	resp, err := conn.Handler().Build(context.Background(), &handler.BuildRequest{
		HandlerID: "echo", Params: []string{"a", "b"}, Env: []string{"A=1", "B=2"}, Stdout: &out, Stderr: &errb,
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ExitCode != 7 || !strings.HasPrefix(out.String(), "out:a,b\n") || out.Len() != len("out:a,b\n")+3*plugin.MaxChunk+5 || errb.String() != "err:2\n" {
		t.Fatalf("exit %d stdout %d bytes stderr %q", resp.ExitCode, out.Len(), errb.String())
	}
	if _, err := conn.Handler().Build(context.Background(), &handler.BuildRequest{HandlerID: "nope", Stdout: &out, Stderr: &errb}); err == nil {
		t.Fatal("unknown handler id accepted")
	}
}

// The storage contract's sentinels must survive the process boundary.
func TestErrorsSurviveTheWire(t *testing.T) {
	for _, sentinel := range []error{fs.ErrNotExist, fs.ErrPermission, errors.ErrUnsupported, storage.ErrInvalidURL, storage.ErrUnsafePath, storage.ErrChanged} {
		t.Run(sentinel.Error(), func(t *testing.T) {
			conn := sdktest.Serve(t, plugin.WithName("t"), plugin.WithStorage("x", errStore{err: fmt.Errorf("stat x://b/k: %w", sentinel)}))
			_, err := conn.Storage().Stat(context.Background(), &storage.StatRequest{URL: "x://b/k"})
			if !errors.Is(err, sentinel) {
				t.Fatalf("errors.Is(%v, %v) = false", err, sentinel)
			}
			if !strings.Contains(err.Error(), "stat x://b/k") {
				t.Fatalf("message lost: %v", err)
			}
		})
	}
	conn := sdktest.Serve(t, plugin.WithName("t"), plugin.WithStorage("x", errStore{}))
	if _, err := conn.Storage().Stat(context.Background(), &storage.StatRequest{URL: "y://b"}); !errors.Is(err, storage.ErrInvalidURL) {
		t.Fatalf("unserved scheme: %v", err)
	}
}

// A plugin's 10 MiB error message reaches the host cut to a bounded line
// that says how much was left out, cut at a character boundary and with
// its sentinel kept.
func TestHugeErrorMessageIsCappedOnTheHost(t *testing.T) {
	for name, err := range map[string]error{
		"plain 10 MiB":   errors.New(strings.Repeat("x", 10<<20-1) + "é"),
		"sentinel 5 MiB": fmt.Errorf("%s: %w", strings.Repeat("x", 5<<20-1)+"é", fs.ErrPermission),
	} {
		t.Run(name, func(t *testing.T) {
			conn := sdktest.Serve(t, plugin.WithName("t"), plugin.WithStorage("x", errStore{err: err}))
			_, got := conn.Storage().Stat(context.Background(), &storage.StatRequest{URL: "x://b/k"})
			if got == nil || len(got.Error()) > 5<<10 {
				t.Fatalf("relayed %d bytes of the plugin's error, want at most 5 KiB", len(got.Error()))
			}
			if !strings.Contains(got.Error(), "more bytes of the plugin's message left out") || !utf8.ValidString(got.Error()) {
				t.Fatalf("capped message: %.200q…", got.Error())
			}
			if errors.Is(err, fs.ErrPermission) != errors.Is(got, fs.ErrPermission) {
				t.Fatalf("sentinel lost: %v", got)
			}
		})
	}
}

func TestGetResultAndProgress(t *testing.T) {
	conn := sdktest.Serve(t, plugin.WithName("t"), plugin.WithStorage("x", errStore{}))
	var got []storage.Progress
	resp, err := conn.Storage().Get(context.Background(), &storage.GetRequest{URL: "x://b/k", DestPath: "/nowhere",
		Progress: func(p storage.Progress) { got = append(got, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Revision != "abc123" || resp.Bytes != 1 || len(got) != 1 {
		t.Fatalf("resp %+v progress %v", resp, got)
	}
}

func TestInfoAndDescribe(t *testing.T) {
	opts := []plugin.Option{plugin.WithName("multi"), plugin.WithVersion("1.2.3"), plugin.WithHandler("echo", echoHandler{}), plugin.WithStorage("x", errStore{})}
	conn := sdktest.Serve(t, opts...)
	info, err := conn.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "multi" || info.Version != "1.2.3" || info.APIVersion != plugin.APIVersion || !info.HasKind("handler:echo") || !info.HasKind("storage:x") {
		t.Fatalf("info %+v", info)
	}
	var buf bytes.Buffer
	if err := plugin.ServeArgs([]string{"/any/name", "describe"}, &buf, [][]plugin.Option{opts}); err != nil {
		t.Fatal(err)
	}
	var described plugin.Info
	if err := json.Unmarshal(buf.Bytes(), &described); err != nil || described.Name != "multi" || len(described.Kinds) != 2 {
		t.Fatalf("describe: %v %s", err, buf.String())
	}
}

// A bundle answers Info for each of its plugins by name over one
// connection, serves the kinds of all, and is each plugin when run by hand
// under that plugin's file name.
func TestBundle(t *testing.T) {
	build := []plugin.Option{plugin.WithName("build"), plugin.WithVersion("1.0.0"), plugin.WithHandler("echo", echoHandler{})}
	store := []plugin.Option{plugin.WithName("store"), plugin.WithVersion("2.0.0"), plugin.WithStorage("x", errStore{err: fs.ErrNotExist})}
	conn := sdktest.ServeBundle(t, build, store)
	ctx := context.Background()
	for name, want := range map[string]string{"": "build", "build": "build", "store": "store"} {
		info, err := conn.Named(name).Info(ctx)
		if err != nil || info.Name != want {
			t.Fatalf("Info of %q: %+v, %v; want plugin %s", name, info, err, want)
		}
	}
	if info, _ := conn.Named("store").Info(ctx); !info.HasKind("storage:x") || info.HasKind("handler:echo") || info.Version != "2.0.0" {
		t.Fatalf("store's Info %+v: kinds of another plugin, or not its own", info)
	}
	if _, err := conn.Named("other").Info(ctx); err == nil || !strings.Contains(err.Error(), `holds the plugins build, store, not "other"`) {
		t.Fatalf("Info of a plugin the bundle does not hold: %v", err)
	}
	// The calls of every kind reach their plugin through the one process.
	if _, err := conn.Named("store").Storage().Stat(ctx, &storage.StatRequest{URL: "x://a"}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("storage call through the bundle: %v", err)
	}
	for argv0, want := range map[string]string{"/bin/mmbuild-plugin-store": "store", "mmbuild-plugin-build.exe": "build"} {
		var buf bytes.Buffer
		if err := plugin.ServeArgs([]string{argv0, "describe"}, &buf, [][]plugin.Option{build, store}); err != nil {
			t.Fatal(err)
		}
		var info plugin.Info
		if err := json.Unmarshal(buf.Bytes(), &info); err != nil || info.Name != want {
			t.Fatalf("describe as %s: %v %s", argv0, err, buf.String())
		}
	}
	if err := plugin.ServeArgs([]string{"/bin/bundle", "describe"}, io.Discard, [][]plugin.Option{build, store}); err == nil || !strings.Contains(err.Error(), "install it as mmbuild-plugin-<name>") {
		t.Fatalf("describe under no plugin's name: %v", err)
	}
	for name, members := range map[string][][]plugin.Option{
		"empty":        nil,
		"a name twice": {build, {plugin.WithName("build"), plugin.WithStorage("y", errStore{})}},
		"a kind twice": {store, {plugin.WithName("other"), plugin.WithStorage("x", errStore{})}},
		"a bad member": {build, {plugin.WithStorage("y", errStore{})}},
	} {
		if err := plugin.CheckBundle(members...); err == nil {
			t.Errorf("bundle with %s: accepted", name)
		}
	}
}

func TestOptionErrors(t *testing.T) {
	for name, opts := range map[string][]plugin.Option{
		"no name":     {plugin.WithStorage("x", errStore{})},
		"bad name":    {plugin.WithName("Bad"), plugin.WithStorage("x", errStore{})},
		"nothing":     {plugin.WithName("x")},
		"dup storage": {plugin.WithName("x"), plugin.WithStorage("x", errStore{}), plugin.WithStorage("x", errStore{})},
		"nil handler": {plugin.WithName("x"), plugin.WithHandler("h", nil)},
	} {
		if err := plugin.CheckOptions(opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// attachStore records what it was asked to attach and resolves every URL to
// one digest.
type attachStore struct {
	errStore
	got *storage.AttachRequest
}

func (s *attachStore) Stat(context.Context, *storage.StatRequest) (*storage.StatResponse, error) {
	return &storage.StatResponse{IsDir: true, Size: 3, Digest: "sha256:" + strings.Repeat("ab", 32)}, nil
}

func (s *attachStore) Attach(_ context.Context, req *storage.AttachRequest) (*storage.AttachResponse, error) {
	if strings.Contains(req.SubjectURL, "missing") {
		return nil, fmt.Errorf("no such image: %w", fs.ErrNotExist)
	}
	s.got = req
	return &storage.AttachResponse{Locations: []string{"x://h/r:sha256-ab.att"}}, nil
}

// Attach crosses the wire with every field to a component that implements
// storage.Attacher, its errors keep their sentinel, and a component that
// does not answers errors.ErrUnsupported; Stat carries the digest.
func TestAttachOverGRPC(t *testing.T) {
	as := &attachStore{}
	conn := sdktest.Serve(t, plugin.WithName("t"), plugin.WithStorage("x", as), plugin.WithStorage("y", errStore{}))
	st, err := conn.Storage().Stat(context.Background(), &storage.StatRequest{URL: "x://h/r:v1"})
	if err != nil || st.Digest != "sha256:"+strings.Repeat("ab", 32) || !st.IsDir {
		t.Fatalf("stat %+v %v", st, err)
	}
	att, ok := conn.Storage().(storage.Attacher)
	if !ok {
		t.Fatal("the host's storage does not offer Attach")
	}
	req := &storage.AttachRequest{
		SubjectURL: "x://h/r@sha256:ab", SourcePath: "/tmp/env.json", MediaType: "application/vnd.dsse.envelope.v1+json",
		PredicateType: "https://slsa.dev/provenance/v0.2", Annotations: map[string]string{"a": "b"}, Options: map[string]string{"o": "p"},
	}
	resp, err := att.Attach(context.Background(), req)
	if err != nil || len(resp.Locations) != 1 || resp.Locations[0] != "x://h/r:sha256-ab.att" {
		t.Fatalf("attach %+v %v", resp, err)
	}
	if g := as.got; g.SubjectURL != req.SubjectURL || g.SourcePath != req.SourcePath || g.MediaType != req.MediaType ||
		g.PredicateType != req.PredicateType || g.Annotations["a"] != "b" || g.Options["o"] != "p" {
		t.Fatalf("the plugin got %+v", g)
	}
	if _, err := att.Attach(context.Background(), &storage.AttachRequest{SubjectURL: "x://h/missing@sha256:ab"}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing subject: %v", err)
	}
	if _, err := att.Attach(context.Background(), &storage.AttachRequest{SubjectURL: "y://h/r@sha256:ab"}); !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), storage.CapabilityAttach) {
		t.Fatalf("a component without Attach: %v", err)
	}
}

// attachedStore writes one file per attached file it is asked for.
type attachedStore struct{ errStore }

func (attachedStore) Attached(_ context.Context, req *storage.AttachedRequest) (*storage.AttachedResponse, error) {
	if strings.Contains(req.SubjectURL, "missing") {
		return nil, fmt.Errorf("no such image: %w", fs.ErrNotExist)
	}
	if err := os.Mkdir(req.DestPath, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(req.DestPath, "0.dsse.json"), []byte(req.Options["o"]), 0o644); err != nil {
		return nil, err
	}
	return &storage.AttachedResponse{Files: []storage.AttachedFile{{Name: "0.dsse.json", MediaType: "application/vnd.dsse.envelope.v1+json", Location: "x://h/r:sha256-ab.att"}}}, nil
}

// Attached crosses the wire with its fields, the plugin writes in the
// folder named, errors keep their sentinel, and a component without it
// answers errors.ErrUnsupported naming the capability.
func TestAttachedOverGRPC(t *testing.T) {
	conn := sdktest.Serve(t, plugin.WithName("t"), plugin.WithStorage("x", attachedStore{}), plugin.WithStorage("y", errStore{}))
	ar, ok := conn.Storage().(storage.AttachedReader)
	if !ok {
		t.Fatal("the host's storage does not offer Attached")
	}
	dest := filepath.Join(t.TempDir(), "attached")
	resp, err := ar.Attached(context.Background(), &storage.AttachedRequest{SubjectURL: "x://h/r@sha256:ab", DestPath: dest, Options: map[string]string{"o": "envelope"}})
	if err != nil || len(resp.Files) != 1 {
		t.Fatalf("attached %+v %v", resp, err)
	}
	if f := resp.Files[0]; f.Name != "0.dsse.json" || f.MediaType != "application/vnd.dsse.envelope.v1+json" || f.Location != "x://h/r:sha256-ab.att" {
		t.Fatalf("file %+v", f)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "0.dsse.json")); err != nil || string(b) != "envelope" {
		t.Fatalf("the file written: %q %v", b, err)
	}
	if _, err := ar.Attached(context.Background(), &storage.AttachedRequest{SubjectURL: "x://h/missing@sha256:ab", DestPath: dest + "2"}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing subject: %v", err)
	}
	if _, err := ar.Attached(context.Background(), &storage.AttachedRequest{SubjectURL: "y://h/r@sha256:ab", DestPath: dest + "3"}); !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), storage.CapabilityAttached) {
		t.Fatalf("a component without Attached: %v", err)
	}
}
