package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/handler"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

type echoHandler struct{}

func (echoHandler) Build(_ context.Context, req *handler.BuildRequest) (*handler.BuildResponse, error) {
	fmt.Fprintf(req.Stdout, "out:%s\n", strings.Join(req.Params, ","))
	fmt.Fprintf(req.Stderr, "err:%d\n", len(req.Env))
	big := bytes.Repeat([]byte("x"), 3*maxChunk+5) // crosses the chunk size
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
	conn := TestConn(t, WithName("t"), WithHandler("echo", echoHandler{}))
	var out, errb bytes.Buffer
	resp, err := conn.Handler().Build(context.Background(), &handler.BuildRequest{
		HandlerID: "echo", Params: []string{"a", "b"}, Env: []string{"A=1", "B=2"}, Stdout: &out, Stderr: &errb,
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ExitCode != 7 || !strings.HasPrefix(out.String(), "out:a,b\n") || out.Len() != len("out:a,b\n")+3*maxChunk+5 || errb.String() != "err:2\n" {
		t.Fatalf("exit %d stdout %d bytes stderr %q", resp.ExitCode, out.Len(), errb.String())
	}
	if _, err := conn.Handler().Build(context.Background(), &handler.BuildRequest{HandlerID: "nope", Stdout: &out, Stderr: &errb}); err == nil {
		t.Fatal("unknown handler id accepted")
	}
}

// The storage contract's sentinels must survive the process boundary.
func TestErrorsSurviveTheWire(t *testing.T) {
	for _, sentinel := range []error{fs.ErrNotExist, fs.ErrPermission, errors.ErrUnsupported, storage.ErrInvalidURL, storage.ErrUnsafePath} {
		t.Run(sentinel.Error(), func(t *testing.T) {
			conn := TestConn(t, WithName("t"), WithStorage("x", errStore{err: fmt.Errorf("stat x://b/k: %w", sentinel)}))
			_, err := conn.Storage().Stat(context.Background(), &storage.StatRequest{URL: "x://b/k"})
			if !errors.Is(err, sentinel) {
				t.Fatalf("errors.Is(%v, %v) = false", err, sentinel)
			}
			if !strings.Contains(err.Error(), "stat x://b/k") {
				t.Fatalf("message lost: %v", err)
			}
		})
	}
	conn := TestConn(t, WithName("t"), WithStorage("x", errStore{}))
	if _, err := conn.Storage().Stat(context.Background(), &storage.StatRequest{URL: "y://b"}); !errors.Is(err, storage.ErrInvalidURL) {
		t.Fatalf("unserved scheme: %v", err)
	}
}

func TestGetResultAndProgress(t *testing.T) {
	conn := TestConn(t, WithName("t"), WithStorage("x", errStore{}))
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
	opts := []Option{WithName("multi"), WithVersion("1.2.3"), WithHandler("echo", echoHandler{}), WithStorage("x", errStore{})}
	conn := TestConn(t, opts...)
	info, err := conn.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "multi" || info.Version != "1.2.3" || info.APIVersion != APIVersion || !info.HasKind("handler:echo") || !info.HasKind("storage:x") {
		t.Fatalf("info %+v", info)
	}
	var buf bytes.Buffer
	if err := serve([]string{"describe"}, &buf, opts); err != nil {
		t.Fatal(err)
	}
	var described Info
	if err := json.Unmarshal(buf.Bytes(), &described); err != nil || described.Name != "multi" || len(described.Kinds) != 2 {
		t.Fatalf("describe: %v %s", err, buf.String())
	}
}

func TestOptionErrors(t *testing.T) {
	for name, opts := range map[string][]Option{
		"no name":     {WithStorage("x", errStore{})},
		"bad name":    {WithName("Bad"), WithStorage("x", errStore{})},
		"nothing":     {WithName("x")},
		"dup storage": {WithName("x"), WithStorage("x", errStore{}), WithStorage("x", errStore{})},
		"nil handler": {WithName("x"), WithHandler("h", nil)},
	} {
		if _, err := newOptions(opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
