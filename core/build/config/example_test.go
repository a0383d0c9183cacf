package config_test

import (
	"fmt"

	"github.com/mmbuild/mmbuild/core/build/config"
)

func ExampleParse() {
	_, err := config.Parse("mmbuild.yaml", []byte("handler:\n  id: make\n  parms: [compile]\n"))
	fmt.Println(err)
	// Output: mmbuild.yaml:3:3: unknown key "parms" in handler
}

func ExampleConfig_Expand() {
	c, err := config.Parse("mmbuild.yaml", []byte(`handler:
  id: make
  params: ["CC=$(CC)", "VERSION=${VERSION}"]
env:
  - var: VERSION
    value: v${MAJOR}.0
materials:
  - uri: s3://artifacts/${MMBUILD_STAGING_PATH}/webapp.tar.gz
`))
	if err != nil {
		panic(err)
	}
	environ := map[string]string{"MAJOR": "2"}
	err = c.Expand(func(name string) (string, bool) {
		v, ok := environ[name]
		return v, ok
	})
	fmt.Println(err)
	fmt.Println(c.Handler.Params)
	// Output:
	// mmbuild.yaml:8:10: undefined variable "MMBUILD_STAGING_PATH" in materials[0].uri
	// [CC=$(CC) VERSION=${VERSION}]
}
