package httpstore

import (
	"errors"
	"io/fs"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

const secret = "s3cr3t-t0ken-value"

func TestCredentialsInURLRefused(t *testing.T) {
	t.Parallel()
	srv := testservers.NewHTTPServer(t, t.TempDir(), testservers.WithPut())
	src := filepath.Join(t.TempDir(), "obj")
	object(t, filepath.Dir(src), "obj", 10)
	s := wire(t, testStore())
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, u := range []string{
		"http://user:" + secret + "@" + host + "/obj",
		"https://" + secret + "@" + host + "/obj", // a token as the user name
	} {
		_, err1 := s.Stat(t.Context(), &storage.StatRequest{URL: u})
		_, _, err2 := get(t, s, u, nil, nil)
		_, err3 := put(t, s, src, u, nil, nil)
		for _, err := range []error{err1, err2, err3} {
			if !errors.Is(err, storage.ErrInvalidURL) || !strings.Contains(err.Error(), "credentials in URLs are refused; use a secret") {
				t.Errorf("%v, want storage.ErrInvalidURL refusing credentials", err)
			}
			noSecret(t, err, secret)
		}
	}
	if n := srv.Count("/obj"); n != 0 {
		t.Errorf("the server got %d requests", n)
	}
}

// TestQueryRedacted: a query (often a signature) never appears in an error.
func TestQueryRedacted(t *testing.T) {
	t.Parallel()
	srv := testservers.NewHTTPServer(t, t.TempDir())
	srv.RedirectLoop("/loop")
	srv.Fail("/down", 503, 503, 503, 503, 503)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	s := testStore()
	q := "?X-Amz-Signature=" + secret + "&token=" + secret
	for _, u := range []string{srv.URL + "/missing" + q, srv.URL + "/loop" + q, srv.URL + "/down" + q, closed + "/x" + q} {
		_, _, err := get(t, s, u, nil, nil)
		if err == nil || !strings.Contains(err.Error(), "?REDACTED") {
			t.Errorf("Get %s: %v, want an error naming the URL with ?REDACTED", u, err)
		}
		noSecret(t, err, secret)
		_, err = s.Stat(t.Context(), &storage.StatRequest{URL: u})
		noSecret(t, err, secret)
	}
	_, err = s.Stat(t.Context(), &storage.StatRequest{URL: "http://bad%zz" + q})
	noSecret(t, err, secret)
}

// TestAuthHeader: a required header works from the options, is refused as
// fs.ErrPermission without them, never shows in an error, and is not sent
// to another origin a redirect leads to.
func TestAuthHeader(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	data := object(t, root, "obj", 1000)
	srv := testservers.NewHTTPServer(t, root, testservers.WithPut())
	srv.RequireHeader("Authorization", "Bearer "+secret)
	srv.RequireHeader("X-Api-Key", secret)
	other := testservers.NewHTTPServer(t, root)
	srv.Redirect("/elsewhere", other.URL+"/obj")
	s := wire(t, testStore())

	good := map[string]string{"authorization": "Bearer " + secret, "header": "X-Api-Key: " + secret}
	mustGet(t, s, srv.URL+"/obj", good, data)
	if st, err := s.Stat(t.Context(), &storage.StatRequest{URL: srv.URL + "/obj", Options: good}); err != nil || st.Size != 1000 {
		t.Errorf("Stat with the headers: %+v %v", st, err)
	}
	src := filepath.Join(root, "obj")
	if _, err := put(t, s, src, srv.URL+"/copy", good, nil); err != nil {
		t.Errorf("Put with the headers: %v", err)
	}

	for _, opts := range []map[string]string{
		nil,
		{"authorization": "Bearer " + secret},
		{"authorization": "Bearer wrong-" + secret, "header": "X-Api-Key: " + secret},
		{"header": "Authorization: Bearer " + secret},
	} {
		_, _, err := get(t, s, srv.URL+"/obj", opts, nil)
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Get without the right headers: %v, want fs.ErrPermission", err)
		}
		noSecret(t, err, secret)
		_, err = s.Stat(t.Context(), &storage.StatRequest{URL: srv.URL + "/obj", Options: opts})
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Stat without the right headers: %v, want fs.ErrPermission", err)
		}
		noSecret(t, err, secret)
		_, err = put(t, s, src, srv.URL+"/copy", opts, nil)
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Put without the right headers: %v, want fs.ErrPermission", err)
		}
		noSecret(t, err, secret)
	}

	// Bad options never echo the value.
	for _, opts := range []map[string]string{
		{"header": secret},
		{"header": "Bad Name: " + secret},
		{"header": "Range: " + secret},
		{"header": "X-A: " + secret + "\r\nX-B: 1"},
		{"header": "Authorization: " + secret, "authorization": secret},
		{"authorization": secret + "\n"},
	} {
		_, _, err := get(t, s, srv.URL+"/obj", opts, nil)
		if err == nil {
			t.Errorf("options %d accepted", len(opts))
		}
		noSecret(t, err, secret)
	}

	// A redirect to another origin does not carry the credentials.
	mustGet(t, s, srv.URL+"/elsewhere", good, data)
	reqs := other.Requests("/obj")
	if len(reqs) != 1 || reqs[0].Header.Get("Authorization") != "" || reqs[0].Header.Get("X-Api-Key") != "" {
		t.Errorf("the other origin got %+v, want one request without the credentials", reqs)
	}
}

func TestHTTPSToHTTPRefused(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	object(t, root, "obj", 10)
	plain := testservers.NewHTTPServer(t, root)
	tls := testservers.NewHTTPServer(t, root, testservers.WithTLS())
	tls.Redirect("/down", plain.URL+"/obj?sig="+secret)
	_, _, err := get(t, wire(t, testStore()), tls.URL+"/down", map[string]string{"ca_file": tls.CAFile}, nil)
	if err == nil || !strings.Contains(err.Error(), tls.URL+"/down") || !strings.Contains(err.Error(), plain.URL+"/obj?REDACTED") ||
		!strings.Contains(err.Error(), "plain HTTP") {
		t.Errorf("Get: %v, want a refusal naming both URLs", err)
	}
	noSecret(t, err, secret)
	if n := plain.Count("/obj"); n != 0 {
		t.Errorf("the plain server got %d requests", n)
	}
}

func TestHTTPSWithTestCA(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	data := object(t, root, "obj", 100_000)
	srv := testservers.NewHTTPServer(t, root, testservers.WithTLS())
	s := wire(t, testStore())
	mustGet(t, s, srv.URL+"/obj", map[string]string{"ca_file": srv.CAFile}, data)

	_, _, err := get(t, s, srv.URL+"/obj", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "not trusted") || strings.Contains(err.Error(), "attempts") {
		t.Errorf("Get without the CA: %v, want an untrusted certificate, not retried", err)
	}
	_, _, err = get(t, s, srv.URL+"/obj", map[string]string{"ca_file": filepath.Join(t.TempDir(), "missing.pem")}, nil)
	if err == nil || errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("Get with a missing ca_file: %v, want an option error that is not fs.ErrNotExist", err)
	}
	_, _, err = get(t, s, srv.URL+"/obj", map[string]string{"ca_file": filepath.Join(root, "obj")}, nil)
	if err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("Get with a ca_file that is not PEM: %v", err)
	}
}
