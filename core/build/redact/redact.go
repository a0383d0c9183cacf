// Package redact scrubs secret values from everything a run writes or
// returns: output streams, log lines, errors, files. It knows values, not
// names, so a secret is caught however it got there (its own variable, a
// plain variable holding the same value, a URL, a file name).
package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Text replaces every secret value.
const Text = "[redacted]"

// MinLen is the shortest secret value that is redacted: replacing every "a"
// of a build log would make it unreadable and still not hide a one-letter
// secret. Shorter secrets are refused where they are resolved (Check).
const MinLen = 4

// Check applies the one rule a secret's value must meet to be redacted
// reliably: at least MinLen characters, and so each of its non-blank
// lines, since output is redacted line by line and a key printed one line
// at a time would show a shorter line as it is.
func Check(v string) error {
	if len(strings.TrimSpace(v)) < MinLen {
		return fmt.Errorf("the value is shorter than %d characters and could not be redacted from output reliably", MinLen)
	}
	for _, l := range lines(v) {
		if l = strings.TrimSpace(l); l != "" && len(l) < MinLen {
			return fmt.Errorf("a line of the value is shorter than %d characters and could not be redacted from output reliably (the same rule as for a value)", MinLen)
		}
	}
	return nil
}

// lines are the non-empty lines of a multi-line value (nil for one line).
func lines(v string) []string {
	if !strings.ContainsAny(v, "\r\n") {
		return nil
	}
	return strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' })
}

// encodings are the forms a value takes in a URL's path or query, in JSON,
// and with either case of percent-encoding's hex digits: a secret that
// reaches a URL or a JSON document is caught in that form too.
func encodings(v string) []string {
	out := []string{url.QueryEscape(v), url.PathEscape(v), (&url.URL{Path: v}).EscapedPath()}
	for _, e := range out[:3] {
		out = append(out, lowerHex(e))
	}
	for _, escapeHTML := range []bool{true, false} {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(escapeHTML)
		if enc.Encode(v) == nil {
			out = append(out, strings.TrimSuffix(strings.TrimSuffix(b.String(), "\n"), `"`)[1:])
		}
	}
	return out
}

// lowerHex writes a percent-encoded string's hex digits in lower case.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lower(b[i+1]), lower(b[i+2])
		}
	}
	return string(b)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

// Redactor knows a run's secret values. The zero value is not usable: use
// New. It is safe for concurrent use.
type Redactor struct {
	mu      sync.Mutex
	values  []string // longest first, so a value containing another is replaced whole
	writers []*writer
}

// New returns a Redactor that knows no secret yet.
func New() *Redactor { return &Redactor{} }

// Add makes v a secret value, also in the forms a URL, a query or JSON
// gives it. A multi-line value also adds each of its lines: output is
// redacted line by line, and a builder printing a key one line per write
// must not reveal it piece by piece.
func (r *Redactor) Add(v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cands := []string{v, strings.TrimSpace(v)}
	for _, l := range lines(v) {
		cands = append(cands, l, strings.TrimSpace(l))
	}
	for _, c := range cands[:len(cands):len(cands)] {
		cands = append(cands, encodings(c)...)
	}
	for _, cand := range cands {
		if len(cand) < MinLen || contains(r.values, cand) {
			continue
		}
		r.values = append(r.values, cand)
	}
	sort.SliceStable(r.values, func(i, j int) bool { return len(r.values[i]) > len(r.values[j]) })
}

func contains(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// longest returns the length of the longest secret value (0 for none).
func (r *Redactor) longest() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.values) == 0 {
		return 0
	}
	return len(r.values[0])
}

// String returns s with every secret value replaced by Text.
func (r *Redactor) String(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, Text)
	}
	return s
}

// Contains reports whether s holds a secret value.
func (r *Redactor) Contains(s string) bool { return r.String(s) != s }

// Bytes returns b with every secret value replaced by Text.
func (r *Redactor) Bytes(b []byte) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.values {
		b = bytes.ReplaceAll(b, []byte(v), []byte(Text))
	}
	return b
}

// Err returns err with secret values scrubbed from its message; errors.Is
// and errors.As still see the original chain.
func (r *Redactor) Err(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := r.String(msg); clean != msg {
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

// Writer wraps w so secret values never reach it. Output is passed on line
// by line (a secret split across two writes is still caught), and in 64 KiB
// pieces for output without newlines (holding back a possible secret's
// start). Call Flush when the output ends.
func (r *Redactor) Writer(w io.Writer) io.Writer {
	rw := &writer{r: r, w: w}
	r.mu.Lock()
	r.writers = append(r.writers, rw)
	r.mu.Unlock()
	return rw
}

// Flush writes what the writers still hold.
func (r *Redactor) Flush() {
	r.mu.Lock()
	ws := append([]*writer(nil), r.writers...)
	r.mu.Unlock()
	for _, w := range ws {
		w.flush()
	}
}

// chunk is how much output without a newline is held before it is passed on.
const chunk = 64 << 10

type writer struct {
	r   *Redactor
	w   io.Writer
	mu  sync.Mutex
	buf []byte
}

func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if cut := bytes.LastIndexByte(w.buf, '\n') + 1; cut > 0 {
		if _, err := w.w.Write(w.r.Bytes(w.buf[:cut])); err != nil {
			return 0, err
		}
		w.buf = append(w.buf[:0], w.buf[cut:]...)
	}
	if len(w.buf) >= chunk {
		// A long piece without a newline is passed on redacted, but its
		// tail is held back: it may be the start of a secret that the
		// next write completes.
		red := w.r.Bytes(w.buf)
		keep := max(w.r.longest()-1, 0)
		if keep < len(red) {
			if _, err := w.w.Write(red[:len(red)-keep]); err != nil {
				return 0, err
			}
			w.buf = append(w.buf[:0], red[len(red)-keep:]...)
		}
	}
	return len(p), nil
}

func (w *writer) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		_, _ = w.w.Write(w.r.Bytes(w.buf))
		w.buf = w.buf[:0]
	}
}
