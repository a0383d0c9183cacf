package redact

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
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

// A secret that reaches a URL's path or query, or a JSON document, is
// redacted in the form it takes there, percent-encoded with either case of
// hex digits, not only raw.
func TestEncodedFormsOfASecretAreRedacted(t *testing.T) {
	const secret = "p@ss w/rd+&=<x>\"é"
	r := New()
	r.Add(secret)
	js, _ := json.Marshal(secret)
	for name, in := range map[string]string{
		"query":           "https://h/x?tok=" + url.QueryEscape(secret) + "&a=b",
		"query lower hex": "https://h/x?tok=" + strings.ToLower(url.QueryEscape(secret)),
		"path segment":    "https://h/" + url.PathEscape(secret) + "/x",
		"path":            (&url.URL{Scheme: "https", Host: "h", Path: "/a/" + secret + "/x"}).String(),
		"json":            `{"token":` + string(js) + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			got := r.String(in)
			if !strings.Contains(got, Text) {
				t.Fatalf("String(%q) = %q: the encoded secret is not redacted", in, got)
			}
			if strings.Contains(got, "ss") || strings.Contains(got, "rd") {
				t.Fatalf("String(%q) = %q: part of the secret is left", in, got)
			}
		})
	}
}

// One rule for a secret's value and for each line of it: shorter than
// MinLen is refused (a short line would be printed as it is, since output
// is redacted line by line); blank lines and long lines pass.
func TestCheckAppliesTheLengthRuleToEveryLine(t *testing.T) {
	for v, wantErr := range map[string]string{
		"ab":                               "the value is shorter than 4",
		"  abc \n":                         "the value is shorter than 4",
		"a-long-first-line\nxy\n":          "a line of the value is shorter than 4",
		"a-long-first-line\r\nxy":          "a line of the value is shorter than 4",
		"a-long-first-line\n\nsecond-line": "",
		"-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n": "",
		"s3cr3t": "",
	} {
		err := Check(v)
		if (err == nil) != (wantErr == "") || err != nil && !strings.Contains(err.Error(), wantErr) {
			t.Errorf("Check(%q) = %v, want %q", v, err, wantErr)
		}
	}
}
