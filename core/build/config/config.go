package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/infile"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// File names searched by Find, in order.
const (
	FileName       = "mmbuild.yaml"
	LegacyFileName = "matterbuild.yaml"
)

// Config is a parsed and validated build config.
//
// The yaml tags document the file format (and let yaml.Marshal write a
// config back); parsing does not use them, it walks the YAML tree itself.
type Config struct {
	Path string `yaml:"-"` // file it was loaded from
	// SHA256 is the hex sha256 of the bytes parsed: what the staging key
	// covers, so that no stage reads the file again.
	SHA256       string        `yaml:"-"`
	Handler      Handler       `yaml:"handler"`
	Source       *Source       `yaml:"source,omitempty"`
	Secrets      []Secret      `yaml:"secrets,omitempty"`
	Env          []EnvVar      `yaml:"env,omitempty"`
	Replacements []Replacement `yaml:"replacements,omitempty"`
	Materials    []Material    `yaml:"materials,omitempty"`
	Artifacts    Artifacts     `yaml:"artifacts,omitempty"`
	Transfers    []Transfer    `yaml:"transfers,omitempty"`
	Provenance   string        `yaml:"provenance,omitempty"` // folder for the local copy of the attestation
	// SBOM is nil for none; sbom: true is an SBOM without a cataloger.
	SBOM *SBOM `yaml:"sbom,omitempty"`
	// SLSA is the provenance version the build writes: "v0.2" (the
	// default, also when empty) or "v1". --slsa overrides it.
	SLSA        string       `yaml:"slsa,omitempty"`
	Signing     *Signing     `yaml:"signing,omitempty"`
	Credentials []Credential `yaml:"credentials,omitempty"`
	// Isolation is the box the builder runs in; nil is the default box
	// (mode auto, network host).
	Isolation *Isolation `yaml:"isolation,omitempty"`

	// handlerKey is the key the handler was written under: "handler", or
	// "runner" in the legacy format. Error messages use it.
	handlerKey string
	// positions maps the dotted path of every node read ("materials[1].uri")
	// to where its value starts.
	positions map[string]Position
}

// Handler names the handler plugin and its arguments (legacy key: runner).
type Handler struct {
	ID      string   `yaml:"id"`
	Params  []string `yaml:"params,omitempty"`
	Options Options  `yaml:"options,omitempty"`
	Pos     Position `yaml:"-"`
}

// Options are a plugin's options for one use of it (the handler, a
// material, a secret, the artifacts' destination, a transfer, a
// credential): names and scalar values as written, checked against the
// schema the plugin publishes. They never carry secrets: a credential's
// secret reaches its option through Credential.Secrets.
type Options map[string]string

// Source asks for a native git clone of Repo at Commit or Ref (at most one
// of them; neither means the remote's default branch).
type Source struct {
	Repo              string   `yaml:"repo"`
	Commit            string   `yaml:"commit,omitempty"` // 40 or 64 hex digits, lower case
	Ref               string   `yaml:"ref,omitempty"`
	CredentialsSecret string   `yaml:"credentialsSecret,omitempty"` // name of a declared secret
	Pos               Position `yaml:"-"`
}

// Secret declares a secret and where its value comes from.
type Secret struct {
	Name string `yaml:"name"`
	// From is env://VAR, file:///path or any other URL scheme a plugin
	// serves. Empty is the legacy form: the environment variable Name.
	From    string   `yaml:"from,omitempty"`
	Options Options  `yaml:"options,omitempty"` // for the plugin serving From
	Pos     Position `yaml:"-"`
}

// EnvVar is one variable of the build environment. With neither Value nor
// ValueFrom it is passed through from the running environment.
type EnvVar struct {
	Var       string     `yaml:"var"`
	Value     *string    `yaml:"value,omitempty"`
	ValueFrom *ValueFrom `yaml:"valueFrom,omitempty"`
	Optional  bool       `yaml:"optional,omitempty"` // absent from the environment is not an error
	Pos       Position   `yaml:"-"`
}

// ValueFrom takes a value from a declared secret or from an environment
// variable; exactly one is set.
type ValueFrom struct {
	Secret string   `yaml:"secret,omitempty"`
	Env    string   `yaml:"env,omitempty"`
	Pos    Position `yaml:"-"`
}

// Replacement replaces Tag with a value in the files Paths before the build.
// Exactly one of Value and ValueFrom is set.
type Replacement struct {
	Paths         []string   `yaml:"paths"`
	Tag           string     `yaml:"tag"`
	Value         *string    `yaml:"value,omitempty"`
	ValueFrom     *ValueFrom `yaml:"valueFrom,omitempty"`
	Required      bool       `yaml:"required,omitempty"`      // the tag must be found
	RequiredPaths bool       `yaml:"requiredPaths,omitempty"` // every path must exist
	Pos           Position   `yaml:"-"`
}

// Material is an input fetched (and verified against Digest) before the build.
type Material struct {
	URI    string `yaml:"uri"`
	Digest Digest `yaml:"digest,omitempty"`
	// Attestation is the URL of the material's upstream attestation, or
	// AttestationAttached for an image: what its registry keeps attached
	// to it.
	Attestation string   `yaml:"attestation,omitempty"`
	Keys        []string `yaml:"keys,omitempty"` // parsed only
	// Identities are the keyless signers the attestation may be signed by
	// instead, verified under TrustedRoot (a Sigstore trusted_root.json
	// relative to the config; the public-good instance's when empty).
	Identities  []signing.Identity `yaml:"identities,omitempty"`
	TrustedRoot string             `yaml:"trustedRoot,omitempty"`
	Options     Options            `yaml:"options,omitempty"`
	// MaxSize bounds what the fetch may write ("500MiB", "2GB", bytes);
	// 0 means DefaultMaxMaterialSize.
	MaxSize int64    `yaml:"maxSize,omitempty"`
	Pos     Position `yaml:"-"`
}

// AttestationAttached, as a material's attestation, takes the upstream
// attestation from what is attached to the image the material's uri names
// (oci://HOST/REPO@sha256:M, or a tag resolved once to M): one of them must
// be signed by the material's keys (required) and have a subject whose
// sha256 is the manifest digest M.
const AttestationAttached = "attached"

// DefaultMaxMaterialSize bounds a material without maxSize: a fetch that
// writes more is stopped and refused.
const DefaultMaxMaterialSize = 10 << 30

// Limit is the most bytes m's fetch may write.
func (m Material) Limit() int64 {
	if m.MaxSize > 0 {
		return m.MaxSize
	}
	return DefaultMaxMaterialSize
}

// Digest maps an algorithm (sha1, sha256, sha512) to a lower-case hex value.
type Digest map[string]string

// digestLengths is the hex length of each accepted digest algorithm.
var digestLengths = map[string]int{"sha1": 40, "sha256": 64, "sha512": 128}

// Artifacts are the build's outputs and where they are uploaded.
type Artifacts struct {
	Destination string   `yaml:"destination,omitempty"`
	Files       []string `yaml:"files,omitempty"`
	Images      []string `yaml:"images,omitempty"` // images the builder pushed (ParseImage), attested and attached to
	// ImageLayouts[i] is the OCI image layout folder (in the work tree)
	// the builder wrote for Images[i], which mmbuild then pushes itself
	// ({ref, layout} entries); "" when the builder pushed the image.
	ImageLayouts []string `yaml:"-"`
	Options      Options  `yaml:"options,omitempty"` // for the destination's plugin
	Pos          Position `yaml:"-"`
}

// Transfer copies Source files to Destination after the build.
type Transfer struct {
	Source      []string `yaml:"source"`
	Destination string   `yaml:"destination"`
	Options     Options  `yaml:"options,omitempty"`
	Pos         Position `yaml:"-"`
}

// Credential hands secrets to the storage plugin serving every URL that
// starts with URL, as options of the shape that plugin's schema declares:
// Secrets maps an option name to a declared secret (username, password,
// key_file…). The short form Secret is the option "token", and Header the
// option "token_header" (the header a plugin sends the token in).
type Credential struct {
	URL     string            `yaml:"url"`
	Secret  string            `yaml:"secret,omitempty"`
	Header  string            `yaml:"header,omitempty"`
	Secrets map[string]string `yaml:"secrets,omitempty"` // option name → secret name
	Options Options           `yaml:"options,omitempty"` // plain options sent with them
	Pos     Position          `yaml:"-"`
}

// TokenOption and TokenHeaderOption are the options the short form of a
// credential fills (secret:, header:).
const (
	TokenOption       = "token"
	TokenHeaderOption = "token_header"
)

// PlainOptions returns the options c sends as written: its options and,
// for header:, token_header.
func (c Credential) PlainOptions() Options {
	out := Options{}
	for k, v := range c.Options {
		out[k] = v
	}
	if c.Header != "" {
		out[TokenHeaderOption] = c.Header
	}
	return out
}

// SecretOptions returns the options c fills from secrets: option name →
// secret name.
func (c Credential) SecretOptions() map[string]string {
	out := map[string]string{}
	for k, v := range c.Secrets {
		out[k] = v
	}
	if c.Secret != "" {
		out[TokenOption] = c.Secret
	}
	return out
}

// SBOM says which SBOMs a build writes: Formats ("spdx", "cyclonedx";
// empty is spdx), and Generator, the cataloger plugin (kind
// "sbom:<generator>") that says what is inside each artifact, with its
// Options; without one, the SBOM lists the artifacts, source, materials
// and tools, not their contents. MaxEntries bounds the packages and files
// taken per artifact (0: DefaultSBOMMaxEntries).
type SBOM struct {
	Generator  string   `yaml:"generator,omitempty"`
	Formats    []string `yaml:"formats,omitempty"`
	Options    Options  `yaml:"options,omitempty"`
	MaxEntries int64    `yaml:"maxEntries,omitempty"`
	Pos        Position `yaml:"-"`
}

// DefaultSBOMMaxEntries bounds a cataloger's report per artifact.
const DefaultSBOMMaxEntries = 500_000

// Signing says how the attestation is signed: with a key (Key is a PEM
// file's path or a KMS key's URI, KeySecret the name of a declared secret
// holding a PEM key), or keylessly (Keyless: the CI's OIDC identity,
// Fulcio, Rekor and a timestamp authority of the instance SigningConfig
// and TrustedRoot name, files in Sigstore's JSON formats relative to the
// config; the public-good instance without them). Parsed only.
type Signing struct {
	Key           string   `yaml:"key,omitempty"`
	KeySecret     string   `yaml:"keySecret,omitempty"`
	Keyless       bool     `yaml:"keyless,omitempty"`
	SigningConfig string   `yaml:"signingConfig,omitempty"`
	TrustedRoot   string   `yaml:"trustedRoot,omitempty"`
	Pos           Position `yaml:"-"`
}

// Isolation is the box the builder runs in (isolation:). Values are
// checked when read: Mode is auto, required or off, Network host or none.
type Isolation struct {
	Mode    string `yaml:"mode,omitempty"`
	Network string `yaml:"network,omitempty"`
	// ReadOnly are further folders the build may read (absolute paths),
	// such as a toolchain outside /usr.
	ReadOnly []string `yaml:"readOnly,omitempty"`
	Pos      Position `yaml:"-"`
}

// Position is a place in a config file. Line and Col start at 1; Line 0
// means the place is unknown.
type Position struct {
	File      string
	Line, Col int
}

// String returns "file:line:col", or just the file when the line is unknown.
func (p Position) String() string {
	if p.Line <= 0 {
		return p.File
	}
	col := p.Col
	if col <= 0 {
		col = 1
	}
	return p.File + ":" + strconv.Itoa(p.Line) + ":" + strconv.Itoa(col)
}

// Error is a problem in a config file, at a position.
type Error struct {
	Pos Position
	Msg string
}

// Error returns one line: "mmbuild.yaml:3:5: unknown key \"foo\" in handler".
func (e *Error) Error() string {
	return oneLine(e.Pos.String() + ": " + e.Msg)
}

// oneLine makes sure a message never spans lines, whatever it quotes.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`).Replace(s)
}

// MaxSize bounds a config file: a build config is a page or two of YAML,
// and a huge one would only cost memory before it is refused.
const MaxSize = 1 << 20

// Load reads, parses and validates the config at path. It does not expand
// ${VAR}; call Expand for that. Problems in the file are *Error.
func Load(path string) (*Config, error) {
	data, err := infile.Read(path, MaxSize)
	switch {
	case errors.Is(err, infile.ErrNotRegular):
		return nil, &Error{Pos: Position{File: path}, Msg: "not a regular file (a pipe, a device or a folder): a config is read from a file"}
	case errors.Is(err, infile.ErrTooLarge):
		return nil, &Error{Pos: Position{File: path}, Msg: fmt.Sprintf("the config is larger than %d KiB: refusing to read it", MaxSize>>10)}
	case err != nil:
		return nil, fmt.Errorf("loading config: %w", err)
	}
	return Parse(path, data)
}

// Find returns the config file of dir: dir/mmbuild.yaml, else
// dir/matterbuild.yaml. When neither exists the error names both and
// matches fs.ErrNotExist.
func Find(dir string) (string, error) {
	for _, name := range []string{FileName, LegacyFileName} {
		path := filepath.Join(dir, name)
		info, err := os.Stat(path)
		switch {
		case err == nil && info.IsDir():
			return "", fmt.Errorf("finding config: %s is a directory", path)
		case err == nil:
			return path, nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("finding config: %w", err)
		}
	}
	return "", fmt.Errorf("finding config: no %s or %s in %s: %w", FileName, LegacyFileName, dir, fs.ErrNotExist)
}

// PositionOf returns where the node at a dotted path ("materials[1].uri",
// "handler.params[0]") starts, or where its nearest recorded ancestor
// starts. The path of the handler is "handler" even in the legacy format.
func (c *Config) PositionOf(path string) Position {
	if c.handlerKey == "runner" && (path == "handler" || strings.HasPrefix(path, "handler.")) {
		path = "runner" + strings.TrimPrefix(path, "handler")
	}
	for {
		if p, ok := c.positions[path]; ok {
			return p
		}
		if path == "" {
			return Position{File: c.Path}
		}
		path = parentPath(path)
	}
}

// parentPath strips the last segment of a dotted path: "a.b[2]" → "a.b",
// "a.b" → "a", "a" → "".
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// errorf returns an *Error at the position of path.
func (c *Config) errorf(path, format string, args ...any) *Error {
	return &Error{Pos: c.PositionOf(path), Msg: fmt.Sprintf(format, args...)}
}
