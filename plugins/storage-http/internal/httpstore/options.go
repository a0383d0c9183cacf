package httpstore

import (
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	defaultTimeout     = 30 * time.Second
	defaultReadTimeout = 60 * time.Second
	// defaultMinSpeed is the least a transfer must move, in bytes per
	// second over each read_timeout window: far below any real link, far
	// above a server that trickles a byte now and then.
	defaultMinSpeed = 1024
	maxTimeout      = 24 * time.Hour

	envTimeout     = "MMBUILD_HTTP_TIMEOUT"
	envReadTimeout = "MMBUILD_HTTP_READ_TIMEOUT"
	envMinSpeed    = "MMBUILD_HTTP_MIN_SPEED"

	// maxClients bounds the cache of HTTP clients (one per ca_file and
	// timeout).
	maxClients = 16
)

//go:embed schema.json
var schema []byte

// optionKeys are the keys of req.Options the backend takes; schema.json
// describes the same.
var optionKeys = []string{"authorization", "ca_file", "header", "min_speed", "read_timeout", "timeout", "token", "token_header"}

// config is what a request's options and the environment ask for.
type config struct {
	// header holds the header and authorization options. Its values are
	// secrets: never in an error or a log line.
	header      http.Header
	caFile      string
	timeout     time.Duration
	readTimeout time.Duration
	minSpeed    int64 // bytes per second over each readTimeout window; 0: none
}

// headers set by the plugin itself, which the header option may not change.
var reservedHeaders = map[string]bool{
	"Accept-Encoding": true, "Connection": true, "Content-Length": true, "Expect": true,
	"Host": true, "If-Range": true, "Keep-Alive": true, "Proxy-Connection": true, "Range": true,
	"Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// config reads the request's options over the environment's defaults.
func (s *Store) config(opts map[string]string) (*config, error) {
	var unknown []string
	for k := range opts {
		if !slices.Contains(optionKeys, k) {
			unknown = append(unknown, fmt.Sprintf("%q", k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("unknown http storage option %s (known: %s)", strings.Join(unknown, ", "), strings.Join(optionKeys, ", "))
	}
	c := &config{timeout: defaultTimeout, readTimeout: defaultReadTimeout, minSpeed: defaultMinSpeed, caFile: opts["ca_file"], header: http.Header{}}
	for _, d := range []struct {
		dst      *time.Duration
		env, key string
	}{{&c.timeout, envTimeout, "timeout"}, {&c.readTimeout, envReadTimeout, "read_timeout"}} {
		if v := s.getenv(d.env); v != "" {
			if err := parseDuration(d.dst, v); err != nil {
				return nil, fmt.Errorf("%s: %w", d.env, err)
			}
		}
		if v, ok := opts[d.key]; ok {
			if err := parseDuration(d.dst, v); err != nil {
				return nil, fmt.Errorf("option %s: %w", d.key, err)
			}
		}
	}
	if v := s.getenv(envMinSpeed); v != "" {
		if err := parseSpeed(&c.minSpeed, v); err != nil {
			return nil, fmt.Errorf("%s: %w", envMinSpeed, err)
		}
	}
	if v, ok := opts["min_speed"]; ok {
		if err := parseSpeed(&c.minSpeed, v); err != nil {
			return nil, fmt.Errorf("option min_speed: %w", err)
		}
	}
	if v, ok := opts["ca_file"]; ok && v == "" {
		return nil, errors.New("option ca_file: empty path")
	}
	if v, ok := opts["header"]; ok {
		name, value, err := parseHeader(v)
		if err != nil {
			return nil, fmt.Errorf("option header: %w", err)
		}
		c.header.Set(name, value)
	}
	if v, ok := opts["authorization"]; ok {
		if c.header.Get("Authorization") != "" {
			return nil, errors.New("options header and authorization both set the Authorization header")
		}
		v = strings.TrimSpace(v)
		if v == "" || strings.ContainsAny(v, "\r\n\x00") {
			return nil, errors.New("option authorization: the value is empty or holds a line break")
		}
		c.header.Set("Authorization", v)
	}
	if err := c.setToken(opts); err != nil {
		return nil, err
	}
	return c, nil
}

// setToken sends the token option (the core's credentials: secret) as
// "Authorization: Bearer <token>", or as the value of the header
// token_header names.
func (c *config) setToken(opts map[string]string) error {
	tok, hasToken := opts["token"]
	name, hasName := opts["token_header"]
	switch {
	case !hasToken && hasName:
		return errors.New("option token_header names the header of token, which is not set")
	case !hasToken:
		return nil
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || strings.ContainsAny(tok, "\r\n\x00") {
		return errors.New("option token: the value is empty or holds a line break")
	}
	value := "Bearer " + tok
	if hasName {
		if !isToken(name) || reservedHeaders[http.CanonicalHeaderKey(name)] {
			return fmt.Errorf("option token_header: %q is not a header name the plugin may send", name)
		}
		value = tok
	} else {
		name = "Authorization"
	}
	if c.header.Get(name) != "" {
		return fmt.Errorf("options token and header both set the %s header", http.CanonicalHeaderKey(name))
	}
	c.header.Set(name, value)
	return nil
}

func parseDuration(dst *time.Duration, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > maxTimeout {
		return fmt.Errorf("%q is not a duration between 1ns and 24h (like 30s or 2m)", v)
	}
	*dst = d
	return nil
}

// parseSpeed reads a number of bytes per second; 0 turns the minimum off.
func parseSpeed(dst *int64, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return fmt.Errorf("%q is not a number of bytes per second (like 1024; 0 for none)", v)
	}
	*dst = n
	return nil
}

// parseHeader splits "Name: value". Its errors never repeat the value.
func parseHeader(v string) (string, string, error) {
	name, value, ok := strings.Cut(v, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || !isToken(name) {
		return "", "", errors.New(`want "Name: value" with a header name made of letters, digits and -`)
	}
	if value == "" || strings.ContainsAny(value, "\r\n\x00") {
		return "", "", errors.New("the value is empty or holds a line break")
	}
	name = http.CanonicalHeaderKey(name)
	if reservedHeaders[name] {
		return "", "", fmt.Errorf("%s is set by the plugin itself", name)
	}
	return name, value, nil
}

// isToken reports whether s is an HTTP token (RFC 9110 5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

// ConfigSchema describes the options as a JSON Schema.
func (*Store) ConfigSchema() json.RawMessage { return json.RawMessage(schema) }

type clientKey struct {
	caFile  string
	timeout time.Duration
}

// client returns the HTTP client for c's CA file and timeout, shared by the
// calls that ask for the same so connections are reused.
func (s *Store) client(c *config) (*http.Client, error) {
	key := clientKey{c.caFile, c.timeout}
	s.mu.Lock()
	defer s.mu.Unlock()
	if hc, ok := s.clients[key]; ok {
		return hc, nil
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.caFile != "" {
		pem, err := os.ReadFile(c.caFile)
		if err != nil {
			// %v: a missing CA file is not a missing object.
			return nil, fmt.Errorf("option ca_file: %v", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("option ca_file: %s holds no PEM certificate", c.caFile)
		}
		tlsConfig.RootCAs = pool
	}
	if len(s.clients) >= maxClients {
		for k, hc := range s.clients {
			hc.CloseIdleConnections()
			delete(s.clients, k)
		}
	}
	hc := &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       tlsConfig,
			TLSHandshakeTimeout:   c.timeout,
			ResponseHeaderTimeout: c.timeout,
			ExpectContinueTimeout: time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   8,
			ForceAttemptHTTP2:     true,
			// The bytes as stored: no transparent gzip, which would also
			// break ranges and lengths.
			DisableCompression: true,
		},
		// Redirects are followed by do, which bounds them and checks each.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	s.clients[key] = hc
	return hc, nil
}
