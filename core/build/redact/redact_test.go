package redact

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
)

func TestString(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"no secrets", nil, "token=abcd", "token=abcd"},
		{"one", []string{"s3cr3t"}, "token=s3cr3t!", "token=[redacted]!"},
		{"every occurrence", []string{"s3cr3t"}, "s3cr3t s3cr3t", "[redacted] [redacted]"},
		{"longest first", []string{"abcd", "abcdefgh"}, "x abcdefgh y abcd", "x [redacted] y [redacted]"},
		{"too short is ignored", []string{"abc"}, "abc", "abc"},
		{"surrounding space trimmed", []string{"  hunter22\n"}, "pw hunter22.", "pw [redacted]."},
		{"each line of a key", []string{"line-one\nline-two"}, "line-two", "[redacted]"},
		{"value inside a URL", []string{"tok-1234"}, "https://tok-1234@host/x", "https://[redacted]@host/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New()
			for _, s := range tt.secrets {
				r.Add(s)
			}
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := string(r.Bytes([]byte(tt.in))); got != tt.want {
				t.Errorf("Bytes(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := r.Contains(tt.in); got != (tt.in != tt.want) {
				t.Errorf("Contains(%q) = %v", tt.in, got)
			}
		})
	}
}

func TestErrKeepsTheChain(t *testing.T) {
	r := New()
	r.Add("s3cr3t-value")
	err := r.Err(fmt.Errorf("fetching https://host/s3cr3t-value: %w", fs.ErrNotExist))
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("secret in error: %v", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("errors.Is lost the cause: %v", err)
	}
	if r.Err(nil) != nil {
		t.Fatal("Err(nil) != nil")
	}
}

type sink struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func TestWriterCatchesSplitSecrets(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
	}{
		{"whole", []string{"the key is s3cr3t-value\n"}},
		{"split across writes", []string{"the key is s3cr", "3t-val", "ue\n"}},
		{"no final newline", []string{"s3cr3t-", "value"}},
		{"long line without newline", []string{strings.Repeat("x", chunk-5) + "s3cr3t", "-value" + strings.Repeat("y", 10)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New()
			r.Add("s3cr3t-value")
			var out sink
			w := r.Writer(&out)
			for _, s := range tt.writes {
				if _, err := w.Write([]byte(s)); err != nil {
					t.Fatal(err)
				}
			}
			r.Flush()
			got := out.b.String()
			if strings.Contains(got, "s3cr3t") {
				t.Fatalf("secret leaked: %q", got)
			}
			if !strings.Contains(got, Text) {
				t.Fatalf("no %s in %q", Text, got)
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	r := New()
	var out sink
	w := r.Writer(&out)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() { defer wg.Done(); r.Add(fmt.Sprintf("secret-%04d", i)) }()
		go func() { defer wg.Done(); _, _ = fmt.Fprintf(w, "line %d\n", i); _ = r.String("x") }()
	}
	wg.Wait()
	r.Flush()
	if !strings.Contains(r.String("secret-0003"), Text) {
		t.Fatal("value added concurrently is not redacted")
	}
}
