package syftcat

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/mmbuild/mmbuild/sdk/sbom"
)

// format is what an artifact is, told from its first bytes (not its name).
type format int

const (
	formatFile  format = iota // anything else: handed to syft as one file
	formatTar                 // POSIX, GNU or PAX tar
	formatTarGz               // tar in gzip
	formatZip                 // zip (jar, war, … included)
)

func (f format) String() string {
	return [...]string{"file", "tar", "tar.gz", "zip"}[f]
}

// isTar reports whether a 512-byte tar header block starts b ("ustar" at
// 257 covers POSIX, GNU and PAX archives; pre-POSIX v7 tars are taken for
// plain files).
func isTar(b []byte) bool { return len(b) >= 262 && string(b[257:262]) == "ustar" }

// detect tells f's format from its head and, for gzip, from the head of
// the decompressed stream, reading from its start and leaving its offset
// anywhere. A gzip stream that is not a tar is a plain file; a gzip header
// that does not decode is an error.
func detect(f *os.File) (format, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return 0, err
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return formatZip, nil
	case isTar(head):
		return formatTar, nil
	case !bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return formatFile, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		return 0, fmt.Errorf("corrupt gzip stream: %w", err)
	}
	defer gz.Close()
	n, err = io.ReadFull(gz, head[:cap(head)])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return 0, fmt.Errorf("corrupt gzip stream: %w", err)
	}
	if isTar(head[:n]) {
		return formatTarGz, nil
	}
	return formatFile, nil
}

// memberPath is a member's path as reported: slash-separated, relative to
// the archive's root, cleaned ("./bin/app" and "/bin/app" are "bin/app").
// The root itself is "". A path that climbs out of the archive ("../x",
// "a/../../x") is an error: no such file can be reported honestly, nor
// unpacked safely.
func memberPath(name string) (string, error) {
	p := path.Clean(strings.TrimLeft(name, "/"))
	if p == "." {
		return "", nil
	}
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("archive member %q leads outside the archive", name)
	}
	return p, nil
}

// member is one archive entry: a regular file (with its contents in r), a
// directory, or something else (symlink, hard link, device…), which is
// neither reported nor unpacked.
type member struct {
	name         string
	regular, dir bool
	exec         bool
	r            io.Reader
}

func walkTar(r io.Reader, visit func(member) error) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading tar: %w", err)
		}
		m := member{name: h.Name}
		switch h.Typeflag {
		case tar.TypeReg:
			m.regular, m.exec, m.r = true, h.Mode&0o111 != 0, tr
		case tar.TypeDir:
			m.dir = true
		}
		if err := visit(m); err != nil {
			return err
		}
	}
}

func walkZip(f *os.File, size int64, visit func(member) error) error {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return fmt.Errorf("reading zip: %w", err)
	}
	for _, zf := range zr.File {
		mode := zf.Mode()
		m := member{name: zf.Name, dir: mode.IsDir(), regular: mode.IsRegular(), exec: mode&0o111 != 0}
		if !m.regular {
			if err := visit(m); err != nil {
				return err
			}
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("zip member %q: %w", zf.Name, err)
		}
		m.r = rc
		err = visit(m)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// fileBatch is how many files one emit call carries.
const fileBatch = 1024

// lister reports an archive's regular files (when files is set) and
// unpacks its files and directories under root (when root is set). It
// reads at most maxBytes of member contents and reports at most maxEntries
// files (0: no bound), checking ctx between reads.
type lister struct {
	ctx        context.Context
	files      bool
	root       *os.Root
	maxBytes   int64
	maxEntries int64
	emit       func(sbom.Chunk) error

	batch []sbom.File
	count int64 // files reported
	read  int64 // member bytes read
	buf   []byte
	h     hash.Hash
	// h1 is the member's sha1: SPDX 2.3 requires it of every file.
	h1 hash.Hash
	hw io.Writer // both hashes
}

func (l *lister) visit(m member) error {
	if err := l.ctx.Err(); err != nil {
		return err
	}
	p, err := memberPath(m.name)
	if err != nil || p == "" {
		return err
	}
	if m.dir {
		if l.root != nil {
			return l.root.MkdirAll(p, 0o755)
		}
		return nil
	}
	if !m.regular {
		return nil
	}
	if l.files {
		l.count++
		if l.maxEntries > 0 && l.count > l.maxEntries {
			return fmt.Errorf("%w: the archive holds more than %d files (MaxEntries)", sbom.ErrTooMany, l.maxEntries)
		}
	}
	var w io.Writer = io.Discard
	if l.files {
		l.h.Reset()
		l.h1.Reset()
		w = l.hw
	}
	var out *os.File
	if l.root != nil {
		if dir := path.Dir(p); dir != "." {
			if err := l.root.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		perm := os.FileMode(0o644)
		if m.exec {
			perm = 0o755
		}
		// os.Root: no path, link or ".." leads out of the unpack folder
		// (and only folders and regular files are ever made in it).
		out, err = l.root.OpenFile(filepath.FromSlash(p), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
		if err != nil {
			return err
		}
		if l.files {
			w = io.MultiWriter(l.hw, out)
		} else {
			w = out
		}
	}
	size, err := l.copy(w, m.r)
	if out != nil {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("archive member %q: %w", p, err)
	}
	if l.files {
		l.batch = append(l.batch, sbom.File{Path: p, Size: size, SHA256: hex.EncodeToString(l.h.Sum(nil)), SHA1: hex.EncodeToString(l.h1.Sum(nil))})
		if len(l.batch) >= fileBatch {
			return l.flush()
		}
	}
	return nil
}

func (l *lister) flush() error {
	if len(l.batch) == 0 {
		return nil
	}
	err := l.emit(sbom.Chunk{Files: l.batch})
	l.batch = l.batch[:0]
	return err
}

// ErrTooLarge reports an archive whose members hold more bytes than the
// option max-bytes allows.
var ErrTooLarge = errors.New("archive too large")

// copy copies r to w within the byte budget, checking ctx before each read.
func (l *lister) copy(w io.Writer, r io.Reader) (int64, error) {
	var n int64
	for {
		if err := l.ctx.Err(); err != nil {
			return n, err
		}
		k, rerr := r.Read(l.buf)
		if k > 0 {
			n += int64(k)
			l.read += int64(k)
			if l.read > l.maxBytes {
				return n, fmt.Errorf("%w: its members hold more than %d bytes (option %s)", ErrTooLarge, l.maxBytes, optionMaxBytes)
			}
			if _, err := w.Write(l.buf[:k]); err != nil {
				return n, err
			}
		}
		if errors.Is(rerr, io.EOF) {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// list walks the archive f of format fm with l.
func (l *lister) list(f *os.File, fm format, size int64) error {
	l.buf = make([]byte, 256<<10)
	l.h, l.h1 = sha256.New(), sha1.New()
	l.hw = io.MultiWriter(l.h, l.h1)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	var err error
	switch fm {
	case formatTar:
		err = walkTar(f, l.visit)
	case formatTarGz:
		var gz *gzip.Reader
		if gz, err = gzip.NewReader(f); err != nil {
			return fmt.Errorf("corrupt gzip stream: %w", err)
		}
		err = walkTar(gz, l.visit)
		gz.Close()
	case formatZip:
		err = walkZip(f, size, l.visit)
	}
	if err != nil {
		return err
	}
	return l.flush()
}

// hashFile is the hex sha256 of f from its start, read in a stream that
// stops when ctx is cancelled.
func hashFile(ctx context.Context, f *os.File) (string, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	h := sha256.New()
	buf := make([]byte, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		if err != nil {
			return "", err
		}
	}
}
