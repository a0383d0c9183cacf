package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mmbuild/mmbuild/sdk/handler"
	"github.com/mmbuild/mmbuild/sdk/internal/pb"
	"github.com/mmbuild/mmbuild/sdk/internal/pluginset"
	"github.com/mmbuild/mmbuild/sdk/internal/wire"
	"github.com/mmbuild/mmbuild/sdk/sbom"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// register registers the Plugin service, and the Handler, Storage and
// Cataloger services for what the bundle holds.
func (b *bundle) register(s *grpc.Server) {
	pb.RegisterPluginServer(s, &infoServer{bundle: b})
	if len(b.handlers) > 0 {
		pb.RegisterHandlerServer(s, &handlerServer{handlers: b.handlers})
	}
	if len(b.storages) > 0 {
		pb.RegisterStorageServer(s, &storageServer{storages: b.storages})
	}
	if len(b.catalogers) > 0 {
		pb.RegisterCatalogerServer(s, &catalogerServer{catalogers: b.catalogers})
	}
}

// component is the go-plugin component that serves the bundle.
func (b *bundle) component() *pluginset.Component {
	return &pluginset.Component{Register: b.register}
}

// sdktest serves a bundle in-process through this hook (see
// pluginset.Bundle), which keeps the wiring out of this package's API.
func init() {
	pluginset.Bundle = func(members any) (*pluginset.Component, error) {
		m, ok := members.([][]Option)
		if !ok {
			return nil, fmt.Errorf("bundle members of type %T, want [][]plugin.Option", members)
		}
		b, err := newBundle(m...)
		if err != nil {
			return nil, err
		}
		return b.component(), nil
	}
}

type infoServer struct {
	pb.UnimplementedPluginServer
	bundle *bundle
}

// Info answers for the plugin the request names; a binary of one plugin
// answers for itself whatever the name (the host compares the names).
func (s *infoServer) Info(_ context.Context, req *pb.InfoRequest) (*pb.InfoResponse, error) {
	o := s.bundle.members[0]
	if req.GetPlugin() != "" && len(s.bundle.members) > 1 {
		if o = s.bundle.member(req.GetPlugin()); o == nil {
			return nil, status.Errorf(codes.NotFound, "this binary holds the plugins %s, not %q", strings.Join(s.bundle.names(), ", "), req.GetPlugin())
		}
	}
	return infoToPB(o.info()), nil
}

type handlerServer struct {
	pb.UnimplementedHandlerServer
	handlers map[string]handler.Handler
}

// maxChunk keeps every message well under gRPC's 4 MiB default and our 1 MiB
// budget.
const maxChunk = 32 << 10

// streamWriter turns writes into Output events. Stdout and stderr are written
// from different goroutines, so sends are serialised.
type streamWriter struct {
	mu     *sync.Mutex
	send   func(*pb.BuildEvent) error
	stream pb.Output_Stream
}

func (w *streamWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		c := b
		if len(c) > maxChunk {
			c = c[:maxChunk]
		}
		data := append([]byte(nil), c...)
		w.mu.Lock()
		err := w.send(&pb.BuildEvent{Event: &pb.BuildEvent_Output{Output: &pb.Output{Stream: w.stream, Data: data}}})
		w.mu.Unlock()
		if err != nil {
			return 0, err
		}
		b = b[len(c):]
	}
	return n, nil
}

func (s *handlerServer) Build(req *pb.BuildRequest, stream pb.Handler_BuildServer) error {
	h, ok := s.handlers[req.HandlerId]
	if !ok {
		return wire.ToStatus(fmt.Errorf("no handler %q in this plugin", req.HandlerId))
	}
	mu := &sync.Mutex{}
	resp, err := h.Build(stream.Context(), &handler.BuildRequest{
		HandlerID: req.HandlerId,
		WorkDir:   req.WorkDir,
		Params:    req.Params,
		Env:       nonNil(req.Env),
		Options:   req.Options,
		Stdout:    &streamWriter{mu: mu, send: stream.Send, stream: pb.Output_STREAM_STDOUT},
		Stderr:    &streamWriter{mu: mu, send: stream.Send, stream: pb.Output_STREAM_STDERR},
	})
	if err != nil {
		return wire.ToStatus(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return stream.Send(&pb.BuildEvent{Event: &pb.BuildEvent_Result{Result: &pb.BuildResult{ExitCode: int32(resp.ExitCode)}}})
}

type storageServer struct {
	pb.UnimplementedStorageServer
	storages map[string]storage.Storage
}

func (s *storageServer) pick(rawURL string) (storage.Storage, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		// Never echo the URL: it may carry credentials.
		return nil, fmt.Errorf("%w: not a URL with a scheme", storage.ErrInvalidURL)
	}
	st, ok := s.storages[u.Scheme]
	if !ok {
		return nil, fmt.Errorf("%w: scheme %q is not served by this plugin", storage.ErrInvalidURL, u.Scheme)
	}
	return st, nil
}

func (s *storageServer) Stat(ctx context.Context, req *pb.StatRequest) (*pb.StatResponse, error) {
	st, err := s.pick(req.Url)
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	resp, err := st.Stat(ctx, &storage.StatRequest{URL: req.Url, Options: req.Options})
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return statToPB(resp), nil
}

func statToPB(resp *storage.StatResponse) *pb.StatResponse {
	out := &pb.StatResponse{IsDir: resp.IsDir, Size: resp.Size, Digest: resp.Digest, ContentDigest: resp.ContentDigest, Version: resp.Version}
	if !resp.ModTime.IsZero() {
		out.ModTimeUnixNano = resp.ModTime.UnixNano()
	}
	return out
}

// Attach serves storage.Attacher for a component that implements it.
func (s *storageServer) Attach(ctx context.Context, req *pb.AttachRequest) (*pb.AttachResponse, error) {
	st, err := s.pick(req.SubjectUrl)
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	a, ok := st.(storage.Attacher)
	if !ok {
		return nil, wire.ToStatus(fmt.Errorf("%w: this plugin does not attach files (no %s)", errors.ErrUnsupported, storage.CapabilityAttach))
	}
	resp, err := a.Attach(ctx, &storage.AttachRequest{
		SubjectURL: req.SubjectUrl, SourcePath: req.SourcePath, MediaType: req.MediaType,
		PredicateType: req.PredicateType, Annotations: req.Annotations, Options: req.Options,
	})
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return &pb.AttachResponse{Locations: resp.Locations}, nil
}

// Attached serves storage.AttachedReader for a component that implements
// it.
func (s *storageServer) Attached(ctx context.Context, req *pb.AttachedRequest) (*pb.AttachedResponse, error) {
	st, err := s.pick(req.SubjectUrl)
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	a, ok := st.(storage.AttachedReader)
	if !ok {
		return nil, wire.ToStatus(fmt.Errorf("%w: this plugin does not read attached files (no %s)", errors.ErrUnsupported, storage.CapabilityAttached))
	}
	resp, err := a.Attached(ctx, &storage.AttachedRequest{SubjectURL: req.SubjectUrl, DestPath: req.DestPath, Options: req.Options})
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	out := &pb.AttachedResponse{}
	for _, f := range resp.Files {
		out.Files = append(out.Files, &pb.AttachedFile{Name: f.Name, MediaType: f.MediaType, Location: f.Location})
	}
	return out, nil
}

// List serves storage.Lister for a component that implements it.
func (s *storageServer) List(ctx context.Context, req *pb.ListRequest) (*pb.ListResponse, error) {
	st, err := s.pick(req.Url)
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	l, ok := st.(storage.Lister)
	if !ok {
		return nil, wire.ToStatus(fmt.Errorf("%w: this plugin does not list folders (no %s)", errors.ErrUnsupported, storage.CapabilityList))
	}
	resp, err := l.List(ctx, &storage.ListRequest{URL: req.Url, Options: req.Options, StartAfter: req.StartAfter})
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	out := &pb.ListResponse{Truncated: resp.Truncated, Entries: make([]*pb.ListEntry, len(resp.Entries))}
	for i, e := range resp.Entries {
		out.Entries[i] = &pb.ListEntry{Name: e.Name, Size: e.Size, Version: e.Version}
	}
	return out, nil
}

// progressSender forwards progress at most every 100 ms, so a plugin may
// report as often as it likes.
func progressSender(send func(*pb.TransferEvent) error) storage.ProgressFunc {
	var mu sync.Mutex
	var last time.Time
	return func(p storage.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if now := time.Now(); now.Sub(last) >= 100*time.Millisecond || (p.TotalBytes > 0 && p.DoneBytes == p.TotalBytes) {
			last = now
			_ = send(&pb.TransferEvent{Event: &pb.TransferEvent_Progress{Progress: &pb.Progress{
				DoneBytes: p.DoneBytes, TotalBytes: p.TotalBytes, Current: p.Current,
			}}})
		}
	}
}

func (s *storageServer) Get(req *pb.GetRequest, stream pb.Storage_GetServer) error {
	st, err := s.pick(req.Url)
	if err != nil {
		return wire.ToStatus(err)
	}
	var mu sync.Mutex
	send := func(ev *pb.TransferEvent) error { mu.Lock(); defer mu.Unlock(); return stream.Send(ev) }
	resp, err := st.Get(stream.Context(), &storage.GetRequest{
		URL: req.Url, DestPath: req.DestPath, Options: req.Options, Progress: progressSender(send),
	})
	if err != nil {
		return wire.ToStatus(err)
	}
	return send(&pb.TransferEvent{Event: &pb.TransferEvent_Result{Result: &pb.TransferResult{
		Bytes: resp.Bytes, Files: resp.Files, IsDir: resp.IsDir, Revision: resp.Revision, Name: resp.Name,
	}}})
}

func (s *storageServer) Put(req *pb.PutRequest, stream pb.Storage_PutServer) error {
	st, err := s.pick(req.Url)
	if err != nil {
		return wire.ToStatus(err)
	}
	var mu sync.Mutex
	send := func(ev *pb.TransferEvent) error { mu.Lock(); defer mu.Unlock(); return stream.Send(ev) }
	resp, err := st.Put(stream.Context(), &storage.PutRequest{
		SourcePath: req.SourcePath, URL: req.Url, Options: req.Options, Digest: req.Digest, Snapshot: req.Snapshot, Progress: progressSender(send),
	})
	if err != nil {
		return wire.ToStatus(err)
	}
	return send(&pb.TransferEvent{Event: &pb.TransferEvent_Result{Result: &pb.TransferResult{
		Bytes: resp.Bytes, Files: resp.Files, IsDir: resp.IsDir,
	}}})
}

type catalogerServer struct {
	pb.UnimplementedCatalogerServer
	catalogers map[string]sbom.Cataloger
}

// catalogBatch is how many packages plus files one message carries: each
// is a few hundred bytes, so a message stays far below gRPC's 4 MiB.
const catalogBatch = 2048

func (s *catalogerServer) Catalog(req *pb.CatalogRequest, stream pb.Cataloger_CatalogServer) error {
	c, ok := s.catalogers[req.CatalogerId]
	if !ok {
		return wire.ToStatus(fmt.Errorf("no cataloger %q in this plugin", req.CatalogerId))
	}
	emit := func(ch sbom.Chunk) error {
		for len(ch.Packages)+len(ch.Files) > 0 {
			msg := &pb.CatalogChunk{}
			for len(ch.Packages) > 0 && len(msg.Packages) < catalogBatch {
				p := ch.Packages[0]
				ch.Packages = ch.Packages[1:]
				msg.Packages = append(msg.Packages, &pb.CatalogPackage{Name: p.Name, Version: p.Version, Type: p.Type, Purl: p.PURL,
					Licenses: p.Licenses, Locations: p.Locations})
			}
			for len(ch.Files) > 0 && len(msg.Packages)+len(msg.Files) < catalogBatch {
				f := ch.Files[0]
				ch.Files = ch.Files[1:]
				msg.Files = append(msg.Files, &pb.CatalogFile{Path: f.Path, Size: f.Size, Sha256: f.SHA256, Sha1: f.SHA1})
			}
			if err := stream.Send(&pb.CatalogEvent{Event: &pb.CatalogEvent_Chunk{Chunk: msg}}); err != nil {
				return err
			}
		}
		return nil
	}
	res, err := c.Catalog(stream.Context(), &sbom.CatalogRequest{
		CatalogerID: req.CatalogerId, Name: req.Name, Path: req.Path, Options: req.Options, MaxEntries: req.MaxEntries,
	}, emit)
	if err != nil {
		return wire.ToStatus(err)
	}
	return stream.Send(&pb.CatalogEvent{Event: &pb.CatalogEvent_Result{Result: &pb.CatalogResult{Sha256: res.SHA256, Tool: res.Tool}}})
}

func infoToPB(i *Info) *pb.InfoResponse {
	out := &pb.InfoResponse{
		Name: i.Name, Version: i.Version, SdkVersion: i.SDKVersion, ApiVersion: uint32(i.APIVersion),
		Kinds: i.Kinds, Capabilities: i.Capabilities,
	}
	if len(i.ConfigSchema) > 0 {
		out.ConfigSchema = map[string]string{}
		for k, v := range i.ConfigSchema {
			out.ConfigSchema[k] = string(v)
		}
	}
	return out
}

// nonNil keeps an empty environment empty: protobuf sends none as nil, and
// a nil exec.Cmd.Env would inherit the plugin's own environment.
func nonNil(env []string) []string {
	if env == nil {
		return []string{}
	}
	return env
}
