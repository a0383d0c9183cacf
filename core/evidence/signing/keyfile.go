package signing

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mmbuild/mmbuild/core/build/infile"
)

// MaxKeyFile bounds a key file: a PEM key is a few KiB.
const MaxKeyFile = 1 << 20

// ReadKeyFile reads a PEM key file: a regular file of at most MaxKeyFile
// bytes. A named pipe is refused without being opened for blocking (the
// wait for a writer would outlast any signal).
func ReadKeyFile(path string) ([]byte, error) { return infile.Read(path, MaxKeyFile) }

// LoadVerifierFiles reads public keys (PEM), each from its file: a path
// relative to dir unless absolute (dir "" is the current folder). An
// error names the key as given. Every list of trusted keys (--key, a
// policy's keys, a material's keys) is read by it.
func LoadVerifierFiles(dir string, paths ...string) ([]Verifier, error) {
	var out []Verifier
	for _, k := range paths {
		p := k
		if dir != "" && !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		pem, err := ReadKeyFile(p)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", k, err)
		}
		v, err := LoadVerifier(pem)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", k, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// KeyPair names the files WriteKeyPair wrote.
type KeyPair struct {
	PrivatePath string    `json:"private_key"`
	PublicPath  string    `json:"public_key"`
	Algorithm   Algorithm `json:"type"`
	KeyID       string    `json:"key_id"`
}

// WriteKeyPair generates a key pair and writes PREFIX.key (mode 0600) and
// PREFIX.pub (mode 0644). Unless force is set it refuses to replace either
// file, and never leaves one of them half written: each is written to a
// temporary file beside it, synced, then linked (or, with force, renamed)
// into place.
func WriteKeyPair(prefix string, alg Algorithm, force bool) (*KeyPair, error) {
	if prefix == "" {
		return nil, errors.New("writing key pair: empty prefix")
	}
	kp := &KeyPair{PrivatePath: prefix + ".key", PublicPath: prefix + ".pub"}
	if !force {
		for _, p := range []string{kp.PrivatePath, kp.PublicPath} {
			if _, err := os.Lstat(p); err == nil {
				return nil, fmt.Errorf("writing key pair: %s already exists (use --force to replace it)", p)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("writing key pair: %w", err)
			}
		}
	}
	// The folder is created as private as the key it will hold.
	if err := os.MkdirAll(filepath.Dir(kp.PrivatePath), 0o700); err != nil {
		return nil, fmt.Errorf("writing key pair: %w", err)
	}
	priv, pub, err := Generate(alg)
	if err != nil {
		return nil, err
	}
	s, err := LoadSigner(priv)
	if err != nil {
		return nil, err
	}
	kp.Algorithm, kp.KeyID = s.Algorithm(), s.KeyID()
	if err := writeFile(kp.PrivatePath, priv, 0o600, force); err != nil {
		return nil, err
	}
	if err := writeFile(kp.PublicPath, pub, 0o644, force); err != nil {
		if !force {
			_ = os.Remove(kp.PrivatePath) // ours: it did not exist before
		}
		return nil, err
	}
	return kp, nil
}

func writeFile(path string, data []byte, mode os.FileMode, force bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	name := tmp.Name()
	defer os.Remove(name)
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if force {
		err = os.Rename(name, path)
	} else {
		err = os.Link(name, path) // fails if path appeared meanwhile
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("writing %s: it already exists (use --force to replace it)", path)
		}
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
