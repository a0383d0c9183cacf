package run

import (
	"bytes"
	"io"
	"sort"
	"strings"
	"sync"
)

// redactText replaces every secret value in output, errors and files.
const redactText = "[redacted]"

// minRedactLen is the shortest secret value that is redacted: replacing every
// "a" of a build log would make it unreadable and still not hide a one-letter
// secret. Shorter secrets are refused at resolution.
const minRedactLen = 4

// redactor knows the run's secret values and scrubs them from everything the
// run writes or returns.
type redactor struct {
	mu      sync.Mutex
	values  []string // longest first, so a value containing another is replaced whole
	writers []*redactWriter
}

func newRedactor() *redactor { return &redactor{} }

func (r *redactor) add(v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cands := []string{v, strings.TrimSpace(v)}
	// Each line of a multi-line secret (a key file) on its own: output is
	// redacted line by line, and a builder printing the value one line per
	// write must not reveal it piece by piece.
	if strings.ContainsAny(v, "\r\n") {
		for _, l := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
			cands = append(cands, l, strings.TrimSpace(l))
		}
	}
	for _, cand := range cands {
		if len(cand) < minRedactLen {
			continue
		}
		dup := false
		for _, x := range r.values {
			dup = dup || x == cand
		}
		if !dup {
			r.values = append(r.values, cand)
		}
	}
	sort.Slice(r.values, func(i, j int) bool { return len(r.values[i]) > len(r.values[j]) })
}

// longest returns the length of the longest secret value (0 for none).
func (r *redactor) longest() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.values) == 0 {
		return 0
	}
	return len(r.values[0])
}

func (r *redactor) string(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, redactText)
	}
	return s
}

func (r *redactor) bytes(b []byte) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.values {
		b = bytes.ReplaceAll(b, []byte(v), []byte(redactText))
	}
	return b
}

// err returns err with secret values scrubbed from its message; errors.Is
// and errors.As still see the original chain.
func (r *redactor) err(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := r.string(msg); clean != msg {
		return &redactedError{msg: clean, err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// writer wraps w so secret values never reach it. Output is passed on line
// by line (a secret split across two writes is still caught), and in 64 KiB
// pieces for output without newlines (holding back a possible secret's
// start).
func (r *redactor) writer(w io.Writer) io.Writer {
	rw := &redactWriter{r: r, w: w}
	r.mu.Lock()
	r.writers = append(r.writers, rw)
	r.mu.Unlock()
	return rw
}

// flush writes what the writers still hold.
func (r *redactor) flush() {
	r.mu.Lock()
	ws := append([]*redactWriter(nil), r.writers...)
	r.mu.Unlock()
	for _, w := range ws {
		w.flush()
	}
}

type redactWriter struct {
	r   *redactor
	w   io.Writer
	mu  sync.Mutex
	buf []byte
}

func (w *redactWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if cut := bytes.LastIndexByte(w.buf, '\n') + 1; cut > 0 {
		if _, err := w.w.Write(w.r.bytes(w.buf[:cut])); err != nil {
			return 0, err
		}
		w.buf = append(w.buf[:0], w.buf[cut:]...)
	}
	if len(w.buf) >= 64<<10 {
		// A long piece without a newline is passed on redacted, but its
		// tail is held back: it may be the start of a secret that the
		// next write completes.
		red := w.r.bytes(w.buf)
		keep := w.r.longest() - 1
		if keep < 0 {
			keep = 0
		}
		if keep < len(red) {
			if _, err := w.w.Write(red[:len(red)-keep]); err != nil {
				return 0, err
			}
			w.buf = append(w.buf[:0], red[len(red)-keep:]...)
		}
	}
	return len(p), nil
}

func (w *redactWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		_, _ = w.w.Write(w.r.bytes(w.buf))
		w.buf = w.buf[:0]
	}
}
