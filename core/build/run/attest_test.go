package run

import (
	"reflect"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/config"
)

// Every option that chose where bytes came from or went is recorded under
// the entry that gave it, a credentials: entry's plain options too; a
// credential's secret never is.
func TestStorageOptionsRecordEveryEntry(t *testing.T) {
	cfg, err := config.Parse("mmbuild.yaml", []byte(`handler: {id: make}
secrets: [{name: TOKEN}]
materials:
  - uri: s3://in/m.tgz
    options: {region: eu-west-1}
artifacts:
  destination: s3://out/
  files: [dist/*]
  options: {storage_class: STANDARD_IA}
credentials:
  - url: s3://in/
    secret: TOKEN
    header: X-Api-Key
    options: {endpoint: https://minio.example.com}
  - url: s3://out/
    secrets: {secret_key: TOKEN}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		"materials[0]":   {"region": "eu-west-1"},
		"artifacts":      {"storage_class": "STANDARD_IA"},
		"credentials[0]": {"endpoint": "https://minio.example.com", "token_header": "X-Api-Key"},
	}
	if got := storageOptions(cfg); !reflect.DeepEqual(got, want) {
		t.Fatalf("storageOptions = %v, want %v", got, want)
	}
}
