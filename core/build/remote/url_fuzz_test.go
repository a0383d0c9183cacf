package remote

import (
	"net/url"
	"strings"
	"testing"
)

// urlSeeds are URLs of the tests and of the configs the core reads: every
// storage scheme, credentials in every place they are written, queries,
// fragments, escapes, IPv6 hosts, opaque and relative forms, and URLs
// net/url refuses.
var urlSeeds = []string{
	"https://u:pw@h/x?sig=1",
	"https://TOKEN123@h/x",
	"s3://b/k",
	"http://[::1",
	"GIT+HTTPS://h/r",
	"git+http://TOKEN123@h/r.git",
	"git+ssh://git@github.com/org/repo.git",
	"git+file:///srv/git/repo.git",
	"file:///abs/path/to/file.tar.gz",
	"file://relative/not/allowed",
	"s3://artifacts/webapp/a/b/webapp.tar.gz",
	"s3://bucket/key?versionId=3&X-Amz-Signature=abcdef",
	"https://user:p%40ss%3Aword@h.example:8443/p%20q?token=s3cret#frag",
	"https://:only-a-password@h/",
	"https://user:@h/",
	"https://us%65r:pa%73s@[::1]:80/x",
	"HTTP://User:Pass@EXAMPLE.com/?",
	"https://h/p?#",
	"https://h/a?REDACTED",
	"https://REDACTED@h/",
	"cas://sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"env://CI_DEPLOY_TOKEN",
	"mailto:user:pw@h",
	"s3:bucket/key?sig=1",
	"//user:pw@h/p",
	"/just/a/path",
	"no-scheme",
	"",
	":",
	"https://user:s3cret pw@host/x",
	"https://user:s3cret@host/re%zzpo",
	"https://user:s3cret@h:port/",
	"ht tp://user:s3cret@h/",
	"https://user:s3cret@h/\x7f",
	"https://user:s3cret@h/\n",
	"https://a@b@c/",
}

// FuzzURL checks Scheme and Redact: no input panics; Redact of a URL
// carrying a user name, a password or a query keeps none of them, and
// re-parses to the same URL with those parts REDACTED; Redact echoes no
// unparsable URL; Scheme refuses every URL with userinfo, and its errors
// are one line that echo no credentials.
func FuzzURL(f *testing.F) {
	for _, s := range urlSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		red := Redact(raw)
		scheme, schemeErr := Scheme(raw, "materials[0].uri")
		var msg string
		if schemeErr != nil {
			msg = schemeErr.Error()
			if strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("Scheme(%q) error spans lines: %q", raw, msg)
			}
		}

		u, err := url.Parse(raw)
		if err != nil {
			if red != "<unparsable URL>" {
				t.Fatalf("Redact(%q) = %q: an unparsable URL is echoed", raw, red)
			}
			if schemeErr == nil {
				t.Fatalf("Scheme(%q) = %q, nil; net/url refuses it: %v", raw, scheme, err)
			}
			// What looks like the userinfo of a URL that does not
			// parse must not be echoed either.
			if info := looksLikeUserinfo(raw); info != "" && strings.Contains(msg, info) {
				t.Fatalf("Scheme(%q) error echoes %q: %q", raw, info, msg)
			}
			return
		}

		ru, err := url.Parse(red)
		if err != nil {
			t.Fatalf("Redact(%q) = %q, which does not parse: %v", raw, red, err)
		}
		// public is the URL without the parts Redact must hide: whatever
		// it holds may show in Redact and in errors.
		pub := *u
		pub.User, pub.RawQuery = nil, ""
		public := pub.String()
		var secrets []string
		if u.User != nil {
			if schemeErr == nil {
				t.Fatalf("Scheme(%q) = %q, nil: credentials in a URL are accepted", raw, scheme)
			}
			if ru.User == nil || ru.User.String() != "REDACTED" {
				t.Fatalf("Redact(%q) = %q: userinfo %v, want REDACTED", raw, red, ru.User)
			}
			pw, _ := u.User.Password()
			name, escPw, _ := strings.Cut(u.User.String(), ":")
			secrets = append(secrets, u.User.Username(), pw, name, escPw)
		} else if ru.User != nil {
			t.Fatalf("Redact(%q) = %q: userinfo %v appears", raw, red, ru.User)
		}
		if u.RawQuery != "" {
			if ru.RawQuery != "REDACTED" {
				t.Fatalf("Redact(%q) = %q: query %q, want REDACTED", raw, red, ru.RawQuery)
			}
			q, _ := url.QueryUnescape(u.RawQuery)
			secrets = append(secrets, u.RawQuery, q)
		} else if ru.RawQuery != "" {
			t.Fatalf("Redact(%q) = %q: query %q appears", raw, red, ru.RawQuery)
		}
		// url.URL.String writes a relative path whose first segment
		// holds a colon as "./path", lest it read as a scheme.
		samePath := ru.Path == u.Path || u.Scheme == "" && u.Host == "" && ru.Path == "./"+u.Path
		if ru.Scheme != u.Scheme || ru.Opaque != u.Opaque || ru.Host != u.Host || !samePath || ru.Fragment != u.Fragment {
			t.Fatalf("Redact(%q) = %q: it parses as %#v, want the parts of %#v", raw, red, ru, u)
		}
		// Textually: the sensitive parts show nowhere but where they are
		// part of the public URL too (a password "h" in https://u:h@h/).
		// In Scheme's errors, the URL shows as Redact has it, beside the
		// entry's name and Scheme's own words.
		// Both are cut where the redacted parts were: a secret "DACT" or
		// "D@h" is not shown by https://REDACTED@h/.
		shown := strings.Split(strings.NewReplacer("REDACTED@", "\x00", "?REDACTED", "\x00").Replace(red), "\x00")
		said := strings.Split(msg, red)
		for _, s := range secrets {
			if s == "" || strings.Contains(public, s) {
				continue
			}
			if anyContains(shown, s) {
				t.Fatalf("Redact(%q) = %q shows %q", raw, red, s)
			}
			if anyContains(said, s) && !strings.Contains(schemeWords, s) {
				t.Fatalf("Scheme(%q) error shows %q: %q", raw, s, msg)
			}
		}

		if schemeErr == nil {
			if u.Scheme == "" || scheme != strings.ToLower(u.Scheme) {
				t.Fatalf("Scheme(%q) = %q, want %q", raw, scheme, strings.ToLower(u.Scheme))
			}
		} else if u.User == nil && u.Scheme != "" {
			t.Fatalf("Scheme(%q) refuses a URL with a scheme and no userinfo: %v", raw, schemeErr)
		}
	})
}

// schemeWords are the words of Scheme's errors, with the entry's name the
// fuzzer gives it.
const schemeWords = `materials[0].uri: invalid URL <unparsable URL>: "" is not a URL (no scheme such as file:// or s3://) credentials in URL  are refused: use credentials: and a secret`

func anyContains(parts []string, s string) bool {
	for _, p := range parts {
		if strings.Contains(p, s) {
			return true
		}
	}
	return false
}

// looksLikeUserinfo returns, for a URL net/url refuses, what lies between
// "://" and the last "@" of the authority when it is long enough (8 bytes
// or more) not to appear in an error message by chance; else "".
func looksLikeUserinfo(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	i := strings.LastIndex(rest, "@")
	if i < 8 {
		return ""
	}
	return rest[:i]
}
