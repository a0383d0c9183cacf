package redact

import (
	"strings"
	"testing"
)

// Both forms of a URL mmbuild writes lose every credential: the message
// form marks them, the recorded form drops them.
func TestURLForms(t *testing.T) {
	for _, raw := range []string{
		"https://user:s3cretpw@h.example.com/x?sig=tok3n",
		"https://tok3n@h.example.com/x",
		"https://us%er:s3cretpw@h/app", // does not parse
		"https://u:s3cret/pw@h/app",    // "/" in the password
	} {
		for name, f := range map[string]func(string) string{"URL": URL, "WithoutCredentials": WithoutCredentials} {
			got := f(raw)
			for _, secret := range []string{"s3cret", "tok3n"} {
				if strings.Contains(got, secret) && !(name == "WithoutCredentials" && strings.Contains(raw, "?sig="+secret)) {
					t.Errorf("%s(%q) = %q keeps %s", name, raw, got, secret)
				}
			}
		}
	}
	if got := URL("https://u:pw@h/x?sig=1"); got != "https://REDACTED@h/x?REDACTED" {
		t.Errorf("URL marks %q", got)
	}
	if got := WithoutCredentials("https://u:pw@h/x"); got != "https://h/x" {
		t.Errorf("WithoutCredentials keeps %q", got)
	}
}
