// Package audit reports on plugin binaries without trusting them: what
// `mmbuild plugins list` shows. Only a binary whose sha256 matches its lock
// pin is ever executed (to ask it to describe itself).
package audit
