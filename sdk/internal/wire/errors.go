// Package wire maps errors to gRPC statuses and back, so that errors.Is keeps
// working on the host for the sentinels of the storage and cataloger
// contracts.
package wire

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mmbuild/mmbuild/sdk/sbom"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

const domain = "mmbuild.plugin.v1"

// ErrConnection reports that the plugin process went away during a call.
var ErrConnection = errors.New("plugin connection lost")

var sentinels = []struct {
	err    error
	reason string
	code   codes.Code
}{
	{fs.ErrNotExist, "NOT_EXIST", codes.NotFound},
	{fs.ErrPermission, "PERMISSION", codes.PermissionDenied},
	{errors.ErrUnsupported, "UNSUPPORTED", codes.Unimplemented},
	{storage.ErrInvalidURL, "INVALID_URL", codes.InvalidArgument},
	{storage.ErrUnsafePath, "UNSAFE_PATH", codes.FailedPrecondition},
	{storage.ErrChanged, "CHANGED", codes.Aborted},
	{sbom.ErrTooMany, "TOO_MANY", codes.ResourceExhausted},
	{context.Canceled, "CANCELED", codes.Canceled},
	{context.DeadlineExceeded, "DEADLINE", codes.DeadlineExceeded},
}

// itemKey is the ErrorInfo metadata key of the batch item that failed.
const itemKey = "item"

// ToStatus turns a plugin's error into a gRPC status error carrying the
// message and, for a known sentinel, its reason; for a batch item's
// failure (a storage.ItemError), the item's index.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	code, info := codes.Unknown, &errdetails.ErrorInfo{Domain: domain}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			code, info.Reason = s.code, s.reason
			break
		}
	}
	var ie *storage.ItemError
	if errors.As(err, &ie) && ie.Index >= 0 {
		info.Metadata = map[string]string{itemKey: strconv.Itoa(ie.Index)}
	}
	st := status.New(code, err.Error())
	if info.Reason != "" || info.Metadata != nil {
		if d, derr := st.WithDetails(info); derr == nil {
			st = d
		}
	}
	return st.Err()
}

// remoteError is a plugin's error on the host: its message, and the sentinel
// it wrapped in the plugin, if any.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }

// MaxMessage bounds the text of a plugin's error the host relays: a
// plugin's message becomes one error line, which a megabyte of text would
// bury (and flood a CI log with).
const MaxMessage = 4 << 10

// CapMessage cuts text a plugin sent (an error's message, a log line) to
// MaxMessage bytes, at a character boundary, saying how much was left out.
func CapMessage(msg string) string {
	if len(msg) <= MaxMessage {
		return msg
	}
	cut := MaxMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d more bytes of the plugin's message left out)", msg[:cut], len(msg)-cut)
}

// FromStatus turns a gRPC error back into an error with the plugin's message
// (at most MaxMessage bytes of it) that matches the plugin-side sentinel
// with errors.Is.
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	if msg := st.Message(); len(msg) > MaxMessage {
		p := st.Proto()
		p.Message = CapMessage(msg)
		st = status.FromProto(p)
	}
	e := fromStatus(st)
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.Domain != domain {
			continue
		}
		if i, err := strconv.Atoi(info.Metadata[itemKey]); err == nil && i >= 0 {
			return &storage.ItemError{Index: i, Err: e}
		}
	}
	return e
}

// fromStatus is FromStatus without the batch item.
func fromStatus(st *status.Status) error {
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.Domain != domain {
			continue
		}
		for _, s := range sentinels {
			if s.reason == info.Reason {
				return &remoteError{msg: st.Message(), sentinel: s.err}
			}
		}
	}
	switch st.Code() {
	case codes.Unimplemented:
		// A server without the RPC (a plugin built with an older SDK).
		return &remoteError{msg: st.Message(), sentinel: errors.ErrUnsupported}
	case codes.Unavailable:
		return &remoteError{msg: ErrConnection.Error() + ": " + st.Message(), sentinel: ErrConnection}
	case codes.Canceled:
		return &remoteError{msg: st.Message(), sentinel: context.Canceled}
	case codes.DeadlineExceeded:
		return &remoteError{msg: st.Message(), sentinel: context.DeadlineExceeded}
	}
	return &remoteError{msg: st.Message()}
}

// ToItem splits an item's error of a batch into what a result message
// carries: the status code, the reason of a known sentinel and the message.
func ToItem(err error) (code int32, reason, msg string) {
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return int32(s.code), s.reason, err.Error()
		}
	}
	return int32(codes.Unknown), "", err.Error()
}

// FromItem is the error ToItem split, on the host: its message, at most
// MaxMessage bytes of it, matching the plugin-side sentinel with errors.Is.
func FromItem(code int32, reason, msg string) error {
	st := status.New(codes.Code(code), msg)
	if reason != "" {
		if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: domain}); err == nil {
			st = d
		}
	}
	return FromStatus(st.Err())
}
