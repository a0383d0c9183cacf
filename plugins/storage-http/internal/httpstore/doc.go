// Package httpstore is the storage backend for http:// and https:// URLs: a
// URL names one object (there are no trees), read with GET and HEAD and
// written with PUT.
//
// URLs. Any http or https URL with a host. User info is refused
// ("credentials in URLs are refused; use a secret"), as is a fragment, which
// is never sent to a server. Errors and logs name a URL without its user
// info and with its query replaced by REDACTED (a query often holds a
// signature).
//
// Options (req.Options; an unknown key is an error):
//   - header: one request header, "Name: value" (its value usually comes
//     from a secret); authorization: the value of the Authorization header.
//     Either or both may be given. They are sent only to the URL's own
//     origin (scheme, host and port), never to another host a redirect leads
//     to, and their values never appear in an error or a log line.
//   - ca_file: a PEM file of CA certificates trusted besides the system
//     roots (which Go reads from SSL_CERT_FILE and SSL_CERT_DIR when set).
//   - timeout: the connect, TLS handshake and response-header timeout, a Go
//     duration; default MMBUILD_HTTP_TIMEOUT, else 30s.
//   - read_timeout: how long a transfer may go without moving a byte before
//     the connection is treated as broken; default
//     MMBUILD_HTTP_READ_TIMEOUT, else 60s.
//   - min_speed: the least a transfer must move, in bytes per second
//     averaged over each read_timeout window (a server trickling a byte
//     now and then would otherwise hold a transfer forever: read_timeout
//     starts again with every byte); 0 turns it off; default
//     MMBUILD_HTTP_MIN_SPEED, else 1024. Like read_timeout, a slow window
//     counts as a broken connection, resumed within the attempts' bound.
//
// Stat sends HEAD (GET of the range bytes=0-0 when the server answers HEAD
// with 405 or 501) and reports the size from Content-Length or
// Content-Range, -1 when the server does not say.
//
// Get streams the body into DestPath, created exclusively and synced; the
// server's Content-Disposition is ignored (the core names the object).
// Connection errors, timeouts, 408, 429 and 5xx (but 501 and 505) are
// retried, 5 attempts in all, with exponential backoff or the server's
// Retry-After (capped at 30s). A transfer broken mid-body resumes with
// "Range: bytes=N-" and If-Range: only a 206 whose Content-Range starts at N
// for the same total continues the file; a 200 starts over from zero. A body
// shorter than its Content-Length is a broken transfer, never a success.
//
// Redirects (301, 302, 303, 307, 308) are followed, at most 10; a loop, a
// redirect from https to http, to a URL with credentials or to another
// scheme is an error. A PUT follows only 307 and 308, which keep the method
// and body.
//
// Put sends the file with its Content-Length, re-opened for each attempt
// and hop; any 2xx is success. Whether readers may see a partial object is up
// to the server. A directory, 405 and 501 are errors.ErrUnsupported.
//
// Statuses map to the storage contract: 404 and 410 are fs.ErrNotExist, 401,
// 403 and 407 fs.ErrPermission.
package httpstore
