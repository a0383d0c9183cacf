package httpstore

import (
	"strings"
	"testing"
	"time"
)

func TestConfig(t *testing.T) {
	env := map[string]string{}
	s := testStore()
	s.getenv = func(k string) string { return env[k] }

	c, err := s.config(nil)
	if err != nil || c.timeout != 30*time.Second || c.readTimeout != 60*time.Second || len(c.header) != 0 {
		t.Errorf("defaults: %+v %v", c, err)
	}
	env[envTimeout], env[envReadTimeout] = "5s", "7s"
	if c, err := s.config(nil); err != nil || c.timeout != 5*time.Second || c.readTimeout != 7*time.Second {
		t.Errorf("from the environment: %+v %v", c, err)
	}
	c, err = s.config(map[string]string{"timeout": "1m", "read_timeout": "2m", "header": "private-token:  abc ", "ca_file": "/x.pem"})
	if err != nil || c.timeout != time.Minute || c.readTimeout != 2*time.Minute || c.header.Get("Private-Token") != "abc" || c.caFile != "/x.pem" {
		t.Errorf("options over the environment: %+v %v", c, err)
	}
	if c, err := s.config(map[string]string{"authorization": "Bearer x", "header": "X-Api-Key: k"}); err != nil || c.header.Get("X-Api-Key") != "k" || c.header.Get("Authorization") != "Bearer x" {
		t.Errorf("authorization: %+v %v", c, err)
	}

	for _, tc := range []struct {
		opts map[string]string
		env  string
		want string
	}{
		{map[string]string{"Timeout": "1s", "bogus": "x"}, "", `unknown http storage option "Timeout", "bogus"`},
		{map[string]string{"timeout": "soon"}, "", "option timeout"},
		{map[string]string{"read_timeout": "-1s"}, "", "option read_timeout"},
		{map[string]string{"timeout": "0"}, "", "option timeout"},
		{nil, "forever", envTimeout},
		{map[string]string{"ca_file": ""}, "", "option ca_file"},
		{map[string]string{"header": "no colon"}, "", "option header"},
		{map[string]string{"header": "Content-Length: 1"}, "", "set by the plugin"},
		{map[string]string{"header": "X-Empty:"}, "", "empty"},
		{map[string]string{"header": "authorization: 1", "authorization": "b"}, "", "both set the Authorization header"},
		{map[string]string{"authorization": " "}, "", "option authorization"},
	} {
		env[envTimeout] = tc.env
		_, err := s.config(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config(%v, %s=%q): %v, want an error with %q", tc.opts, envTimeout, tc.env, err, tc.want)
		}
	}
}

func TestRetryPolicy(t *testing.T) {
	p := defaultPolicy
	if d := p.wait(1, 0); d < 250*time.Millisecond || d > 500*time.Millisecond {
		t.Errorf("first wait %v", d)
	}
	if d := p.wait(10, 0); d < 4*time.Second || d > 8*time.Second {
		t.Errorf("tenth wait %v, want capped at 8s", d)
	}
	if d := p.wait(1, 2*time.Second); d != 2*time.Second {
		t.Errorf("wait with Retry-After 2s: %v", d)
	}
	if d := p.wait(1, time.Hour); d != 30*time.Second {
		t.Errorf("wait with Retry-After 1h: %v, want the 30s cap", d)
	}
	for v, want := range map[string]time.Duration{"": 0, "3": 3 * time.Second, "-1": 0, "soon": 0, "Mon, 02 Jan 2006 15:04:05 GMT": 0} {
		if got := retryAfter(v); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
	future := time.Now().Add(time.Hour).UTC().Format(http1123)
	if got := retryAfter(future); got < 59*time.Minute {
		t.Errorf("retryAfter(%q) = %v", future, got)
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestContentRange(t *testing.T) {
	for v, want := range map[string][3]int64{
		"bytes 0-0/10":  {0, 10, 1},
		"bytes 5-9/10":  {5, 10, 1},
		"bytes 5-9/*":   {5, -1, 1},
		"bytes */0":     {-1, 0, 1},
		"bytes 5-10/10": {0, 0, 0},
		"bytes 9-5/10":  {0, 0, 0},
		"items 0-1/2":   {0, 0, 0},
		"bytes 0-1":     {0, 0, 0},
		"bytes x-1/2":   {0, 0, 0},
		"bytes 0-1/-2":  {0, 0, 0},
		"":              {0, 0, 0},
	} {
		start, size, ok := contentRange(v)
		got := [3]int64{start, size, 0}
		if ok {
			got[2] = 1
		}
		if got != want {
			t.Errorf("contentRange(%q) = %v, want %v", v, got, want)
		}
	}
}
