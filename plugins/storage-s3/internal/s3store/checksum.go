package s3store

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// checksum is the checksum a server keeps for an object: of the whole
// object, or, for a multipart upload, composite: the checksum of the
// concatenated checksums of its parts, with "-<parts>" appended.
type checksum struct {
	algo  string // SHA256, SHA1, CRC64NVME, CRC32C or CRC32; "" when none
	value string // base64, without the "-<parts>" suffix
	parts int    // > 0 for a composite checksum
}

// checksumOf picks the strongest checksum a response carries.
func checksumOf(typ types.ChecksumType, sha256v, sha1v, crc32v, crc32cv, crc64v *string) checksum {
	for _, c := range []struct {
		algo string
		v    *string
	}{{"SHA256", sha256v}, {"SHA1", sha1v}, {"CRC64NVME", crc64v}, {"CRC32C", crc32cv}, {"CRC32", crc32v}} {
		if c.v == nil || *c.v == "" {
			continue
		}
		value, parts, _ := strings.Cut(*c.v, "-")
		n := 0
		if parts != "" {
			var err error
			if n, err = strconv.Atoi(parts); err != nil || n < 1 {
				continue
			}
		} else if typ == types.ChecksumTypeComposite {
			continue // a composite checksum must say its number of parts
		}
		return checksum{algo: c.algo, value: value, parts: n}
	}
	return checksum{}
}

// crc64NVME is the CRC-64/NVME table S3 uses (reversed polynomial of
// 0xad93d23594c93659). The tables are made on first use: made at init
// they were a third of a millisecond of every start of the plugin, which
// most runs start to check checksums that are SHA-256.
var crc64NVME = sync.OnceValue(func() *crc64.Table { return crc64.MakeTable(0x9a6c9329ac4bc9b5) })

// castagnoli is the CRC32C table; hash/crc32 uses the CPU's CRC32
// instruction for it where there is one.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// newHash returns a hash of the checksum's algorithm, or nil.
func (c checksum) newHash() hash.Hash {
	switch c.algo {
	case "SHA256":
		return sha256.New()
	case "SHA1":
		return sha1.New()
	case "CRC64NVME":
		return crc64.New(crc64NVME())
	case "CRC32C":
		return crc32.New(castagnoli())
	case "CRC32":
		return crc32.NewIEEE()
	}
	return nil
}

func (c checksum) String() string {
	if c.parts > 0 {
		return fmt.Sprintf("%s %s-%d", c.algo, c.value, c.parts)
	}
	return c.algo + " " + c.value
}

// compositeOf is the composite checksum of parts whose digests are given.
func compositeOf(algo string, digests [][]byte) checksum {
	h := checksum{algo: algo}.newHash()
	for _, d := range digests {
		h.Write(d)
	}
	return checksum{algo: algo, value: b64(h.Sum(nil)), parts: len(digests)}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// verifyFile computes c's algorithm over f's first size bytes and compares.
func verifyFile(f *os.File, size int64, c checksum, buf []byte) error {
	h := c.newHash()
	if _, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, size), buf); err != nil {
		return fmt.Errorf("reading back for the checksum: %w", err)
	}
	if got := b64(h.Sum(nil)); got != c.value {
		return fmt.Errorf("checksum mismatch: the server has %s, the bytes received give %s", c, got)
	}
	return nil
}
