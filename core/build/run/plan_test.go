package run

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/plugins/discovery"
)

// kinds resolves as a lock file with recorded kinds would.
type kinds map[string]string

func (k kinds) HandlerPlugin(id string) (string, error) { return k.find("handler:" + id) }
func (k kinds) StoragePlugin(scheme string) (string, error) {
	return k.find("storage:" + scheme)
}
func (k kinds) CatalogerPlugin(id string) (string, error) { return k.find("sbom:" + id) }
func (k kinds) PinnedCatalogers() []string {
	var ids []string
	for kind := range k {
		if id, ok := strings.CutPrefix(kind, "sbom:"); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}
func (k kinds) find(kind string) (string, error) {
	if name, ok := k[kind]; ok {
		return name, nil
	}
	return "", errors.New("no installed plugin serves " + kind)
}

var testKinds = kinds{"handler:make": "make", "storage:file": "file", "storage:http": "http", "storage:https": "http",
	"storage:git+https": "git", "storage:s3": "s3"}

func TestMakePlan(t *testing.T) {
	arts := config.Artifacts{Files: []string{"dist/x"}}
	tests := []struct {
		name    string
		cfg     config.Config
		plugins []string
		wantErr string
	}{
		{
			name:    "handler only",
			cfg:     config.Config{Handler: config.Handler{ID: "make"}, Artifacts: arts},
			plugins: []string{"make"},
		},
		{
			name: "every URL's scheme, each plugin once, handler first",
			cfg: config.Config{
				Handler:   config.Handler{ID: "make"},
				Materials: []config.Material{{URI: "https://h/a"}, {URI: "git+https://h/r.git@v1"}, {URI: "http://h/b", Attestation: "s3://b/att"}},
				Secrets:   []config.Secret{{Name: "A", From: "env://X"}, {Name: "B", From: "file:///run/s"}},
				Artifacts: config.Artifacts{Destination: "file:///out/", Files: []string{"x"}},
				Transfers: []config.Transfer{{Destination: "s3://rel/"}},
			},
			plugins: []string{"make", "file", "git", "http", "s3"},
		},
		{
			name:    "no plugin serves the scheme",
			cfg:     config.Config{Handler: config.Handler{ID: "make"}, Materials: []config.Material{{URI: "ftp://h/a"}}, Artifacts: arts},
			wantErr: "materials[0].uri: no installed plugin serves storage:ftp",
		},
		{
			name:    "no plugin serves the handler",
			cfg:     config.Config{Handler: config.Handler{ID: "bazel"}, Artifacts: arts},
			wantErr: `handler.id "bazel": no installed plugin serves handler:bazel`,
		},
		{
			name:    "no scheme",
			cfg:     config.Config{Handler: config.Handler{ID: "make"}, Materials: []config.Material{{URI: "/abs/path"}}, Artifacts: arts},
			wantErr: "is not a URL",
		},
		{
			name:    "password in a URL",
			cfg:     config.Config{Handler: config.Handler{ID: "make"}, Materials: []config.Material{{URI: "https://u:pw@h/a"}}, Artifacts: arts},
			wantErr: "credentials in URL https://REDACTED@h/a are refused",
		},
		{
			name:    "nothing to attest",
			cfg:     config.Config{Path: "mmbuild.yaml", Handler: config.Handler{ID: "make"}},
			wantErr: "mmbuild.yaml: artifacts.files is empty",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := makePlan(&tt.cfg, testKinds)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.pluginNames(); !slices.Equal(got, tt.plugins) {
				t.Fatalf("plugins %v, want %v", got, tt.plugins)
			}
		})
	}
}

// A plain sbom: true (the original format's) is made with the cataloger
// the lock pins, when it pins one; generator: none opts out; an explicit
// generator wins.
func TestSBOMTrueUsesThePinnedCataloger(t *testing.T) {
	withSyft := kinds{"handler:make": "make", "sbom:syft": "sbom-syft"}
	two := kinds{"handler:make": "make", "sbom:syft": "sbom-syft", "sbom:trivy": "sbom-trivy"}
	for _, tc := range []struct {
		name      string
		sbom      *config.SBOM
		k         kinds
		cataloger string
	}{
		{"no sbom", nil, withSyft, ""},
		{"sbom: true, one pinned", &config.SBOM{}, withSyft, "sbom-syft"},
		{"sbom: true, none pinned", &config.SBOM{}, testKinds, ""},
		{"sbom: true, two pinned: not a guess", &config.SBOM{}, two, ""},
		{"generator: none", &config.SBOM{Generator: "none"}, withSyft, ""},
		{"explicit generator", &config.SBOM{Generator: "trivy"}, two, "sbom-trivy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Config{Handler: config.Handler{ID: "make"}, Artifacts: config.Artifacts{Files: []string{"x"}}, SBOM: tc.sbom}
			p, err := makePlan(&cfg, tc.k)
			if err != nil {
				t.Fatal(err)
			}
			if p.catalogerPlugin != tc.cataloger {
				t.Errorf("cataloger plugin %q, want %q", p.catalogerPlugin, tc.cataloger)
			}
		})
	}
}

func TestWhyPluginSaysWhatItWasNeededFor(t *testing.T) {
	cfg := &config.Config{Handler: config.Handler{ID: "make"}}
	p := &plan{handlerPlugin: "make", storages: map[string]string{"https": "http", "http": "http"}}
	tests := []struct {
		missing, want string
	}{
		{"make", `handler.id "make" needs the plugin mmbuild-plugin-make`},
		{"http", "http://, https:// URLs need the storage plugin mmbuild-plugin-http"},
		{"other", `plugin "other" not found`},
	}
	for _, tt := range tests {
		nf := &discovery.NotFoundError{Name: tt.missing}
		err := whyPlugin(cfg, p, nf)
		if !strings.Contains(err.Error(), tt.want) || !errors.Is(err, nf) {
			t.Errorf("%s: %v, want %q (and the cause kept)", tt.missing, err, tt.want)
		}
	}
}

func TestKeyMaterials(t *testing.T) {
	sha := strings.Repeat("a", 64)
	given := config.Material{URI: "file:///a", Digest: config.Digest{"sha256": strings.ToUpper(sha), "sha512": "BB"}}
	sha512Only := config.Material{URI: "file:///b", Digest: config.Digest{"sha512": "cc"}}
	none := config.Material{URI: "file:///c"}
	if !digestsKnown([]config.Material{given}) || digestsKnown([]config.Material{given, sha512Only}) || digestsKnown([]config.Material{none}) {
		t.Fatal("digestsKnown: only materials with a given sha256 are known before fetching")
	}
	if !digestsKnown(nil) {
		t.Fatal("digestsKnown(nil): no material is known")
	}
	early := keyMaterials([]config.Material{given}, nil)
	if early[0].Digest["sha256"] != sha || early[0].Digest["sha512"] != "bb" {
		t.Fatalf("given digests are lower-cased into the key: %v", early[0].Digest)
	}
	fetched := []fetchedMaterial{{digest: map[string]string{"sha256": sha}}, {digest: map[string]string{"sha256": "dd", "sha512": "cc"}}}
	late := keyMaterials([]config.Material{given, sha512Only}, fetched)
	if late[0].Digest["sha512"] != "bb" || late[1].Digest["sha256"] != "dd" {
		t.Fatalf("late key: %v", late)
	}
}

func TestEntryPoint(t *testing.T) {
	tests := []struct{ cfg, src, want string }{
		{"/r/ci/mmbuild.yaml", "/r", "ci/mmbuild.yaml"},
		{"/r/mmbuild.yaml", "/r", "mmbuild.yaml"},
		{"/elsewhere/mmbuild.yaml", "/r", "mmbuild.yaml"},
		{"/r/mmbuild.yaml", "", "mmbuild.yaml"},
	}
	for _, tt := range tests {
		if got := entryPoint(tt.cfg, tt.src); got != tt.want {
			t.Errorf("entryPoint(%q, %q) = %q, want %q", tt.cfg, tt.src, got, tt.want)
		}
	}
}

// The core names a material by its URL's last segment only when its plugin
// suggests no name; it knows no URL layout (git's "@rev", ".git").
func TestURLName(t *testing.T) {
	tests := []struct{ url, want string }{
		{"file:///m/greeting.txt", "greeting.txt"},
		{"https://h/a/b.tar.gz?x=1", "b.tar.gz"},
		{"s3://bucket/prefix/", "prefix"},
		{"cas://data.txt", "data.txt"},
		{"https://h/", "h"},
	}
	for _, tt := range tests {
		if got := urlName(tt.url); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.url, got, tt.want)
		}
	}
}
