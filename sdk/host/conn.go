package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"

	"github.com/mmbuild/mmbuild/sdk/handler"
	"github.com/mmbuild/mmbuild/sdk/internal/pb"
	"github.com/mmbuild/mmbuild/sdk/internal/wire"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sbom"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// Conn is the host's side of a connection to one plugin process.
type Conn struct {
	plugin    pb.PluginClient
	handler   pb.HandlerClient
	storage   pb.StorageClient
	cataloger pb.CatalogerClient
	name      string // the plugin Info asks about; "" for the binary's first
}

// Named is c for the plugin called name of a process that bundles several
// (ServeBundle): its Info describes that one. The process, and the calls
// of every kind, are shared; a process that does not hold name answers
// Info with an error.
func (c *Conn) Named(name string) *Conn {
	n := *c
	n.name = name
	return &n
}

func newConn(c *grpc.ClientConn) *Conn {
	return &Conn{plugin: pb.NewPluginClient(c), handler: pb.NewHandlerClient(c), storage: pb.NewStorageClient(c), cataloger: pb.NewCatalogerClient(c)}
}

// Info asks the plugin to describe itself.
func (c *Conn) Info(ctx context.Context) (*plugin.Info, error) {
	r, err := c.plugin.Info(ctx, &pb.InfoRequest{Plugin: c.name})
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	info := &plugin.Info{
		Name: r.Name, Version: r.Version, SDKVersion: r.SdkVersion, APIVersion: int(r.ApiVersion),
		Kinds: r.Kinds, Capabilities: r.Capabilities,
	}
	if len(r.ConfigSchema) > 0 {
		info.ConfigSchema = map[string]json.RawMessage{}
		for k, v := range r.ConfigSchema {
			info.ConfigSchema[k] = json.RawMessage(v)
		}
	}
	return info, nil
}

// Handler returns the plugin's handler as a handler.Handler.
func (c *Conn) Handler() handler.Handler { return handlerClient{c.handler} }

// Storage returns the plugin's storage backends as a storage.Storage; the
// plugin routes each call by the URL's scheme.
func (c *Conn) Storage() storage.Storage { return storageClient{c.storage} }

// Cataloger returns the plugin's catalogers as an sbom.Cataloger; the
// plugin routes each call by CatalogerID.
func (c *Conn) Cataloger() sbom.Cataloger { return catalogerClient{c.cataloger} }

type catalogerClient struct{ c pb.CatalogerClient }

var _ sbom.Cataloger = catalogerClient{}

// Catalog streams the plugin's findings to emit. It stops with an error as
// soon as the plugin sends more than req.MaxEntries packages and files:
// what a plugin sends is bounded by the host, not by the plugin's word.
func (c catalogerClient) Catalog(ctx context.Context, req *sbom.CatalogRequest, emit func(sbom.Chunk) error) (*sbom.CatalogResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.c.Catalog(ctx, &pb.CatalogRequest{
		CatalogerId: req.CatalogerID, Name: req.Name, Path: req.Path, Options: req.Options, MaxEntries: req.MaxEntries,
	})
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	var n int64
	return receive(stream, "catalog", func(ev *pb.CatalogEvent) (*sbom.CatalogResult, error) {
		switch e := ev.Event.(type) {
		case *pb.CatalogEvent_Chunk:
			ch := sbom.Chunk{}
			for _, p := range e.Chunk.Packages {
				ch.Packages = append(ch.Packages, sbom.Package{Name: p.Name, Version: p.Version, Type: p.Type, PURL: p.Purl, Licenses: p.Licenses, Locations: p.Locations})
			}
			for _, f := range e.Chunk.Files {
				ch.Files = append(ch.Files, sbom.File{Path: f.Path, Size: f.Size, SHA256: f.Sha256, SHA1: f.Sha1})
			}
			n += int64(len(ch.Packages) + len(ch.Files))
			if req.MaxEntries > 0 && n > req.MaxEntries {
				return nil, fmt.Errorf("%w: the cataloger sent more than %d packages and files", sbom.ErrTooMany, req.MaxEntries)
			}
			return nil, emit(ch)
		case *pb.CatalogEvent_Result:
			return &sbom.CatalogResult{SHA256: e.Result.Sha256, Tool: e.Result.Tool}, nil
		}
		return nil, nil
	})
}

type handlerClient struct{ c pb.HandlerClient }

var _ handler.Handler = handlerClient{}

func (h handlerClient) Build(ctx context.Context, req *handler.BuildRequest) (*handler.BuildResponse, error) {
	stream, err := h.c.Build(ctx, &pb.BuildRequest{
		HandlerId: req.HandlerID, WorkDir: req.WorkDir, Params: req.Params, Env: req.Env, Options: req.Options,
	})
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	return receive(stream, "build", func(ev *pb.BuildEvent) (*handler.BuildResponse, error) {
		switch e := ev.Event.(type) {
		case *pb.BuildEvent_Output:
			w := req.Stdout
			if e.Output.Stream == pb.Output_STREAM_STDERR {
				w = req.Stderr
			}
			if w != nil {
				if _, err := w.Write(e.Output.Data); err != nil {
					return nil, fmt.Errorf("writing build output: %w", err)
				}
			}
		case *pb.BuildEvent_Result:
			return &handler.BuildResponse{ExitCode: int(e.Result.ExitCode)}, nil
		}
		return nil, nil
	})
}

type storageClient struct{ c pb.StorageClient }

var (
	_ storage.Storage        = storageClient{}
	_ storage.Attacher       = storageClient{}
	_ storage.AttachedReader = storageClient{}
	_ storage.Batcher        = storageClient{}
	_ storage.Lister         = storageClient{}
)

func (s storageClient) Stat(ctx context.Context, req *storage.StatRequest) (*storage.StatResponse, error) {
	r, err := s.c.Stat(ctx, &pb.StatRequest{Url: req.URL, Options: req.Options})
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	return statFromPB(r), nil
}

func statFromPB(r *pb.StatResponse) *storage.StatResponse {
	out := &storage.StatResponse{IsDir: r.IsDir, Size: r.Size, Digest: r.Digest, ContentDigest: r.ContentDigest, Version: r.Version}
	if r.ModTimeUnixNano != 0 {
		out.ModTime = time.Unix(0, r.ModTimeUnixNano)
	}
	return out
}

// StatBatch asks the plugin about many URLs in one call. A plugin built
// before the RPC fails with errors.ErrUnsupported.
func (s storageClient) StatBatch(ctx context.Context, req *storage.StatBatchRequest) (*storage.StatBatchResponse, error) {
	in := &pb.StatBatchRequest{Items: make([]*pb.StatRequest, len(req.Items))}
	for i, it := range req.Items {
		in.Items[i] = &pb.StatRequest{Url: it.URL, Options: it.Options}
	}
	r, err := s.c.StatBatch(ctx, in)
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	if len(r.Results) != len(req.Items) {
		return nil, fmt.Errorf("%w: %d results for %d items", ErrConnection, len(r.Results), len(req.Items))
	}
	out := &storage.StatBatchResponse{Results: make([]storage.StatResult, len(r.Results))}
	for i, res := range r.Results {
		switch {
		case res.ErrorCode != 0 || res.ErrorMessage != "":
			out.Results[i].Err = wire.FromItem(res.ErrorCode, res.ErrorReason, res.ErrorMessage)
		case res.Stat == nil:
			out.Results[i].Err = fmt.Errorf("%w: item %d has neither a result nor an error", ErrConnection, i)
		default:
			out.Results[i].Stat = statFromPB(res.Stat)
		}
	}
	return out, nil
}

// PutBatch asks the plugin to put many files in one call. A plugin built
// before the RPC fails with errors.ErrUnsupported.
func (s storageClient) PutBatch(ctx context.Context, req *storage.PutBatchRequest) (*storage.PutResponse, error) {
	in := &pb.PutBatchRequest{Items: make([]*pb.PutRequest, len(req.Items))}
	for i, it := range req.Items {
		in.Items[i] = &pb.PutRequest{SourcePath: it.SourcePath, Url: it.URL, Options: it.Options, Digest: it.Digest, Snapshot: it.Snapshot}
	}
	stream, err := s.c.PutBatch(ctx, in)
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	return receivePut(stream, req.Progress)
}

// Attach asks the plugin to attach a file to a subject. A plugin that does
// not offer it (no storage:attach capability, or an SDK older than the
// RPC) fails with errors.ErrUnsupported.
func (s storageClient) Attach(ctx context.Context, req *storage.AttachRequest) (*storage.AttachResponse, error) {
	r, err := s.c.Attach(ctx, &pb.AttachRequest{
		SubjectUrl: req.SubjectURL, SourcePath: req.SourcePath, MediaType: req.MediaType,
		PredicateType: req.PredicateType, Annotations: req.Annotations, Options: req.Options,
	})
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	return &storage.AttachResponse{Locations: r.Locations}, nil
}

// List asks the plugin for a page of a folder's files. A plugin without
// storage.CapabilityList answers errors.ErrUnsupported.
func (s storageClient) List(ctx context.Context, req *storage.ListRequest) (*storage.ListResponse, error) {
	r, err := s.c.List(ctx, &pb.ListRequest{Url: req.URL, Options: req.Options, StartAfter: req.StartAfter})
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	out := &storage.ListResponse{Truncated: r.Truncated, Entries: make([]storage.ListEntry, len(r.Entries))}
	for i, e := range r.Entries {
		out.Entries[i] = storage.ListEntry{Name: e.Name, Size: e.Size, Version: e.Version}
	}
	return out, nil
}

// Attached asks the plugin for the files attached to a subject. A plugin
// that does not offer it (no storage:attached capability, or an SDK older
// than the RPC) fails with errors.ErrUnsupported.
func (s storageClient) Attached(ctx context.Context, req *storage.AttachedRequest) (*storage.AttachedResponse, error) {
	r, err := s.c.Attached(ctx, &pb.AttachedRequest{SubjectUrl: req.SubjectURL, DestPath: req.DestPath, Options: req.Options})
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	out := &storage.AttachedResponse{}
	for _, f := range r.Files {
		out.Files = append(out.Files, storage.AttachedFile{Name: f.Name, MediaType: f.MediaType, Location: f.Location})
	}
	return out, nil
}

func receiveTransfer(stream eventStream[*pb.TransferEvent], progress storage.ProgressFunc) (*pb.TransferResult, error) {
	return receive(stream, "transfer", func(ev *pb.TransferEvent) (*pb.TransferResult, error) {
		switch e := ev.Event.(type) {
		case *pb.TransferEvent_Progress:
			if progress != nil {
				progress(storage.Progress{DoneBytes: e.Progress.DoneBytes, TotalBytes: e.Progress.TotalBytes, Current: e.Progress.Current})
			}
		case *pb.TransferEvent_Result:
			return e.Result, nil
		}
		return nil, nil
	})
}

// receivePut receives the transfer of a Put or a PutBatch.
func receivePut(stream eventStream[*pb.TransferEvent], progress storage.ProgressFunc) (*storage.PutResponse, error) {
	r, err := receiveTransfer(stream, progress)
	if err != nil {
		return nil, err
	}
	return &storage.PutResponse{Bytes: r.Bytes, Files: r.Files, IsDir: r.IsDir}, nil
}

// eventStream is the receiving end of a server stream of E.
type eventStream[E any] interface {
	Recv() (E, error)
}

// receive hands each event of stream to handle until handle returns a
// result or an error. The stream ending before a result is the
// connection's fault: the plugin went away in the middle of the call
// (what names the call in the error).
func receive[E any, R any](stream eventStream[E], what string, handle func(E) (*R, error)) (*R, error) {
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s stream ended without a result", ErrConnection, what)
		}
		if err != nil {
			return nil, wire.FromStatus(err)
		}
		if r, err := handle(ev); r != nil || err != nil {
			return r, err
		}
	}
}

func (s storageClient) Get(ctx context.Context, req *storage.GetRequest) (*storage.GetResponse, error) {
	stream, err := s.c.Get(ctx, &pb.GetRequest{Url: req.URL, DestPath: req.DestPath, Options: req.Options})
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	r, err := receiveTransfer(stream, req.Progress)
	if err != nil {
		return nil, err
	}
	return &storage.GetResponse{Bytes: r.Bytes, Files: r.Files, IsDir: r.IsDir, Revision: r.Revision, Name: r.Name}, nil
}

func (s storageClient) Put(ctx context.Context, req *storage.PutRequest) (*storage.PutResponse, error) {
	stream, err := s.c.Put(ctx, &pb.PutRequest{SourcePath: req.SourcePath, Url: req.URL, Options: req.Options, Digest: req.Digest, Snapshot: req.Snapshot})
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	return receivePut(stream, req.Progress)
}
