package main

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEShowsThisExample keeps the copies in sdk/README.md identical to
// the files that compile and pass here.
func TestREADMEShowsThisExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"main.go", "main_test.go"} {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), "```go\n"+string(src)+"```\n") {
			t.Errorf("sdk/README.md does not show %s as it is: copy it again", name)
		}
	}
}
