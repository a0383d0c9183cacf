package plugin_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// refusingStore puts every file but those whose URL ends in "/refused",
// which it refuses with an error that does not name the file.
type refusingStore struct{}

func (refusingStore) Stat(context.Context, *storage.StatRequest) (*storage.StatResponse, error) {
	return nil, fs.ErrNotExist
}
func (refusingStore) Get(context.Context, *storage.GetRequest) (*storage.GetResponse, error) {
	return nil, fs.ErrNotExist
}
func (refusingStore) Put(_ context.Context, req *storage.PutRequest) (*storage.PutResponse, error) {
	if strings.HasSuffix(req.URL, "/refused") {
		return nil, fs.ErrPermission
	}
	return &storage.PutResponse{Bytes: 1, Files: 1}, nil
}

// batchingStore has its own PutBatch, which names the item it refused.
type batchingStore struct{ refusingStore }

func (batchingStore) StatBatch(context.Context, *storage.StatBatchRequest) (*storage.StatBatchResponse, error) {
	return nil, errors.ErrUnsupported
}
func (b batchingStore) PutBatch(ctx context.Context, req *storage.PutBatchRequest) (*storage.PutResponse, error) {
	for i := range req.Items {
		if _, err := b.Put(ctx, &req.Items[i]); err != nil {
			return nil, &storage.ItemError{Index: i, Err: err}
		}
	}
	return &storage.PutResponse{Bytes: int64(len(req.Items)), Files: int64(len(req.Items))}, nil
}

// A batch that fails names the item that failed, by its index in the
// request, through the wire: from the SDK's own batching (Put per item) and
// from a component's PutBatch, whose items are a part of the request (the
// items of its scheme) renumbered from 0.
func TestPutBatchNamesTheFailedItem(t *testing.T) {
	conn := sdktest.Serve(t, plugin.WithName("two"),
		plugin.WithStorage("a", refusingStore{}), plugin.WithStorage("b", batchingStore{}))
	b, ok := conn.Storage().(storage.Batcher)
	if !ok {
		t.Fatal("the host's storage client is no storage.Batcher")
	}
	src := t.TempDir()
	for _, tc := range []struct {
		urls []string
		want int // the failed item; -1: none
	}{
		{[]string{"a://x/1", "a://x/2", "a://x/refused", "a://x/4"}, 2},
		{[]string{"b://x/1", "a://x/2", "b://x/3", "b://x/refused"}, 3},
		{[]string{"a://x/1", "b://x/refused"}, 1},
		{[]string{"bad", "a://x/1"}, 0},
		{[]string{"a://x/1", "b://x/2"}, -1},
	} {
		req := &storage.PutBatchRequest{}
		for _, u := range tc.urls {
			req.Items = append(req.Items, storage.PutRequest{SourcePath: src, URL: u})
		}
		_, err := b.PutBatch(t.Context(), req)
		var ie *storage.ItemError
		switch {
		case tc.want < 0 && err != nil:
			t.Errorf("%q: %v", tc.urls, err)
		case tc.want < 0:
		case !errors.As(err, &ie) || ie.Index != tc.want:
			t.Errorf("%q: %v (%#v), want item %d named", tc.urls, err, ie, tc.want)
		case tc.want > 0 && !errors.Is(err, fs.ErrPermission):
			t.Errorf("%q: %v, want fs.ErrPermission through the wire", tc.urls, err)
		}
	}
}
