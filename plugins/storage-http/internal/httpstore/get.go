package httpstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/progress"
	"github.com/mmbuild/mmbuild/sdk/redact"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// Get streams the object into req.DestPath, resuming a broken transfer.
func (s *Store) Get(ctx context.Context, req *storage.GetRequest) (*storage.GetResponse, error) {
	t, err := s.prepare(req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	meter := progress.NewMeter(req.Report, -1)
	d := &download{callTarget: t, dest: req.DestPath, total: -1, meter: meter, moved: meter.Transfer("")}
	err = s.retry(ctx, http.MethodGet, t.u, d.attempt)
	if err == nil {
		err = d.finish()
	}
	if err != nil {
		d.discard()
		return nil, err
	}
	plugin.Logger().Debug("get", "url", redact.URL(t.u.String()), "bytes", d.done)
	return &storage.GetResponse{Bytes: d.done, Files: 1}, nil
}

// download is the state of one Get across its attempts.
type download struct {
	*callTarget
	dest      string
	f         *os.File // nil until a first 200
	created   bool
	done      int64  // bytes in f
	total     int64  // the object's size, -1 when unknown
	validator string // a strong ETag or Last-Modified, for If-Range
	ranges    bool   // the server may answer a Range
	meter     *progress.Meter
	moved     *progress.Transfer // d.done, which a restart sets back
}

// attempt requests what is missing: the whole object, or the rest of it.
func (d *download) attempt(ctx context.Context) error {
	resume := d.f != nil && d.done > 0 && d.ranges
	h := http.Header{}
	if resume {
		h.Set("Range", fmt.Sprintf("bytes=%d-", d.done))
		if d.validator != "" {
			h.Set("If-Range", d.validator) // a changed object comes whole (200)
		}
	}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	resp, err := d.s.do(actx, d.hc, &call{method: http.MethodGet, url: d.u, header: h, cfg: d.cfg})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusPartialContent && resume:
		cr := resp.Header.Get("Content-Range")
		start, size, ok := contentRange(cr)
		if !ok || start != d.done || (d.total >= 0 && size != d.total) {
			at := d.done
			if len(cr) > 80 {
				cr = cr[:80] + "..." // the server's text
			}
			if err := d.restart(); err != nil {
				return err
			}
			return retryable(fmt.Errorf("the server answered a resume at byte %d with Content-Range %q: starting over", at, cr))
		}
		d.total = size
		plugin.Logger().Info("resuming", "url", redact.URL(d.u.String()), "at", d.done, "total", d.total)
	case code == http.StatusOK:
		if d.done > 0 {
			plugin.Logger().Info("the server sent the whole object again: starting over", "url", redact.URL(d.u.String()), "discarded", d.done)
			if err := d.restart(); err != nil {
				return err
			}
		}
		d.total = max(resp.ContentLength, -1)
		d.ranges = resp.Header.Get("Accept-Ranges") != "none"
		d.validator = resp.Header.Get("ETag")
		if d.validator == "" || strings.HasPrefix(d.validator, "W/") {
			d.validator = resp.Header.Get("Last-Modified")
		}
	case code == http.StatusRequestedRangeNotSatisfiable && resume:
		if d.total >= 0 && d.done == d.total {
			return nil // the break came after the last byte
		}
		if err := d.restart(); err != nil {
			return err
		}
		return retryable(errors.New("the server refused to resume (416): starting over"))
	case code/100 == 2:
		return fmt.Errorf("unexpected %d %s to a GET", code, http.StatusText(code))
	default:
		return statusErr(http.MethodGet, resp)
	}
	if d.f == nil {
		// The core's staging path: it does not exist yet; O_EXCL refuses
		// anything (a file, a symlink) put there meanwhile.
		f, err := os.OpenFile(d.dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("creating the destination: %v", err)
		}
		d.f, d.created = f, true
	}
	idle := startIdle(d.cfg.readTimeout, d.cfg.minSpeed, cancel)
	defer idle.stop()
	return d.copy(actx, idle, resp.Body)
}

// copy appends body to the file, treating read_timeout without a byte, or
// a window of read_timeout below min_speed, as a broken connection.
func (d *download) copy(ctx context.Context, idle *idleTimer, body io.Reader) error {
	buf := make([]byte, 256<<10)
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			idle.touch(n)
			if d.total >= 0 && d.done+int64(n) > d.total {
				return fmt.Errorf("the server sent more than the %d bytes it announced", d.total)
			}
			if _, err := d.f.Write(buf[:n]); err != nil {
				return fmt.Errorf("writing the destination: %v", err)
			}
			d.done += int64(n)
			d.meter.SetTotal(d.total)
			d.moved.At(d.done)
		}
		switch {
		case rerr == io.EOF && d.total >= 0 && d.done != d.total:
			return retryable(fmt.Errorf("short body: %d of %d bytes", d.done, d.total))
		case rerr == io.EOF:
			return nil
		case rerr != nil:
			if terr := d.cfg.timeoutErr(context.Cause(ctx), fmt.Sprintf("the download (at byte %d)", d.done)); terr != nil {
				return terr
			}
			return retryable(fmt.Errorf("connection broken after %d bytes: %w", d.done, rerr))
		}
	}
}

// restart empties the file for a transfer from byte zero.
func (d *download) restart() error {
	d.done, d.total, d.validator = 0, -1, ""
	if d.f == nil {
		return nil
	}
	if err := d.f.Truncate(0); err != nil {
		return fmt.Errorf("truncating the destination: %v", err)
	}
	if _, err := d.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("truncating the destination: %v", err)
	}
	return nil
}

// finish makes the bytes durable.
func (d *download) finish() error {
	if d.f == nil {
		return errors.New("no object received") // cannot happen: success needs a body
	}
	err := d.f.Sync()
	if cerr := d.f.Close(); err == nil {
		err = cerr
	}
	d.f = nil
	if err != nil {
		return fmt.Errorf("writing the destination: %v", err)
	}
	return nil
}

// discard removes what a failed Get created.
func (d *download) discard() {
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
	if d.created {
		os.Remove(d.dest)
	}
}
